/**
 * Every per-connection limit over a real socket and a real server: frame
 * size, nesting depth, subscriptions, pending and concurrent calls, call
 * timeout, message rate, idle timeout and connections per hub.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { ErrorCode, Hub, type SockSyncError, VarMirror } from "../mod.ts";
import { fitsBytes, type Limits } from "../src/peer/limits.ts";
import fc from "fast-check";
import { PROBE_NAME } from "../src/protocol/mod.ts";
import { MemoryListSource } from "../stores/memory/mod.ts";
import { RawSocket } from "./helpers/raw_socket.ts";
import { waitUntil } from "./helpers/wait.ts";
import { connectPeer, handshake, type Served, withServedHub } from "./helpers/serve_hub.ts";

const ACCEPTED = ["echo", "wait"];

interface Fixture extends Served<unknown> {
  client: RawSocket;
  release(): void;
  ids: string[];
}

/** A hub with the given limits, a server and one raw client; everything closed in `finally`. */
async function withLimits(
  limits: Partial<Limits>,
  fn: (fx: Fixture) => Promise<void>,
): Promise<void> {
  const hub = new Hub({ onError: () => {}, limits });
  hub.var("counter", { schema: v.number(), initial: 0 });
  const todos = hub.list("todos", {
    source: new MemoryListSource<string>(),
    schema: v.string(),
  });
  const ids = [
    (await todos.insert(0, "a")).id,
    (await todos.insert(1, "b")).id,
  ];
  let gate!: () => void;
  let gateOpen = new Promise<void>((resolve) => gate = resolve);
  hub.function("echo", { handler: (args) => args });
  hub.function("wait", { handler: () => gateOpen.then(() => "done") });
  await withServedHub({ hub, accept: ACCEPTED }, async (served) => {
    served.defer(() => gate());
    await fn({
      ...served,
      client: await served.open(),
      ids,
      release: () => {
        gate();
        gateOpen = Promise.resolve();
      },
    });
  });
}

/**
 * The close of `client`, awaited for at most `timeout` ms from now: callers start the count
 * once the close is due (after the probe), so a slow start does not eat into it.
 */
function closedWithin(client: RawSocket, what: string, timeout = 10_000) {
  let closed: { code: number; reason: string } | undefined;
  client.closed.then((c) => closed = c);
  return waitUntil(() => closed, { what, timeout });
}

function call(client: RawSocket, name: string, id: string, args?: unknown) {
  client.send({ func: "call", type: "function", name, id, args });
}

