/**
 * List cases, concurrency: inserts and deletes started together lose
 * nothing, and their changes are reported with consecutive versions.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type ListKit, values } from "./kit.ts";

/**
 * Registers the concurrency cases.
 */
export function concurrencyCases(kit: ListKit): void {
  kit.check("concurrent inserts at one index lose nothing", async (source) => {
    await source.insert(0, "end");
    const made = await Promise.all(
      Array.from({ length: 40 }, (_, i) => source.insert(0, `v${i}`)),
    );
    assert.equal(await source.count(), 41);
    assert.equal(new Set(made.map((item) => item.id)).size, 40);
    const all = await values(source);
    assert.equal(all.at(-1), "end");
    assert.deepEqual([...all.slice(0, -1)].sort(), made.map((item) => item.value).sort());
    await Promise.all(made.slice(0, 20).map((item) => source.delete(item.id)));
    await Promise.all(Array.from({ length: 10 }, (_, i) => source.insert(1, `w${i}`)));
    assert.equal(await source.count(), 31);
    const page = await source.page(0, 100);
    assert.equal(new Set(page.items.map((item) => item.id)).size, 31);
    for (const [i, item] of page.items.entries()) {
      assert.equal(await source.indexOf(item.id), i);
    }
  });

  kit.check("reports concurrent changes with consecutive versions", async (source) => {
    const start = (await source.page(0, 0)).version;
    const recorder = kit.recorder();
    const stop = source.subscribe(recorder.record);
    try {
      await Promise.all(Array.from({ length: 30 }, (_, i) => source.insert(0, i)));
      const changes = await recorder.waitFor(30);
      assert.deepEqual(
        changes.map((change) => change.version),
        Array.from({ length: 30 }, (_, i) => start + i + 1),
      );
      assert.deepEqual(
        changes.map((change) => "total" in change && change.total),
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
    } finally {
      stop();
    }
  });
}
