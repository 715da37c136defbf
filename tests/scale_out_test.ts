/**
 * Scale-out over Redis (issue #5): three demo server processes, one on Deno,
 * one on Bun and one on Node, share a private redis-server this test starts
 * on a free port. Clients on every instance mirror the counter and a page of
 * the todos; random changes go through every instance, and after each one
 * every mirror must equal what the store holds. Then: concurrent increments
 * on all instances (none lost, every mirror sees the counter only grow),
 * dropped Redis connections, a Redis restart (calls fail with code 8 while it
 * is down; changes flow again after), and a killed instance whose clients
 * reconnect to another one.
 *
 * It spawns all three runtimes itself, so it runs under Node only and is
 * skipped, visibly, under `deno test` and `bun test`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawnSync } from "node:child_process";
import { connect as tcpConnect, createServer, type Socket } from "node:net";
import process from "node:process";
import { Redis } from "ioredis";
import { type Client, connect, type ListView } from "../src/client.ts";
import { detectRuntime } from "../src/serve.ts";
import type { VarMirror } from "../src/mirror.ts";
import type { Store } from "../src/store.ts";
import { openRedisStore } from "../stores/redis.ts";
import { freePort } from "./helpers/free_port.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";
import { type ServerRuntime, type SpawnedServer, spawnServer } from "./helpers/spawn_server.ts";
import { startRedis, stopProcess } from "./helpers/stores.ts";
import { waitUntil } from "./helpers/wait.ts";

interface Todo {
  text: string;
  done: boolean;
}

const RUNTIMES: ServerRuntime[] = ["deno", "bun", "node"];
/** The views the clients of each instance open: page and page size. */
const VIEWS = [
  { page: 0, pageSize: 3 },
  { page: 1, pageSize: 2 },
  { page: 2, pageSize: 4 },
];
const RANDOM_CHANGES = 45;
const CONCURRENT_INCREMENTS = 25;
const CONCURRENT_LIST_CHANGES = 15;

function why(): string | false {
  if (detectRuntime() !== "node") {
    return `runs under Node only: it spawns the Deno, Bun and Node servers itself (this is ${detectRuntime()})`;
  }
  const probe = spawnSync("redis-server", ["--version"], { stdio: "ignore" });
  if (probe.error || probe.status !== 0) {
    return "no redis-server binary on PATH";
  }
  return false;
}

const skip = why();
if (skip) {
  if (process.env.CI === "true" && detectRuntime() === "node") {
    test("redis-server is installed (CI=true)", () => assert.fail(skip));
  } else console.log(`SKIPPED: scale-out test (${skip})`);
}

/**
 * A TCP forwarder standing in for a load balancer: each new connection goes
 * to the port `target()` names at that moment, so clients that lose their
 * instance reconnect to another one without knowing.
 */
