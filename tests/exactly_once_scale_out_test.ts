/**
 * Calls exactly once across two instances: two demo servers (on different
 * runtimes) share a Redis, then a PostgreSQL store, behind a fault proxy
 * that cuts random connections and sends each reconnect to the other
 * instance than the one it was cut from. Every acknowledged call is applied
 * once (the repeat on the other instance is answered from the shared store),
 * none rejected was applied, and every mirror converges to a fresh read.
 * Runs under Node only: it spawns the servers itself.
 *
 * @module
 */
import { after, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { type Client, connect } from "../src/client/client.ts";
import type { VarMirror } from "../src/client/mirror.ts";
import type { Store } from "../src/store.ts";
import { openRedisStore } from "../stores/redis/mod.ts";
import { openPostgresStore } from "../stores/postgres/mod.ts";
import { random } from "../src/testing/kit.ts";
import { startFaultProxy } from "./helpers/fault_proxy.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";
import { type ServerRuntime, type SpawnedServer, spawnServer } from "./helpers/spawn_server.ts";
import { spawnSync } from "node:child_process";
import { startRedis, stopProcess } from "./helpers/stores.ts";
import { freePort } from "./helpers/free_port.ts";
import { POSTGRES_URL, postgresHarness, tempDatabase } from "./helpers/postgres.ts";
import { scaleOutSkip } from "./helpers/scale_out.ts";
import { cutWhileCalling } from "./helpers/cut_calls.ts";
import { waitUntil } from "./helpers/wait.ts";

const CLIENTS = 6;

async function cutAcrossInstances(
  t: TestContext,
  runtimes: [ServerRuntime, ServerRuntime],
  storeUrl: string,
  openTruth: () => Promise<Store>,
): Promise<void> {
  const seed = Math.floor(Math.random() * 2 ** 31);
  t.diagnostic(`seed ${seed}`);
  const rand = random(seed);
  const servers: SpawnedServer[] = [];
  const clients: { client: Client; counter: VarMirror<number> }[] = [];
  let truth: Store | undefined;
  try {
    servers.push(
      ...await Promise.all(
        runtimes.map((runtime) =>
          spawnServer({ runtime, env: { SOCKSYNC_STORE: storeUrl }, timeout: 60_000 })
        ),
      ),
    );
    const ports = servers.map((s) => s.port);
    // Each new connection goes to the instance the last cut one was not on.
    let next = 0;
    const proxy = await startFaultProxy({
      latency: [10, 40],
      target: () => {
        const port = ports[next];
        next = 1 - next;
        return port;
      },
    });
    try {
      const WebSocket = await webSocketClass();
      for (let i = 0; i < CLIENTS; i++) {
        const client = connect(proxy.url("/ws/socksync"), {
          WebSocket,
          reconnect: { minDelay: 20, maxDelay: 200 },
        });
        clients.push({ client, counter: client.var<number>("counter") });
      }
      truth = await openTruth();
      const store = truth;
      await Promise.all(clients.map(({ client }) => client.ready()));
      let landedElsewhere = 0;
      const stats = await cutWhileCalling({
        rand,
        clients: clients.map((c) => c.client),
        store,
        duration: 6_000,
        cut: (rand) => {
          const open = proxy.open;
          if (open.length === 0) return;
          const victim = open[Math.floor(rand() * open.length)];
          next = ports.indexOf(victim.port) === 0 ? 1 : 0;
          landedElsewhere++;
          victim.cut();
        },
      });
      t.diagnostic(
        `${
          runtimes.join("+")
        }: ${stats.cuts} cuts (${landedElsewhere} reconnects sent to the other instance), ` +
          `${stats.acknowledged} calls acknowledged, ${stats.failed} failed, counter +${stats.growth} ` +
          `(acknowledged increments +${stats.acknowledgedGrowth})`,
      );
      const value = await store.vars.get("counter");
      const converged = () =>
        waitUntil(() => clients.every((c) => c.client.connected && c.counter.value === value), {
          what: "every counter mirror equal to the store",
          timeout: 15_000,
        });
      const instances = () => new Set(proxy.open.map((c) => c.port)).size;
      await converged();
      if (instances() < 2) {
        // Random cuts can leave every client on one instance (a few runs in a
        // hundred): move one over, so that both instances are checked.
        const victim = proxy.open[0];
        next = ports.indexOf(victim.port) === 0 ? 1 : 0;
        victim.cut();
        await waitUntil(() => instances() === 2, { what: "a client on each instance" });
        await converged();
      }
      assert.equal(instances(), 2, "clients on both instances");
    } finally {
      for (const { client } of clients) client.close();
      await proxy.close();
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await truth?.close();
  }
}

const redisSkip = scaleOutSkip("redis-server is installed", () => {
  const probe = spawnSync("redis-server", ["--version"], { stdio: "ignore" });
  return probe.error || probe.status !== 0 ? "no redis-server binary on PATH" : false;
});

test("cuts across two instances on Redis: each call applied once", {
  skip: redisSkip,
  timeout: 120_000,
}, async (t) => {
  // A private Redis: the demo's keys have no prefix of their own.
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const redis = await startRedis(port);
  try {
    await cutAcrossInstances(t, ["deno", "bun"], url, () => openRedisStore({ url }));
  } finally {
    await stopProcess(redis);
  }
});

const pg = await postgresHarness();
after(() => pg.cleanup());

test("cuts across two instances on PostgreSQL: each call applied once", {
  skip: scaleOutSkip("PostgreSQL is reachable", () => false) || pg.skip,
  timeout: 120_000,
}, async (t) => {
  const db = await tempDatabase(pg.admin!, POSTGRES_URL);
  try {
    await cutAcrossInstances(t, ["node", "deno"], db.url, () => openPostgresStore({ url: db.url }));
  } finally {
    await db.drop();
  }
});
