/**
 * The SQLite store's change feed across connections (another process looks the same):
 * another connection's writes reach this store's listeners as exact changes without any
 * operation here, vars too; random writes through two connections leave every listener
 * equal to the file; lost changes become a reset; an idle store runs no statement; and
 * with a listener the work per operation still does not grow with the list.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ListChange, ListItem, ListSource } from "../src/store.ts";
import { openSqliteStore, type SqliteStore, sqliteStore } from "../stores/sqlite/mod.ts";
import { changeWatcher } from "../stores/sqlite/changes.ts";
import {
  openSqliteDriver,
  type SqliteDriver,
  type SqliteStatement,
} from "../stores/sqlite/driver.ts";
import { waitUntil } from "./helpers/wait.ts";
import { random } from "../src/testing/kit.ts";

const dir = mkdtempSync(join(tmpdir(), "socksync-feed-"));
let files = 0;
after(() => rmSync(dir, { recursive: true, force: true }));
const fresh = () => join(dir, `f${files++}.db`);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A statement run through a counting driver. */
interface Ran {
  sql: string;
  params: unknown[];
}

/** A driver that counts (and optionally records) every statement it runs. */
function counting(driver: SqliteDriver) {
  const raw = driver;
  const state = { count: 0, ran: undefined as Ran[] | undefined };
  const note = (
    sql: string,
    params: unknown[],
  ) => (state.count++, state.ran?.push({ sql, params }));
  const wrap = (sql: string, s: SqliteStatement): SqliteStatement => ({
    run: (...p) => (note(sql, p), s.run(...p)),
    get: (...p) => (note(sql, p), s.get(...p)),
    all: (...p) => (note(sql, p), s.all(...p)),
  });
  const counted: SqliteDriver = {
    name: driver.name,
    exec: (sql) => (note(sql, []), driver.exec(sql)),
    prepare: (sql) => wrap(sql, driver.prepare(sql)),
    close: () => driver.close(),
  };
  return { driver: counted, state, raw };
}

/**
 * A listener's copy of a list, kept only from the change feed (a reset reads it again):
 * records every change that does not follow on from the one before.
 */
class Mirror {
  items: ListItem[] = [];
  version = -1;
  resets = 0;
  errors: string[] = [];
  #queue: Promise<void>;
  readonly stop: () => void;

  constructor(readonly source: ListSource) {
    this.#queue = this.#reload();
    this.stop = source.subscribe((change) => {
      this.#queue = this.#queue.then(() => this.#apply(change));
    });
  }

  async settled(): Promise<void> {
    await this.#queue;
  }

  async #reload(): Promise<void> {
    const page = await this.source.page(0, 1_000_000);
    this.items = page.items;
    this.version = page.version;
  }

  async #apply(change: ListChange): Promise<void> {
    if (change.op === "reset") {
      this.resets++;
      return await this.#reload();
    }
    if (change.version <= this.version) return;
    if (change.version !== this.version + 1) {
      this.errors.push(`version ${change.version} after ${this.version}`);
    }
    this.version = change.version;
    const at = this.items[change.index];
    if (change.op === "insert") {
      this.items.splice(change.index, 0, { id: change.id, value: change.value });
    } else if (at?.id !== change.id) {
      this.errors.push(`${change.op} ${change.id} at ${change.index}`);
    } else if (change.op === "set") {
      this.items[change.index] = { id: change.id, value: change.value };
    } else this.items.splice(change.index, 1);
    if (change.total !== this.items.length) this.errors.push(`total ${change.total}`);
  }
}

/** The list as the file holds it, read through a connection of its own. */
function fileList(db: SqliteDriver, list: string) {
  const items = db.prepare("SELECT id, value FROM socksync_items WHERE list = ? ORDER BY key")
    .all(list).map((row) => ({ id: row.id, value: JSON.parse(String(row.value)) }));
  const row = db.prepare("SELECT version FROM socksync_lists WHERE name = ?").get(list);
  return { items, version: Number(row?.version ?? 0) };
}

