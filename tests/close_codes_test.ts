/**
 * Every close the server initiates reaches the client with its code, after
 * the frames queued before it, over real sockets on the running runtime
 * (the suite runs under Node, Deno and Bun): 1001 shutdown, 1008 rate limit,
 * 1009 frame too large (by the peer, and by the runtime from a frame's header
 * alone), 1013 slow consumer and 4000 idle. The client keeps sending where
 * that applies, which is what used to turn a close into 1006 (a TCP reset)
 * on Deno.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as v from "valibot";
import { Hono } from "hono";
import { Hub } from "../mod.ts";
import type { Peer } from "../src/peer/mod.ts";
import type { Limits } from "../src/peer/limits.ts";
import { loadAdapter, serve, type Server } from "../src/serve/serve.ts";
import { TcpWebSocket } from "./helpers/tcp_websocket.ts";
import { waitUntil } from "./helpers/wait.ts";

/** A frame every server answers at once with error 3 (no such var). */
const PING = { func: "get", type: "var", name: "nothing-here" };

interface Fixture {
  server: Server;
  peers: Peer[];
  hub: Hub;
}

async function withServer(limits: Partial<Limits>, fn: (fx: Fixture) => Promise<void>) {
  const hub = new Hub({ onError: () => {}, limits });
  hub.var("big", { schema: v.string(), initial: "x".repeat(2_000) });
  const peers: Peer[] = [];
  const server = await serve({
    hub,
    port: 0,
    hostname: "127.0.0.1",
    onConnect: (peer) => peers.push(peer),
  });
  try {
    await fn({ server, peers, hub });
  } finally {
    await server.close();
    await hub.close();
  }
}

/**
 * Keeps writing `frame` in bursts until the close frame arrives or the
 * connection ends, so frames are still in flight when the server closes.
 */
function keepSending(client: TcpWebSocket, frame: unknown): () => void {
  let stopped = false;
  const tick = () => {
    if (stopped || client.closeFrame || client.socket.destroyed) return;
    for (let i = 0; i < 20; i++) client.send(frame);
    setTimeout(tick, 1);
  };
  tick();
  return () => stopped = true;
}

/** Waits for the close frame; a reset (1006) or silence fails with what was seen. */
async function closeCode(client: TcpWebSocket, timeout = 10_000): Promise<number> {
  let ended: string | undefined;
  client.ended.then((how) => ended = how);
  await client.until(
    () => client.closeFrame !== undefined || ended !== undefined,
    timeout,
    "the close frame",
  );
  assert.ok(
    client.closeFrame,
    `the connection ended (${ended}) without a close frame, after ${client.texts.length} frames`,
  );
  return client.closeFrame.code;
}

const count = (client: TcpWebSocket, pattern: RegExp) =>
  client.texts.filter((text) => pattern.test(text)).length;