describe("limits", () => {
  test("a frame over maxFrameBytes closes the connection with 1009", async () => {
    await withLimits({ maxFrameBytes: 1000 }, async ({ client }) => {
      // 400 two-byte characters: 800 bytes of UTF-8 fit.
      call(client, "echo", "fits", "é".repeat(400));
      assert.equal((await client.next()).value, "é".repeat(400));
      // 600 of them are 1,200 bytes although the string is shorter than 1,000.
      call(client, "echo", "big", "é".repeat(600));
      const closed = await client.closed;
      assert.equal(closed.code, 1009);
      assert.equal(closed.reason, "frame too large");
    });
  });

  test("a binary frame over maxFrameBytes closes with 1009 too", async () => {
    await withLimits({ maxFrameBytes: 100 }, async ({ client }) => {
      client.socket.send(new Uint8Array(50));
      assert.equal((await client.next()).error_code, ErrorCode.InvalidJson);
      client.socket.send(new Uint8Array(200));
      assert.equal((await client.closed).code, 1009);
    });
  });

  test("nesting deeper than maxDepth → error 7; the connection stays usable", async () => {
    await withLimits({ maxDepth: 5 }, async ({ client }) => {
      // The frame object itself is level 1: four arrays inside make 5.
      call(client, "echo", "ok", [[[[1]]]]);
      assert.deepEqual((await client.next()).value, [[[[1]]]]);
      call(client, "echo", "deep", [[[[[1]]]]]);
      assert.deepEqual(await client.next(), {
        func: "error",
        error_code: 7,
        message: "too deeply nested",
        type: "function",
        name: "echo",
        id: "deep",
      });
      // Brackets inside strings are not nesting.
      call(client, "echo", "str", "[[[[[[[[[[{{{{{{");
      assert.equal((await client.next()).value, "[[[[[[[[[[{{{{{{");
      // A pathological frame is refused before it is parsed.
      client.send("[".repeat(200_000));
      assert.equal((await client.next()).error_code, 7);
      assert.deepEqual(await client.drain(), []);
    });
  });

  test("maxSubscriptions counts vars, views, items and functions; error 8 beyond", async () => {
    await withLimits({ maxSubscriptions: 3 }, async ({ client, ids }) => {
      client.send({ func: "subscribe", type: "var", name: "counter" });
      assert.equal((await client.next()).func, "set");
      client.send({ func: "subscribe", type: "list", name: "todos" });
      assert.equal((await client.next()).func, "set_all");
      // Subscribing again to the same thing takes no new slot.
      client.send({ func: "subscribe", type: "var", name: "counter" });
      assert.equal((await client.next()).func, "set");
      // An unknown item subscribes nothing, so it takes no slot either.
      client.send({ func: "subscribe", type: "list", name: "todos", id: "x" });
      assert.equal((await client.next()).error_code, ErrorCode.InvalidId);
      client.send({
        func: "subscribe",
        type: "list",
        name: "todos",
        id: ids[0],
      });
      assert.equal((await client.next()).id, ids[0]);
      client.send({ func: "subscribe", type: "function", name: "mine" });
      assert.deepEqual(await client.next(), {
        func: "error",
        error_code: 8,
        message: "too many subscriptions",
        type: "function",
        name: "mine",
      });
      client.send({
        func: "subscribe",
        type: "list",
        name: "todos",
        id: ids[1],
      });
      const refused = await client.next();
      assert.equal(refused.error_code, 8);
      assert.equal(refused.id, ids[1]);
      // Unsubscribing frees a slot.
      client.send({ func: "unsubscribe", type: "var", name: "counter" });
      client.send({
        func: "subscribe",
        type: "list",
        name: "todos",
        id: ids[1],
      });
      assert.equal((await client.next()).id, ids[1]);
      client.send({ func: "unsubscribe_all" });
      client.send({ func: "subscribe", type: "function", name: "mine" });
      assert.deepEqual(await client.drain(), []);
    });
  });

  test("maxPendingCalls: a call beyond it rejects at once with code 8", async () => {
    await withLimits({ maxPendingCalls: 2 }, async ({ peers }) => {
      const peer = peers[0];
      // The client never accepts "later", so both calls stay pending.
      const pending = [
        peer.call("later", {}, { timeout: 10_000 }),
        peer.call("later", {}, { timeout: 10_000 }),
      ];
      const settled = Promise.allSettled(pending);
      await assert.rejects(
        peer.call("later"),
        (error: SockSyncError) =>
          error.code === ErrorCode.Other &&
          error.message === "too many pending calls",
      );
      peer.detach();
      for (const result of await settled) {
        assert.equal(result.status, "rejected");
      }
    });
  });

  test("maxConcurrentCalls: a call beyond it gets error 8; finished calls free their slot", async () => {
    await withLimits({ maxConcurrentCalls: 2 }, async ({ client, release }) => {
      call(client, "wait", "w1");
      call(client, "wait", "w2");
      call(client, "wait", "w3");
      assert.deepEqual(await client.next(), {
        func: "error",
        error_code: 8,
        message: "too many concurrent calls",
        type: "function",
        name: "wait",
        id: "w3",
      });
      // A non-blocking call is refused too while both slots are taken.
      call(client, "echo", "e1", 1);
      assert.equal((await client.next()).error_code, 8);
      release();
      const returns = [await client.next(), await client.next()];
      assert.deepEqual(returns.map((f) => f.id).sort(), ["w1", "w2"]);
      call(client, "wait", "w4");
      assert.equal((await client.next()).id, "w4");
    });
  });

  test("callTimeout from the limits applies to calls the hub makes", async () => {
    await withLimits({ callTimeout: 150 }, async ({ client, peers }) => {
      // The client accepts calls to "sleep" but never answers them.
      client.send({ func: "subscribe", type: "function", name: "sleep" });
      await client.drain();
      const started = peers[0].call("sleep");
      assert.equal((await client.next()).func, "call");
      await assert.rejects(
        started,
        (error: SockSyncError) => error.code === ErrorCode.Other && /timed out/.test(error.message),
      );
    });
  });

  test("beyond the message rate: error 8 per frame, then close 1008", async () => {
    // A bucket of 5 that refills once in 100 s: the count is exact.
    const limits = { messageRate: 0.01, messageBurst: 5, maxRateStrikes: 3 };
    await withLimits(limits, async ({ client, open }) => {
      for (let i = 0; i < 5; i++) call(client, "echo", `r${i}`, i);
      for (let i = 0; i < 5; i++) {
        assert.equal((await client.next()).id, `r${i}`);
      }
      // Three refused, the fourth closes (nothing is sent after it: Deno
      // drops a connection that keeps sending after its close frame).
      for (let i = 5; i < 9; i++) call(client, "echo", `r${i}`, i);
      for (let i = 5; i < 8; i++) {
        assert.deepEqual(await client.next(), {
          func: "error",
          error_code: 8,
          message: "rate limit exceeded",
          type: "function",
          name: "echo",
          id: `r${i}`,
        });
      }
      const closed = await client.closed;
      assert.equal(closed.code, 1008);
      assert.equal(closed.reason, "rate limit exceeded");
      // The bucket is per connection: a new one starts full.
      const other = await open();
      call(other, "echo", "fresh", 1);
      assert.equal((await other.next()).id, "fresh");
    });
  });

  test("idle timeout: a silent connection is probed, then closed with 4000", async () => {
    // A short timeout is safe here: nothing has to arrive in time, and the probe goes out before
    // the close whenever the sweep runs (a late sweep probes, then expires a moment later).
    await withLimits({ idleTimeout: 300 }, async ({ client }) => {
      assert.deepEqual(await client.next(undefined, 10_000), {
        func: "get",
        type: "var",
        name: PROBE_NAME,
      });
      const closed = await closedWithin(client, "the close after the probe");
      assert.equal(closed.code, 4000);
      assert.equal(closed.reason, "idle timeout");
    });
  });

  test("idle timeout: a peer that answers the probes stays connected", async () => {
    // Each answer must arrive within half the timeout of its probe, and the server and this
    // client share one event loop: 2 s leaves a second of stall before an answered connection
    // could be closed; 300 ms left 150 ms, which a loaded machine can take.
    const idleTimeout = 2_000;
    await withLimits({ idleTimeout }, async ({ url }) => {
      // A client peer answers the probe like any unknown var: error 3.
      const { peer, socket, close } = await connectPeer(url);
      try {
        let probes = 0;
        socket.addEventListener("message", (e) => {
          const frame = JSON.parse(String((e as MessageEvent).data));
          if (frame.name === PROBE_NAME) probes++;
        });
        // Four probes span two idle timeouts; the deadline counts from the open connection.
        await waitUntil(() => probes >= 4 || socket.readyState > 1, {
          what: "four probes",
          timeout: 2 * idleTimeout + 10_000,
        });
        assert.equal(socket.readyState, 1, `closed after ${probes} probes`);
        const counter = new VarMirror<number>("counter");
        const ready = new Promise<void>((r) => counter.onChange(() => r()));
        peer.mirror(counter);
        await ready;
        assert.equal(counter.value, 0);
      } finally {
        await close();
      }
    });
  });

  test("idle timeout: each connection's silence counts on its own", async () => {
    // The talking side must answer each probe within half the timeout, on the event loop the
    // server shares: 2 s, so that a stall of up to a second on a loaded machine does not close it.
    await withLimits({ idleTimeout: 2_000 }, async ({ client: silent, open }) => {
      const talking = await open();
      const answer = () =>
        talking.send({
          func: "error",
          type: "var",
          name: PROBE_NAME,
          error_code: ErrorCode.InvalidName,
          message: "no var with this name",
        });
      // The silent one is probed and closed while the other answers every probe.
      assert.equal((await talking.next((f) => f.name === PROBE_NAME)).func, "get");
      answer();
      assert.equal((await silent.next()).name, PROBE_NAME);
      const closed = await closedWithin(silent, "the silent one's close after its probe");
      assert.equal(closed.code, 4000);
      assert.equal(closed.reason, "idle timeout");
      // Three more probes answered: more than a whole timeout after the first one.
      for (let i = 0; i < 3; i++) {
        assert.equal((await talking.next((f) => f.name === PROBE_NAME)).func, "get");
        answer();
      }
      assert.equal((await talking.call("echo", "alive")).value, "alive");
      assert.equal(talking.socket.readyState, 1);
    });
  });

  test("maxConnections: an upgrade beyond it is refused with 503, before any WebSocket", async () => {
    await withLimits(
      { maxConnections: 1 },
      async ({ hub, client, open, url }) => {
        assert.equal(await handshake(Number(new URL(url).port), {}), 503);
        await assert.rejects(RawSocket.open(url));
        assert.equal(hub.peers.size, 1);
        assert.deepEqual(await client.drain(), []);
        // Once the first leaves, a new connection is accepted.
        await client.close();
        await waitUntil(() => hub.peers.size === 0, { what: "the first connection to leave" });
        const next = await open();
        assert.deepEqual(await next.drain(), []);
      },
    );
  });

  test("maxConnections: the hub itself closes a connection beyond it with 1013", async () => {
    const hub = new Hub({ limits: { maxConnections: 1 } });
    // No guard in front: the hub's own check is the backstop.
    const serve = { guard: { maxConnections: Infinity } };
    await withServedHub({ hub, serve }, async ({ open, server }) => {
      await open();
      const extra = await open();
      const closed = await extra.closed;
      assert.equal(closed.code, 1013);
      assert.equal(closed.reason, "too many connections");
      assert.equal(hub.peers.size, 1);
      // The refused connection is not counted as open by the server either.
      assert.equal(server.connections, 1);
    });
  });

  test("limits are validated", () => {
    assert.throws(() => new Hub({ limits: { maxDepth: -1 } }), RangeError);
    assert.throws(
      () => new Hub({ limits: { messageRate: Number.NaN } }),
      RangeError,
    );
    const hub = new Hub({ limits: { messageRate: 5 } });
    assert.equal(hub.limits.messageRate, 5);
    assert.equal(hub.limits.maxFrameBytes, 1024 * 1024);
  });
});

test("fitsBytes counts a text's UTF-8 bytes as an encoder does, near the bound and past it", () => {
  const encoder = new TextEncoder();
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 40 }), fc.nat(130), (text, max) => {
      assert.equal(fitsBytes(text, max), encoder.encode(text).length <= max);
    }),
    { numRuns: 2_000 },
  );
});
