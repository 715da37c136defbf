/**
 * A fault-injecting TCP proxy for tests of bad networks: it forwards every
 * connection to a loopback port with latency and jitter, an optional
 * bandwidth cap, and on demand cuts connections (both ends closed at once)
 * or stalls them (half-open: both ends stay open, nothing more is forwarded,
 * as after a NAT timeout or a laptop waking from sleep).
 *
 * Bounded: it listens and connects on 127.0.0.1 only, takes at most
 * `maxConnections` at once (later ones are refused by closing them), and a
 * direction that has more than `maxQueuedBytes` waiting for its delay is cut,
 * so a test can never make it hold unbounded memory.
 *
 * @module
 */
import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * Options of {@linkcode startFaultProxy}.
 *
 * @example
 * ```ts
 * import type { FaultProxyOptions } from "./fault_proxy.ts";
 * const options: FaultProxyOptions = { target: 8080, latency: [20, 80], bandwidth: 256 * 1024 };
 * ```
 */
export interface FaultProxyOptions {
  /** The loopback port to forward to, or a function naming it for each new connection. */
  target: number | (() => number);
  /** Delay of each chunk in ms, uniformly in `[min, max]` (order is kept). Default none. */
  latency?: readonly [number, number];
  /** Bytes per second per direction of each connection. Default unlimited. */
  bandwidth?: number;
  /** Connections at once; beyond, new ones are closed at once. Default 1,000. */
  maxConnections?: number;
  /** Bytes waiting in one direction beyond which the connection is cut. Default 16 MiB. */
  maxQueuedBytes?: number;
  /** A source of numbers in [0, 1) for the jitter (default `Math.random`). */
  random?: () => number;
}

/**
 * One proxied connection.
 *
 * @example
 * ```ts
 * import type { ProxiedConnection } from "./fault_proxy.ts";
 * const isLive = (c: ProxiedConnection) => !c.closed && !c.stalled;
 * ```
 */
export interface ProxiedConnection {
  /** The connection's number, in order of arrival. */
  readonly id: number;
  /** The port it was forwarded to. */
  readonly port: number;
  /** Whether it stopped forwarding (it stays open). */
  readonly stalled: boolean;
  /** Whether both ends are closed. */
  readonly closed: boolean;
  /** Closes both ends at once, as a broken network does (no close handshake). */
  cut(): void;
  /** Stops forwarding in both directions and drops what arrives; both ends stay open. */
  stall(): void;
}

/**
 * A running fault proxy.
 *
 * @example
 * ```ts
 * import { startFaultProxy } from "./fault_proxy.ts";
 * const proxy = await startFaultProxy({ target: 8080, latency: [5, 20] });
 * const url = proxy.url("/ws/socksync");
 * proxy.cutAll();
 * await proxy.close();
 * ```
 */
export interface FaultProxy {
  /** The port it listens on (127.0.0.1). */
  readonly port: number;
  /** `ws://127.0.0.1:PORT` + path. */
  url(path: string): string;
  /** The connections still open (stalled ones included). */
  readonly open: readonly ProxiedConnection[];
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Cuts every open connection. */
  cutAll(): void;
  /** Closes every connection and stops listening. */
  close(): Promise<void>;
}

/**
 * Starts a fault proxy in front of a loopback port.
 *
 * @example
 * ```ts
 * import { startFaultProxy } from "./fault_proxy.ts";
 * const proxy = await startFaultProxy({ target: 8080 });
 * await proxy.close();
 * ```
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const random = options.random ?? Math.random;
  const maxConnections = options.maxConnections ?? 1_000;
  const maxQueued = options.maxQueuedBytes ?? 16 * 1024 * 1024;
  const open = new Set<Connection>();
  let accepted = 0;

  class Pipe {
    readonly #to: Socket;
    readonly #owner: Connection;
    readonly #queue: { due: number; data: Buffer }[] = [];
    #queued = 0;
    #lastDue = 0;
    #timer: ReturnType<typeof setTimeout> | undefined;

    constructor(from: Socket, to: Socket, owner: Connection) {
      this.#to = to;
      this.#owner = owner;
      from.on("data", (data: Buffer) => this.#push(data));
    }

    #push(data: Buffer): void {
      if (this.#owner.stalled || this.#owner.closed) return;
      const now = Date.now();
      const [min, max] = options.latency ?? [0, 0];
      let due = now + min + (max - min) * random();
      // The link sends one chunk after the other: at the cap, each waits for the one before.
      if (options.bandwidth) {
        due = Math.max(due, this.#lastDue + data.length / options.bandwidth * 1000);
      }
      due = Math.max(due, this.#lastDue);
      this.#lastDue = due;
      this.#queue.push({ due, data });
      this.#queued += data.length;
      if (this.#queued > maxQueued) return this.#owner.cut();
      this.#arm();
    }

    #arm(): void {
      if (this.#timer !== undefined || this.#queue.length === 0) return;
      const delay = Math.max(0, this.#queue[0].due - Date.now());
      if (delay === 0) return this.#flush();
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#flush();
      }, delay);
    }

    #flush(): void {
      const now = Date.now();
      while (this.#queue.length > 0 && this.#queue[0].due <= now) {
        const { data } = this.#queue.shift()!;
        this.#queued -= data.length;
        if (!this.#owner.stalled && !this.#owner.closed) this.#to.write(data);
      }
      this.#arm();
    }

    stop(): void {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#queue.length = 0;
      this.#queued = 0;
    }
  }

  class Connection implements ProxiedConnection {
    readonly id = accepted++;
    readonly port: number;
    stalled = false;
    closed = false;
    readonly #down: Socket;
    readonly #up: Socket;
    readonly #pipes: Pipe[];

    constructor(down: Socket) {
      this.#down = down;
      this.port = typeof options.target === "function" ? options.target() : options.target;
      this.#up = connect(this.port, "127.0.0.1");
      this.#pipes = [new Pipe(down, this.#up, this), new Pipe(this.#up, down, this)];
      for (const socket of [down, this.#up]) {
        socket.setNoDelay(true);
        socket.on("error", () => {});
        // A stalled connection stays open whatever its ends do, as a dead link would.
        socket.on("close", () => {
          if (!this.stalled) this.cut();
        });
      }
    }

    cut(): void {
      if (this.closed) return;
      this.closed = true;
      open.delete(this);
      for (const pipe of this.#pipes) pipe.stop();
      this.#down.destroy();
      this.#up.destroy();
    }

    stall(): void {
      if (this.closed) return;
      this.stalled = true;
      for (const pipe of this.#pipes) pipe.stop();
    }
  }

  const server: Server = createServer((down) => {
    if (open.size >= maxConnections) {
      down.on("error", () => {});
      down.destroy();
      return;
    }
    open.add(new Connection(down));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: (path) => `ws://127.0.0.1:${port}${path}`,
    get open() {
      return [...open];
    },
    get accepted() {
      return accepted;
    },
    cutAll() {
      for (const connection of [...open]) connection.cut();
    },
    close() {
      for (const connection of [...open]) connection.cut();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
