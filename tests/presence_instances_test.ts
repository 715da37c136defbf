/**
 * Presence across instances: three demo servers (Deno, Bun and Node) on one Redis (a
 * private redis-server on a free port) and on one PostgreSQL database (a random one),
 * each with its default lease (5 s, renewed every second). Members joining on one
 * instance are listed on every other; a graceful leave reaches the same instance within
 * 1 s and the others within 2 s; the members of an instance killed with SIGKILL are gone
 * from the others' views within 10 s; a client that reconnects elsewhere is listed once:
 * a client (`connect`, behind a balancer) on the instance that is killed comes back on
 * another, takes its entry over (same id, same place), and the other instances' views list
 * it exactly once, with an exact count, at every check until the dead lease is swept; its
 * session id never shows in a frame. The measured times are printed.
 */
import { after, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { connect } from "../src/client/client.ts";
import { freePort } from "./helpers/free_port.ts";
import { startBalancer } from "./helpers/scale_out.ts";
import { postgresHarness, tempDatabase } from "./helpers/postgres.ts";
import { type Frame, RawSocket, webSocketClass } from "./helpers/raw_socket.ts";
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
  const texts: string[] = [];
  // Whether the last frame ended a change (`more` marks all but a change's last frame).
  const view = { settled: true };
  socket.socket.addEventListener("message", (event) => {
    const text = String((event as MessageEvent).data);
    texts.push(text);
    const frame = JSON.parse(text) as Frame;
    if (frame.type === "list" && frame.name === "room_members") {
      mirror.apply(frame);
      seen.push(frame);
      view.settled = frame.more !== true;
    }
  });
  socket.send({ func: "subscribe", type: "list", name: "room_members", params: ROOM, more: true });
  await waitUntil(() => mirror.page >= 0, { what: "the members' set_all" });
  return { socket, mirror, seen, texts, view };
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

    // Dan: a real client behind a balancer that sends it to instance 2 (cid's), then, once
    // that instance is gone, to instance 0. It presents its session on every connection.
    let target = servers[2].port;
    const balancer = await startBalancer(() => target);
    const WebSocketImpl = await webSocketClass();
    const probes: string[] = [];
    class Recording extends WebSocketImpl {
      override send(data: string) {
        if (data.includes('"socksync:probe"') && data.includes('"session"')) probes.push(data);
        super.send(data);
      }
    }
    const dan = connect(balancer.url, {
      WebSocket: Recording as typeof WebSocket,
      reconnect: { minDelay: 50, maxDelay: 200 },
    });
    try {
      dan.list("messages", { params: ROOM });
      // Its state again on every connect, as an app would (a takeover starts from the initial one).
      dan.onConnect(() =>
        void dan.call("set_presence", { room: "lobby", name: "dan" }).catch(() => {})
      );
      await within("cid, bob, dan everywhere", 5000, everywhere(["cid", "bob", "dan"]));
      const danId = watchers[0].mirror.items[2].id;

      // Instance 2 (Node, cid's and dan's) is killed: dan comes back on instance 0 at once;
      // cid's entry goes within 10 s.
      const killedAt = performance.now();
      target = servers[0].port;
      await servers[2].stop("SIGKILL");
      const live = watchers.slice(0, 2);
      // Dan's entries: named dan, or anon between the takeover and its set_presence.
      const dans = (w: Watcher) => names(w).filter((n) => n === "dan" || n === "anon").length;
      // Checked every 10 ms (not in waitUntil, which would take a failed check for "not yet").
      let checks = 0;
      const exactlyOnce = () => {
        for (const w of live) {
          if (!w.view.settled) continue;
          checks++;
          const listed = names(w);
          assert.equal(dans(w), 1, `dan listed once: ${JSON.stringify(listed)}`);
          assert.equal(w.mirror.total, listed.length, `exact count: ${JSON.stringify(listed)}`);
          const rest = listed.filter((n) => n !== "cid").map((n) => n === "anon" ? "dan" : n);
          assert.deepEqual(rest, ["bob", "dan"], "bob, then dan in its place");
        }
      };
      // From the kill until the dead lease is swept, and one more second (no late duplicate).
      let goneAt = 0;
      while (goneAt === 0 || performance.now() - goneAt < 1000) {
        exactlyOnce();
        if (!goneAt && live.every((w) => !names(w).includes("cid"))) goneAt = performance.now();
        assert.ok(performance.now() - killedAt < 12_000, "cid gone from the live instances");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.ok(dan.connected, "dan reconnected");
      const killed = Math.round(goneAt - killedAt);
      t.diagnostic(`${kind}: a killed instance's members gone in ${killed} ms (${checks} checks)`);
      assert.ok(killed < 10_000, `gone in ${killed} ms`);
      await within("bob, dan everywhere", 5000, everywhere(["bob", "dan"]));
      for (const w of live) {
        assert.equal(w.mirror.items[1].id, danId, "dan kept its entry (id and place)");
        assert.equal(new Set(w.mirror.items.map((i) => i.id)).size, w.mirror.items.length);
      }
      // The same session on both connections, and never in a frame anyone received.
      assert.ok(probes.length >= 2, `one probe per connection: ${probes.length}`);
      const sessions = new Set(probes.map((p) => JSON.parse(p).session as string));
      assert.equal(sessions.size, 1);
      const [session] = sessions;
      assert.match(session, /^[\w-]{21}$/);
      for (const w of watchers) assert.ok(!w.texts.some((text) => text.includes(session)));
    } finally {
      dan.close();
      await balancer.close();
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
