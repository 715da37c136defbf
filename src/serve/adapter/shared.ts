/**
 * What every runtime adapter shares: the adapter types, the runtime check,
 * the frame-size cap and the close-with-grace race. Adapters import this
 * module and `serve.ts` re-exports its types; nothing here imports an
 * adapter or `serve.ts`, so there is no import cycle.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { UpgradeWebSocket } from "hono/ws";
import type { SocketLike } from "../../peer/socket.ts";

/**
 * The runtimes SockSync serves on.
 *
 * @example
 * ```ts
 * import type { Runtime } from "./shared.ts";
 * const runtime: Runtime = "deno";
 * ```
 */
export type Runtime = "deno" | "bun" | "node";

/**
 * The runtime running this code: `globalThis.Deno`, then `globalThis.Bun`
 * (Bun also looks like Node), else Node.
 */
export function detectRuntime(): Runtime {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
}

/**
 * A listening socket, as an adapter reports it.
 */
export interface Listener {
  /** The port actually bound (useful with port 0). */
  port: number;
  /**
   * Stops accepting connections at once, lets open WebSockets finish their
   * close handshake for a short grace period, ends what is left, and resolves
   * once the server stopped.
   */
  close(): Promise<void>;
}

/**
 * Options of {@linkcode Adapter.listen}.
 */
export interface ListenOptions {
  /** The port (0: any free port). */
  port: number;
  /** The address to bind. */
  hostname: string;
  /**
   * Largest incoming WebSocket frame in bytes: the runtime closes the
   * connection with 1009 as soon as a frame's header announces more, before
   * buffering it. `undefined`, `0` or `Infinity`: no cap.
   */
  maxPayload?: number;
}

/**
 * What one runtime's adapter provides for a Hono app: the upgrade helper to
 * mount WebSocket routes with, and a way to listen.
 */
export interface Adapter {
  /** The runtime this adapter serves on. */
  readonly runtime: Runtime;
  /** Hono's WebSocket upgrade helper for this runtime. */
  // deno-lint-ignore no-explicit-any
  readonly upgradeWebSocket: UpgradeWebSocket<any, any>;
  /**
   * Upgrades the request of `c` and hands the socket to the runtime's own
   * WebSocket server: nothing of the request or of `c` stays referenced once
   * the socket is open, only what `open` returns. Returns the response for
   * the route to give back, or `undefined` when the request is no upgrade.
   */
  accept(c: Context, open: Opener): Response | undefined;
  /**
   * Optional, before {@linkcode Adapter.listen}: answers a GET to exactly
   * `path` (no query aside) before the app's router, without a Hono context,
   * for a route that needs none (no middleware, no `context`). `check` gives
   * the refusal to answer with, or the opener of the socket. A request that
   * is no upgrade goes to the app like any other (whose route for `path`
   * checks it again). Lets a runtime skip per-upgrade allocations that would
   * otherwise lie between each connection's long-lived ones.
   */
  acceptAt?(path: string, check: (request: Request) => Response | Opener): void;
  /**
   * Whether `socket` is one this adapter handed to an opener (so that a
   * server closes its own connections and no others). Without it, `serve()`
   * keeps a set of its connections itself.
   */
  owns?(socket: SocketLike): boolean;
  /** Starts serving the app the adapter was created for. */
  listen(options: ListenOptions): Promise<Listener>;
}

/**
 * Creates an adapter for a Hono app (what each adapter module exports).
 */
// deno-lint-ignore no-explicit-any
export type AdapterFactory = (app: Hono<any>) => Adapter;

/**
 * What an adapter feeds one open connection: every text (or binary) frame,
 * then the end. A {@linkcode Peer} fits as it is.
 */
export interface Connected {
  /** One incoming frame: a string for text, an `ArrayBuffer` for binary. */
  receive(data: string | ArrayBuffer): unknown;
  /** The connection closed (`code` and `reason` as the close frame gave them). */
  detach(code?: number, reason?: string): void;
}

/**
 * Called once when an accepted socket opened: returns what the socket's
 * frames go to, or nothing to ignore them (after closing it, say).
 */
export type Opener = (socket: SocketLike) => Connected | undefined;

/** How long open WebSockets get to finish their close handshake. */
export const CLOSE_GRACE_MS = 2000;

/**
 * Waits for `stopped`, but at most `grace` ms: a peer that never answers the
 * close handshake must not hold a shutdown open. The caller ends what is
 * left after.
 */
export async function closeWithGrace(
  stopped: Promise<unknown>,
  grace: number = CLOSE_GRACE_MS,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    stopped,
    new Promise((resolve) => timer = setTimeout(resolve, grace)),
  ]);
  clearTimeout(timer);
}

/**
 * The frame cap to give the runtime: `undefined` for none. `0` and
 * `Infinity` turn the limit off, as for every limit.
 */
export function frameCap(maxPayload: number | undefined): number | undefined {
  if (maxPayload === undefined || maxPayload <= 0 || !Number.isFinite(maxPayload)) {
    return undefined;
  }
  return Math.ceil(maxPayload);
}

/**
 * `app.fetch`, with HEAD answered as the GET with its body cancelled, so
 * every runtime answers HEAD alike. Hono answers HEAD with
 * `new Response(null, response)`: `@hono/node-server`'s own `Response` fails
 * on that (a TypeError, so 500) when the GET's response was made without
 * options, as `c.text(…)`'s is, and the GET's body (a file or event stream)
 * stays open, never read. The app sees the request as a GET.
 */
export function fetchWithHead(
  // deno-lint-ignore no-explicit-any
  app: Hono<any>,
  request: Request,
  env: unknown,
): Response | Promise<Response> {
  if (request.method !== "HEAD") return app.fetch(request, env);
  return (async () => {
    const get = await app.fetch(new Request(request, { method: "GET" }), env);
    // Nobody reads it; a stream that cannot be cancelled any more has nothing to free.
    get.body?.cancel().catch(() => {});
    return new Response(null, { status: get.status, headers: get.headers });
  })();
}
