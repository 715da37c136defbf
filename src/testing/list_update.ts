/**
 * List cases, the optional `update`: the new value is `fn(current)`, stored
 * and reported as one `set`; an unknown id is code 4; a throwing `fn`
 * stores and reports nothing; concurrent updates lose nothing. A list
 * without `update` passes these cases without running them.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ListSource } from "../store.ts";
import { isCode, type ListKit } from "./kit.ts";

type Counter = { n: number };
type Updatable = ListSource<unknown> & Required<Pick<ListSource<unknown>, "update">>;

const bump = (current: unknown): Counter => ({ n: (current as Counter).n + 1 });

/**
 * Registers the `update` cases.
 */
export function updateCases(kit: ListKit): void {
  const check = (title: string, body: (source: Updatable) => Promise<void>) =>
    kit.check(`update (optional): ${title}`, async (source) => {
      if (source.update) await body(source as Updatable);
    });

  check("stores fn(current), resolves the item and reports one set", async (source) => {
    await source.insert(0, "first");
    const { id } = await source.insert(1, { n: 1 });
    const start = (await source.page(0, 0)).version;
    const recorder = kit.recorder();
    const stop = source.subscribe(recorder.record);
    try {
      const seen: unknown[] = [];
      const item = await source.update(id, (current) => {
        seen.push(current);
        return bump(current);
      });
      assert.deepEqual(item, { id, value: { n: 2 } });
      assert.deepEqual(seen.at(-1), { n: 1 });
      assert.deepEqual(await source.get(id), { id, value: { n: 2 } });
      assert.deepEqual(await recorder.waitFor(1), [
        { op: "set", index: 1, id, value: { n: 2 }, total: 2, version: start + 1 },
      ]);
      // The item handed back is the caller's copy.
      (item.value as Counter).n = 99;
      assert.deepEqual(await source.get(id), { id, value: { n: 2 } });
    } finally {
      stop();
    }
  });

  check("unknown id: code 4, nothing changed or reported", async (source) => {
    await source.insert(0, { n: 1 }, "known");
    const before = await source.page(0, 10);
    const recorder = kit.recorder();
    const stop = source.subscribe(recorder.record);
    try {
      await assert.rejects(source.update("missing", bump), isCode(4));
      assert.deepEqual(await source.page(0, 10), before);
      await source.delete("known");
      await recorder.waitFor(1);
      assert.deepEqual(recorder.changes.map((change) => change.op), ["delete"]);
    } finally {
      stop();
    }
  });

  check("a throwing fn rejects with its error and stores nothing", async (source) => {
    const { id } = await source.insert(0, { n: 1 });
    const before = await source.page(0, 10);
    const recorder = kit.recorder();
    const stop = source.subscribe(recorder.record);
    try {
      await assert.rejects(
        source.update(id, () => {
          throw new Error("refused");
        }),
        /refused/,
      );
      assert.deepEqual(await source.page(0, 10), before);
      await source.delete(id);
      await recorder.waitFor(1);
      assert.deepEqual(recorder.changes.map((change) => change.op), ["delete"]);
    } finally {
      stop();
    }
  });

  check("concurrent updates of one item lose nothing", async (source) => {
    const { id } = await source.insert(0, { n: 0 });
    const start = (await source.page(0, 0)).version;
    const recorder = kit.recorder();
    const stop = source.subscribe(recorder.record);
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => source.update(id, bump)),
      );
      assert.deepEqual(await source.get(id), { id, value: { n: 20 } });
      assert.deepEqual(
        results.map((item) => (item.value as Counter).n).sort((a, b) => a - b),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      const changes = await recorder.waitFor(20);
      assert.deepEqual(
        changes.map((change) => change.version),
        Array.from({ length: 20 }, (_, i) => start + i + 1),
      );
    } finally {
      stop();
    }
  });
}
