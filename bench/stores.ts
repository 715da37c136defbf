/**
 * 4. Stores: memory, SQLite and Redis lists at 10k, 100k and 1M items. Per
 * operation (first page, a page near the end, indexOf, insert at a random
 * index, delete): the time per call, its growth from the smallest to the
 * largest size, and the ratio to the raw command it wraps, measured side by
 * side (store and raw calls alternate one by one):
 *
 * - SQLite: the plain statement on the same file (pages: the keyset `SELECT …
 *   WHERE key >= ? ORDER BY key LIMIT 20` the store runs, plus a row for plain
 *   `LIMIT 20 OFFSET ?` near the end; `SELECT COUNT(*) … key < ?`; one
 *   `INSERT`; one `DELETE`);
 * - Redis: the plain command on the store's sorted set, whose members carry
 *   the values (`ZRANGE` by rank, `ZRANK`, one `ZADD`, one `ZREM`);
 * - memory: a plain JS array (`slice`, `indexOf`, `splice`) as a reference.
 *
 * Lists are filled directly in the backing store (one SQL transaction of
 * INSERTs; Redis pipelines of ZADD/HSET batches in the store's format). The memory store has no
 * bulk path, so it is filled with API appends (timed and reported).
 *
 * Before anything is timed, each operation is warmed up, untimed: the store's
 * call and its raw command alternate, the same number of calls each (insert
 * and delete as insert + delete pairs, so the size stays put), `--warmup`
 * pairs per operation (default 2,000) or until `--warmup-ms` (default 1,000)
 * have passed, whichever comes first (the time cap is for raw commands that
 * take milliseconds, such as SQLite's COUNT(*) over 1M rows). Without it a
 * run made a few hundred inserts per process in all, so the store's
 * JavaScript was timed while V8 still ran it unoptimized, which no
 * long-running server does. `--warmup 0` leaves only the short warm-up of
 * connections and caches (20 calls of each) that runs either way, as
 * before, so both can be compared.
 *
 *   node --import tsx bench/stores.ts [--stores memory,sqlite,redis] [--sizes 10000,100000,1000000] [--rounds 3]
 *     [--warmup 2000] [--warmup-ms 1000]
 *     [--redis redis://127.0.0.1:6379] [--no-write: print the section instead of writing BENCHMARKS.md]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { sequentialOrderKeys } from "../stores/common/order_key.ts";
import type { ListSource, Store } from "../src/store.ts";
import { MemoryListSource } from "../stores/memory/mod.ts";
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
const STORES = (opts.get("stores") ?? "memory,sqlite,redis").split(",");
const SIZES = numbers(opts.get("sizes"), [10_000, 100_000, 1_000_000]);
const ROUNDS = Number(opts.get("rounds") ?? 3);
const WARMUP = Number(opts.get("warmup") ?? 2000);
const WARMUP_MS = Number(opts.get("warmup-ms") ?? 1000);
const REDIS_URL = opts.get("redis") ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379/0";
const OPS = ["first page", "page near end", "indexOf", "insert at random index", "delete"] as const;
type Op = typeof OPS[number];

const value = (i: number) => ({ n: i, text: `item ${i}` });
const idOf = (i: number) => `i${i}`;
let rng = 12345;
const random = (n: number) => {
  rng = (rng * 1103515245 + 12345) & 0x7fffffff;
  return rng % n;
};

interface Bench {
  source: ListSource<unknown>;
  /** The raw command for each operation, on the same data. */
  raw: Record<Op, (n: number) => Promise<unknown> | unknown>;
  close(): Promise<void>;
  /** Extra reference rows (no store call), e.g. SQLite's plain OFFSET paging. */
  extra?: Record<string, (n: number) => unknown>;
  fillMs: number;
  note?: string;
}

/** Runs `fn` repeatedly (≥ 5 calls, ≤ 200, ~150 ms): median µs per call. */
async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 5 || (samples.length < 200 && performance.now() - start < 150)) {
    const t0 = performance.now();
    await fn();
    samples.push((performance.now() - t0) * 1000);
  }
  return stats(samples).median;
}

/**
 * Median µs per call of `a` and of `b`, called alternately (at least 5 pairs,
 * at most 200 or 300 ms): a change in the machine's speed (on a shared VM the
 * loopback round trip can jump from ~40 to ~150 µs) lands on both sides alike
 * instead of on whichever block of calls ran at the time.
 */
