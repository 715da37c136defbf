/**
 * Var store cases: values (unknown vars, JSON round trips, overwrites,
 * unicode names, 1 MB, copies), the optional `update`, and `subscribe`
 * (with a second store on the same data: its writes are reported, the
 * subscriber's own are not, and the stop function really stops them).
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { VarStore } from "../store.ts";
import { LARGE, UNICODE, type VarKit } from "./kit.ts";

/**
 * Registers the value cases.
 */
export function varValueCases(kit: VarKit): void {
  const { check, fresh } = kit;
  check("resolves undefined for a var never set", async (store) => {
    assert.equal(await store.get(fresh()), undefined);
  });

  check("round-trips JSON values", async (store) => {
    const samples: unknown[] = [
      0,
      -1,
      1.5,
      1e21,
      "",
      "text",
      true,
      false,
      null,
      [],
      {},
      [1, [2, [3]]],
      { a: { b: ["c", null] } },
      ...UNICODE,
    ];
    for (const value of samples) {
      const name = fresh();
      await store.set(name, value);
      assert.deepEqual(await store.get(name), value);
    }
  });

  check("overwrites", async (store) => {
    const name = fresh();
    await store.set(name, 1);
    await store.set(name, { two: 2 });
    assert.deepEqual(await store.get(name), { two: 2 });
  });

  check("accepts unicode names", async (store) => {
    const name = `${fresh()}-🎉-مرحبا-\u0000`;
    await store.set(name, "ok");
    assert.equal(await store.get(name), "ok");
  });

  check("stores 1 MB values", async (store) => {
    const name = fresh();
    await store.set(name, LARGE);
    assert.equal(await store.get(name), LARGE);
  });

  check("hands out copies, not its own objects", async (store) => {
    const name = fresh();
    const value = { list: [1] };
    await store.set(name, value);
    value.list.push(2);
    const got = await store.get(name) as typeof value;
    got.list.push(3);
    assert.deepEqual(await store.get(name), { list: [1] });
  });
}

type Updatable = VarStore & Required<Pick<VarStore, "update">>;

/**
 * Registers the cases of the optional `update` (a store without it passes
 * them without running them).
 */
export function varUpdateCases(kit: VarKit): void {
  const check = (title: string, body: (store: Updatable) => Promise<void>) =>
    kit.check(`update (optional): ${title}`, async (store) => {
      if (store.update) await body(store as Updatable);
    });

  check("fn sees undefined for a var never set; its result is stored", async (store) => {
    const name = kit.fresh();
    const seen: unknown[] = [];
    const result = await store.update(name, (current) => {
      seen.push(current);
      return { n: 1 };
    });
    assert.deepEqual(seen, [undefined]);
    assert.deepEqual(result, { n: 1 });
    assert.deepEqual(await store.get(name), { n: 1 });
    // The value handed back is the caller's copy.
    (result as { n: number }).n = 99;
    assert.deepEqual(await store.get(name), { n: 1 });
  });

  check("a throwing fn rejects with its error and stores nothing", async (store) => {
    const name = kit.fresh();
    await store.set(name, "kept");
    await assert.rejects(
      store.update(name, () => {
        throw new Error("refused");
      }),
      /refused/,
    );
    assert.equal(await store.get(name), "kept");
  });

  check("concurrent updates lose nothing", async (store) => {
    const name = kit.fresh();
    await Promise.all(
      Array.from(
        { length: 30 },
        () => store.update(name, (current) => ((current as number | undefined) ?? 0) + 1),
      ),
    );
    assert.equal(await store.get(name), 30);
  });
}

/**
 * Registers the `subscribe` cases.
 */
export function varSubscribeCases(kit: VarKit): void {
  kit.check("subscribe returns a working stop function", (store) => {
    if (store.subscribe) {
      const stop = store.subscribe(() => {});
      assert.equal(typeof stop, "function");
      stop();
      stop();
    }
    return Promise.resolve();
  });

  const makeOther = kit.makeOther;
  if (!makeOther) return;
  kit.check(
    "subscribe reports another store's writes, not its own, until stopped",
    async (store) => {
      assert.ok(store.subscribe, "makeOther was given, so the store must have subscribe");
      const other = await makeOther();
      const gone = kit.recorder();
      const kept = kit.recorder();
      const stopGone = store.subscribe((name, value) => gone.record([name, value]));
      const stopKept = store.subscribe((name, value) => kept.record([name, value]));
      const [first, own, second, third] = [kit.fresh(), kit.fresh(), kit.fresh(), kit.fresh()];
      const heard = (name: string) => (changes: [string, unknown][]) =>
        changes.some(([n]) => n === name);
      try {
        // What another process writes is heard from the store's next operation on (a store may
        // start listening only then, as the Redis store's subscription is confirmed).
        assert.equal(await store.get(kit.fresh()), undefined);
        await other.set(first, { n: 1 });
        await kept.waitUntil(heard(first), first);
        await gone.waitUntil(heard(first), first);
        assert.deepEqual(kept.changes.find(([n]) => n === first), [first, { n: 1 }]);
        stopGone();
        stopGone(); // a second call is harmless
        await store.set(own, "mine");
        await other.set(second, 2);
        await other.set(third, 3);
        // Reports arrive in order: once the listener still subscribed heard
        // the last write, the stopped one would have heard the others too.
        await kept.waitUntil(heard(third), third);
        assert.ok(heard(second)(kept.changes), "a write by the other store was not reported");
        assert.ok(!heard(own)(kept.changes), "the store reported its own write");
        for (const name of [second, third, own]) {
          assert.ok(!heard(name)(gone.changes), `a stopped listener heard ${name}`);
        }
      } finally {
        stopKept();
        await other.close?.();
      }
    },
  );
}

/**
 * Registers the case that closes a store twice.
 */
export function varCloseCases(kit: VarKit): void {
  test("closes", async () => {
    const store = await kit.make();
    await store.close?.();
    await store.close?.();
  });
}
