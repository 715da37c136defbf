/**
 * The memory of call answers: a repeat gets the first answer (also while the
 * first run is going, also from another instance sharing a Redis or
 * PostgreSQL store), and the bounds hold (the oldest answers are forgotten
 * first, then run again).
 *
 * @module
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { CallMemory } from "../src/server/call_memory.ts";
import type { CallStore, Store } from "../src/store.ts";
import { openRedisStore } from "../stores/redis/mod.ts";
import { deleteRedisPrefix, REDIS_URL, redisReachable } from "./helpers/stores.ts";
import { postgresHarness } from "./helpers/postgres.ts";

test("in one process: one run per key, repeats get its answer, the oldest are forgotten", async () => {
  const memory = new CallMemory({ maxAnswers: 2 });
  let runs = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const slow = async () => {
    runs++;
    await gate;
    return `answer ${runs}`;
  };
  const first = memory.once("a", slow);
  const repeat = memory.once("a", slow);
  release();
  assert.equal(await first, "answer 1");
  assert.equal(await repeat, "answer 1");
  assert.equal(await memory.once("a", slow), "answer 1");
  await memory.once("b", slow);
  await memory.once("c", slow);
  assert.equal(memory.size, 2, "bounded: the oldest answer was forgotten");
  // "a" was forgotten: a repeat runs again (documented past the bound).
  assert.equal(await memory.once("a", slow), "answer 4");
  assert.equal(runs, 4);
});

/** Two instances' memories on one shared store: one run in all, the same answer in all. */
async function sharedAcrossInstances(calls: CallStore): Promise<void> {
  const one = new CallMemory({ store: calls, ttl: 10_000 });
  const two = new CallMemory({ store: calls, ttl: 10_000 });
  let runs = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const run = async () => {
    runs++;
    await gate;
    return `{"value":${runs}}`;
  };
  const key = `increment\n${Math.random().toString(36).slice(2)}`;
  const first = one.once(key, run);
  // Let the first claim land, then repeat on the other instance while it runs.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const repeat = two.once(key, run);
  setTimeout(release, 200);
  assert.equal(await first, `{"value":1}`);
  assert.equal(await repeat, `{"value":1}`);
  assert.equal(await two.once(key, run), `{"value":1}`);
  assert.equal(await new CallMemory({ store: calls }).once(key, run), `{"value":1}`);
  assert.equal(runs, 1);
}

async function withStore(open: () => Promise<Store>, body: (store: Store) => Promise<void>) {
  const store = await open();
  try {
    await body(store);
  } finally {
    await store.close();
  }
}

test("across instances on Redis", async (t) => {
  if (!(await redisReachable())) return t.skip(`no Redis at ${REDIS_URL}`);
  const prefix = `socksync-test:${Math.random().toString(36).slice(2)}:`;
  try {
    await withStore(
      () => openRedisStore({ url: REDIS_URL, prefix }),
      (store) => sharedAcrossInstances(store.calls!),
    );
  } finally {
    await deleteRedisPrefix(prefix);
  }
});

const pg = await postgresHarness();
after(() => pg.cleanup());

pg.storeTest("across instances on PostgreSQL", { skip: pg.skip }, async () => {
  await sharedAcrossInstances((await pg.open()).calls!);
});