async function timePair(
  a: () => Promise<unknown> | unknown,
  b: () => Promise<unknown> | unknown,
): Promise<[number, number]> {
  const as: number[] = [], bs: number[] = [];
  const start = performance.now();
  while (as.length < 5 || (as.length < 200 && performance.now() - start < 300)) {
    let t0 = performance.now();
    await a();
    as.push((performance.now() - t0) * 1000);
    t0 = performance.now();
    await b();
    bs.push((performance.now() - t0) * 1000);
  }
  return [stats(as).median, stats(bs).median];
}

// ---------------------------------------------------------------- memory
async function memoryBench(n: number): Promise<Bench> {
  const source = new MemoryListSource<unknown>();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await source.insert(i, value(i), idOf(i));
  const fillMs = performance.now() - t0;
  const array = Array.from({ length: n }, (_, i) => ({ id: idOf(i), value: value(i) }));
  return {
    source,
    fillMs,
    note: "API appends (no bulk path)",
    raw: {
      "first page": () =>
        array.slice(0, 20).map((e) => ({ id: e.id, value: structuredClone(e.value) })),
      "page near end": (k) =>
        array.slice(k - 40, k - 20).map((e) => ({ id: e.id, value: structuredClone(e.value) })),
      "indexOf": (k) => {
        const id = idOf(random(k));
        return array.findIndex((e) => e.id === id);
      },
      "insert at random index": (k) => array.splice(random(k), 0, { id: "x", value: value(0) }),
      "delete": () => array.splice(array.findIndex((e) => e.id === "x"), 1),
    },
    close: () => Promise.resolve(),
  };
}

// ---------------------------------------------------------------- sqlite
async function sqliteBench(n: number, dir: string): Promise<Bench> {
  const { openSqliteStore } = await import("../stores/sqlite/mod.ts");
  const { openSqliteDriver } = await import("../stores/sqlite/driver.ts");
  const path = join(dir, `bench-${n}.db`);
  const store: Store = await openSqliteStore({ path });
  const name = "bench";
  store.list(name); // creates the tables
  const fillDb = await openSqliteDriver(path);
  const t0 = performance.now();
  const keys = sequentialOrderKeys(n);
  fillDb.exec("BEGIN IMMEDIATE");
  const add = fillDb.prepare(
    "INSERT INTO socksync_items (list, id, key, value) VALUES (?, ?, ?, ?)",
  );
  for (let i = 0; i < n; i++) add.run(name, idOf(i), keys[i], JSON.stringify(value(i)));
  fillDb.prepare(
    `INSERT INTO socksync_lists (name, version, count) VALUES (?, 1, ?)
     ON CONFLICT (name) DO UPDATE SET version = version + 1, count = excluded.count`,
  ).run(name, n);
  fillDb.exec("COMMIT");
  const fillMs = performance.now() - t0;
  fillDb.close();
  // The bare statements on a fresh connection (the fill's page cache would
  // slow each of its statements after the store's commits), with the
  // store's durability setting (node:sqlite on Deno and Bun opens a WAL
  // file with synchronous = FULL: each bare commit would wait for fsync).
  const db = await openSqliteDriver(path);
  db.exec("PRAGMA synchronous = NORMAL");
  const page = db.prepare(
    "SELECT id, value FROM socksync_items WHERE list = ? ORDER BY key LIMIT ? OFFSET ?",
  );
  const keyset = db.prepare(
    "SELECT id, value FROM socksync_items WHERE list = ? AND key >= ? ORDER BY key LIMIT ?",
  );
  // The same statement with rows as arrays (as the store reads its pages): a reference row.
  const keysetArrays = db.prepareArrays!(
    "SELECT id, value FROM socksync_items WHERE list = ? AND key >= ? ORDER BY key LIMIT ?",
  );
  const keyOf = db.prepare("SELECT key FROM socksync_items WHERE list = ? AND id = ?");
  const rank = db.prepare("SELECT COUNT(*) AS n FROM socksync_items WHERE list = ? AND key < ?");
  // The bare writes on a connection of their own: the reads above (COUNT(*)
  // reads much of the list) fill their connection's page cache, which makes
  // each statement after another connection's commit slower, as it did the
  // store's until its index scan kept the cache small.
  const writer = await openSqliteDriver(path);
  writer.exec("PRAGMA synchronous = NORMAL");
  const ins = writer.prepare(
    "INSERT INTO socksync_items (list, id, key, value) VALUES (?, ?, ?, ?)",
  );
  const del = writer.prepare("DELETE FROM socksync_items WHERE list = ? AND id = ?");
  let raws = 0;
  return {
    source: store.list(name),
    fillMs,
    note: "one transaction of INSERTs",
    extra: {
      "page near end, plain LIMIT/OFFSET": (k) => page.all(name, 20, k - 40),
      "first page, the bare keyset statement returning arrays": () =>
        keysetArrays.all(name, keys[0], 20),
    },
    raw: {
      "first page": () => keyset.all(name, keys[0], 20),
      "page near end": (k) => keyset.all(name, keys[k - 40], 20),
      "indexOf": (k) => {
        const row = keyOf.get(name, idOf(random(k))) as { key: string };
        return rank.get(name, row.key);
      },
      // A key that sorts between two existing ones, like the store's.
      "insert at random index": (k) =>
        ins.run(name, `raw${++raws}`, `${keys[random(k)]}V`, JSON.stringify(value(0))),
      "delete": () => del.run(name, `raw${raws}`),
    },
    async close() {
      db.close();
      writer.close();
      await store.close();
    },
  };
}

