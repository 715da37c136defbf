/**
 * Serves a {@linkcode Hub} (plus any Hono app) on whichever runtime runs this
 * code: Deno, Bun or Node. Each runtime's adapter is loaded with a dynamic
 * import, so Bun never loads `@hono/node-server` and Node and Deno never load
 * `hono/bun`. The adapters and their shared types live in `./adapter/`.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import type { Hub } from "../server/hub.ts";
import type { Peer } from "../peer/peer.ts";
import type { GuardOptions } from "./upgrade_guard.ts";
import { guarded, refusal } from "./upgrade_guard.ts";
import { type Adapter, detectRuntime, type Opener, type Runtime } from "./adapter/shared.ts";

export {
  type Adapter,
  type AdapterFactory,
  type Connected,
  detectRuntime,
  type Listener,
  type ListenOptions,
  type Opener,
  type Runtime,
} from "./adapter/shared.ts";

/**
 * Loads the adapter of the running runtime and creates it for `app`.
 */
// deno-lint-ignore no-explicit-any
export async function loadAdapter(app: Hono<any>): Promise<Adapter> {
  // Literal specifiers per branch, so tools can still follow the imports.
  switch (detectRuntime()) {
    case "deno":
      return (await import("./adapter/deno.ts")).createAdapter(app);
    case "bun":
      return (await import("./adapter/bun.ts")).createAdapter(app);
    default:
      return (await import("./adapter/node.ts")).createAdapter(app);
  }
}

/**
 * Options of {@linkcode serve}.
 *
 * @example
 * ```ts
 * import { Hub } from "../../mod.ts";
 * import type { ServeOptions } from "./serve.ts";
 * const options: ServeOptions = { hub: new Hub(), port: 0, hostname: "127.0.0.1" };
 * ```
 */
export interface ServeOptions<Ctx = unknown> {
  /** The hub every WebSocket connection is attached to. */
  hub: Hub<Ctx>;
  /**
   * Other routes; requests that are not the WebSocket route go here (a HEAD request as the GET
   * it stands for, answered without the body).
   */
  // deno-lint-ignore no-explicit-any
  app?: Hono<any>;
  /**
   * Instead of `app`: a plain fetch handler for every other request. As for `app`, a HEAD
   * request arrives as the GET it stands for, and the answer's body is cancelled, not sent.
   */
  fetch?: (request: Request) => Response | Promise<Response>;
  /** The WebSocket route (default `/ws/socksync`). */
  path?: string;
  /** The port (default 8080; 0 lets the OS pick, see `Server.port`). */
  port?: number;
  /** The address to bind (default `127.0.0.1`). */
  hostname?: string;
  /** Builds the per-connection context handed to function handlers. */
  context?: (c: Context) => Ctx | Promise<Ctx>;
  /**
   * Middleware run before the WebSocket upgrade, in order (authentication:
   * bearer token, cookie session, …). A refusal answers the HTTP request, so
   * no WebSocket is ever created; what it sets on the context (`c.set`) is
   * there for `context`.
   */
  middleware?: MiddlewareHandler[];
  /**
   * Origin check (same origin by default; `allowedOrigins` allows more) and
   * connection cap, checked before the upgrade (403 / 503).
   */
  guard?: GuardOptions;
  /** Called for every new connection; the default accepts every function of the hub. */
  onConnect?: (peer: Peer) => void;
  /** Called once the server listens. */
  onListen?: (server: Server) => void;
}

/**
 * A running server.
 *
 * @example
 * ```ts
 * import type { Server } from "./serve.ts";
 * async function stop(server: Server) {
 *   console.log(`stopping ${server.url} on ${server.runtime}`);
 *   await server.close();
 * }
 * ```
 */
export interface Server {
  /** The runtime serving. */
  readonly runtime: Runtime;
  /** The address bound. */
  readonly hostname: string;
  /** The port bound. */
  readonly port: number;
  /** `http://hostname:port`. */
  readonly url: string;
  /** The number of open WebSocket connections. */
  readonly connections: number;
  /**
   * Stops accepting, closes every WebSocket with 1001 ("going away") and
   * stops the server. The hub stays open: close it (and its stores) after.
   */
  close(): Promise<void>;
}

