/**
 * Checks that run on the WebSocket route before any WebSocket exists: the
 * `Origin` header against an allow-list (cross-site WebSocket hijacking)
 * and the number of open connections. A refused request gets a plain HTTP
 * 403 or 503; the upgrade never happens.
 *
 * Authentication is not here: it is the application's own Hono middleware,
 * mounted before the route (its result becomes the connection's context
 * through the route's `context` option).
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Limits } from "./limits.ts";

/**
 * Options of {@linkcode guard}.
 *
 * @example
 * ```ts
 * import type { GuardOptions } from "./guard.ts";
 * const options: GuardOptions = { allowedOrigins: ["https://app.example.com"] };
 * ```
 */
export interface GuardOptions {
  /**
   * Origins allowed to open a WebSocket, exactly as browsers send them
   * (`https://app.example.com`, `http://localhost:5173`), or a predicate.
   * Any other `Origin` is refused with 403. Default: every origin.
   */
  allowedOrigins?: readonly string[] | ((origin: string) => boolean);
  /**
   * Whether a request without an `Origin` header is refused too (403) when
   * `allowedOrigins` is set. Browsers always send one on a WebSocket
   * handshake, so a missing header means a non-browser client, which cannot
   * be hijacked cross-site. Default `false`.
   */
  requireOrigin?: boolean;
  /** Open connections beyond which upgrades get 503. Default: the hub's `limits.maxConnections`. */
  maxConnections?: number;
  /** Counts the open connections. Default: the hub's connected peers. */
  connections?: () => number;
}

/**
 * The part of a `Hub` the guard reads.
 *
 * @example
 * ```ts
 * import { Hub } from "./hub.ts";
 * import type { GuardedHub } from "./guard.ts";
 * const hub: GuardedHub = new Hub();
 * ```
 */
export interface GuardedHub {
  /** The connected peers. */
  readonly peers: ReadonlySet<unknown>;
  /** The hub's limits (`maxConnections`). */
  readonly limits: Readonly<Pick<Limits, "maxConnections">>;
}

/**
 * The response refusing this request, or `undefined` to let it through.
 * Runtime-neutral: reads only the request's headers.
 *
 * @example
 * ```ts
 * import { Hub } from "./hub.ts";
 * import { refusal } from "./guard.ts";
 * const request = new Request("http://x/ws", { headers: { origin: "https://evil.example" } });
 * refusal(new Hub(), { allowedOrigins: ["https://app.example"] }, request.headers)?.status; // 403
 * ```
 */
export function refusal(
  hub: GuardedHub,
  options: GuardOptions,
  headers: Headers,
): Response | undefined {
  const allowed = options.allowedOrigins;
  if (allowed !== undefined) {
    const origin = headers.get("origin");
    const ok = origin === null
      ? !options.requireOrigin
      : typeof allowed === "function"
      ? allowed(origin) === true
      : allowed.includes(origin);
    if (!ok) return new Response("origin not allowed", { status: 403 });
  }
  const max = options.maxConnections ?? hub.limits.maxConnections;
  const open = options.connections ? options.connections() : hub.peers.size;
  if (open >= max) {
    return new Response("too many connections", {
      status: 503,
      headers: { "retry-after": "5" },
    });
  }
  return undefined;
}

/**
 * Hono middleware for the WebSocket route: refuses a disallowed `Origin`
 * with 403 and an upgrade beyond `maxConnections` with 503, before the
 * upgrade. Mount it after the app's auth middleware and before `socksync()`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { upgradeWebSocket } from "hono/deno";
 * import { Hub } from "./hub.ts";
 * import { socksync } from "./mount.ts";
 * import { guard } from "./guard.ts";
 *
 * const hub = new Hub();
 * const app = new Hono();
 * app.get(
 *   "/ws/socksync",
 *   guard(hub, { allowedOrigins: ["https://app.example.com"] }),
 *   socksync(hub, { upgradeWebSocket }),
 * );
 * ```
 */
export function guard(
  hub: GuardedHub,
  options: GuardOptions = {},
): MiddlewareHandler {
  return async (c: Context, next) => {
    const refused = refusal(hub, options, c.req.raw.headers);
    if (refused) return refused;
    await next();
  };
}

/**
 * Wraps a route handler (such as the WebSocket upgrade) so the guard runs
 * first: the one-line way to put {@linkcode guard} inside `socksync()`.
 *
 * @example
 * ```ts
 * import { upgradeWebSocket } from "hono/deno";
 * import { Hub } from "./hub.ts";
 * import { socksync } from "./mount.ts";
 * import { guarded } from "./guard.ts";
 * const hub = new Hub();
 * const handler = guarded(hub, { maxConnections: 100 }, socksync(hub, { upgradeWebSocket }));
 * ```
 */
export function guarded(
  hub: GuardedHub,
  options: GuardOptions,
  handler: MiddlewareHandler,
): MiddlewareHandler {
  return (c: Context, next) => {
    const refused = refusal(hub, options, c.req.raw.headers);
    if (refused) return Promise.resolve(refused);
    return handler(c, next);
  };
}