// ---------------------------------------------------------------- redis
async function redisBench(n: number): Promise<Bench> {
  const { openRedisStore } = await import("../stores/redis/mod.ts");
  const { Redis } = await import("ioredis");
  const prefix = `socksync-bench-${process.pid}-${n}:`;
  const client = new Redis(REDIS_URL);
  const base = `${prefix}list:bench:`;
  const [items, entries, version] = ["items", "entries", "version"].map((k) => base + k);
  const t0 = performance.now();
  const keys = sequentialOrderKeys(n);
  const member = (i: number) => `${keys[i]}\0${idOf(i)}\0${JSON.stringify(value(i))}`;
  const BATCH = 5000;
  for (let from = 0; from < n; from += BATCH) {
    const to = Math.min(n, from + BATCH);
    const z: (string | number)[] = [];
    const h: string[] = [];
    for (let i = from; i < to; i++) {
      z.push(0, member(i));
      h.push(idOf(i), member(i));
    }
    await client.pipeline().zadd(items, ...z).hset(entries, ...h).exec();
  }
  await client.set(version, 1);
  const fillMs = performance.now() - t0;
  const store: Store = await openRedisStore({ url: REDIS_URL, prefix });
  let raws = 0;
  let rawMember = "";
  return {
    source: store.list("bench"),
    fillMs,
    note: "pipelined ZADD/HSET batches of 5,000",
    raw: {
      "first page": () => client.zrange(items, 0, 19),
      "page near end": (k) => client.zrange(items, k - 40, k - 21),
      "indexOf": (k) => client.zrank(items, member(random(k))),
      // (The member it removes is the one the raw insert just added.)
      "insert at random index": (k) =>
        client.zadd(
          items,
          0,
          rawMember = `${keys[random(k)]}V\0raw${++raws}\0${JSON.stringify(value(0))}`,
        ),
      "delete": () => client.zrem(items, rawMember),
    },
    async close() {
      await store.close();
      // Drop the benchmark's keys.
      await client.del(items, entries, version);
      client.disconnect();
    },
  };
}

// ---------------------------------------------------------------- run
interface Row {
  store: string;
  n: number;
  fillMs: number;
  note?: string;
  api: Record<Op, number[]>;
  raw: Record<Op, number[]>;
  extra: Record<string, number[]>;
}

