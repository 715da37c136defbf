/**
 * Figures for table bindings (not a test; prints a table):
 *   node --expose-gc --import tsx tests/sqlite_table_bench.ts
 * - memory per row of a live query (rank index + membership), heap delta over 100k rows;
 * - rank lookup time at 10k, 100k and 1M rows;
 * - time to apply one row change with N = 100 … 10,000 open queries (100k rows in 1,000
 *   rooms), when the change touches 1 query and when it touches 10;
 * - time from an INSERT on another connection to the change event (timer path), p50/p99.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { compareSqlValues, RankIndex } from "../stores/rank_index.ts";
import { openSqliteDriver, type SqliteDriver } from "../stores/sqlite_driver.ts";
import { sqliteTable, type SqliteTableSource } from "../stores/sqlite_table.ts";
import { changeWatcher } from "../stores/sqlite_changes.ts";

const dir = mkdtempSync(join(tmpdir(), "socksync-table-bench-"));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const heap = () => (gc(), gc(), process.memoryUsage().heapUsed);
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

async function fresh(rows: number, rooms: number): Promise<{ db: SqliteDriver; path: string }> {
  const path = join(dir, `b${Math.random().toString(36).slice(2)}.db`);
  const db = await openSqliteDriver(path);
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;
    CREATE TABLE messages (id TEXT PRIMARY KEY, room TEXT NOT NULL, author TEXT NOT NULL,
      text TEXT NOT NULL, created_at BIGINT NOT NULL);
    CREATE INDEX messages_room ON messages (room, created_at, id);`);
  const insert = db.prepare("INSERT INTO messages VALUES (?, ?, 'ann', 'hello', ?)");
  db.exec("BEGIN");
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < rows; i++) {
    insert.run(`m${String(i).padStart(7, "0")}`, `r${i % rooms}`, t0 + i);
  }
  db.exec("COMMIT");
  return { db, path };
}

const query = (db: SqliteDriver, room: string) =>
  sqliteTable({
    db,
    table: "messages",
    key: "id",
    orderBy: [{ column: "created_at", desc: true }, { column: "id", desc: true }],
    where: "room = :room",
    params: { room },
    columns: ["room", "author", "text", "created_at"],
  });

async function memoryPerRow() {
  const { db } = await fresh(100_000, 1);
  const source = query(db, "r0");
  const before = heap();
  const stop = source.subscribe(() => {});
  const after = heap();
  console.log(
    `memory per row (live query, 100k rows): ${((after - before) / 100_000).toFixed(0)} B`,
  );
  stop();
  changeWatcher(db).close();
  db.close();
}

function rankLookups(hot: boolean) {
  const compare = (a: [number, string], b: [number, string]) =>
    compareSqlValues(b[0], a[0]) || compareSqlValues(b[1], a[1]);
  const sizes = [10_000, 100_000, 1_000_000];
  const built = sizes.map((n) => {
    const entries = Array.from({ length: n }, (_, i) => [n - i, `m${i}`] as [number, string]);
    return { n, entries, index: RankIndex.from(entries, compare) };
  });
  // Interleaved rounds, best of each: the machine is shared, so single runs are noisy.
  const best = sizes.map(() => ({ rank: Infinity, move: Infinity }));
  let sink = 0;
  for (let round = 0; round < 7; round++) {
    for (const [k, { n, entries, index }] of built.entries()) {
      // Random rows, or (hot) the newest 1,000, where a chat's changes land.
      const spread = hot ? 1000 : n;
      const probes = Array.from(
        { length: 20_000 },
        () => entries[Math.floor(Math.random() * spread)],
      );
      let t = performance.now();
      for (const p of probes) sink += index.rankOf(p);
      best[k].rank = Math.min(best[k].rank, ((performance.now() - t) * 1e6) / probes.length);
      t = performance.now();
      for (const p of probes.slice(0, 5000)) {
        index.remove(p);
        index.insert(p);
      }
      best[k].move = Math.min(best[k].move, ((performance.now() - t) * 1e6) / 5000);
    }
  }
  if (sink < 0) console.log(sink);
  console.log(
    `rank index, ${hot ? "newest 1,000" : "random"} rows (best of 7): ` +
      sizes.map((n, k) =>
        `${n}: rank ${best[k].rank.toFixed(0)} ns, remove+insert ${best[k].move.toFixed(0)} ns`
      ).join("; ") + `; rank 1M/10k = ${(best[2].rank / best[0].rank).toFixed(1)}x`,
  );
}

async function changeCost() {
  const { db, path } = await fresh(100_000, 1000);
  const other = await openSqliteDriver(path);
  other.exec("PRAGMA busy_timeout = 5000");
  const open: { source: SqliteTableSource; stop: () => void }[] = [];
  let events = 0;
  const openQuery = (room: string) => {
    const source = query(db, room);
    open.push({ source, stop: source.subscribe(() => events++) });
  };
  const edit = other.prepare(
    "UPDATE messages SET text = ?, created_at = created_at + 1 WHERE id = ?",
  );
  const measure = (label: string, n: number) => {
    const ids = Array.from({ length: 400 }, (_, i) => `m${String(i * 1000).padStart(7, "0")}`);
    const times: number[] = [];
    for (const [i, id] of ids.entries()) {
      edit.run(`t${i}`, id); // a row of room r0, moved to the top of its room
      const t = performance.now();
      open[0].source.flush();
      times.push(performance.now() - t);
    }
    console.log(
      `one row change, ${label}, N = ${n} open queries: p50 ${
        (quantile(times, 0.5) * 1000).toFixed(0)
      } µs, mean ${(times.reduce((a, b) => a + b) / times.length * 1000).toFixed(0)} µs`,
    );
  };
  for (const n of [100, 1000, 10_000]) {
    while (open.length < n) openQuery(`r${open.length}`);
    measure("touching 1 query", n);
  }
  for (const touched of [10, 100]) {
    while (open.length < 10_000 + touched - 1) openQuery("r0");
    measure(`touching ${touched} queries`, open.length);
  }
  for (const { stop } of open) stop();
  other.close();
  changeWatcher(db).close();
  db.close();
  if (events === 0) console.log("no events?");
}

async function latency() {
  const { db, path } = await fresh(10_000, 100);
  const other = await openSqliteDriver(path);
  other.exec("PRAGMA busy_timeout = 5000");
  const source = query(db, "r1");
  const written = new Map<string, number>();
  const delays: number[] = [];
  const stop = source.subscribe((change) => {
    if (change.op === "insert" && written.has(change.id)) {
      delays.push(performance.now() - written.get(change.id)!);
    }
  });
  const insert = other.prepare("INSERT INTO messages VALUES (?, 'r1', 'ext', 'hi', ?)");
  for (let i = 0; i < 150; i++) {
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 120));
    insert.run(`x${i}`, 2_000_000_000_000 + i);
    written.set(`x${i}`, performance.now());
  }
  const deadline = Date.now() + 2000;
  while (delays.length < 150 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  console.log(
    `external INSERT → change event (${delays.length} samples, 100 ms poll): p50 ${
      quantile(delays, 0.5).toFixed(1)
    } ms, p99 ${quantile(delays, 0.99).toFixed(1)} ms`,
  );
  stop();
  other.close();
  changeWatcher(db).close();
  db.close();
}

async function idleCost() {
  const { db } = await fresh(1000, 10);
  const stop = query(db, "r1").subscribe(() => {});
  const before = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  const used = process.cpuUsage(before);
  console.log(
    `idle but subscribed (100 ms poll): ${((used.user + used.system) / 1000 * 6).toFixed(0)} ms ` +
      "CPU per minute (whole process)",
  );
  stop();
  changeWatcher(db).close();
  db.close();
}

try {
  await idleCost();
  await memoryPerRow();
  rankLookups(false);
  rankLookups(true);
  await changeCost();
  await latency();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
