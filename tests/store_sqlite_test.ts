import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listSourceConformance, varStoreConformance } from "../src/testing/mod.ts";
import { random } from "../src/testing/kit.ts";
import { openSqliteStore, sqliteStore } from "../stores/sqlite/mod.ts";
import { openSqliteDriver } from "../stores/sqlite/driver.ts";
import { spawn } from "node:child_process";
import { ROOT, scriptCommand } from "./helpers/spawn_server.ts";
import type { ListChange, ListPage, Store } from "../src/store.ts";
import { waitUntil } from "./helpers/wait.ts";

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

  test("opening a file another process holds locked waits for it instead of failing", async () => {
    // What a second process meets when it opens a new file while the first
    // switches it to WAL: its first statement found the file locked and
    // failed at once (node:sqlite waits for no lock unless told to).
    const path = join(dir, "held.db");
    const [command, ...args] = scriptCommand("tests/helpers/sqlite_lock_child.ts");
    const child = spawn(command, [...args, path], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    let out = "";
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (chunk) => (out += chunk).includes("locked") && resolve());
      child.on("exit", (code) => reject(new Error(`the child exited (${code}) before locking`)));
    });
    const store = await openSqliteStore({ path });
    try {
      await store.list("todos").insert(0, "after the lock");
      assert.equal(await store.list("todos").count(), 1);
    } finally {
      await store.close();
    }
    assert.equal(await exited, 0);
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

  // Deno's node:sqlite reads a TEXT value only up to its first NUL: what the
  // store reads back from the file (not from its memory) must still be whole.
  test("ids with NUL read back whole by another connection: its index, pages and feed", async () => {
    const path = join(dir, "nul.db");
    const a = await openSqliteStore({ path });
    const b = await openSqliteStore({ path });
    try {
      // Cut at the NUL, the first two would both read back as "a", the third as "".
      // A leading U+FEFF is part of an id, not a byte order mark to drop.
      const ids = ["a\u0000b", "a\u0000c", "\u0000", "\uFEFF\u0000x", "plain"];
      for (const [i, id] of ids.entries()) await a.list("l").insert(i, i, id);
      // `b` loads its index from the file.
      const list = b.list<number>("l");
      assert.deepEqual((await list.page(0, 10)).items, ids.map((id, i) => ({ id, value: i })));
      assert.equal(await list.count(), 5);
      for (const [i, id] of ids.entries()) {
        assert.equal(await list.indexOf(id), i);
        assert.deepEqual(await list.get(id), { id, value: i });
      }
      const heard: ListChange<number>[] = [];
      const stop = list.subscribe((change) => heard.push(change));
      try {
        await a.list("l").insert(1, 10, "x\u0000y");
        await a.list("l").set("a\u0000c", 20);
        await a.list("l").delete("a\u0000b");
        await waitUntil(() => heard.length >= 3, { what: "the other connection's changes" });
      } finally {
        stop();
      }
      assert.deepEqual(heard.map((c) => c.op === "reset" ? "reset" : [c.op, c.index, c.id]), [
        ["insert", 1, "x\u0000y"],
        ["set", 2, "a\u0000c"],
        ["delete", 0, "a\u0000b"],
      ]);
      const expected = [
        ["x\u0000y", 10],
        ["a\u0000c", 20],
        ["\u0000", 2],
        ["\uFEFF\u0000x", 3],
        ["plain", 4],
      ]
        .map(([id, value]) => ({ id, value }));
      assert.deepEqual((await list.page(0, 10)).items, expected);
      assert.deepEqual((await a.list("l").page(0, 10)).items, expected);
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
      // One reset. Its version is above every one reported for the list, not
      // always the count of changes: a list another connection owned (wrote
      // alone, its versions in memory) is taken over with a version above
      // any the owner could have reached.
      assert.equal(heard.length, 1);
      assert.equal(heard[0].op, "reset");
      const reset = heard[0].version;
      assert.ok(reset >= 5, `reset to version ${reset}`);
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
        version: reset + 1,
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
        version: reset + 2,
      });
      assert.equal(heard.length, 3);
      assert.deepEqual((await mine.page(2, 1)).items, [{ id: "1", value: "ONE" }]);
      // And by a page (which skips the transaction while nothing changed).
      assert.deepEqual((await mine.page(0, 2)).items.map((item) => item.id), ["0", "h"]);
      await theirs.delete("0");
      assert.deepEqual((await mine.page(0, 2)).items.map((item) => item.id), ["h", "1"]);
      assert.deepEqual(heard.at(-1), {
        op: "delete",
        index: 0,
        id: "0",
        total: 3,
        version: reset + 3,
      });
      assert.equal(heard.length, 4);
      assert.deepEqual(heardOther, []);
    } finally {
      await a.close();
      await b.close();
    }
  });

  // While one connection alone writes a list, its version and count stay in
  // memory (a claim row in socksync_list_owners says who owns it): the commit
  // dirties no page the bare statement would not. Another connection takes the
  // list over before using it; these check that nothing it reads is stale and
  // that versions only go up.
  test("a list one connection writes alone: another takes it over, exactly and with a higher version", async () => {
    const path = join(dir, "owned.db");
    const a = await openSqliteStore({ path });
    const b = await openSqliteStore({ path });
    const file = await openSqliteDriver(path);
    const row = () => {
      const meta = file.prepare("SELECT version, count FROM socksync_lists WHERE name = 'l'").get();
      return { version: Number(meta?.version), count: Number(meta?.count) };
    };
    const owner = () =>
      file.prepare("SELECT owner FROM socksync_list_owners WHERE name = 'l'").get()?.owner;
    const ids = async (list: { page(o: number, l: number): Promise<ListPage<string>> }) =>
      (await list.page(0, 100)).items.map((item) => item.id);
    try {
      const mine = a.list<string>("l");
      for (let i = 0; i < 10; i++) await mine.insert(i, `v${i}`, `${i}`);
      await mine.delete("0");
      const rowBefore = row();
      // A set (a transaction) keeps the claim too.
      await mine.set("1", "one");
      assert.deepEqual(row(), rowBefore);
      const ours = await mine.page(0, 0);
      assert.deepEqual([ours.total, ours.version], [9, 12]);
      // The mechanism is on: the row lags behind the versions `a` reports.
      assert.ok(owner() !== undefined, "a claim row");
      assert.ok(row().version < ours.version, `row ${row().version}, reported ${ours.version}`);

      const theirs = b.list<string>("l");
      const seen = await theirs.page(0, 100);
      assert.deepEqual(seen.items.map((item) => item.id), [
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
      ]);
      assert.equal(seen.items[0].value, "one");
      assert.equal(seen.total, 9);
      assert.ok(seen.version > ours.version, `${seen.version} after ${ours.version}`);
      assert.equal(owner(), undefined, "taken over");
      assert.deepEqual(row(), { version: seen.version, count: 9 });

      // `a`'s next write finds its claim gone and goes on from `b`'s version.
      await mine.insert(0, "new", "n");
      assert.deepEqual(await ids(theirs), ["n", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
      assert.equal((await theirs.page(0, 0)).version, seen.version + 1);
      assert.deepEqual(await mine.page(0, 100), await theirs.page(0, 100));

      // Now `b` writes alone (and owns it), then `a` reads: taken over again.
      await theirs.delete("n");
      await theirs.insert(9, "end", "e");
      await theirs.delete("5");
      const before = await theirs.page(0, 0);
      const again = await mine.page(0, 100);
      assert.deepEqual(again.items.map((item) => item.id), [
        "1",
        "2",
        "3",
        "4",
        "6",
        "7",
        "8",
        "9",
        "e",
      ]);
      assert.equal(again.total, 9);
      assert.ok(again.version > before.version, `${again.version} after ${before.version}`);
      assert.equal(await theirs.indexOf("e"), 8);
      assert.deepEqual(await theirs.page(0, 100), again);
      assert.deepEqual(row(), { version: again.version, count: 9 });
    } finally {
      await a.close();
      await b.close();
      file.close();
    }
  });

  test("random writes and reads through three connections, none listening: every answer exact, versions only go up", async () => {
    const path = join(dir, "random-owners.db");
    const stores = [
      await openSqliteStore({ path }),
      await openSqliteStore({ path }),
      await openSqliteStore({ path }),
    ];
    const rand = random(28);
    const model: { id: string; value: number }[] = [];
    let last = 0;
    let changes = 0;
    try {
      for (let step = 0; step < 400; step++) {
        // Runs of steps through one connection, so that it comes to own the list.
        const list = stores[Math.floor(step / 7) % 3].list<number>("l");
        const roll = rand();
        if (model.length === 0 || roll < 0.45) {
          const at = Math.floor(rand() * (model.length + 1));
          const item = await list.insert(at, step);
          model.splice(at, 0, { id: item.id, value: step });
          changes++;
        } else if (roll < 0.8) {
          const at = Math.floor(rand() * model.length);
          await list.delete(model[at].id);
          model.splice(at, 1);
          changes++;
        } else if (roll < 0.9) {
          const at = Math.floor(rand() * model.length);
          await list.set(model[at].id, -step);
          model[at] = { id: model[at].id, value: -step };
          changes++;
        } else {
          const at = Math.floor(rand() * model.length);
          assert.equal(await list.indexOf(model[at].id), at, `step ${step}`);
        }
        const page = await list.page(0, 1000);
        assert.deepEqual(page.items, model, `step ${step}`);
        assert.equal(page.total, model.length);
        assert.ok(page.version >= last, `step ${step}: version ${page.version} after ${last}`);
        assert.ok(
          page.version >= changes,
          `step ${step}: version ${page.version}, ${changes} changes`,
        );
        if (roll < 0.9) {
          assert.ok(page.version > last, `step ${step}: a change keeps version ${last}`);
        }
        last = page.version;
      }
    } finally {
      for (const store of stores) await store.close();
    }
    // Closed: every claim written back, the row as the last store left it.
    const file = await openSqliteDriver(path);
    try {
      const row = file.prepare("SELECT version, count FROM socksync_lists WHERE name = 'l'").get();
      assert.deepEqual([Number(row?.version), Number(row?.count)], [last, model.length]);
      assert.equal(file.prepare("SELECT COUNT(*) AS n FROM socksync_list_owners").get()?.n, 0);
    } finally {
      file.close();
    }
  });

  test("a claim left by a connection that stopped without closing: the next one takes the list over", async () => {
    const path = join(dir, "crashed.db");
    const driver = await openSqliteDriver(path);
    const gone = sqliteStore(driver);
    const list = gone.list<number>("l");
    for (let i = 0; i < 5; i++) await list.insert(i, i, `${i}`);
    await list.delete("2");
    const last = await list.page(0, 0);
    // No store.close (which would write the true version): as after a crash.
    driver.close();
    const next = await openSqliteStore({ path });
    try {
      const page = await next.list<number>("l").page(0, 10);
      assert.deepEqual(page.items.map((item) => item.value), [0, 1, 3, 4]);
      assert.equal(page.total, 4);
      assert.ok(page.version > last.version, `${page.version} after ${last.version}`);
      await next.list<number>("l").insert(4, 5);
      assert.equal((await next.list("l").page(0, 0)).version, page.version + 1);
    } finally {
      await next.close();
    }
  });

  test("closing, or starting to listen, writes an owned list's true version back", async () => {
    const path = join(dir, "released.db");
    const file = await openSqliteDriver(path);
    const row = () =>
      Number(file.prepare("SELECT version FROM socksync_lists WHERE name = ?").get("l")?.version);
    const owners = () =>
      Number(file.prepare("SELECT COUNT(*) AS n FROM socksync_list_owners").get()?.n);
    try {
      let store = await openSqliteStore({ path });
      for (let i = 0; i < 4; i++) await store.list("l").insert(i, i);
      assert.equal(owners(), 1);
      await store.close();
      assert.deepEqual([row(), owners()], [4, 0]);

      store = await openSqliteStore({ path });
      const list = store.list<number>("l");
      await list.insert(0, -1);
      await list.insert(0, -2);
      assert.equal(owners(), 1);
      const heard: ListChange<number>[] = [];
      const stop = list.subscribe((change) => heard.push(change));
      assert.equal(owners(), 0, "released when it starts listening");
      assert.equal(row(), 6);
      await list.insert(0, -3);
      assert.deepEqual(heard.map((change) => change.version), [7]);
      assert.equal(row(), 7);
      stop();
      await store.close();
    } finally {
      file.close();
    }
  });

  test("an owner stops writing alone once another process reads the change log: that reader hears its writes exactly", async () => {
    const path = join(dir, "revoked.db");
    const a = await openSqliteStore({ path });
    const b = await openSqliteStore({ path });
    const file = await openSqliteDriver(path);
    const claims = () =>
      Number(file.prepare("SELECT COUNT(*) AS n FROM socksync_list_owners").get()?.n);
    const row = () =>
      Number(file.prepare("SELECT version FROM socksync_lists WHERE name = 'l'").get()?.version);
    try {
      const mine = a.list<number>("l");
      for (let i = 0; i < 4; i++) await mine.insert(i, i, `${i}`);
      assert.equal(claims(), 1);
      // `b` starts reading the log, for another list: `a` may no longer write `l` alone.
      const stopOther = b.list("m").subscribe(() => {});
      await mine.insert(4, 4, "4");
      const ours = await mine.page(0, 0);
      assert.equal(claims(), 0, "let go at its first write after b started reading");
      assert.equal(row(), ours.version, "the row holds a's version");
      // `b` follows `l` from that version on (nothing to take over).
      const theirs = b.list<number>("l");
      const heard: ListChange<number>[] = [];
      const stop = theirs.subscribe((change) => heard.push(change));
      assert.equal((await theirs.page(0, 0)).version, ours.version);
      await mine.insert(5, 5, "5");
      await mine.delete("0");
      await waitUntil(() => heard.length >= 2, { what: "a's two writes at b" });
      assert.deepEqual(
        heard.map((change) => [change.op, change.version]),
        [["insert", ours.version + 1], ["delete", ours.version + 2]],
      );
      assert.equal(claims(), 0);
      stop();
      stopOther();
    } finally {
      await a.close();
      await b.close();
      file.close();
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