async function measureStore(kind: string, n: number, dir: string): Promise<Row> {
  const bench = kind === "memory"
    ? await memoryBench(n)
    : kind === "sqlite"
    ? await sqliteBench(n, dir)
    : await redisBench(n);
  const s = bench.source;
  const row: Row = {
    store: kind,
    n,
    fillMs: bench.fillMs,
    note: bench.note,
    api: {} as Record<Op, number[]>,
    raw: {} as Record<Op, number[]>,
    extra: {},
  };
  let last: string | undefined;
  const api: Record<Op, () => Promise<unknown>> = {
    "first page": () => s.page(0, 20),
    "page near end": () => s.page(n - 40, 20),
    "indexOf": () => s.indexOf(idOf(random(n))),
    "insert at random index": async () => {
      last = (await s.insert(random(n), value(0))).id;
    },
    "delete": () => (last ? s.delete(last).then(() => (last = undefined)) : Promise.resolve()),
  };
  try {
    // Warm-up (connections, page cache), not recorded.
    for (let i = 0; i < 20; i++) {
      for (const op of OPS) {
        // insert then delete, so no warm-up row stays behind.
        await api[op]();
        await bench.raw[op](n);
      }
    }
    // Warm-up for the JIT, not recorded: store and raw alike, call for call.
    for (const op of OPS) {
      if (op === "delete") continue;
      const pair = op === "insert at random index";
      const start = performance.now();
      for (let i = 0; i < WARMUP && performance.now() - start < WARMUP_MS; i++) {
        await api[op]();
        if (pair) await api.delete();
        await bench.raw[op](n);
        if (pair) await bench.raw.delete(n);
      }
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const op of OPS) {
        // insert/delete alternate one call at a time so the size stays n.
        if (op === "insert at random index" || op === "delete") continue;
        const [a, b] = await timePair(api[op], () => bench.raw[op](n));
        (row.api[op] ??= []).push(a);
        (row.raw[op] ??= []).push(b);
      }
      const ins: number[] = [], del: number[] = [], rins: number[] = [], rdel: number[] = [];
      // Each timed call starts with nothing left over from the one before: Redis
      // delivers a store write's change to the store's subscriber connection
      // with its reply, and handling it would otherwise land in whichever call
      // (store or raw) is timed next. Two turns of the event loop let it run
      // (a sleep instead would time every call on cold caches).
      const timed = async (fn: () => Promise<unknown> | unknown, into: number[]) => {
        for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
        const t0 = performance.now();
        await fn();
        into.push((performance.now() - t0) * 1000);
      };
      for (let i = 0; i < 50; i++) {
        await timed(api["insert at random index"], ins);
        await timed(api.delete, del);
        await timed(() => bench.raw["insert at random index"](n), rins);
        await timed(() => bench.raw.delete(n), rdel);
      }
      (row.api["insert at random index"] ??= []).push(stats(ins).median);
      (row.api.delete ??= []).push(stats(del).median);
      (row.raw["insert at random index"] ??= []).push(stats(rins).median);
      (row.raw.delete ??= []).push(stats(rdel).median);
      for (const [name, fn] of Object.entries(bench.extra ?? {})) {
        (row.extra[name] ??= []).push(await time(() => fn(n)));
      }
    }
  } finally {
    await bench.close();
  }
  console.error(
    `stores ${kind} n=${n}: filled in ${fmt(row.fillMs)} ms; ` +
      OPS.map((op) =>
        `${op} ${fmt(stats(row.api[op]).median)} µs (raw ${fmt(stats(row.raw[op]).median)})`
      ).join(", "),
  );
  return row;
}

