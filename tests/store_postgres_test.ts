import { after, describe } from "node:test";
import assert from "node:assert/strict";
import { listSourceConformance, varStoreConformance } from "../src/testing/mod.ts";
import { all, mirror, postgresHarness, runOn } from "./helpers/postgres.ts";
import { waitUntil } from "./helpers/wait.ts";
import { ErrorCode } from "../src/errors.ts";
import type { ListChange, ListSource, Store } from "../src/store.ts";

const { admin, open, schema, skip, storeTest, cleanup, url } = await postgresHarness();

let shared: Promise<Store> | undefined;
let lists = 0;

listSourceConformance(
  "PostgreSQL list",
  async () => (await (shared ??= open())).list(`l${lists++}`),
  { skip, modelOperations: 150 },
);
varStoreConformance("PostgreSQL vars", async () => (await (shared ??= open())).vars, { skip });

describe("PostgreSQL store", { skip }, () => {
  after(cleanup);

  storeTest("two instances: random changes through both converge in every subscriber", async () => {
    const a = await open({ prefix: "conv_" });
    const b = await open({ prefix: "conv_" });
    assert.equal(a.kind, "postgres");
    const la = a.list<number>("l");
    const lb = b.list<number>("l");
    const ma = mirror(la);
    const mb = mirror(lb);
    try {
      let seed = 7;
      const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      // The other instance changes the list meanwhile: an id may be gone (4), an index past the
      // end (6). Anything else is a failure of the store, rethrown.
      const refused = (error: { code?: number }) => {
        if (error.code !== ErrorCode.InvalidId && error.code !== ErrorCode.InvalidArguments) {
          throw error;
        }
        return false;
      };
      const landed = { insert: 0, set: 0, delete: 0 };
      const work = async (list: ListSource<number>, n: number) => {
        for (let step = 0; step < n; step++) {
          const page = await list.page(0, 1000);
          const roll = next();
          if (roll < 0.6 || page.items.length === 0) {
            const at = Math.floor(next() * (page.total + 1));
            if (await list.insert(at, step).then(() => true, refused)) landed.insert++;
          } else {
            const target = page.items[Math.floor(next() * page.items.length)];
            if (roll < 0.8) {
              if (await list.set(target.id, -step).then(() => true, refused)) landed.set++;
            } else if (await list.delete(target.id).then(() => true, refused)) landed.delete++;
          }
        }
      };
      await Promise.all([work(la, 60), work(lb, 60)]);
      // Most writes land (a refusal needs the other instance to win a race), and the list holds
      // exactly what landed.
      assert.ok(landed.insert >= 40, `only ${landed.insert} of ~69 inserts (measured) landed`);
      assert.ok(landed.set + landed.delete >= 10, `only ${JSON.stringify(landed)} landed`);
      const truth = await all(la);
      assert.equal(truth.length, landed.insert - landed.delete);
      assert.deepEqual(await all(lb), truth);
      const version = (await la.page(0, 0)).version;
      await waitUntil(() => ma.state.version >= version && mb.state.version >= version, {
        what: "both subscribers at the last version",
      });
      assert.deepEqual(await ma.settled(), truth);
      assert.deepEqual(await mb.settled(), truth);
      assert.equal(await la.count(), truth.length);
      for (const [i, item] of (await lb.page(0, 1000)).items.entries()) {
        if (i % 5 === 0) assert.equal(await la.indexOf(item.id), i);
      }
    } finally {
      ma.stop();
      mb.stop();
    }
  });

  storeTest("20 concurrent compare-and-set updates from two instances lose nothing", async () => {
    const a = await open({ prefix: "cas_" });
    const b = await open({ prefix: "cas_" });
    const item = await a.list<{ n: number }>("l").insert(0, { n: 0 });
    await a.list("l").insert(1, "other");
    const bump = (store: Store) =>
      store.list<{ n: number }>("l").update!(item.id, (current) => ({ n: current.n + 1 }));
    await Promise.all(Array.from({ length: 20 }, (_, i) => bump(i % 2 ? a : b)));
    assert.deepEqual((await b.list("l").get(item.id))?.value, { n: 20 });
    const add = (store: Store) =>
      store.vars.update!("n", (current) => ((current as number | undefined) ?? 0) + 1);
    await Promise.all(Array.from({ length: 20 }, (_, i) => add(i % 2 ? a : b)));
    assert.equal(await a.vars.get("n"), 20);
    await assert.rejects(
      a.list("l").update!("missing", (x) => x),
      (error: { code?: number }) => error.code === 4,
    );
    await assert.rejects(
      a.list("l").update!(item.id, () => {
        throw new Error("refused");
      }),
      /refused/,
    );
    assert.deepEqual((await a.list("l").get(item.id))?.value, { n: 20 });
  });

  storeTest("vars: another instance's writes are reported, own writes are not", async () => {
    const a = await open({ prefix: "vars_" });
    const b = await open({ prefix: "vars_" });
    const seenByA: [string, unknown][] = [];
    const seenByB: [string, unknown][] = [];
    const stopA = a.vars.subscribe!((name, value) => seenByA.push([name, value]));
    const stopB = b.vars.subscribe!((name, value) => seenByB.push([name, value]));
    try {
      await a.vars.set("title", "Groceries 🛒");
      await b.vars.set("big", "x".repeat(20_000));
      await waitUntil(() => seenByB.length >= 1 && seenByA.length >= 1, { what: "var reports" });
      assert.deepEqual(seenByB, [["title", "Groceries 🛒"]]);
      assert.deepEqual(seenByA, [["big", "x".repeat(20_000)]]);
      await b.vars.set("title", undefined);
      await waitUntil(() => seenByA.length >= 2, { what: "deletion reported" });
      assert.deepEqual(seenByA[1], ["title", undefined]);
      assert.equal(await a.vars.get("title"), undefined);
    } finally {
      stopA();
      stopB();
    }
  });

  storeTest("a change too big for NOTIFY reaches the other instance", async () => {
    const a = await open({ prefix: "big_" });
    const b = await open({ prefix: "big_" });
    const heard: ListChange<string>[] = [];
    const stop = b.list<string>("l").subscribe((change) => heard.push(change));
    try {
      const large = "é".repeat(10_000);
      const item = await a.list<string>("l").insert(0, large);
      await waitUntil(() => heard.length >= 1, { what: "the insert" });
      assert.deepEqual(heard[0], {
        op: "insert",
        index: 0,
        id: item.id,
        value: large,
        total: 1,
        version: 1,
      });
    } finally {
      stop();
    }
  });

  storeTest(
    "instances on Node, Deno and Bun share one database",
    { timeout: 120_000 },
    async () => {
      const mixed = `${schema}_mixed`;
      const here = await open({ schema: mixed });
      const list = here.list<string>("l");
      const watched = mirror(list);
      const writer = (who: string) => `
      import { openPostgresStore } from "./stores/postgres/mod.ts";
      const store = await openPostgresStore({ url: ${JSON.stringify(url)}, schema: "${mixed}" });
      const list = store.list("l");
      for (let i = 0; i < 20; i++) {
        let item;
        while (!item) {
          // Another instance may shrink the list between count and insert: code 6, try again.
          const at = Math.floor(Math.random() * ((await list.count()) + 1));
          item = await list.insert(at, "${who}-" + i).catch((e) => { if (e.code !== 6) throw e; });
        }
        if (i % 4 === 0) await list.set(item.id, "${who}-" + i + "!");
        if (i % 5 === 0) await list.delete(item.id);
        await store.vars.update("n", (n) => (n ?? 0) + 1);
      }
      await store.close();`;
      try {
        const results = await Promise.all(
          (["node", "deno", "bun"] as const).map((runtime) => runOn(runtime, writer(runtime))),
        );
        for (const { code, output } of results) assert.equal(code, 0, output);
        const page = await list.page(0, 1000);
        assert.equal(page.total, 48);
        for (const runtime of ["node", "deno", "bun"]) {
          const mine = page.items.map((item) => item.value).filter((v) => v.startsWith(runtime));
          assert.equal(mine.length, 16, `${runtime}: ${mine}`);
          assert.ok(mine.includes(`${runtime}-4!`));
        }
        assert.equal(await here.vars.get("n"), 60);
        await waitUntil(() => watched.state.version >= page.version, { what: "the subscriber" });
        assert.deepEqual(await watched.settled(), page.items.map((item) => item.value));
      } finally {
        watched.stop();
      }
    },
  );

  storeTest("rebalances keys after many inserts at one spot", { timeout: 60_000 }, async () => {
    const a = await open({ prefix: "dense_" });
    const b = await open({ prefix: "dense_" });
    const list = a.list<number>("dense");
    await list.insert(0, -1);
    await list.insert(1, 1_000);
    // Forces b to load its tree now, so that it must follow the rebalance.
    assert.equal(await b.list("dense").indexOf((await list.page(1, 1)).items[0].id), 1);
    for (let i = 0; i < 600; i++) await list.insert(1 + i, i);
    const expected = [-1, ...Array.from({ length: 600 }, (_, i) => i), 1_000];
    assert.deepEqual(await all(list), expected);
    assert.deepEqual(await all(b.list("dense")), expected);
    // Without a rebalance the last keys would be about 100 characters long.
    const [{ longest }] = await admin!.unsafe(
      `SELECT max(length(key)) AS longest FROM "${schema}"."dense_items"`,
    );
    assert.ok(Number(longest) < 40, `longest key ${longest}`);
    const last = (await list.page(601, 1)).items[0];
    assert.equal(await b.list("dense").indexOf(last.id), 601);
    await b.list("dense").insert(300, 0.5);
    assert.equal((await list.page(300, 1)).items[0].value, 0.5);
  });
});
