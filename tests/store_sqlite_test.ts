import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listSourceConformance, varStoreConformance } from "../src/testing/mod.ts";
import { openSqliteStore, sqliteStore } from "../stores/sqlite/mod.ts";
import { openSqliteDriver } from "../stores/sqlite/driver.ts";
import type { ListChange, Store } from "../src/store.ts";

// One store file for the kit; every case gets a list of its own.
const dir = mkdtempSync(join(tmpdir(), "socksync-sqlite-"));
let shared: Store | undefined;
let lists = 0;
const open = async () => shared ??= await openSqliteStore({ path: join(dir, "kit.db") });

listSourceConformance(
  "SQLite list",
  async () => (await open()).list(`list-${lists++}`),
);
// A second store object on the same file stands for another process.
const others: Store[] = [];
varStoreConformance("SQLite vars", async () => (await open()).vars, {
  makeOther: async () => {
    const other = await openSqliteStore({ path: join(dir, "kit.db") });
    others.push(other);
    return other.vars;
  },
});

describe("SQLite store", () => {
  before(() => {});
  after(async () => {
    for (const other of others) await other.close();
    await shared?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("creates missing directories and reopens with the same data", async () => {
    const path = join(dir, "nested", "deeper", "socksync.db");
    let store = await openSqliteStore({ path });
    try {
      assert.equal(store.kind, "sqlite");
      const todos = store.list<{ text: string }>("todos");
      await todos.insert(0, { text: "milk" }, "m");
      await todos.insert(1, { text: "eggs 🥚" }, "e");
      await todos.insert(1, { text: "bread" });
      await todos.delete("m");
      await store.vars.set("title", "Groceries");
      await store.vars.set("settings", { dark: true, n: [1, 2] });
      const before = await todos.page(0, 10);
      await store.close();
      assert.ok(statSync(path).isFile());

      store = await openSqliteStore({ path });
      const again = await store.list<{ text: string }>("todos").page(0, 10);
      assert.deepEqual(again, before);
      assert.equal(again.version, 4);
      assert.equal(await store.vars.get("title"), "Groceries");
      assert.deepEqual(await store.vars.get("settings"), {
        dark: true,
        n: [1, 2],
      });
      await store.list("todos").insert(0, { text: "first" });
      assert.equal((await store.list("todos").page(0, 0)).version, 5);
    } finally {
      await store.close();
    }
  });

  test("inserts at every position, across the index's leaves, keep the file's key order", async () => {
    // Several leaves of 64: a new item's neighbours are often in the leaf
    // before or after the one it goes into.
    const path = join(dir, "positions.db");
    const store = await openSqliteStore({ path });
    const model: string[] = [];
    try {
      const list = store.list<number>("l");
      for (let i = 0; i < 300; i++) model.splice(i, 0, (await list.insert(i, i)).id);
      let seed = 7;
      for (let i = 0; i < 400; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const at = i % 3 === 0 ? seed % (model.length + 1) : (i * 37) % (model.length + 1);
        model.splice(at, 0, (await list.insert(at, -i)).id);
      }
      const ids = (await list.page(0, 1000)).items.map((item) => item.id);
      assert.deepEqual(ids, model);
    } finally {
      await store.close();
    }
    // A fresh index from the file: its order comes from the keys alone.
    const again = await openSqliteStore({ path });
    try {
      const items = (await again.list<number>("l").page(0, 1000)).items;
      assert.deepEqual(items.map((item) => item.id), model);
    } finally {
      await again.close();
    }
  });

  test("two stores on one file see each other's writes", async () => {
    const path = join(dir, "two.db");
    const a = await openSqliteStore({ path });
    const b = await openSqliteStore({ path });
    try {
      await a.list("l").insert(0, "from a");
      await b.list("l").insert(1, "from b");
      assert.deepEqual(
        (await a.list("l").page(0, 5)).items.map((item) => item.value),
        ["from a", "from b"],
      );
      assert.equal((await a.list("l").page(0, 0)).version, 2);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("notices writes made while it was not listening (data_version): reset, then the new data", async () => {
    const path = join(dir, "watch.db");
    const a = await openSqliteStore({ path });
    const b = await openSqliteStore({ path });
    try {
      const mine = a.list<string>("l");
      const untouched = a.list<string>("other");
      await mine.insert(0, "one", "1");
      await mine.insert(1, "two", "2");
      await untouched.insert(0, "x");
      // Both indexes are now in memory in `a`.
      assert.equal(await mine.indexOf("2"), 1);

      // Another connection on the same file: a different process would look the same.
      // Nobody listens yet, so these writes are not logged for `a` to replay.
      const theirs = b.list<string>("l");
      await theirs.insert(0, "zero", "0");
      await theirs.delete("2");
      await theirs.insert(2, "three", "3");
      await b.vars.set("unrelated", 1);

      const heard: ListChange<string>[] = [];
      const heardOther: ListChange<string>[] = [];
      mine.subscribe((change) => heard.push(change));
      untouched.subscribe((change) => heardOther.push(change));

      // The next operation on `a` (any list) notices and drops the stale index.
      assert.equal(await mine.count(), 3);
      assert.deepEqual(heard, [{ op: "reset", version: 5 }]);
      assert.deepEqual(heardOther, [], "a list the other connection did not touch keeps its index");
      assert.deepEqual(
        (await mine.page(0, 10)).items.map((item) => item.id),
        ["0", "1", "3"],
      );
      assert.equal(await mine.indexOf("3"), 2);
      assert.equal(await mine.indexOf("2"), -1);
      assert.equal((await mine.get("0"))?.value, "zero");

      // Writes through `a` go on from the new state, with the next version.
      await mine.insert(1, "half", "h");
      assert.deepEqual(heard.at(-1), {
        op: "insert",
        index: 1,
        id: "h",
        value: "half",
        total: 4,
        version: 6,
      });
      assert.deepEqual(
        (await theirs.page(0, 10)).items.map((item) => item.value),
        ["zero", "half", "one", "three"],
      );
      // Now `a` listens: the other side's writes are logged and replayed exactly,
      // noticed by the cheapest read too (count), without waiting for the timer.
      await theirs.set("1", "ONE");
      assert.equal(await mine.count(), 4);
      assert.deepEqual(heard.at(-1), {
        op: "set",
        index: 2,
        id: "1",
        value: "ONE",
        total: 4,
        version: 7,
      });
      assert.equal(heard.length, 3);
      assert.deepEqual((await mine.page(2, 1)).items, [{ id: "1", value: "ONE" }]);
      // And by a page (which skips the transaction while nothing changed).
      assert.deepEqual((await mine.page(0, 2)).items.map((item) => item.id), ["0", "h"]);
      await theirs.delete("0");
      assert.deepEqual((await mine.page(0, 2)).items.map((item) => item.id), ["h", "1"]);
      assert.deepEqual(heard.at(-1), { op: "delete", index: 0, id: "0", total: 3, version: 8 });
      assert.equal(heard.length, 4);
      assert.deepEqual(heardOther, []);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("rebalances keys after many inserts at one spot", async () => {
    const store = await openSqliteStore({ path: ":memory:" });
    try {
      const list = store.list<number>("dense");
      await list.insert(0, -1);
      await list.insert(1, 1_000);
      // Always between the same two neighbours: keys grow until a rebalance.
      for (let i = 0; i < 800; i++) await list.insert(1 + i, i);
      const values = (await list.page(0, 1000)).items.map((item) => item.value);
      assert.deepEqual(values, [
        -1,
        ...Array.from({ length: 800 }, (_, i) => i),
        1_000,
      ]);
      const last = (await list.page(801, 1)).items[0];
      assert.equal(await list.indexOf(last.id), 801);
    } finally {
      await store.close();
    }
  });

  test("a page still reads inside a transaction its caller opened on a shared driver", async () => {
    const driver = await openSqliteDriver(":memory:");
    const store = sqliteStore(driver);
    try {
      const list = store.list<string>("shared");
      for (const [i, text] of ["a", "b", "c"].entries()) await list.insert(i, text);
      assert.deepEqual((await list.page(1, 2)).items.map((item) => item.value), ["b", "c"]);
      driver.exec("BEGIN");
      try {
        const page = await list.page(0, 2);
        assert.deepEqual(page.items.map((item) => item.value), ["a", "b"]);
        assert.equal(page.total, 3);
      } finally {
        driver.exec("COMMIT");
      }
      // And the store's own bare read transaction after it.
      assert.deepEqual((await list.page(2, 5)).items.map((item) => item.value), ["c"]);
    } finally {
      await store.close();
    }
  });

  test("operations after close reject with code 8", async () => {
    const store = await openSqliteStore({ path: ":memory:" });
    const list = store.list("x");
    await store.close();
    await store.close();
    await assert.rejects(
      list.count(),
      (error: { code?: number }) => error.code === 8,
    );
    await assert.rejects(
      store.vars.set("a", 1),
      (error: { code?: number }) => error.code === 8,
    );
  });
});
