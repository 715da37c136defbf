/**
 * Test helpers: the one server fixture (a hub served on a free loopback port
 * of the running runtime, with everything opened around it closed at the
 * end), a client `Peer` over the runtime's WebSocket, and a WebSocket
 * handshake by hand (to see the HTTP status).
 *
 * @module
 */
import type { Hub } from "../../mod.ts";
import { Peer, type PeerOptions } from "../../src/peer/mod.ts";
import { serve } from "../../src/serve/serve.ts";
import { RawSocket, webSocketClass } from "./raw_socket.ts";
import { answer, UPGRADE } from "./raw_http.ts";

/** What `serve()` resolves. */
export type Server = Awaited<ReturnType<typeof serve>>;

/**
 * Serves a hub on a free loopback port of the running runtime; `onConnect`
 * (alone or in the options) replaces the default (`peer.acceptCalls()`).
 *
 * @example
 * ```ts
 * import { Hub } from "../../mod.ts";
 * import { serveHub } from "./serve_hub.ts";
 * const { server, url } = await serveHub(new Hub());
 * await server.close();
 * ```
 */
export async function serveHub<C>(
  hub: Hub<C>,
  options: ((peer: Peer) => void) | { onConnect?: (peer: Peer) => void; context?: () => C } = {},
): Promise<{ server: Server; url: string }> {
  const { onConnect, context } = typeof options === "function" ? { onConnect: options } : options;
  const server = await serve({ hub, port: 0, hostname: "127.0.0.1", onConnect, context });
  return { server, url: `ws://127.0.0.1:${server.port}/ws/socksync` };
}

/**
 * How to serve a hub for a test.
 *
 * @example
 * ```ts
 * import { Hub } from "../../mod.ts";
 * import type { ServedOptions } from "./serve_hub.ts";
 * const options: ServedOptions<unknown> = { hub: new Hub(), accept: ["echo"] };
 * ```
 */
export interface ServedOptions<C> {
  /** The hub to serve; closed at the end. */
  hub: Hub<C>;
  /**
   * The functions every connection accepts calls to, announced to each client
   * first (`open()` skips those frames). Default: every function the hub has
   * when the connection comes.
   */
  accept?: readonly string[];
  /** Other options of `serve()`, such as `guard`. */
  serve?: Omit<Parameters<typeof serve<C>>[0], "hub" | "onConnect">;
}

/**
 * A hub being served, and what a test needs around it.
 *
 * @example
 * ```ts
 * import { Hub } from "../../mod.ts";
 * import { withServedHub } from "./serve_hub.ts";
 * await withServedHub({ hub: new Hub() }, async ({ open }) => {
 *   const client = await open();
 *   client.send({ func: "get", type: "var", name: "counter" });
 * });
 * ```
 */
export interface Served<C> {
  /** The hub. */
  hub: Hub<C>;
  /** The server. */
  server: Server;
  /** Its WebSocket URL. */
  url: string;
  /** Its port. */
  port: number;
  /** The server side's peers, in the order the connections came. */
  peers: Peer<C>[];
  /** Opens a raw client, closed at the end, past the function subscriptions its peer announces. */
  open(): Promise<RawSocket>;
  /** Runs `cleanup` at the end, before the clients, the server and the hub close (last first). */
  defer(cleanup: () => unknown): void;
}

/**
 * Serves a hub, runs `fn`, then closes what `fn` deferred, the raw clients,
 * the server and the hub, whether `fn` succeeded or not; resolves what `fn`
 * resolved.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Hub } from "../../mod.ts";
 * import { withServedHub } from "./serve_hub.ts";
 * const hub = new Hub();
 * hub.function("echo", { handler: (args) => args });
 * await withServedHub({ hub, accept: ["echo"] }, async ({ open }) => {
 *   const client = await open();
 *   assert.deepEqual(await client.drain(), []);
 * });
 * ```
 */
export async function withServedHub<C, R>(
  options: ServedOptions<C>,
  fn: (served: Served<C>) => Promise<R>,
): Promise<R> {
  const { hub } = options;
  const accept = options.accept ?? [];
  const peers: Peer<C>[] = [];
  const server = await serve({
    ...options.serve,
    hub,
    port: options.serve?.port ?? 0,
    hostname: options.serve?.hostname ?? "127.0.0.1",
    onConnect: (peer) => {
      peers.push(peer as Peer<C>);
      peer.acceptCalls(...accept);
    },
  });
  const url = `ws://127.0.0.1:${server.port}${options.serve?.path ?? "/ws/socksync"}`;
  const clients: RawSocket[] = [];
  const cleanups: (() => unknown)[] = [];
  try {
    return await fn({
      hub,
      server,
      url,
      port: server.port,
      peers,
      open: async () => {
        const client = await RawSocket.open(url);
        clients.push(client);
        // Without names, acceptCalls announces every function the hub has.
        await client.skipFunctionSubscriptions(options.accept?.length ?? hub.functions.size);
        return client;
      },
      defer: (cleanup) => cleanups.push(cleanup),
    });
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await Promise.all(clients.map((client) => client.close()));
    await server.close();
    await hub.close();
  }
}

/**
 * A client `Peer` over the running runtime's WebSocket, connected.
 *
 * @example
 * ```ts
 * import { connectPeer } from "./serve_hub.ts";
 * const { peer, close } = await connectPeer("ws://127.0.0.1:8080/ws/socksync");
 * await peer.call("echo", 1);
 * await close();
 * ```
 */
export async function connectPeer(
  url: string,
  options: Omit<PeerOptions<unknown>, "socket"> = {},
): Promise<{
  peer: Peer;
  socket: WebSocket;
  /** Resolves with the close code once the socket closed. */
  closed: Promise<number>;
  /** Closes the socket and detaches the peer. */
  close(): Promise<void>;
}> {
  const WS = await webSocketClass();
  const socket = new WS(url);
  const peer = new Peer({ ...options, socket });
  socket.addEventListener("message", (event) => peer.receive((event as MessageEvent).data));
  const closed = new Promise<number>((resolve) =>
    socket.addEventListener("close", (event) => {
      peer.detach();
      resolve((event as CloseEvent).code);
    })
  );
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve());
    socket.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)));
  });
  return {
    peer,
    socket,
    closed,
    close: async () => {
      if (socket.readyState < 2) socket.close();
      await closed;
    },
  };
}

/**
 * A WebSocket handshake by hand over TCP, so the test sees the HTTP status
 * and can send any header (Origin, Authorization) on every runtime.
 *
 * @example
 * ```ts
 * import { handshake } from "./serve_hub.ts";
 * const status = await handshake(8080, { Origin: "https://evil.example" });
 * ```
 */
export async function handshake(
  port: number,
  headers: Record<string, string>,
  path = "/ws/socksync",
): Promise<number> {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return (await answer(port, path, [...UPGRADE, ...lines])).status;
}
