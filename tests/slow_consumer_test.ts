/**
 * Slow consumers: a client that stops reading must not grow server memory
 * without bound. Var changes are conflated to the latest value, a list view
 * collapses into one `set_all`, other clients keep getting every update, and
 * past the hard cap the slow client is closed with 1013.
 *
 * The slow client is a WebSocket handshake done by hand over `node:net`, so
 * it can stop reading (`socket.pause()`) on Node, Deno and Bun alike; the
 * server runs in this process, whose RSS is measured.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { Buffer } from "node:buffer";
import process from "node:process";
import * as v from "valibot";
import { Hub, ListMirror, VarMirror } from "../mod.ts";
import type { MirrorFrame } from "../src/client/mirror.ts";
import type { Peer } from "../src/peer/mod.ts";
import { decodeFrame } from "../src/protocol/mod.ts";
import type { Limits } from "../src/peer/limits.ts";
import { MemoryListSource } from "../stores/memory/mod.ts";
import { connectPeer, withServedHub } from "./helpers/serve_hub.ts";
import { waitUntil } from "./helpers/wait.ts";

const CHANGES = 100_000;
const LIST_CHANGES = 2_000;
const PAGE = 20;
/** About 2 KB per change: 200 MB if every change were queued for the slow client. */
const PAD = "x".repeat(2_000);
const RSS_BOUND = 200 * 1024 * 1024;

/** A WebSocket client over raw TCP that can stop reading. */
class TcpWebSocket {
  readonly socket: Socket;
  readonly texts: string[] = [];
  closeFrame: { code: number; reason: string } | undefined;
  #pending = Buffer.alloc(0);
  readonly #listeners = new Set<() => void>();
  readonly ended: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.ended = new Promise((resolve) => {
      socket.on("close", () => {
        resolve();
        for (const listener of this.#listeners) listener();
      });
    });
  }

  /** Connects and completes the handshake; the caller sends and reads frames. */
  static open(port: number, path = "/ws/socksync"): Promise<TcpWebSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      const client = new TcpWebSocket(socket);
      let head = Buffer.alloc(0);
      const timer = setTimeout(() => reject(new Error("no handshake")), 5000);
      socket.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      const onHead = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        clearTimeout(timer);
        socket.off("data", onHead);
        const status = head.subarray(0, end).toString("latin1").split(" ")[1];
        if (status !== "101") return reject(new Error(`status ${status}`));
        socket.on("data", (data: Buffer) => client.#receive(data));
        client.#receive(head.subarray(end + 4));
        resolve(client);
      };
      socket.on("data", onHead);
      const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16)))
        .toString("base64");
      socket.write(
        [
          `GET ${path} HTTP/1.1`,
          `Host: 127.0.0.1:${port}`,
          "Upgrade: websocket",
          "Connection: Upgrade",
          `Sec-WebSocket-Key: ${key}`,
          "Sec-WebSocket-Version: 13",
        ].join("\r\n") + "\r\n\r\n",
      );
    });
  }

  /** Sends a masked frame (clients must mask). */
  #write(opcode: number, payload: Buffer): void {
    const mask = Buffer.from(crypto.getRandomValues(new Uint8Array(4)));
    const length = payload.length;
    const head = length < 126
      ? Buffer.from([0x80 | opcode, 0x80 | length])
      : length < 65536
      ? Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 255])
      : (() => {
        const b = Buffer.alloc(10);
        b[0] = 0x80 | opcode;
        b[1] = 0x80 | 127;
        b.writeBigUInt64BE(BigInt(length), 2);
        return b;
      })();
    const masked = Buffer.alloc(length);
    for (let i = 0; i < length; i++) masked[i] = payload[i] ^ mask[i & 3];
    this.socket.write(Buffer.concat([head, mask, masked]));
  }

  /** Sends a JSON text frame. */
  send(frame: unknown): void {
    this.#write(0x1, Buffer.from(JSON.stringify(frame)));
  }

  #receive(data: Buffer): void {
    let buffer = this.#pending.length ? Buffer.concat([this.#pending, data]) : data;
    for (;;) {
      if (buffer.length < 2) break;
      const opcode = buffer[0] & 0x0f;
      let length = buffer[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) break;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) break;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffer.length < offset + length) break;
      const payload = buffer.subarray(offset, offset + length);
      buffer = buffer.subarray(offset + length);
      if (opcode === 0x1) this.texts.push(payload.toString("utf8"));
      else if (opcode === 0x8) {
        this.closeFrame = {
          code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005,
          reason: payload.subarray(2).toString("utf8"),
        };
        this.#write(0x8, Buffer.from(payload.subarray(0, 2)));
      } else if (opcode === 0x9) this.#write(0xa, Buffer.from(payload));
    }
    this.#pending = Buffer.from(buffer);
    for (const listener of this.#listeners) listener();
  }

  /** Calls `listener` after every chunk read and on close (a `waitUntil` wake); returns the stop. */
  readonly onData = (listener: () => void): () => void => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  close(): Promise<void> {
    this.socket.destroy();
    return this.ended;
  }
}

