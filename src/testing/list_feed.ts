/**
 * List cases, the change feed: every change reported once, in order, with
 * version +1 each; an unsubscribed listener hears nothing more; a closed
 * list reports nothing more.
 *
 * @module
 */
import assert from "node:assert/strict";
import { isSockSyncError } from "../errors.ts";
import type { ListKit } from "./kit.ts";

/**
 * Registers the change feed cases.
 */
export function feedCases(kit: ListKit): void {
  kit.check("reports every change once, in order, version +1 each", async (source) => {
    const start = (await source.page(0, 0)).version;
    const recorder = kit.recorder();
    const stop = source.subscribe(recorder.record);
    try {
      await source.insert(0, "a", "A");
      await source.insert(1, { b: 1 }, "B");
      await source.insert(0, "c", "C");
      await source.set("B", { b: 2 });
      await source.delete("A");
      await source.set("C", null);
      await source.delete("C");
      const v = (n: number) => start + n;
      assert.deepEqual(await recorder.waitFor(7), [
        { op: "insert", index: 0, id: "A", value: "a", total: 1, version: v(1) },
        { op: "insert", index: 1, id: "B", value: { b: 1 }, total: 2, version: v(2) },
        { op: "insert", index: 0, id: "C", value: "c", total: 3, version: v(3) },
        { op: "set", index: 2, id: "B", value: { b: 2 }, total: 3, version: v(4) },
        { op: "delete", index: 1, id: "A", total: 2, version: v(5) },
        { op: "set", index: 0, id: "C", value: null, total: 2, version: v(6) },
        { op: "delete", index: 0, id: "C", total: 1, version: v(7) },
      ]);
      const page = await source.page(0, 10);
      assert.equal(page.version, v(7));
      assert.deepEqual(page.items, [{ id: "B", value: { b: 2 } }]);
    } finally {
      stop();
    }
  });

  kit.check("a listener added after writes settled hears none of them", async (source) => {
    // Writes made while nobody listens; a store whose changes come back
    // through a channel must not report them to a listener added later.
    const start = (await source.page(0, 0)).version;
    await Promise.all(Array.from({ length: 30 }, (_, i) => source.insert(0, i)));
    const recorder = kit.recorder();
    const stop = source.subscribe(recorder.record);
    try {
      const last = await source.insert(0, "last");
      const [change] = await recorder.waitFor(1);
      assert.deepEqual(change, {
        op: "insert",
        index: 0,
        id: last.id,
        value: "last",
        total: 31,
        version: start + 31,
      });
      assert.equal(recorder.changes.length, 1);
    } finally {
      stop();
    }
  });

  kit.check("unsubscribe stops events", async (source) => {
    const gone = kit.recorder();
    const kept = kit.recorder();
    const stopGone = source.subscribe(gone.record);
    const stopKept = source.subscribe(kept.record);
    try {
      await source.insert(0, "one");
      await kept.waitFor(1);
      await gone.waitFor(1);
      stopGone();
      await source.insert(0, "two");
      // Changes reach listeners in order: once the one still subscribed has
      // heard the last two, the stopped one would have heard them too.
      await source.insert(0, "three");
      await kept.waitFor(3);
      assert.equal(gone.changes.length, 1);
      stopGone(); // a second call is harmless
    } finally {
      stopKept();
    }
  });

  kit.check("close drops every listener; closing twice is harmless", async (source) => {
    if (!source.close) return; // `close` is optional.
    await source.insert(0, "x");
    const gone = kit.recorder();
    source.subscribe(gone.record);
    await source.close();
    await source.close();
    // A store may refuse work after close; if it does not, the listener
    // subscribed before must hear nothing while a new one hears the change.
    const fresh = kit.recorder();
    const stop = source.subscribe(fresh.record);
    try {
      const refused = await source.insert(1, "after close").then(() => undefined, (error) => error);
      if (refused !== undefined) {
        assert.ok(
          isSockSyncError(refused),
          `after close: expected a SockSyncError, got ${refused}`,
        );
      } else {
        await fresh.waitFor(1);
      }
      assert.equal(gone.changes.length, 0, "a listener from before close still hears changes");
    } finally {
      stop();
    }
  });

  kit.check("closes", async (source) => {
    await source.insert(0, "x");
    await source.close?.();
    await source.close?.();
  });
}
