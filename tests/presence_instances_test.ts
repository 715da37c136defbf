/**
 * Presence across instances: three demo servers (Deno, Bun and Node) on one Redis (a
 * private redis-server on a free port) and on one PostgreSQL database (a random one),
 * each with its default lease (5 s, renewed every second). Members joining on one
 * instance are listed on every other; a graceful leave reaches the same instance within
 * 1 s and the others within 2 s; the members of an instance killed with SIGKILL are gone
 * from the others' views within 10 s; a client that reconnects elsewhere is listed once.
 * The measured times are printed.
 */
import { after, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { freePort } from "./helpers/free_port.ts";
import { postgresHarness, tempDatabase } from "./helpers/postgres.ts";
import { type Frame, RawSocket } from "./helpers/raw_socket.ts";
import { type ServerRuntime, type SpawnedServer, spawnServer } from "./helpers/spawn_server.ts";
import { startRedis, stopProcess } from "./helpers/stores.ts";
import { PageMirror } from "./helpers/page_mirror.ts";
import { waitUntil } from "./helpers/wait.ts";

const RUNTIMES: ServerRuntime[] = ["deno", "bun", "node"];
const ROOM = { room: "lobby" };

/** A view of `room_members` of the lobby, kept from its frames. */
async function watch(url: string) {
  const socket = await RawSocket.open(url);
  const mirror = new PageMirror();
  const seen: Frame[] = [];
  socket.socket.addEventListener("message", (event) => {
    const frame = JSON.parse(String((event as MessageEvent).data)) as Frame;
    if (frame.type === "list" && frame.name === "room_members") {
      mirror.apply(frame);
      seen.push(frame);
    }
  });
  socket.send({ func: "subscribe", type: "list", name: "room_members", params: ROOM });
  await waitUntil(() => mirror.page >= 0, { what: "the members' set_all" });
  return { socket, mirror, seen };
}

async function join(url: string, name: string) {
  const socket = await RawSocket.open(url);
  socket.send({ func: "subscribe", type: "list", name: "messages", params: ROOM });
  await socket.next((f) => f.func === "set_all" && f.name === "messages");
  const answer = await socket.call("set_presence", { room: "lobby", name });
  assert.equal(answer.func, "return", JSON.stringify(answer));
  return socket;
}

type Watcher = Awaited<ReturnType<typeof watch>>;
const names = (w: Watcher) => w.mirror.items.map((i) => (i.value as { name: string }).name);

/** Milliseconds until `check` holds, bounded by `limit` (asserted). */
async function within(what: string, limit: number, check: () => boolean): Promise<number> {
  const start = performance.now();
  await waitUntil(check, { what, timeout: limit, wake: undefined });
  return Math.round(performance.now() - start);
}

async function acrossInstances(t: TestContext, store: string, kind: string) {
  const servers: SpawnedServer[] = await Promise.all(
    RUNTIMES.map((runtime) =>
      spawnServer({ runtime, env: { SOCKSYNC_STORE: store }, timeout: 60_000 })
    ),
  );
  const sockets: RawSocket[] = [];
  try {
    const watchers = await Promise.all(servers.map((s) => watch(s.wsUrl)));
    sockets.push(...watchers.map((w) => w.socket));
    const everywhere = (want: string[]) => () =>
      watchers.every((w, i) =>
        !servers[i].process.killed && w.mirror.total >= 0
          ? JSON.stringify(names(w)) === JSON.stringify(want) && w.mirror.total === want.length
          : true
      );

    // Members on instance 0 (Deno), 1 (Bun) and 2 (Node), in that order.
    const ann = await join(servers[0].wsUrl, "ann");
    sockets.push(ann);
    await within("ann everywhere", 5000, everywhere(["ann"]));
    const bob = await join(servers[1].wsUrl, "bob");
    sockets.push(bob);
    const cid = await join(servers[2].wsUrl, "cid");
    sockets.push(cid);
    await within("ann, bob, cid everywhere", 5000, everywhere(["ann", "bob", "cid"]));

    const typing = await bob.call("set_presence", { room: "lobby", typing: true });
    assert.equal(typing.func, "return");
    await within(
      "bob typing everywhere",
      5000,
      () =>
        watchers.every((w) =>
          w.mirror.items.some((i) => JSON.stringify(i.value) === '{"name":"bob","typing":true}')
        ),
    );

    // A graceful leave on instance 0: the same instance, then the others.
    const start = performance.now();
    ann.send({ func: "unsubscribe", type: "list", name: "messages", params: ROOM });
    const same = await within(
      "ann gone on her instance",
      1000,
      () => !names(watchers[0]).includes("ann"),
    );
    await within(
      "ann gone everywhere",
      2000,
      () => watchers.every((w) => !names(w).includes("ann")),
    );
    const others = Math.round(performance.now() - start);
    t.diagnostic(
      `${kind}: graceful leave seen on the same instance in ${same} ms, on all in ${others} ms`,
    );

    // A client whose socket closes comes back on another instance: listed once.
    await bob.close();
    const bob2 = await join(servers[0].wsUrl, "bob");
    sockets.push(bob2);
    await within("bob listed once, after cid", 3000, everywhere(["cid", "bob"]));

    // Instance 2 (Node, cid's) is killed: its members go within 10 s.
    const killedAt = performance.now();
    await servers[2].stop("SIGKILL");
    const live = watchers.slice(0, 2);
    await within(
      "cid gone from the live instances",
      10_000,
      () => live.every((w) => JSON.stringify(names(w)) === '["bob"]' && w.mirror.total === 1),
    );
    const killed = Math.round(performance.now() - killedAt);
    t.diagnostic(`${kind}: a killed instance's members gone in ${killed} ms`);
    for (const w of live) {
      assert.equal(new Set(w.mirror.items.map((i) => i.id)).size, w.mirror.items.length);
    }
  } finally {
    await Promise.all(sockets.map((s) => s.close().catch(() => {})));
    await Promise.all(servers.map((s) => s.stop().catch(() => null)));
  }
}

const noRedis = (() => {
  const probe = spawnSync("redis-server", ["--version"], { stdio: "ignore" });
  return probe.error || probe.status !== 0 ? "no redis-server binary on PATH" : false;
})();

test("presence across three instances on Redis", { skip: noRedis, timeout: 120_000 }, async (t) => {
  const port = await freePort();
  let redis: ChildProcess | undefined;
  try {
    redis = await startRedis(port);
    await acrossInstances(t, `redis://127.0.0.1:${port}`, "Redis");
  } finally {
    await stopProcess(redis);
  }
});

const pg = await postgresHarness();
describe("presence across instances on PostgreSQL", { skip: pg.skip }, () => {
  after(() => pg.cleanup());
  test("presence across three instances on PostgreSQL", { timeout: 120_000 }, async (t) => {
    const database = await tempDatabase(pg.admin!);
    try {
      await acrossInstances(t, database.url, "PostgreSQL");
    } finally {
      await database.drop();
    }
  });
});