/**
 * Serves a hub on the running runtime: the WebSocket route plus `app` (or
 * `fetch`) for everything else.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { Hub } from "../../mod.ts";
 * import { serve } from "./serve.ts";
 *
 * const hub = new Hub();
 * const app = new Hono().get("/", (c) => c.text("hello"));
 * const server = await serve({ hub, app, port: 0 });
 * console.log(`listening on ${server.url}`);
 * await server.close();
 * await hub.close();
 * ```
 */
export async function serve<Ctx>(options: ServeOptions<Ctx>): Promise<Server> {
  const hostname = options.hostname ?? "127.0.0.1";
  const root = new Hono();
  const adapter = await loadAdapter(root);
  // Counted, not kept: the hub keeps the peers, and the adapter tells its own sockets from
  // others' at close (a Set entry per connection is memory a raw server does not spend).
  let open = 0;
  // Only where the adapter cannot tell its sockets (an adapter from elsewhere).
  const sockets = adapter.owns ? undefined : new Set<Peer<Ctx>>();
  // One listener for every peer (it gets the peer): no closure per connection.
  const forget = (peer: Peer<Ctx>) => {
    open--;
    sockets?.delete(peer);
  };
  let closing: Promise<void> | undefined;
  const path = options.path ?? "/ws/socksync";
  for (const middleware of options.middleware ?? []) root.use(path, middleware);
  const { hub, onConnect } = options;
  /**
   * The opener of one accepted request. Built here, away from the route's
   * handler, so the closure holds the context value and not `c`.
   */
  const opener = (context: Ctx): Opener => (socket) => {
    if (closing) {
      socket.close(1001, "server shutting down");
      return undefined;
    }
    const peer = hub.connect(socket, { context });
    // Refused by the hub (too many connections, an expired identity): closed already.
    if (!peer.detached) {
      open++;
      sockets?.add(peer);
      peer.onDetach(forget);
    }
    if (onConnect) onConnect(peer);
    else peer.acceptCalls();
    return peer;
  };
  // One object for both routes below: the guard logs each refused origin once per object.
  const guard: GuardOptions = { connections: () => open, ...options.guard };
  // Without middleware or `context`, the route needs no Hono context: where the adapter can, it
  // answers the route's upgrades itself, with one opener for all. Only for a path Hono's router
  // matches literally, so the two routes take the same requests.
  if (
    adapter.acceptAt && !options.middleware?.length && !options.context &&
    /^\/[\w.~/-]*$/.test(path)
  ) {
    const openPlain = opener(undefined as Ctx);
    adapter.acceptAt(path, (request) => refusal(hub, guard, request) ?? openPlain);
  }
  root.get(
    path,
    guarded(
      hub,
      guard,
      async (c, next) => {
        const context = (options.context ? await options.context(c) : undefined) as Ctx;
        const response = adapter.accept(c, opener(context));
        if (response) return response;
        await next();
      },
    ),
  );
  const { app, fetch } = options;
  // Delegate instead of `root.route()`, so routes added to `app` later count too.
  if (app) root.all("*", (c) => app.fetch(c.req.raw, c.env));
  else if (fetch) root.all("*", (c) => fetch(c.req.raw));
  const listener = await adapter.listen({
    port: options.port ?? 8080,
    hostname,
    // Frames a little over the hub's limit still reach the peer, which closes with 1009 and
    // "frame too large"; the runtime closes (also 1009) on anything bigger before buffering it.
    maxPayload: runtimeFrameCap(options.hub.limits.maxFrameBytes),
  });
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  const server: Server = {
    runtime: adapter.runtime,
    hostname,
    port: listener.port,
    url: `http://${host}:${listener.port}`,
    get connections() {
      return open;
    },
    close() {
      closing ??= (async () => {
        // Stop accepting first, so clients that reconnect at once find nothing.
        const down = listener.close();
        const owns = adapter.owns;
        for (const peer of sockets ?? [...hub.peers].filter((peer) => owns!(peer.socket))) {
          try {
            peer.socket.close(1001, "server shutting down");
          } catch { /* already closed */ }
        }
        await down;
      })();
      return closing;
    },
  };
  options.onListen?.(server);
  return server;
}

/** The runtime's frame cap for the hub's `maxFrameBytes`; `0` or `Infinity` (no limit) stays off. */
function runtimeFrameCap(maxFrameBytes: number): number | undefined {
  if (maxFrameBytes <= 0 || !Number.isFinite(maxFrameBytes)) return undefined;
  return maxFrameBytes * 4 + 1024;
}
