/**
 * Scale-out over Redis: three demo server processes, one on Deno, one on Bun
 * and one on Node, share a private redis-server this test starts on a free
 * port. Clients on every instance mirror the counter and a page of the todos;
 * random changes go through every instance, and after each one every mirror
 * must equal what the store holds. Then: concurrent increments on all
 * instances (none lost, every mirror sees the counter only grow), dropped
 * Redis connections, a Redis restart (calls fail with code 8 while it is
 * down; changes flow again after), and a killed instance whose clients
 * reconnect to another one. (Each instance keeps its own chat here: only a
 * PostgreSQL store shares it, see scale_out_postgres_test.ts.)
 *
 * It spawns all three runtimes itself, so it runs under Node only and is
 * skipped, visibly, under `deno test` and `bun test`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawnSync } from "node:child_process";
import { Redis } from "ioredis";
import { openRedisStore } from "../stores/redis/mod.ts";
import { freePort } from "./helpers/free_port.ts";
import { RUNTIMES, scaleOutSkip, withScaleOut } from "./helpers/scale_out.ts";
import { killedInstance, sharedChanges } from "./helpers/scale_out_checks.ts";
import { startRedis, stopProcess } from "./helpers/stores.ts";
import { waitUntil } from "./helpers/wait.ts";

const skip = scaleOutSkip("redis-server is installed", () => {
  const probe = spawnSync("redis-server", ["--version"], { stdio: "ignore" });
  return probe.error || probe.status !== 0 ? "no redis-server binary on PATH" : false;
});

test("scale-out: Deno, Bun and Node instances on one Redis", {
  skip,
  timeout: 120_000,
}, async (t) => {
  const redisPort = await freePort();
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  let redis: ChildProcess | undefined = await startRedis(redisPort);
  try {
    await withScaleOut(t, {
      store: redisUrl,
      openTruth: () => openRedisStore({ url: redisUrl, timeoutMs: 2000 }),
    }, async (s) => {
      const { drivers, store } = s;
      await sharedChanges(t, s);

      await t.test("dropped Redis connections: every instance resyncs", async () => {
        const admin = new Redis(redisUrl);
        try {
          // Every subscriber connection drops; the changes made before they
          // are back are missed and must be repaired by the reset.
          await admin.client("KILL", "TYPE", "pubsub");
          await Promise.all(
            drivers.map((driver) => driver.call("add_todo", { text: "while deaf" })),
          );
          await drivers[1].call("increment", { by: 10 });
          await s.converge("every mirror after its instance's subscriber reconnected");
          await admin.client("KILL", "TYPE", "normal");
          await waitUntil(
            () =>
              drivers[2].call("add_todo", { text: "after command drop" }).then(
                () => true,
                () => false,
              ),
            { what: "a change after the command connections dropped" },
          );
          await s.converge("every mirror after the command connections dropped");
        } finally {
          admin.disconnect();
        }
        for (let n = 0; n < 6; n++) await s.change(n % 3);
      });

      await t.test("Redis restarts: calls fail with code 8, then changes flow again", async () => {
        await stopProcess(redis);
        redis = undefined;
        for (const driver of drivers) {
          await assert.rejects(driver.call("add_todo", { text: "down" }), { code: 8 });
          await assert.rejects(driver.call("increment"), { code: 8 });
        }
        redis = await startRedis(redisPort);
        // Each instance reconnects on its own schedule: wait until each takes a change.
        for (const [i, driver] of drivers.entries()) {
          await waitUntil(
            () => driver.call("increment").then(() => true, () => false),
            { what: `${RUNTIMES[i]} to take changes again`, timeout: 15_000 },
          );
        }
        assert.equal(await store.vars.get("counter"), 3);
        // The restarted Redis is empty: every list view must show that, not the old pages.
        await s.converge("every mirror on the restarted (empty) Redis");
        for (let n = 0; n < 9; n++) await s.change(n % 3);
      });

      await killedInstance(t, s);
    });
  } finally {
    await stopProcess(redis);
  }
});