/** Applies received text frames to mirrors, as a client would. */
function applyAll(
  texts: string[],
  mirrors: Map<string, VarMirror<unknown> | ListMirror<unknown>>,
): void {
  for (const text of texts.splice(0)) {
    const decoded = decodeFrame(text);
    if (!decoded.ok) continue;
    const message = decoded.message as MirrorFrame;
    const mirror = mirrors.get(`${message.type}:${message.name}`);
    if (mirror && "name" in message) mirror.apply(message);
  }
}

// Retained memory is what is bounded: Bun collects garbage lazily (100,000 changes of ~2 KB
// are ~200 MB of short-lived strings), so there a sample follows a synchronous collection.
const bunGc = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun?.gc;
const rss = () => {
  bunGc?.(true);
  return process.memoryUsage().rss;
};

async function withServer(
  limits: Partial<Limits>,
  fn: (fx: {
    hub: Hub;
    counter: ReturnType<typeof makeVar>;
    feed: Awaited<ReturnType<typeof makeList>>;
    port: number;
    url: string;
    peers: Peer[];
  }) => Promise<void>,
) {
  const hub = new Hub({ onError: () => {}, limits });
  const counter = makeVar(hub);
  const feed = await makeList(hub);
  hub.function("echo", { handler: (args) => args });
  await withServedHub(
    { hub, accept: ["echo"] },
    ({ port, url, peers }) => fn({ hub, counter, feed, port, url, peers }),
  );
}

function makeVar(hub: Hub) {
  return hub.var("counter", {
    schema: v.object({ n: v.number(), pad: v.string() }),
    initial: { n: 0, pad: "" },
  });
}

async function makeList(hub: Hub) {
  const source = new MemoryListSource<number>();
  for (let i = 0; i < PAGE * 2; i++) await source.insert(i, -i);
  return hub.list("feed", { source, schema: v.number(), maxPageSize: PAGE });
}

/** A reading client: a Peer with mirrors over the runtime's WebSocket. */
async function readingClient(url: string) {
  const { peer, close } = await connectPeer(url);
  const counter = new VarMirror<{ n: number }>("counter");
  const feed = new ListMirror<number>("feed");
  peer.mirror(counter);
  peer.mirror(feed);
  return { counter, feed, close };
}

