/**
 * The PostgreSQL store at 10k, 100k and 1M items: per operation the time per
 * call through the store, the time of the bare SQL statement it stands for
 * on the same tables (interleaved, same connection settings), their ratio,
 * and the growth from the smallest to the largest size.
 *
 * Bare statements (prepared, and planned once per connection as the store's
 * are): pages the keyset `SELECT id, value … WHERE key >= $2
 * ORDER BY key LIMIT 20` (the start key known) plus a reference row for plain
 * `OFFSET`; indexOf `SELECT count(*) … WHERE key < (SELECT key … id = $2)`;
 * insert one `INSERT`; delete one `DELETE`; set one `UPDATE`; get one
 * `SELECT`. Each list is filled directly (batched `INSERT … unnest`), in a
 * schema of its own that is dropped at the end.
 *
 * Then the store-level cross-instance latency (an insert through one store
 * object until another one's listener hears it), over PostgreSQL and, when
 * one answers on 127.0.0.1:6379, over Redis, side by side.
 *
 * It runs in a database of its own (created, then dropped); `--async-commit`
 * sets `synchronous_commit = off` on it, so that write timings measure the
 * work rather than a disk shared with others.
 *
 *   node --import tsx bench/stores_postgres.ts [--sizes 10000,100000,1000000] [--rounds 3] [--latency 300] [--async-commit] [--write]
 *
 * `--write` puts the table into BENCHMARKS.md (section `stores-postgres`).
 */
import process from "node:process";
import { sequentialOrderKeys } from "../stores/common/order_key.ts";
import type { ListSource, Store } from "../src/store.ts";
import { openPostgresStore } from "../stores/postgres/mod.ts";
import { openPgClient, type PgSql, pgTables } from "../stores/postgres/driver.ts";
import { latency } from "./stores_postgres_latency.ts";
import {
  args,
  commandLine,
  fmt,
  fs,
  goalMark,
  numbers,
  ratios,
  sectionHead,
  stats,
  table,
  writeSection,
} from "./lib.ts";

const opts = args();
const SIZES = numbers(opts.get("sizes"), [10_000, 100_000, 1_000_000]);
const ROUNDS = Number(opts.get("rounds") ?? 3);
const SERVER_URL = opts.get("url") ?? process.env.POSTGRES_URL ??
  "postgres://postgres@127.0.0.1:5432/postgres";
const OPS = [
  "first page",
  "page near end",
  "indexOf",
  "get",
  "set",
  "insert at random index",
  "delete",
  "insert, with a subscriber",
] as const;
type Op = typeof OPS[number];

const value = (i: number) => ({ n: i, text: `item ${i}` });
const idOf = (i: number) => `i${i}`;
let rng = 12345;
const random = (n: number) => {
  rng = (rng * 1103515245 + 12345) & 0x7fffffff;
  return rng % n;
};

/** Runs `fn` repeatedly (≥ 5 calls, ≤ 200, ~150 ms): median µs per call. */
async function time(fn: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 5 || (samples.length < 200 && performance.now() - start < 150)) {
    const t0 = performance.now();
    await fn();
    samples.push((performance.now() - t0) * 1000);
  }
  return stats(samples).median;
}

interface Row {
  n: number;
  fillMs: number;
  loadMs: number;
  api: Record<string, number[]>;
  raw: Record<string, number[]>;
}

async function fill(sql: PgSql, schema: string, n: number): Promise<string[]> {
  const t = pgTables(schema, "");
  const keys = sequentialOrderKeys(n);
  const BATCH = 20_000;
  for (let from = 0; from < n; from += BATCH) {
    const ids: string[] = [], ks: string[] = [], vs: string[] = [];
    for (let i = from; i < Math.min(n, from + BATCH); i++) {
      ids.push(idOf(i));
      ks.push(keys[i]);
      vs.push(JSON.stringify(value(i)));
    }
    await sql.unsafe(
      `INSERT INTO ${t.items} (list, id, key, value)
       SELECT 'bench', unnest($1::text[]), unnest($2::text[]), unnest($3::text[])`,
      [ids, ks, vs],
    );
  }
  await sql.unsafe(
    `INSERT INTO ${t.lists} (name, version, count) VALUES ('bench', 1, $1)
     ON CONFLICT (name) DO UPDATE SET version = 1, count = excluded.count`,
    [n],
  );
  await sql.unsafe(`ANALYZE ${t.items}`);
  return keys;
}

