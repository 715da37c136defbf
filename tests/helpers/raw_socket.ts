/**
 * A raw protocol client for tests: sends JSON frames and awaits received ones,
 * optionally the first that matches a predicate.
 *
 * @module
 */

/**
 * The WebSocket class of the running runtime: the global one, or `ws` on
 * Node 20, which has none.
 *
 * @example
 * ```ts
 * import { webSocketClass } from "./raw_socket.ts";
 * const WebSocket = await webSocketClass();
 * ```
 */
export async function webSocketClass(): Promise<typeof WebSocket> {
  if (typeof globalThis.WebSocket === "function") return globalThis.WebSocket;
  return (await import("ws")).WebSocket as unknown as typeof WebSocket;
}

/**
 * One received frame, parsed.
 *
 * @example
 * ```ts
 * import type { Frame } from "./raw_socket.ts";
 * const isError = (frame: Frame) => frame.func === "error";
 * ```
 */
export type Frame = Record<string, unknown>;

/**
 * A raw WebSocket that queues every received frame until `next()` takes it.
 *
 * @example
 * ```ts
 * import { RawSocket } from "./raw_socket.ts";
 * const raw = await RawSocket.open("ws://127.0.0.1:8080/ws/socksync");
 * raw.send({ func: "subscribe", type: "var", name: "counter" });
 * const set = await raw.next((f) => f.func === "set");
 * await raw.close();
 * ```
 */
export class RawSocket {
  /** The socket. */
  readonly socket: WebSocket;
  /** Resolves with the close code and reason once the socket closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #frames: Frame[] = [];
  readonly #waiters = new Set<() => void>();

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.addEventListener("message", (event) => {
      const data = (event as MessageEvent).data;
      this.#frames.push(JSON.parse(String(data)));
      for (const wake of this.#waiters) wake();
    });
    this.closed = new Promise((resolve) => {
      socket.addEventListener("close", (event) => {
        const { code, reason } = event as CloseEvent;
        resolve({ code, reason });
        for (const wake of this.#waiters) wake();
      });
    });
  }

  /**
   * Opens a connection and resolves once it is open; with `headers` (a
   * cookie, say) through the `ws` package, which can send them everywhere.
   */
  static async open(url: string, headers?: Record<string, string>): Promise<RawSocket> {
    const WS = headers
      ? (await import("ws")).WebSocket as unknown as new (
        url: string,
        options: { headers: Record<string, string> },
      ) => WebSocket
      : await webSocketClass();
    const socket = headers
      ? new (WS as new (u: string, o: { headers: Record<string, string> }) => WebSocket)(url, {
        headers,
      })
      : new (WS as typeof WebSocket)(url);
    const raw = new RawSocket(socket);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve());
      socket.addEventListener(
        "error",
        () => reject(new Error(`cannot connect to ${url}`)),
      );
    });
    return raw;
  }

  /** Sends an object as JSON, or a string as it is. */
  send(frame: unknown): void {
    this.socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /**
   * Takes the first queued frame that matches `match` (any frame without
   * one), waiting up to `timeout` ms for it. Frames before it stay queued.
   */
  async next(
    match: (frame: Frame) => boolean = () => true,
    timeout = 5000,
  ): Promise<Frame> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const at = this.#frames.findIndex(match);
      if (at >= 0) return this.#frames.splice(at, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0 || this.socket.readyState > 1) {
        throw new Error(
          `no matching frame within ${timeout} ms; queued: ${JSON.stringify(this.#frames)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
    }
  }

  /** Sends a call and resolves its `return` or `error` frame. */
  async call(
    name: string,
    args?: unknown,
    id = `call-${Math.random()}`,
  ): Promise<Frame> {
    const frame: Frame = { func: "call", type: "function", name, id };
    if (args !== undefined) frame.args = args;
    this.send(frame);
    return await this.next((f) => (f.func === "return" || f.func === "error") && f.id === id);
  }

  /**
   * Frames received before the answer to an `echo` call with a fresh marker:
   * proves nothing else is in flight (the server must provide `echo`).
   */
  async drain(): Promise<Frame[]> {
    const id = `drain-${Math.random()}`;
    this.send({ func: "call", type: "function", name: "echo", id, args: id });
    const before: Frame[] = [];
    for (;;) {
      const frame = await this.next();
      if (frame.func === "return" && frame.id === id) return before;
      before.push(frame);
    }
  }

  /** Takes the `subscribe` frames for functions the server sends on connect. */
  async skipFunctionSubscriptions(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const frame = await this.next();
      if (frame.func !== "subscribe" || frame.type !== "function") {
        throw new Error(`expected a function subscription, got ${JSON.stringify(frame)}`);
      }
    }
  }

  /** Closes the connection and waits until it is closed. */
  async close(): Promise<void> {
    if (this.socket.readyState < 2) this.socket.close();
    await this.closed;
  }
}
