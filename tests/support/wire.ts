/**
 * Test support: a raw WebSocket client that sends and awaits JSON frames, and
 * a server for a hub on the running runtime, on a free loopback port.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { connect } from "node:net";
import type { Hub } from "../../mod.ts";
import { serve, type Server } from "../../src/serve.ts";
import type { Peer } from "../../src/peer.ts";

/**
 * The WebSocket constructor of the running runtime (`ws` on Node 20).
 *
 * @example
 * ```ts
 * const WS = await webSocketClass();
 * ```
 */
export async function webSocketClass(): Promise<typeof WebSocket> {
  if (typeof globalThis.WebSocket === "function") return globalThis.WebSocket;
  return (await import("ws")).WebSocket as unknown as typeof WebSocket;
}

/**
 * A raw protocol client: every frame it receives is queued until `next()` takes it.
 *
 * @example
 * ```ts
 * const client = await RawClient.open("ws://127.0.0.1:8080/ws/socksync");
 * client.send({ func: "subscribe", type: "var", name: "counter" });
 * console.log(await client.next());
 * client.close();
 * ```
 */
export class RawClient {
  readonly socket: WebSocket;
  readonly #frames: unknown[] = [];
  #waiter: (() => void) | undefined;
  closed: Promise<{ code: number; reason: string }>;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.addEventListener("message", (event) => {
      this.#frames.push(JSON.parse(String((event as MessageEvent).data)));
      this.#waiter?.();
    });
    this.closed = new Promise((resolve) => {
      socket.addEventListener("close", (event) => {
        const { code, reason } = event as CloseEvent;
        resolve({ code, reason });
        this.#waiter?.();
      });
    });
  }

  /** Opens a connection and waits until it is open. */
  static async open(url: string): Promise<RawClient> {
    const WS = await webSocketClass();
    const socket = new WS(url);
    const client = new RawClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve());
      socket.addEventListener(
        "error",
        () => reject(new Error(`cannot connect to ${url}`)),
      );
    });
    return client;
  }

  /** Sends an object as JSON, or a string as it is. */
  send(frame: unknown): void {
    this.socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The next frame received, waiting up to `timeout` ms for it. */
  async next(timeout = 5000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeout;
    while (this.#frames.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0 || this.socket.readyState > 1) {
        throw new Error(`no frame within ${timeout} ms`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
    return this.#frames.shift() as Record<string, unknown>;
  }

  /**
   * Frames received before the answer to an `echo` call with this marker:
   * proves that nothing else is in flight.
   */
  async drain(): Promise<Record<string, unknown>[]> {
    const id = `drain-${Math.random()}`;
    this.send({ func: "call", type: "function", name: "echo", id, args: id });
    const before: Record<string, unknown>[] = [];
    for (;;) {
      const frame = await this.next();
      if (frame.func === "return" && frame.id === id) return before;
      before.push(frame);
    }
  }

  /** Skips the `subscribe` frames for functions the server sends on connect. */
  async skipFunctionSubscriptions(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const frame = await this.next();
      if (frame.func !== "subscribe" || frame.type !== "function") {
        throw new Error(
          `expected a function subscription, got ${JSON.stringify(frame)}`,
        );
      }
    }
  }

  /** Closes the connection and waits for it to close. */
  async close(): Promise<void> {
    if (this.socket.readyState < 2) this.socket.close();
    await this.closed;
  }
}

/**
 * Serves a hub on a free loopback port of the running runtime.
 *
 * @example
 * ```ts
 * const { server, url } = await serveHub(new Hub());
 * await server.close();
 * ```
 */
export async function serveHub<C>(
  hub: Hub<C>,
  onConnect?: (peer: Peer) => void,
): Promise<{ server: Server; url: string }> {
  const server = await serve({
    hub,
    port: 0,
    hostname: "127.0.0.1",
    onConnect,
  });
  return { server, url: `ws://127.0.0.1:${server.port}/ws/socksync` };
}

/**
 * A WebSocket handshake by hand over TCP, so the test sees the HTTP status
 * and can send any header (Origin, Authorization) on every runtime.
 */
export function handshake(
  port: number,
  headers: Record<string, string>,
  path = "/ws/socksync",
): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no handshake answer within 5 s"));
    }, 5000);
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (!text.includes("\r\n")) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(Number(text.split(" ")[1]));
    });
    const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16)))
      .toString("base64");
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${key}`,
      "Sec-WebSocket-Version: 13",
      ...Object.entries(headers).map(([k, value]) => `${k}: ${value}`),
    ];
    socket.write(lines.join("\r\n") + "\r\n\r\n");
  });
}
