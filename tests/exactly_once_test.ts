/**
 * Calls exactly once across reconnects, on a bad network: a fault proxy with
 * latency cuts random connections while clients make random calls. Every
 * acknowledged call is applied once, none rejected was applied, and every
 * mirror converges to a fresh read. Runs against a server on the test's
 * runtime; the same check across two instances on Redis and PostgreSQL is in
 * `exactly_once_scale_out_test.ts`.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hub } from "../src/server/hub.ts";
import type { SockSyncError } from "../src/errors.ts";
import { connect } from "../src/client/client.ts";
import { withFleet } from "./helpers/flaky_fleet.ts";
import { serveHub } from "./helpers/serve_hub.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";
import { startFaultProxy } from "./helpers/fault_proxy.ts";
import { RawSocket } from "./helpers/raw_socket.ts";
import { type CutStats, cutWhileCalling } from "./helpers/cut_calls.ts";
import { random } from "../src/testing/kit.ts";

test("random cuts during random calls: each call applied once, mirrors converge", {
  timeout: 60_000,
}, async (t) => {
  const seed = Math.floor(Math.random() * 2 ** 31);
  t.diagnostic(`seed ${seed}`);
  await withFleet({ clients: 8, proxy: { latency: [20, 80] } }, async (fleet) => {
    const stats: CutStats = await cutWhileCalling({
      rand: random(seed),
      clients: fleet.clients.map((c) => c.client),
      cut: (rand) => {
        const open = fleet.proxy.open;
        if (open.length > 0) open[Math.floor(rand() * open.length)].cut();
      },
      store: fleet.store,
      duration: 6_000,
    });
    t.diagnostic(
      `${stats.cuts} cuts, ${stats.acknowledged} calls acknowledged, ${stats.failed} failed, ` +
        `counter +${stats.growth} (acknowledged increments +${stats.acknowledgedGrowth})`,
    );
    await fleet.converge("every mirror after the cuts");
  });
});

test("a repeat of a call marked once gets the first answer, also while the first runs", async () => {
  const hub = new Hub();
  let runs = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  hub.function("slow", {
    handler: async () => {
      runs++;
      await gate;
      return runs;
    },
  });
  const { server, url } = await serveHub(hub);
  const first = await RawSocket.open(url);
  const second = await RawSocket.open(url);
  try {
    const call = { func: "call", type: "function", name: "slow", id: "k1", once: true };
    await first.next((f) => f.func === "subscribe" && f.name === "slow");
    await second.next((f) => f.func === "subscribe" && f.name === "slow");
    first.send(call);
    // The first connection drops while its call runs; the repeat comes on another.
    await first.close();
    second.send(call);
    second.send(call);
    release();
    assert.deepEqual(await second.next((f) => f.id === "k1"), {
      ...returned("slow", "k1"),
      value: 1,
    });
    assert.deepEqual(await second.next((f) => f.id === "k1"), {
      ...returned("slow", "k1"),
      value: 1,
    });
    second.send({ ...call, id: "k2" });
    assert.equal((await second.next((f) => f.id === "k2")).value, 2);
    // Without `once` a call runs every time, as in the original protocol.
    second.send({ func: "call", type: "function", name: "slow", id: "k2" });
    assert.equal((await second.next((f) => f.id === "k2")).value, 3);
    assert.equal(runs, 3);
  } finally {
    await second.close();
    await server.close();
    await hub.close();
  }
});

test("a call whose timeout passes while disconnected fails with 8: result unknown", async () => {
  const hub = new Hub();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  hub.function("slow", { handler: () => gate });
  const { server, url } = await serveHub(hub);
  const proxy = await startFaultProxy({ target: server.port });
  // The proxy sends every new connection nowhere once the first one is cut.
  const client = connect(proxy.url(new URL(url).pathname), {
    WebSocket: await webSocketClass(),
    reconnect: { minDelay: 5_000, maxDelay: 5_000 },
  });
  try {
    await client.ready();
    const call = client.call("slow", undefined, { timeout: 700 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    proxy.cutAll();
    await assert.rejects(call, (error: SockSyncError) => {
      assert.equal(error.code, 8);
      assert.match(error.message, /timed out while disconnected: its result is unknown/);
      return true;
    });
  } finally {
    release();
    client.close();
    await proxy.close();
    await server.close();
    await hub.close();
  }
});

function returned(name: string, id: string) {
  return { func: "return", type: "function", name, id };
}