describe("slow consumers", () => {
  test(`a client that stops reading during ${CHANGES} changes: bounded memory, others keep up, it converges`, async () => {
    await withServer({ idleTimeout: 0 }, async ({ counter, feed, port, url, peers }) => {
      const slow = await TcpWebSocket.open(port);
      await waitUntil(() => peers.length === 1, { timeout: 5000, what: "the slow client's peer" });
      const fast = await readingClient(url);
      try {
        slow.send({ func: "subscribe", type: "var", name: "counter" });
        slow.send({ func: "subscribe", type: "list", name: "feed" });
        await waitUntil(() => slow.texts.some((t) => t.includes('"set_all"')), {
          timeout: 5000,
          what: "the slow client's first page",
          wake: slow.onData,
        });
        await waitUntil(() => fast.feed.ready, { timeout: 5000, what: "the fast client's page" });
        slow.socket.pause();
        slow.texts.length = 0;
        const slowPeer = peers[0];

        const before = rss();
        let peak = before;
        let congested = false;
        for (let i = 1; i <= CHANGES; i++) {
          await counter.set({ n: i, pad: PAD });
          if (i % (CHANGES / LIST_CHANGES) === 0) {
            await feed.insert(0, i);
          }
          if (i % 500 === 0) {
            congested ||= slowPeer.congested;
            peak = Math.max(peak, rss());
            // Let sockets flush and the drain poll run, as a server would.
            await new Promise((r) => setTimeout(r, 0));
          }
        }
        const after = rss();
        peak = Math.max(peak, after);
        console.log(
          `slow consumer: rss before ${mb(before)}, peak ${mb(peak)}, after ${mb(after)}, bound +${
            mb(RSS_BOUND)
          }; buffered ${slowPeer.socket.bufferedAmount} bytes`,
        );
        assert.ok(congested, "the slow client was never seen congested");
        assert.ok(
          peak - before < RSS_BOUND,
          `server RSS grew by ${mb(peak - before)}`,
        );
        assert.ok(!slowPeer.detached, "the slow client stays connected");

        // The reading client converges on the final value and page.
        const page = await feed.source.page(0, PAGE);
        await waitUntil(
          () =>
            fast.counter.value?.n === CHANGES &&
            fast.feed.total === page.total &&
            JSON.stringify(fast.feed.items) === JSON.stringify(page.items),
          { timeout: 30_000, what: "the fast client to converge" },
        );

        // The slow client resumes, and converges too, from far fewer frames.
        const mirrors = new Map<string, VarMirror<unknown> | ListMirror<unknown>>();
        const slowCounter = new VarMirror<{ n: number }>("counter");
        const slowFeed = new ListMirror<number>("feed");
        mirrors.set("var:counter", slowCounter as VarMirror<unknown>);
        mirrors.set("list:feed", slowFeed as ListMirror<unknown>);
        let received = 0;
        slow.socket.resume();
        await waitUntil(
          () => {
            received += slow.texts.length;
            applyAll(slow.texts, mirrors);
            return slowCounter.value?.n === CHANGES &&
              slowFeed.total === page.total &&
              JSON.stringify(slowFeed.items) === JSON.stringify(page.items);
          },
          { timeout: 30_000, what: "the slow client to converge", wake: slow.onData },
        );
        console.log(
          `slow consumer: the slow client converged after ${received} frames for ${
            CHANGES + 2 * LIST_CHANGES
          } changes`,
        );
        assert.ok(received < CHANGES, `${received} frames: nothing conflated`);
      } finally {
        await slow.close();
        await fast.close();
      }
    });
  });

  test("past maxBufferedBytes the slow client is closed with 1013", async () => {
    const limits = {
      idleTimeout: 0,
      messageRate: Infinity,
      messageBurst: Infinity,
      maxRateStrikes: Infinity,
      congestionBytes: 16 * 1024,
      maxBufferedBytes: 256 * 1024,
    };
    await withServer(limits, async ({ counter, port, peers }) => {
      await counter.set({ n: 1, pad: PAD });
      const slow = await TcpWebSocket.open(port);
      try {
        slow.send({ func: "subscribe", type: "var", name: "counter" });
        await waitUntil(() => slow.texts.length > 0, {
          timeout: 5000,
          what: "the first set",
          wake: slow.onData,
        });
        slow.socket.pause();
        // Replies to requests cannot be conflated: ask until the cap is hit.
        for (let i = 0; i < 50_000 && !peers[0].detached; i++) {
          slow.send({ func: "get", type: "var", name: "counter" });
          if (i % 200 === 0) await new Promise((r) => setTimeout(r, 1));
        }
        await waitUntil(() => peers[0].detached, {
          timeout: 10_000,
          what: "the slow client to be closed",
        });
        slow.socket.resume();
        await waitUntil(() => slow.closeFrame !== undefined, {
          timeout: 30_000,
          what: "the close frame",
          wake: slow.onData,
        });
        assert.equal(slow.closeFrame!.code, 1013);
        assert.match(slow.closeFrame!.reason, /slow consumer/);
      } finally {
        await slow.close();
      }
    });
  });
});

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