async function startBalancer(target: () => number) {
  const sockets = new Set<Socket>();
  const server = createServer((downstream) => {
    const upstream = tcpConnect(target(), "127.0.0.1");
    for (const socket of [downstream, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
    }
    downstream.pipe(upstream).pipe(downstream);
    downstream.on("close", () => upstream.destroy());
    upstream.on("close", () => downstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}/ws/socksync`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One mirroring client: a counter mirror and one list view. */
interface Mirrors {
  instance: number;
  client: Client;
  counter: VarMirror<number>;
  view: ListView<Todo>;
  /** Every counter value the mirror showed, in order. */
  seen: number[];
}

/** A seeded PRNG (mulberry32), so a failing run can be replayed with its seed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test("scale-out: Deno, Bun and Node instances on one Redis", {
  skip,
  timeout: 120_000,
}, async (t) => {
  const seed = Number(process.env.SCALE_OUT_SEED) ||
    Math.floor(Math.random() * 2 ** 31);
  const rand = random(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)];
  t.diagnostic(`seed ${seed} (replay with SCALE_OUT_SEED=${seed})`);

  const WebSocket = await webSocketClass();
  const redisPort = await freePort();
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  let redis: ChildProcess | undefined = await startRedis(redisPort);
  const servers: SpawnedServer[] = [];
  const alive = [true, true, true];
  const balancers: { url: string; close: () => Promise<void> }[] = [];
  const mirrors: Mirrors[] = [];
  let truth: Store | undefined;
  try {
    servers.push(
      ...await Promise.all(RUNTIMES.map((runtime) =>
        spawnServer({
          runtime,
          env: { SOCKSYNC_STORE: redisUrl },
          timeout: 60_000,
        })
      )),
    );
    for (let i = 0; i < servers.length; i++) {
      // Instance i, or the next one alive once it is gone.
      balancers.push(
        await startBalancer(() => {
          for (let k = 0; k < servers.length; k++) {
            const j = (i + k) % servers.length;
            if (alive[j]) return servers[j].port;
          }
          return servers[i].port;
        }),
      );
    }
    truth = await openRedisStore({ url: redisUrl, timeoutMs: 2000 });
    const store = truth;
    for (let i = 0; i < servers.length; i++) {
      for (let k = 0; k < VIEWS.length; k++) {
        const client = connect(balancers[i].url, {
          WebSocket,
          reconnect: { minDelay: 50, maxDelay: 300 },
        });
        const counter = client.var<number>("counter");
        const seen: number[] = [];
        counter.onChange(() => seen.push(counter.value!));
        const view = client.list<Todo>("todos", VIEWS[(i + k) % VIEWS.length]);
        mirrors.push({ instance: i, client, counter, view, seen });
      }
    }
    const drivers = servers.map((_, i) => mirrors.find((m) => m.instance === i)!.client);

    /** Whether every mirror equals the store; else a description of the first that does not. */
    const mismatch = async (): Promise<string | undefined> => {
      const counter = (await store.vars.get("counter") ?? 0) as number;
      const list = store.list<Todo>("todos");
      for (const [n, m] of mirrors.entries()) {
        const where = `mirror ${n} (instance ${m.instance}, ${RUNTIMES[m.instance]})`;
        if (!m.client.connected) return `${where} is not connected`;
        if (!m.counter.ready || m.counter.value !== counter) {
          return `${where}: counter ${m.counter.value}, store ${counter}`;
        }
        const size = m.view.pageSize!;
        const page = await list.page(m.view.page * size, size);
        const last = page.total === 0 ? 0 : Math.ceil(page.total / size) - 1;
        if (
          !m.view.ready || m.view.total !== page.total || m.view.page > last ||
          JSON.stringify(m.view.items) !== JSON.stringify(page.items)
        ) {
          return `${where}: page ${m.view.page}×${size} total ${m.view.total} ${
            JSON.stringify(m.view.items.map((i) => i.id))
          }, store total ${page.total} ${JSON.stringify(page.items.map((i) => i.id))}`;
        }
      }
      return undefined;
    };
    const converge = async (what: string) => {
      let last: string | undefined;
      try {
        await waitUntil(async () => (last = await mismatch()) === undefined, {
          what,
          timeout: 15_000,
        });
      } catch (error) {
        throw new Error(`${(error as Error).message}: ${last}`);
      }
    };

    /** One random change through instance `i`, checked against the store after it. */
    const change = async (i: number) => {
      const list = store.list<Todo>("todos");
      const { items, total } = await list.page(0, 1000);
      const roll = rand();
      const driver = drivers[i];
      let what: string;
      if (roll < 0.15) {
        const by = 1 + Math.floor(rand() * 5);
        await driver.call("increment", { by });
        what = `increment by ${by}`;
      } else if (roll < 0.55 || total < 3) {
        const index = Math.floor(rand() * (total + 1));
        await driver.call("add_todo", { text: `t${seed % 1000}-${index}`, index });
        what = `add at ${index}`;
      } else if (roll < 0.75) {
        const { id } = pick(items);
        await driver.call("toggle_todo", { id });
        what = `toggle ${id}`;
      } else {
        const { id } = pick(items);
        await driver.call("delete_todo", { id });
        what = `delete ${id}`;
      }
      await converge(`every mirror after "${what}" through ${RUNTIMES[i]}`);
    };

    await t.test("every mirror starts from the store", async () => {
      await converge("the first pages");
    });

    await t.test("random changes through every instance reach every mirror", async () => {
      for (let n = 0; n < RANDOM_CHANGES; n++) await change(n % 3);
    });

    await t.test("concurrent increments on all instances lose nothing, in order", async () => {
      const before = (await store.vars.get("counter") ?? 0) as number;
      for (const m of mirrors) m.seen.length = 0;
      await Promise.all(drivers.map(async (driver) => {
        for (let n = 0; n < CONCURRENT_INCREMENTS; n++) {
          await driver.call("increment", { by: 1 });
        }
      }));
      const expected = before + CONCURRENT_INCREMENTS * drivers.length;
      assert.equal(await store.vars.get("counter"), expected);
      await converge("the counter on every mirror");
      for (const m of mirrors) {
        const sorted = [...m.seen].sort((a, b) => a - b);
        assert.deepEqual(m.seen, sorted, `instance ${m.instance} showed values out of order`);
        assert.equal(m.seen.at(-1), expected);
      }
    });

    await t.test("concurrent list changes on all instances: every page exact", async () => {
      const list = store.list<Todo>("todos");
      await Promise.all(drivers.map(async (driver, i) => {
        for (let n = 0; n < CONCURRENT_LIST_CHANGES; n++) {
          const { items, total } = await list.page(0, 1000);
          const roll = rand();
          // Others change the list meanwhile: an id may be gone (4), an index past the end (6).
          const call = roll < 0.5 || total < 3
            ? driver.call("add_todo", {
              text: `c${i}-${n}`,
              index: Math.floor(rand() * (total + 1)),
            })
            : roll < 0.75
            ? driver.call("toggle_todo", { id: pick(items).id })
            : driver.call("delete_todo", { id: pick(items).id });
          await call.catch((error: { code?: number }) => {
            if (error.code !== 4 && error.code !== 6) throw error;
          });
        }
      }));
      await converge("every mirror after concurrent list changes");
    });

    await t.test("dropped Redis connections: every instance resyncs", async () => {
      const admin = new Redis(redisUrl);
      try {
        // Every subscriber connection drops; the changes made before they
        // are back are missed and must be repaired by the reset.
        await admin.client("KILL", "TYPE", "pubsub");
        await Promise.all(drivers.map((driver) => driver.call("add_todo", { text: "while deaf" })));
        await drivers[1].call("increment", { by: 10 });
        await converge("every mirror after its instance's subscriber reconnected");
        await admin.client("KILL", "TYPE", "normal");
        await waitUntil(
          () =>
            drivers[2].call("add_todo", { text: "after command drop" }).then(
              () => true,
              () => false,
            ),
          { what: "a change after the command connections dropped" },
        );
        await converge("every mirror after the command connections dropped");
      } finally {
        admin.disconnect();
      }
      for (let n = 0; n < 6; n++) await change(n % 3);
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
      await converge("every mirror on the restarted (empty) Redis");
      for (let n = 0; n < 9; n++) await change(n % 3);
    });

    await t.test("a killed instance: its clients reconnect to another and converge", async () => {
      const victim = 1;
      alive[victim] = false;
      const orphans = mirrors.filter((m) => m.instance === victim);
      await servers[victim].stop("SIGKILL");
      await waitUntil(() => orphans.every((m) => !m.client.connected), {
        what: "the orphaned clients to notice",
      }).catch(() => {/* they may already be back */});
      await converge("every mirror, the orphans reconnected elsewhere");
      const health = await Promise.all(
        servers.filter((_, i) => alive[i]).map(async (s) =>
          (await (await fetch(`${s.url}/health`)).json()).connections as number
        ),
      );
      assert.equal(health.reduce((a, b) => a + b, 0), mirrors.length);
      // Their own calls now run on the instance they landed on.
      drivers[victim] = orphans[0].client;
      for (let n = 0; n < 9; n++) await change(n % 3);
    });
  } finally {
    for (const m of mirrors) m.client.close();
    for (const balancer of balancers) await balancer.close();
    await Promise.all(servers.map((server) => server.stop()));
    await truth?.close();
    await stopProcess(redis);
  }
});
