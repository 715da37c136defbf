/**
 * List cases, ids and errors: generated and given ids, duplicates and
 * indexes out of range (code 6), unknown ids (code 4), and failures that
 * change nothing and report nothing.
 *
 * @module
 */
import assert from "node:assert/strict";
import { isCode, type ListKit } from "./kit.ts";

/**
 * Registers the id and error cases.
 */
export function idCases(kit: ListKit): void {
  kit.check("creates unique ids and keeps given ones", async (source) => {
    const generated = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const item = await source.insert(0, i);
      assert.equal(typeof item.id, "string");
      assert.ok(item.id.length > 0);
      generated.add(item.id);
    }
    assert.equal(generated.size, 20);
    const given = await source.insert(3, "given", "my-id");
    assert.deepEqual(given, { id: "my-id", value: "given" });
    assert.equal(await source.indexOf("my-id"), 3);
    assert.deepEqual(await source.get("my-id"), given);
  });

  kit.check("rejects a duplicate id with code 6 and changes nothing", async (source) => {
    const first = await source.insert(0, "first");
    await source.insert(1, "second", "taken");
    const before = await source.page(0, 10);
    await assert.rejects(source.insert(0, "again", "taken"), isCode(6));
    await assert.rejects(source.insert(2, "again", first.id), isCode(6));
    assert.deepEqual(await source.page(0, 10), before);
    assert.deepEqual(await source.get("taken"), { id: "taken", value: "second" });
  });

  kit.check("rejects an index out of range with code 6 and changes nothing", async (source) => {
    await source.insert(0, "a");
    await source.insert(1, "b");
    const before = await source.page(0, 10);
    for (const index of [-1, 3, 100, 1.5, Number.NaN]) {
      await assert.rejects(source.insert(index, "bad"), isCode(6));
    }
    assert.deepEqual(await source.page(0, 10), before);
  });

  kit.check("unknown ids: undefined, -1, code 4 and no change", async (source) => {
    await source.insert(0, "a", "known");
    const before = await source.page(0, 10);
    const recorder = kit.recorder();
    const stop = source.subscribe(recorder.record);
    try {
      assert.equal(await source.get("missing"), undefined);
      assert.equal(await source.indexOf("missing"), -1);
      await assert.rejects(source.set("missing", "x"), isCode(4));
      await assert.rejects(source.delete("missing"), isCode(4));
      assert.deepEqual(await source.page(0, 10), before);
      // The next change must be the only event: failures reported nothing.
      await source.delete("known");
      const [change] = await recorder.waitFor(1);
      assert.deepEqual(change, {
        op: "delete",
        index: 0,
        id: "known",
        total: 0,
        version: before.version + 1,
      });
      assert.equal(recorder.changes.length, 1);
    } finally {
      stop();
    }
  });

  kit.check("gets, sets and deletes by id", async (source) => {
    const a = await source.insert(0, { n: 1 });
    const b = await source.insert(1, { n: 2 });
    const c = await source.insert(2, { n: 3 });
    await source.set(b.id, { n: 20, tags: ["x"] });
    assert.deepEqual(await source.get(b.id), { id: b.id, value: { n: 20, tags: ["x"] } });
    await source.delete(a.id);
    assert.equal(await source.get(a.id), undefined);
    assert.equal(await source.indexOf(a.id), -1);
    assert.equal(await source.indexOf(b.id), 0);
    assert.equal(await source.indexOf(c.id), 1);
    assert.equal(await source.count(), 2);
    await assert.rejects(source.set(a.id, 1), isCode(4));
    await assert.rejects(source.delete(a.id), isCode(4));
    // A deleted id may be used again.
    await source.insert(2, "back", a.id);
    assert.equal(await source.indexOf(a.id), 2);
  });
}
