/**
 * Store-level cross-instance latency for bench/stores_postgres.ts: how long
 * an insert through one store object takes to reach another one's listener,
 * over PostgreSQL (LISTEN/NOTIFY) and, when one answers, over Redis.
 *
 * @module
 */
import process from "node:process";
import type { Store } from "../src/store.ts";
import { openPostgresStore } from "../stores/postgres/mod.ts";
import { openPgClient } from "../stores/postgres/driver.ts";
import { fmt } from "./lib.ts";

/**
 * Store-level cross-instance latency: two store objects (own connections,
 * like two instances) on one database; each sample is an insert through A,
 * timed until B's listener hears it (and the item is deleted again before
 * the next). Redis, when reachable, is measured the same way, interleaved.
 */
export async function latency(URL: string, samples: number): Promise<string[][]> {
  const schema = `socksync_bench_latency_${process.pid}`;
  const pairs: { name: string; a: Store; b: Store; cleanup: () => Promise<void> }[] = [];
  const pa = await openPostgresStore({ url: URL, schema });
  const pb = await openPostgresStore({ url: URL, schema });
  pairs.push({
    name: "PostgreSQL (LISTEN/NOTIFY)",
    a: pa,
    b: pb,
    async cleanup() {
      await pa.close();
      await pb.close();
      const sql = await openPgClient(URL, { max: 1, onnotice: () => {} });
      await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await sql.end({ timeout: 1 });
    },
  });
  try {
    const { openRedisStore } = await import("../stores/redis/mod.ts");
    const { deleteRedisPrefix } = await import("../tests/helpers/stores.ts");
    const prefix = `socksync-bench-latency-${process.pid}:`;
    const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
    const ra = await openRedisStore({ url: redisUrl, prefix, timeoutMs: 2000 });
    const rb = await openRedisStore({ url: redisUrl, prefix, timeoutMs: 2000 });
    pairs.push({
      name: "Redis (PUBLISH)",
      a: ra,
      b: rb,
      async cleanup() {
        await ra.close();
        await rb.close();
        await deleteRedisPrefix(prefix);
      },
    });
  } catch (error) {
    console.error(`latency: no Redis (${(error as Error).message.slice(0, 100)})`);
  }
  const times = new Map<string, number[]>(pairs.map((pair) => [pair.name, []]));
  try {
    for (let i = 0; i < samples + 20; i++) {
      for (const { name, a, b } of pairs) {
        const heard = new Promise<void>((resolve) => {
          const stop = b.list("lat").subscribe((change) => {
            if (change.op === "insert") {
              stop();
              resolve();
            }
          });
        });
        const t0 = performance.now();
        const item = await a.list("lat").insert(0, { i });
        await heard;
        if (i >= 20) times.get(name)!.push(performance.now() - t0);
        await a.list("lat").delete(item.id);
      }
    }
  } finally {
    for (const pair of pairs) await pair.cleanup();
  }
  const pct = (values: number[], p: number) =>
    [...values].sort((x, y) => x - y)[Math.min(values.length - 1, Math.floor(values.length * p))];
  return pairs.map(({ name }) => {
    const values = times.get(name)!;
    return [name, fmt(pct(values, 0.5)), fmt(pct(values, 0.99)), String(values.length)];
  });
}