async function measure(n: number): Promise<Row> {
  const schema = `socksync_bench_${process.pid}_${n}`;
  const t = pgTables(schema, "");
  // A store made the tables; the one measured opens after the fill, so that it is the only
  // store listening to a list row it did not make itself (see stores/postgres/listeners.ts).
  await (await openPostgresStore({ url: URL, schema })).close();
  let store: Store | undefined;
  // Planned like the store's statements (once per connection: see stores/postgres/mod.ts),
  // so that the ratio is the store's work, not PostgreSQL planning one side every run.
  const sql = await openPgClient(URL, {
    max: 2,
    onnotice: () => {},
    connection: { plan_cache_mode: "force_generic_plan" },
  });
  try {
    let t0 = performance.now();
    const keys = await fill(sql, schema, n);
    const fillMs = performance.now() - t0;
    store = await openPostgresStore({ url: URL, schema });
    const s: ListSource<unknown> = store.list("bench");
    t0 = performance.now();
    await s.indexOf(idOf(0)); // loads the in-memory index
    const loadMs = performance.now() - t0;
    // `$L` stands for the list's name, passed as the last parameter (as the store does).
    const q = (text: string, params: (string | number)[]) =>
      text.includes("$L")
        ? sql.unsafe(text.replaceAll("$L", `$${params.length + 1}`), [...params, "bench"], {
          prepare: true,
        })
        : sql.unsafe(text, params, { prepare: true });
    let last: string | undefined;
    let raws = 0;
    let stopListening: (() => void) | undefined;
    const api: Record<Op, () => Promise<unknown>> = {
      "first page": () => s.page(0, 20),
      "page near end": () => s.page(n - 40, 20),
      "indexOf": () => s.indexOf(idOf(random(n))),
      "get": () => s.get(idOf(random(n))),
      "set": () => s.set(idOf(random(n)), value(-1)),
      "insert at random index": async () => {
        last = (await s.insert(random(n), value(0))).id;
      },
      "delete": () => (last ? s.delete(last).then(() => (last = undefined)) : Promise.resolve()),
      "insert, with a subscriber": async () => {
        stopListening ??= s.subscribe(() => {});
        last = (await s.insert(random(n), value(0))).id;
        stopListening();
        stopListening = undefined;
        await s.delete(last);
      },
    };
    const raw: Record<Op | "page near end, plain OFFSET", () => Promise<unknown>> = {
      "first page": () =>
        q(
          `SELECT id, value FROM ${t.items} WHERE list = $1 AND key >= $2 ORDER BY key LIMIT $3`,
          ["bench", keys[0], 20],
        ),
      "page near end": () =>
        q(
          `SELECT id, value FROM ${t.items} WHERE list = $1 AND key >= $2 ORDER BY key LIMIT $3`,
          ["bench", keys[n - 40], 20],
        ),
      "page near end, plain OFFSET": () =>
        q(
          `SELECT id, value FROM ${t.items} WHERE list = $L ORDER BY key OFFSET $1 LIMIT 20`,
          [n - 40],
        ),
      "indexOf": () =>
        q(
          `SELECT count(*) FROM ${t.items} WHERE list = $L AND key <
           (SELECT key FROM ${t.items} WHERE list = $L AND id = $1)`,
          [idOf(random(n))],
        ),
      "get": () => q(`SELECT value FROM ${t.items} WHERE list = $L AND id = $1`, [idOf(random(n))]),
      "set": () =>
        q(`UPDATE ${t.items} SET value = $2 WHERE list = $L AND id = $1`, [
          idOf(random(n)),
          JSON.stringify(value(-1)),
        ]),
      "insert at random index": () =>
        q(`INSERT INTO ${t.items} (list, id, key, value) VALUES ($L, $1, $2, $3)`, [
          `raw${++raws}`,
          `${keys[random(n)]}V`,
          JSON.stringify(value(0)),
        ]),
      "delete": () => q(`DELETE FROM ${t.items} WHERE list = $L AND id = $1`, [`raw${raws}`]),
      "insert, with a subscriber": async () => {
        await raw["insert at random index"]();
        await raw.delete();
      },
    };
    const row: Row = { n, fillMs, loadMs, api: {}, raw: {} };
    for (let i = 0; i < 10; i++) {
      for (const op of OPS) {
        await api[op]();
        await raw[op]();
      }
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const op of OPS) {
        if (op === "insert at random index" || op === "delete") continue;
        (row.api[op] ??= []).push(await time(api[op]));
        (row.raw[op] ??= []).push(await time(raw[op]));
      }
      (row.raw["page near end, plain OFFSET"] ??= []).push(
        await time(raw["page near end, plain OFFSET"]),
      );
      // insert/delete alternate one call at a time so the size stays n.
      const samples: Record<string, number[]> = {};
      for (let i = 0; i < 40; i++) {
        for (const [name, fn] of [["api", api], ["raw", raw]] as const) {
          for (const op of ["insert at random index", "delete"] as const) {
            const t1 = performance.now();
            await fn[op]();
            (samples[`${name} ${op}`] ??= []).push((performance.now() - t1) * 1000);
          }
        }
      }
      for (const op of ["insert at random index", "delete"] as const) {
        (row.api[op] ??= []).push(stats(samples[`api ${op}`]).median);
        (row.raw[op] ??= []).push(stats(samples[`raw ${op}`]).median);
      }
    }
    console.error(
      `postgres n=${n}: filled in ${fmt(fillMs)} ms, index loaded in ${fmt(loadMs)} ms; ` +
        OPS.map((op) =>
          `${op} ${fmt(stats(row.api[op]).median)} µs (bare ${fmt(stats(row.raw[op]).median)})`
        ).join(", "),
    );
    return row;
  } finally {
    await store?.close();
    await sql.unsafe(`DROP SCHEMA IF EXISTS ${t.schema} CASCADE`);
    await sql.end({ timeout: 1 });
  }
}