const dir = mkdtempSync(join(tmpdir(), "socksync-bench-"));
const rows: Row[] = [];
const errors: string[] = [];
try {
  for (const kind of STORES) {
    for (const n of SIZES) {
      try {
        rows.push(await measureStore(kind, n, dir));
      } catch (error) {
        errors.push(`${kind} n=${n}: ${(error as Error).message.slice(0, 300)}`);
        console.error(errors.at(-1));
        break;
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const out: string[][] = [];
for (const kind of STORES) {
  const mine = rows.filter((r) => r.store === kind);
  if (mine.length === 0) continue;
  const small = mine[0];
  const big = mine[mine.length - 1];
  for (const op of OPS) {
    const growth = stats(big.api[op]).median / stats(small.api[op]).median;
    const rawGrowth = stats(big.raw[op]).median / stats(small.raw[op]).median;
    const vsRaw = mine.map((r) => ratios(r.api[op], r.raw[op]));
    out.push([
      kind,
      op,
      mine.map((r) => `${fmt(stats(r.api[op]).median)} / ${fmt(stats(r.raw[op]).median)}`).join(
        " · ",
      ),
      `×${fmt(growth)} ${goalMark(growth <= 2)}`,
      `×${fmt(rawGrowth)}`,
      `×${fmt(growth / rawGrowth)}`,
      vsRaw.map((s) => `${fs(s)}${kind === "memory" ? "" : goalMark(s.median <= 1.3)}`).join(
        " · ",
      ),
    ]);
  }
  for (const name of Object.keys(small.extra)) {
    const growth = stats(big.extra[name]).median / stats(small.extra[name]).median;
    out.push([
      kind,
      `${name} (reference, no store call)`,
      mine.map((r) => `— / ${fmt(stats(r.extra[name]).median)}`).join(" · "),
      "— (reference, no goal)",
      `×${fmt(growth)}`,
      "—",
      "—",
    ]);
  }
}
// The warm-up as the method paragraph states it.
function warmup(): string {
  const base = "20 calls of each operation and of its raw command (connections, caches)";
  if (WARMUP <= 0) {
    return `${base} only, none for the JIT: the store's JavaScript may still run unoptimized`;
  }
  return `${base}, then ${
    fmt(WARMUP)
  } calls of each and as many of its raw command, alternating (insert and ` +
    `delete as insert + delete pairs, so the size stays put), or fewer when ${
      fmt(WARMUP_MS)
    } ms have passed: ` +
    `so V8 has optimized the store's JavaScript, as in a long-running server (where the time cap ` +
    `stops the warm-up early, as for SQLite's indexOf at 1M, its JavaScript has run fewer times)`;
}

const sizes = SIZES.map(fmt).join(" · ");
const md = [
  sectionHead(`4. Stores: ${sizes} items`, commandLine()),
  `Times are µs per call (median of up to 200 calls per round, ${ROUNDS} rounds, after an untimed warm-up of ${warmup()}; pages and indexOf alternate with their raw command call by call; insert and delete alternate 50 times per round ` +
  `so the size stays put, each timed call after two turns of the event loop so that no work left over from the call ` +
  `before, such as a Redis change reaching the store's subscriber, lands in it). Raw = the command the store wraps, on the same data, in the same round: SQLite the plain statement ` +
  `(on connections of their own with the store's \`synchronous = NORMAL\`, the writes on one that runs nothing else) ` +
  `(pages: the keyset \`SELECT id, value … WHERE key >= ? ORDER BY key LIMIT 20\` the store runs with the start key ` +
  `from its in-memory index, with rows as the driver returns them by default, objects; the store asks for ` +
  `arrays, so a reference row shows that statement returning arrays too; and a reference row for plain ` +
  `\`LIMIT 20 OFFSET ?\` near the end; indexOf \`SELECT key\` + \`SELECT COUNT(*) … key < ?\`; one \`INSERT\`; one \`DELETE\`), ` +
  `Redis the plain command on the store's sorted set, whose members carry the values (\`ZRANGE\` by rank; \`ZRANK\`; one \`ZADD\`; one \`ZREM\`), memory a plain JS array ` +
  `(\`slice\`+clone, \`findIndex\`, \`splice\`: a reference, no goal). Goals: growth ${
    fmt(SIZES[0])
  }→${fmt(SIZES.at(-1)!)} ≤ 2 ` +
  `(SQLite's plain OFFSET paging, which the store no longer uses, shown as a reference row); store ÷ raw ≤ 1.3. Redis is shared with other users of ` +
  `the machine: when the raw command's own time drifts between sizes, "growth ÷ raw growth" is the fairer growth figure.`,
  "",
  `Fill times (ms): ${
    rows.map((r) => `${r.store} ${fmt(r.n)}: ${fmt(r.fillMs)} (${r.note})`).join("; ")
  }.`,
  errors.length ? `\nErrors: ${errors.join("; ")}` : "",
  "",
  table([
    "store",
    "operation",
    `µs per call, store / raw, at ${sizes}`,
    `growth ${fmt(SIZES[0])}→${fmt(SIZES.at(-1)!)} (goal ≤ 2)`,
    "raw growth",
    "growth ÷ raw growth",
    `store ÷ raw at ${sizes} (goal ≤ 1.3)`,
  ], out),
].join("\n");
console.log(md);
if (!opts.has("no-write")) writeSection("stores", md);
process.exit(0);