describe("server-initiated closes deliver their code", { timeout: 60_000 }, () => {
  test("1001 on shutdown, while the client is sending", async () => {
    await withServer({ messageRate: Infinity, messageBurst: Infinity }, async ({ server }) => {
      const client = await TcpWebSocket.open(server.port);
      const stop = keepSending(client, PING);
      try {
        await client.until(() => count(client, /nothing-here/) >= 100, 10_000, "replies");
        await server.close();
        assert.equal(await closeCode(client), 1001);
        assert.match(client.closeFrame!.reason, /shutting down/);
      } finally {
        stop();
        await client.close();
      }
    });
  });

  test("1008 past the rate limit's strikes, after every strike's error frame", async () => {
    const limits = { messageRate: 10, messageBurst: 10, maxRateStrikes: 50 };
    await withServer(limits, async ({ server }) => {
      const client = await TcpWebSocket.open(server.port);
      const stop = keepSending(client, PING);
      try {
        assert.equal(await closeCode(client), 1008);
        assert.match(client.closeFrame!.reason, /rate limit/);
        // Each strike was answered before the close: none of those frames is lost.
        assert.ok(
          count(client, /rate limit exceeded/) >= limits.maxRateStrikes,
          `${count(client, /rate limit exceeded/)} strike errors arrived`,
        );
      } finally {
        stop();
        await client.close();
      }
    });
  });

  test("1009 for a frame over maxFrameBytes, after the replies queued before it", async () => {
    await withServer({ maxFrameBytes: 1024 }, async ({ server }) => {
      const client = await TcpWebSocket.open(server.port);
      let stop = () => {};
      try {
        for (let i = 0; i < 5; i++) client.send("{not json");
        client.send(JSON.stringify({ ...PING, pad: "x".repeat(2_000) }));
        stop = keepSending(client, PING);
        assert.equal(await closeCode(client), 1009);
        assert.match(client.closeFrame!.reason, /too large/);
        assert.equal(count(client, /"error_code":7/), 5, client.texts.join("\n"));
      } finally {
        stop();
        await client.close();
      }
    });
  });

  test("1009 from the frame header alone: a huge frame is refused before it arrives", async () => {
    await withServer({ maxFrameBytes: 1024 }, async ({ server }) => {
      const client = await TcpWebSocket.open(server.port);
      try {
        // Announce 32 MiB and send only the first 64 KiB: a server that buffers
        // the whole frame before checking its size never answers.
        client.socket.write(TcpWebSocket.frameHead(0x1, 32 * 1024 * 1024));
        client.socket.write(Buffer.alloc(64 * 1024, 0x20));
        assert.equal(await closeCode(client, 5_000), 1009);
      } finally {
        await client.close();
      }
    });
  });

  test("1013 for a slow consumer that keeps sending", async () => {
    const limits = {
      idleTimeout: 0,
      messageRate: Infinity,
      messageBurst: Infinity,
      congestionBytes: 16 * 1024,
      maxBufferedBytes: 256 * 1024,
    };
    await withServer(limits, async ({ server, peers }) => {
      const client = await TcpWebSocket.open(server.port);
      try {
        client.send({ func: "subscribe", type: "var", name: "big" });
        await client.until(() => count(client, /"name":"big"/) > 0, 5000, "the first set");
        client.socket.pause();
        // Replies to requests cannot be conflated: ask until the cap is hit.
        const ask = { func: "get", type: "var", name: "big" };
        for (let i = 0; i < 50_000 && !peers[0].detached; i++) {
          client.send(ask);
          if (i % 200 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
        }
        await waitUntil(() => peers[0].detached, { what: "the slow consumer to be closed" });
        for (let i = 0; i < 100; i++) client.send(ask);
        client.socket.resume();
        assert.equal(await closeCode(client, 30_000), 1013);
        assert.match(client.closeFrame!.reason, /slow consumer/);
        assert.ok(count(client, /"name":"big"/) > 0, "replies queued before the close arrived");
      } finally {
        await client.close();
      }
    });
  });

  test("4000 for an idle client that never answers the probe", async () => {
    // A short timeout is safe: the client answers nothing, so there is no answer a slow scheduler
    // could delay, and a late sweep still probes before it expires. Each wait has its own bound,
    // counted from the moment the awaited frame is due.
    await withServer({ idleTimeout: 300 }, async ({ server }) => {
      const client = await TcpWebSocket.open(server.port);
      try {
        await client.until(
          () => client.texts.length > 0 || !!client.closeFrame,
          10_000,
          "the probe",
        );
        assert.match(client.texts[0] ?? "", /socksync:probe/, "the probe came first");
        assert.equal(await closeCode(client), 4000);
        assert.match(client.closeFrame!.reason, /idle/);
        assert.equal(count(client, /socksync:probe/), 1, "one probe, then the close");
        assert.equal(client.texts.length, 1, client.texts.join("\n"));
      } finally {
        await client.close();
      }
    });
  });
});

describe("the runtime's frame cap", { timeout: 60_000 }, () => {
  /** A bare WebSocket route on the running runtime's adapter that answers each frame's length. */
  async function lengthOf(maxPayload: number, bytes: number): Promise<string | number> {
    const app = new Hono();
    const adapter = await loadAdapter(app);
    app.get(
      "/ws/socksync",
      adapter.upgradeWebSocket(() => ({
        onMessage(event, ws) {
          ws.send(String(String(event.data).length));
        },
      })),
    );
    const listener = await adapter.listen({ port: 0, hostname: "127.0.0.1", maxPayload });
    const client = await TcpWebSocket.open(listener.port);
    try {
      client.write(0x1, Buffer.alloc(bytes, 0x61));
      await client.until(
        () => client.texts.length > 0 || client.closeFrame !== undefined,
        30_000,
        "an answer",
      );
      return client.texts[0] ?? client.closeFrame!.code;
    } finally {
      await client.close();
      await listener.close();
    }
  }

  const BIG = 20 * 1024 * 1024; // over every runtime's own default cap (Bun: 16 MiB)

  test("Infinity and 0 turn the cap off", async () => {
    assert.equal(await lengthOf(Infinity, BIG), String(BIG));
    assert.equal(await lengthOf(0, BIG), String(BIG));
  });

  test("a finite cap closes with 1009 past it", async () => {
    assert.equal(await lengthOf(4096, 4096), "4096");
    assert.equal(await lengthOf(4096, 4097), 1009);
  });
});