async function converged(mirror: Mirror, db: SqliteDriver, list: string, what: string) {
  await waitUntil(async () => {
    await mirror.settled();
    const file = fileList(db, list);
    return isDeepStrictEqual(mirror.items, file.items) && mirror.version === file.version;
  }, { what, timeout: 10_000 });
  assert.deepEqual(mirror.errors, [], `${what}: changes that did not follow on`);
}

async function randomWrite(store: SqliteStore, list: string, rand: () => number, n: number) {
  const source = store.list(list);
  const { items, total } = await source.page(0, 1_000_000);
  const pick = () => items[Math.floor(rand() * items.length)].id;
  const roll = rand();
  if (total === 0 || roll < 0.45) await source.insert(Math.floor(rand() * (total + 1)), { n });
  else if (roll < 0.7) await source.set(pick(), { n, set: true });
  else if (roll < 0.8) await source.update(pick(), (value) => ({ ...value as object, u: n }));
  else await source.delete(pick());
}

/**
 * Two stores on one fresh file, the first with a change watcher that keeps its
 * registration up every 50 ms, and a third connection (`reader`) to expire
 * that registration as another process would; all closed afterwards.
 */
async function withExpiringReader(
  run: (connections: { a: SqliteStore; b: SqliteStore; reader: SqliteDriver }) => Promise<void>,
): Promise<void> {
  const path = fresh();
  const driver = await openSqliteDriver(path);
  changeWatcher(driver, { maintainMs: 50 });
  const a = sqliteStore(driver);
  const b = await openSqliteStore({ path });
  const reader = await openSqliteDriver(path);
  try {
    await run({ a, b, reader });
  } finally {
    await a.close();
    await b.close();
    reader.close();
  }
}

