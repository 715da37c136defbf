// Checks that the work a store does per operation does not grow with the
// list: counts SQL statements and Redis commands (those Lua runs included)
// for the same operations on a 100-item and a 10,000-item list. Counting
// statements alone cannot see a statement that reads the whole list (COUNT(*),
// OFFSET), so every SQL statement those operations ran is also checked by its
// query plan: no SCAN, no temporary sort, and every index SEARCH either finds
// one row by a unique key or reads a key range under a LIMIT (no OFFSET).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { Redis } from "ioredis";
import { sqliteStore } from "../stores/sqlite/mod.ts";
import { WRITE_STEPS } from "../stores/sqlite/database.ts";
import { openSqliteDriver, type SqliteDriver } from "../stores/sqlite/driver.ts";
import { openRedisStore } from "../stores/redis/mod.ts";
import { spawnSync } from "node:child_process";
import { freePort } from "./helpers/free_port.ts";
import { startRedis, stopProcess } from "./helpers/stores.ts";
import type { ListSource } from "../src/store.ts";

/** A statement the store ran, with its parameters. */
interface Ran {
  sql: string;
  params: unknown[];
}

/**
 * Why this statement's plan may visit a number of rows that grows with the
 * list, or undefined when it cannot: every SEARCH finds one row by a whole
 * unique key, or reads a key range under a LIMIT without OFFSET.
 */
function unbounded(driver: SqliteDriver, ran: Ran): string | undefined {
  const unique = new Map<string, string[]>();
  const tables = driver.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
  for (const { name: table } of tables) {
    for (const index of driver.prepare(`PRAGMA index_list(${table})`).all()) {
      if (index.unique !== 1) continue;
      const columns = driver.prepare(`PRAGMA index_info(${index.name})`).all();
      unique.set(String(index.name), columns.map((column) => String(column.name)));
    }
  }
  const plan = driver.prepare(`EXPLAIN QUERY PLAN ${ran.sql}`)
    .all(...ran.params as (string | number)[])
    .map((row) => String(row.detail));
  const limited = /\bLIMIT\b/i.test(ran.sql) && !/\bOFFSET\b/i.test(ran.sql);
  for (const step of plan) {
    // PRAGMA data_version as a table-valued function: one row, no table read.
    if (/^SCAN pragma_data_version VIRTUAL TABLE\b/.test(step)) continue;
    // A SELECT without FROM (the write triggers' check): one row, no table read.
    if (step === "SCAN CONSTANT ROW") continue;
    if (/^SCAN\b/.test(step)) return `${step}: reads the whole table`;
    if (/TEMP B-TREE/.test(step)) return `${step}: sorts every matching row`;
    const search = /^SEARCH \S+ USING (?:COVERING )?INDEX (\S+) \((.*)\)$/.exec(step);
    if (!search) continue;
    const [, index, where] = search;
    const equal = [...where.matchAll(/(\w+)=\?/g)].map((match) => match[1]);
    const columns = unique.get(index);
    if (columns && columns.every((column) => equal.includes(column))) continue;
    if (/[<>]/.test(where) && limited) continue;
    return `${step}: reads every row matching (${where})`;
  }
  return undefined;
}

const SMALL = 100;
const LARGE = 10_000;

/** Runs the same operations on a list and returns how much work each took. */
async function profile(
  list: ListSource<unknown>,
  size: number,
  measure: (operation: () => Promise<unknown>) => Promise<number>,
): Promise<Record<string, number>> {
  const middle = (await list.page(Math.floor(size / 2), 1)).items[0].id;
  return {
    "insert in the middle": await measure(() => list.insert(Math.floor(size / 2), "m", "new-m")),
    "insert at the start": await measure(() => list.insert(0, "s", "new-s")),
    "insert at the end": await measure(() => list.insert(size + 2, "e", "new-e")),
    "set": await measure(() => list.set(middle, "changed")),
    "delete": await measure(() => list.delete("new-m")),
    "get": await measure(() => list.get(middle)),
    "count": await measure(() => list.count()),
    "page": await measure(() => list.page(20, 20)),
  };
}