// The bench runs in a database of its own, created here and dropped at the
// end; with --async-commit that database commits without waiting for the
// WAL flush, so that write timings show the store's work rather than the
// disk (which other users of a shared machine also keep busy).
const ASYNC_COMMIT = opts.has("async-commit");
const database = `socksync_bench_${process.pid}`;
const URL = (() => {
  const url = new globalThis.URL(SERVER_URL);
  url.pathname = `/${database}`;
  return url.toString();
})();
const server = await openPgClient(SERVER_URL, { max: 1, onnotice: () => {} });
await server.unsafe(`CREATE DATABASE "${database}"`);
if (ASYNC_COMMIT) {
  await server.unsafe(`ALTER DATABASE "${database}" SET synchronous_commit = off`);
}
const rows: Row[] = [];
let latencyRows: string[][] = [];
const SAMPLES = Number(opts.get("latency") ?? 300);
try {
  for (const n of SIZES) rows.push(await measure(n));
  latencyRows = SAMPLES > 0 ? await latency(URL, SAMPLES) : [];
} finally {
  await server.unsafe(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  await server.end({ timeout: 1 });
}

const out: string[][] = [];
const small = rows[0];
const big = rows[rows.length - 1];
for (const op of [...OPS, "page near end, plain OFFSET"]) {
  const reference = !(op in small.api);
  const median = (r: Row, side: "api" | "raw") => stats(r[side][op]).median;
  const growth = reference ? NaN : median(big, "api") / median(small, "api");
  const rawGrowth = median(big, "raw") / median(small, "raw");
  out.push([
    reference ? `${op} (reference, no store call)` : op,
    rows.map((r) => `${reference ? "—" : fmt(median(r, "api"))} / ${fmt(median(r, "raw"))}`)
      .join(" · "),
    reference ? "—" : `×${fmt(growth)} ${goalMark(growth <= 2)}`,
    `×${fmt(rawGrowth)}`,
    reference ? "—" : rows.map((r) => {
      const ratio = ratios(r.api[op], r.raw[op]);
      return `${fs(ratio)}${goalMark(ratio.median <= 1.3)}`;
    }).join(" · "),
  ]);
}
const sizes = SIZES.map(fmt).join(" · ");
const md = [
  sectionHead(`4b. PostgreSQL store: ${sizes} items`, commandLine()),
  `Times are µs per call (median of up to 200 calls per round, ${ROUNDS} rounds; insert and ` +
  `delete alternate 40 times per round so the size stays put). Bare = the SQL statement the ` +
  `operation stands for, on the same tables and server, in the same round (see the bench's ` +
  `header). "insert, with a subscriber" is an insert and a delete while a listener is ` +
  `subscribed: each settles only once its change was reported to it (by the store itself: no ` +
  `other store listens here, so no change is published; with one, each write also sends ` +
  `pg_notify and settles once its change came back through LISTEN/NOTIFY). ` +
  `Goals: growth ≤ 2, store ÷ bare ≤ 1.3. ` +
  (ASYNC_COMMIT
    ? `Commits did not wait for the WAL flush (--async-commit), for store and bare alike.`
    : `Every commit waited for the WAL flush (the server's default).`),
  "",
  `Fill (batched INSERT) and first index load (ms): ${
    rows.map((r) => `${fmt(r.n)}: ${fmt(r.fillMs)} / ${fmt(r.loadMs)}`).join("; ")
  }.`,
  "",
  table([
    "operation",
    `µs per call, store / bare, at ${sizes}`,
    `growth ${fmt(SIZES[0])}→${fmt(SIZES.at(-1)!)} (goal ≤ 2)`,
    "bare growth",
    `store ÷ bare at ${sizes} (goal ≤ 1.3)`,
  ], out),
  ...(latencyRows.length
    ? [
      "",
      `Cross-instance latency at the store level: two store objects (separate connections) ` +
      `on one database; an insert through one, timed until the other's listener hears it ` +
      `(ms).`,
      "",
      table(["change feed", "p50 (ms)", "p99 (ms)", "samples"], latencyRows),
    ]
    : []),
].join("\n");
console.log(md);
if (opts.has("write")) writeSection("stores-postgres", md);
process.exit(0);