describe("SQLite store change feed", () => {
  test("another connection's writes reach listeners as exact changes, vars too", async () => {
    const path = fresh();
    const a = await openSqliteStore({ path });
    const b = await openSqliteStore({ path });
    try {
      const heard: ListChange[] = [];
      const vars: [string, unknown][] = [];
      const mine = a.list("todos");
      await mine.insert(0, "first", "f");
      const stop = mine.subscribe((change) => heard.push(change));
      const stopVars = a.vars.subscribe((name, value) => vars.push([name, value]));
      const theirs = b.list("todos");
      await theirs.insert(1, "second", "s");
      await theirs.set("f", "FIRST");
      await theirs.delete("s");
      await b.vars.set("counter", 1);
      await b.vars.set("counter", 2);
      await a.vars.set("mine", "not reported");
      // No operation on `a`: its watcher notices on its own.
      await waitUntil(() => heard.length === 3 && vars.length > 0, { what: "the changes" });
      assert.deepEqual(heard, [
        { op: "insert", index: 1, id: "s", value: "second", total: 2, version: 2 },
        { op: "set", index: 0, id: "f", value: "FIRST", total: 2, version: 3 },
        { op: "delete", index: 1, id: "s", total: 1, version: 4 },
      ]);
      assert.deepEqual(vars, [["counter", 2]]);
      await b.vars.set("counter", undefined);
      await waitUntil(() => vars.length === 2, { what: "the deletion" });
      assert.deepEqual(vars[1], ["counter", undefined]);
      stop();
      stopVars();
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("random writes through two connections: every listener ends equal to the file", async () => {
    const path = fresh();
    const a = await openSqliteStore({ path });
    const b = await openSqliteStore({ path });
    const reader = await openSqliteDriver(path);
    try {
      const names = ["one", "two"];
      const mirrors = names.flatMap((name) => [
        { name, store: "a", mirror: new Mirror(a.list(name)) },
        { name, store: "b", mirror: new Mirror(b.list(name)) },
      ]);
      const counters: unknown[][] = [[], []];
      const stops = [a, b].map((store, i) =>
        store.vars.subscribe((name, value) => name === "n" && counters[i].push(value))
      );
      const rand = random(1234);
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 60; i++) {
          const store = rand() < 0.5 ? a : b;
          const n = round * 100 + i;
          if (rand() < 0.1) await store.vars.update("n", (v) => ((v as number) ?? 0) + 1);
          else await randomWrite(store, names[Math.floor(rand() * names.length)], rand, n);
          // Sometimes long enough for the other side's timer to read in between.
          if (rand() < 0.15) await pause(rand() * 150);
        }
        for (const { name, store, mirror } of mirrors) {
          await converged(mirror, reader, name, `round ${round}: list ${name} in ${store}`);
        }
      }
      for (const { mirror } of mirrors) assert.equal(mirror.resets, 0, "every change was exact");
      const n = JSON.parse(String(reader.prepare("SELECT value FROM socksync_vars").get()?.value));
      // Each side hears the other's increments, in order; the side that did not make the
      // last one hears the file's value last.
      await waitUntil(() => counters.some((values) => values.at(-1) === n), {
        what: "the last increment",
      });
      for (const values of counters) {
        const numbers = values as number[];
        assert.ok(numbers.length > 0 && numbers.every((v, i) => i === 0 || v > numbers[i - 1]));
      }
      for (const stop of stops) stop();
      for (const { mirror } of mirrors) mirror.stop();
    } finally {
      await a.close();
      await b.close();
      reader.close();
    }
  });

  test("renumbered order keys (many inserts at one spot) are replayed without a reset", async () => {
    const path = fresh();
    const a = await openSqliteStore({ path });
    const b = await openSqliteStore({ path });
    const reader = await openSqliteDriver(path);
    try {
      await a.list("dense").insert(0, "start");
      await a.list("dense").insert(1, "end");
      const mirror = new Mirror(a.list("dense"));
      const theirs = b.list("dense");
      for (let i = 0; i < 600; i++) {
        await theirs.insert(1 + i, i);
        if (i % 50 === 0) await pause(120);
      }
      await converged(mirror, reader, "dense", "the dense list");
      assert.equal(mirror.resets, 0);
      const renumbered = reader.prepare(
        "SELECT COUNT(*) AS n FROM socksync_changes WHERE op = 'k'",
      );
      assert.ok(Number(renumbered.get()?.n) >= 1, "the keys were renumbered");
      // The renumbered keys are also right for inserts made here.
      await a.list("dense").insert(200, "middle", "mid");
      assert.equal(await b.list("dense").indexOf("mid"), 200);
      await converged(mirror, reader, "dense", "after an insert here");
      mirror.stop();
    } finally {
      await a.close();
      await b.close();
      reader.close();
    }
  });

  test("a reader expired by another process registers again; its lists reset", () =>
    withExpiringReader(async ({ a, b, reader }) => {
      await a.list("l").insert(0, "x");
      const mirror = new Mirror(a.list("l"));
      await mirror.settled();
      // Another process decided this reader was dead: nothing is logged for it.
      reader.exec("DELETE FROM socksync_change_readers");
      await b.list("l").insert(0, "unlogged");
      await waitUntil(() => mirror.resets === 1, { what: "the reset" });
      await converged(mirror, reader, "l", "after the reset");
      await b.list("l").insert(0, "logged again");
      await converged(mirror, reader, "l", "a change logged again");
      assert.equal(mirror.resets, 1);
      mirror.stop();
    }));

  test("after lost changes, vars are reported by their whole names, NUL included", () =>
    withExpiringReader(async ({ a, b, reader }) => {
      // More vars than one chunk of the scan (4,096), the NUL names sorting inside the first:
      // each chunk starts after the last name of the one before, in the file's order.
      await b.vars.set("seed", 0);
      reader.exec("BEGIN");
      const fill = reader.prepare("INSERT INTO socksync_vars (name, value) VALUES (?, ?)");
      for (let i = 0; i < 4_200; i++) fill.run(`n${String(i).padStart(5, "0")}`, "0");
      reader.exec("COMMIT");
      const heard = new Map<string, unknown>();
      const stop = a.vars.subscribe((name, value) => heard.set(name, value));
      // Another process decided this reader was dead: `b`'s write is not logged, so `a`
      // finds the var by reading every name from the file.
      reader.exec("DELETE FROM socksync_change_readers");
      await b.vars.set("a\u0000w", 1);
      await b.vars.set("\uFEFF\u0000u", 2);
      await waitUntil(() => heard.has("a\u0000w") && heard.has("\uFEFF\u0000u"), {
        what: "the vars after the lost changes",
      });
      stop();
      assert.equal(heard.get("a\u0000w"), 1);
      assert.equal(heard.get("\uFEFF\u0000u"), 2);
      // Every name is whole: none cut at its NUL, none lost its leading U+FEFF.
      assert.ok(
        !heard.has("a") && !heard.has("\u0000u") && !heard.has(""),
        [...heard.keys()].slice(0, 5).join(),
      );
    }));

  test("a commit landing just before the watcher's upkeep is still read", async () => {
    const path = fresh();
    const inner = await openSqliteDriver(path);
    let inject: (() => void) | undefined;
    // Runs `inject` once, right before the upkeep's first statement: after the tick's
    // check and read, before the upkeep reads the stamp the next tick compares.
    const hooked = (sql: string) => {
      if (inject && (sql.startsWith("BEGIN IMMEDIATE") || sql.includes("SET seq = ?, at = ?"))) {
        const run = inject;
        inject = undefined;
        run();
      }
    };
    const driver: SqliteDriver = {
      name: inner.name,
      exec: (sql) => inner.exec(sql),
      prepare(sql) {
        const s = inner.prepare(sql);
        return {
          run: (...p) => (hooked(sql), s.run(...p)),
          get: (...p) => (hooked(sql), s.get(...p)),
          all: (...p) => (hooked(sql), s.all(...p)),
        };
      },
      close: () => inner.close(),
    };
    changeWatcher(driver, { maintainMs: 50 });
    const a = sqliteStore(driver);
    const b = await openSqliteStore({ path });
    try {
      const list = a.list<string>("l");
      await list.insert(0, "x");
      const heard: ListChange<string>[] = [];
      const stop = list.subscribe((change) => heard.push(change));
      inject = () => void b.list<string>("l").insert(0, "just before");
      await waitUntil(() => heard.some((c) => c.op === "insert" && c.value === "just before"), {
        what: "the insert committed before the upkeep",
        timeout: 3000,
      });
      stop();
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("an idle store runs no statement; a listening one stops when the last listener leaves", async () => {
    const path = fresh();
    const { driver, state } = counting(await openSqliteDriver(path));
    const a = sqliteStore(driver);
    const b = await openSqliteStore({ path });
    // A third connection listens all along: once its timer has heard b's list write and then its
    // var write (two ticks at least), a's timer, had it run, would have run too. An event to wait
    // for instead of a fixed pause that a loaded machine may outlast.
    const w = await openSqliteStore({ path });
    let heard = 0;
    const stopWitness = w.list<string>("l").subscribe(() => heard++);
    const stopWitnessVars = w.vars.subscribe(() => heard++);
    await w.list("l").count();
    const writeAndWitness = async (value: string, v: number) => {
      const before = heard;
      await b.list("l").insert(0, value);
      await waitUntil(() => heard > before, { what: `another listener to hear ${value}` });
      const then = heard;
      await b.vars.set("v", v);
      await waitUntil(() => heard > then, { what: `another listener to hear v = ${v}` });
    };
    try {
      const list = a.list<string>("l");
      await list.insert(0, "x");
      await a.vars.set("v", 1);
      assert.equal(await list.count(), 1);
      let idle = state.count;
      await writeAndWitness("y", 2);
      assert.equal(state.count, idle, "statements while nothing listened");

      const heard: ListChange<string>[] = [];
      const stopList = list.subscribe((change) => heard.push(change));
      const stopVars = a.vars.subscribe(() => {});
      // The index went stale while nothing listened: the first read takes the file again.
      assert.equal(await list.count(), 2);
      const listening = state.count;
      await waitUntil(() => state.count > listening + 2, { what: "the timer's checks" });
      await b.list("l").insert(0, "z");
      await waitUntil(() => heard.some((c) => c.op === "insert" && c.value === "z"), {
        what: "the other connection's insert",
      });
      stopList();
      assert.ok(state.count > idle);
      stopVars();
      idle = state.count;
      await writeAndWitness("w", 3);
      assert.equal(state.count, idle, "statements after the last listener left");
    } finally {
      stopWitness();
      stopWitnessVars();
      await a.close();
      await b.close();
      await w.close();
    }
  });

  test("with a listener, the work per operation still does not grow with the list", {
    timeout: 60_000,
  }, async () => {
    const costs: Record<string, number>[] = [];
    for (const size of [100, 3_000]) {
      const { driver, state, raw } = counting(await openSqliteDriver(fresh()));
      const store = sqliteStore(driver);
      try {
        const list = store.list<unknown>("l");
        const stop = list.subscribe(() => {});
        for (let i = 0; i < size; i++) await list.insert(i, { i });
        const middle = (await list.page(size >> 1, 1)).items[0].id;
        const measure = async (operation: () => Promise<unknown>) => {
          const before = state.count;
          state.ran = [];
          await operation();
          for (const ran of state.ran) {
            if (/^\s*(BEGIN|COMMIT|ROLLBACK|PRAGMA)\b/i.test(ran.sql)) continue;
            assert.equal(unbounded(raw, ran), undefined, ran.sql.replace(/\s+/g, " "));
          }
          state.ran = undefined;
          return state.count - before;
        };
        costs.push({
          insert: await measure(() => list.insert(size >> 1, "m", "new")),
          set: await measure(() => list.set(middle, "changed")),
          update: await measure(() => list.update(middle, () => "again")),
          delete: await measure(() => list.delete("new")),
          page: await measure(() => list.page(20, 20)),
          var: await measure(() => store.vars.set("v", size)),
        });
        stop();
      } finally {
        await store.close();
      }
    }
    assert.deepEqual(costs[1], costs[0]);
  });
});

/** Why a statement's plan may read a number of rows that grows with the data (see store_complexity_test.ts). */
function unbounded(driver: SqliteDriver, ran: Ran): string | undefined {
  const unique = new Map<string, string[]>();
  for (
    const { name } of driver.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()
  ) {
    for (const index of driver.prepare(`PRAGMA index_list("${name}")`).all()) {
      if (index.unique !== 1) continue;
      const columns = driver.prepare(`PRAGMA index_info("${index.name}")`).all();
      unique.set(String(index.name), columns.map((column) => String(column.name)));
    }
  }
  const plan = driver.prepare(`EXPLAIN QUERY PLAN ${ran.sql}`)
    .all(...ran.params as (string | number)[]).map((row) => String(row.detail));
  const limited = /\bLIMIT\b/i.test(ran.sql) && !/\bOFFSET\b/i.test(ran.sql);
  for (const step of plan) {
    // PRAGMA data_version as a table-valued function: one row, no table read.
    if (/^SCAN pragma_data_version VIRTUAL TABLE\b/.test(step)) continue;
    if (/^SCAN\b/.test(step)) return `${step}: reads the whole table`;
    if (/TEMP B-TREE/.test(step)) return `${step}: sorts every matching row`;
    const search = /^SEARCH \S+ USING (?:COVERING )?INDEX (\S+) \((.*)\)$/.exec(step);
    if (!search) continue;
    const [, index, where] = search;
    const equal = [...where.matchAll(/(\w+)=\?/g)].map((match) => match[1]);
    if (unique.get(index)?.every((column) => equal.includes(column))) continue;
    if (/[<>]/.test(where) && limited) continue;
    return `${step}: reads every row matching (${where})`;
  }
  return undefined;
}