async function fill(list: ListSource<unknown>, size: number): Promise<void> {
  const batch: Promise<unknown>[] = [];
  for (let i = 0; i < size; i++) {
    batch.push(list.insert(i, { i }));
    if (batch.length === 500) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
}

describe("work per operation does not grow with the list", () => {
  test("SQLite: SQL statements per operation", async () => {
    const dir = mkdtempSync(join(tmpdir(), "socksync-complexity-"));
    const driver = await openSqliteDriver(join(dir, "c.db"));
    let statements = 0;
    // Every statement run while an operation is measured.
    let ran: Ran[] | undefined;
    const counting: SqliteDriver = {
      name: driver.name,
      exec: (sql) => (statements++, ran?.push({ sql, params: [] }), driver.exec(sql)),
      prepare(sql) {
        const statement = driver.prepare(sql);
        const count = (params: unknown[]) => (statements++, ran?.push({ sql, params }));
        return {
          run: (...params) => (count(params), statement.run(...params)),
          get: (...params) => (count(params), statement.get(...params)),
          all: (...params) => (count(params), statement.all(...params)),
        };
      },
      close: () => driver.close(),
    };
    const store = sqliteStore(counting);
    try {
      const measure = async (operation: () => Promise<unknown>) => {
        const before = statements;
        ran = [];
        await operation();
        const statementsRun = ran;
        ran = undefined;
        const checked: Ran[] = [];
        for (const statement of statementsRun) {
          // Transaction control and PRAGMA data_version touch no rows.
          if (/^\s*(BEGIN|COMMIT|ROLLBACK|PRAGMA)\b/i.test(statement.sql)) continue;
          checked.push(statement);
          // A write through a TEMP view: its trigger's statements are the work
          // (the view's own plan shows none of them), with NEW.x for parameters.
          if (/\btemp\.socksync_list_/.test(statement.sql)) {
            for (const step of Object.values(WRITE_STEPS)) {
              const sql = step.replace(/RAISE\([^)]*\)/g, "NULL").replace(/NEW\.\w+/g, "?");
              checked.push({ sql, params: sql.match(/\?/g)?.map(() => "x") ?? [] });
            }
          }
        }
        for (const statement of checked) {
          const why = unbounded(driver, statement);
          assert.equal(why, undefined, `${statement.sql.replace(/\s+/g, " ")}\n  ${why}`);
        }
        return statements - before;
      };
      const small = store.list("small");
      const large = store.list("large");
      await fill(small, SMALL);
      await fill(large, LARGE);
      const costs = [
        await profile(small, SMALL, measure),
        await profile(large, LARGE, measure),
      ];
      console.log(
        `SQLite statements (${SMALL} vs ${LARGE} items):`,
        JSON.stringify(costs),
      );
      assert.deepEqual(costs[1], costs[0]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("Redis: commands per operation, Lua's included", async (t) => {
    // A private redis-server: MONITOR sees every client of a server, and other test files
    // running at the same time would both skew the count and overflow the monitor's buffer.
    if (spawnSync("redis-server", ["--version"]).status !== 0) {
      if (process.env.CI === "true") throw new Error("redis-server is not installed");
      console.log("SKIPPED: Redis complexity test (no redis-server binary)");
      t.skip("no redis-server");
      return;
    }
    const port = await freePort();
    const server = await startRedis(port);
    const url = `redis://127.0.0.1:${port}`;
    const prefix = "socksync-test:";
    const store = await openRedisStore({ url, prefix, timeoutMs: 2000 });
    const admin = new Redis(url);
    const watcher = new Redis(url);
    let monitor: Redis | undefined;
    try {
      const small = store.list("small");
      const large = store.list("large");
      await fill(small, SMALL);
      await fill(large, LARGE);
      // MONITOR shows each command, also those a script runs; ours all name the prefix.
      monitor = await watcher.monitor();
      let seen = 0;
      let wake: ((marker: string) => void) | undefined;
      monitor.on("monitor", (_time: string, args: string[]) => {
        const marker = args[0]?.toLowerCase() === "echo" ? args[1] : undefined;
        if (marker?.startsWith(prefix)) wake?.(marker);
        else if (args.some((arg) => String(arg).includes(prefix))) seen++;
      });
      let markers = 0;
      const settle = async () => {
        const marker = `${prefix}marker-${markers++}`;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const arrived = new Promise<void>((resolve, reject) => {
          wake = (m) => m === marker && resolve();
          timer = setTimeout(() => reject(new Error(`MONITOR never showed ${marker}`)), 5000);
        });
        try {
          await admin.echo(marker);
          await arrived;
        } finally {
          clearTimeout(timer);
        }
      };
      const measure = async (operation: () => Promise<unknown>) => {
        await settle();
        const before = seen;
        await operation();
        await settle();
        return seen - before;
      };
      const costs = [
        await profile(small, SMALL, measure),
        await profile(large, LARGE, measure),
      ];
      console.log(
        `Redis commands (${SMALL} vs ${LARGE} items):`,
        JSON.stringify(costs),
      );
      assert.deepEqual(costs[1], costs[0]);
    } finally {
      monitor?.disconnect();
      await store.close();
      admin.disconnect();
      watcher.disconnect();
      await stopProcess(server);
    }
  });
});
