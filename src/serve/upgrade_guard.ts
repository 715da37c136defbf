/**
 * Checks that run on the WebSocket route before any WebSocket exists: the
 * `Origin` header (same origin by default, against cross-site WebSocket
 * hijacking) and the number of open connections. A refused request gets a plain HTTP
 * 403 or 503; the upgrade never happens.
 *
 * Authentication is not here: it is the application's own Hono middleware,
 * mounted before the route (its result becomes the connection's context
 * through the route's `context` option).
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Limits } from "../peer/limits.ts";

/**
 * The `guard` option of `serve()` and `socksync()`: which origins may open a
 * WebSocket and how many connections may be open.
 *
 * @example
 * ```ts
 * import type { GuardOptions } from "./upgrade_guard.ts";
 * const options: GuardOptions = { allowedOrigins: ["https://app.example.com", "https://*.example.com"] };
 * ```
 */
export interface GuardOptions {
  /**
   * Origins allowed to open a WebSocket besides the server's own. By default
   * a browser upgrade (one with an `Origin` header) is accepted only from
   * the origin the request was sent to: the same scheme, host and port, as
   * the `Host` header (or, behind a proxy, the first `Forwarded` or
   * `X-Forwarded-Host`/`X-Forwarded-Proto` values) says. Any other origin
   * gets 403.
   *
   * A list adds origins: exact ones as browsers send them
   * (`https://app.example.com`, `http://localhost:5173`) and subdomain
   * wildcards (`https://*.example.com` matches `https://a.example.com` and
   * `https://a.b.example.com`, not `https://example.com`). A predicate
   * decides for every other origin. `"*"` accepts every origin, which lets
   * any web page a user visits open a socket with the user's cookies.
   */
  allowedOrigins?: "*" | readonly string[] | ((origin: string) => boolean);
  /**
   * Whether a request without an `Origin` header is refused too (403).
   * Browsers always send one on a WebSocket handshake, so a missing header
   * means a non-browser client, which cannot be hijacked cross-site.
   * Default `false`.
   */
  requireOrigin?: boolean;
  /** Open connections beyond which upgrades get 503. Default: the hub's `limits.maxConnections`. */
  maxConnections?: number;
  /** Counts the open connections. Default: the hub's connected peers. */
  connections?: () => number;
  /**
   * Told once per refused origin (up to 50 origins per guard) which option
   * would allow it, since the browser only shows a failed socket. Default
   * `console.warn`; `false` for silence.
   */
  logRefused?: ((message: string) => void) | false;
}

/**
 * The part of a `Hub` the guard reads.
 */
export interface GuardedHub {
  /** The connected peers. */
  readonly peers: ReadonlySet<unknown>;
  /** The hub's limits (`maxConnections`). */
  readonly limits: Readonly<Pick<Limits, "maxConnections">>;
}

// The origins each guard already logged a refusal of: each once, a bounded number.
const logged = new WeakMap<GuardOptions, Set<string>>();
const MAX_LOGGED = 50;

/** Logs the first refusal of an origin under these options, naming the option that allows it. */
function logRefusal(options: GuardOptions, origin: string): void {
  const log = options.logRefused ?? console.warn;
  if (log === false) return;
  let seen = logged.get(options);
  if (!seen) logged.set(options, seen = new Set());
  // The header is the client's: only a well-formed origin is echoed, and briefly.
  const shown = normalOrigin(origin) ?? JSON.stringify(origin.slice(0, 64));
  if (seen.has(shown) || seen.size >= MAX_LOGGED) return;
  seen.add(shown);
  log(
    `socksync: refused a WebSocket upgrade from origin ${shown} (403 origin not allowed): ` +
      `not this server's own origin. To allow it, list it in the guard's allowedOrigins, ` +
      `e.g. serve({ guard: { allowedOrigins: [${JSON.stringify(shown)}] } }) ` +
      `(further refusals of this origin are not logged)`,
  );
}

/**
 * The response refusing this request, or `undefined` to let it through.
 * Runtime-neutral: reads only the request's URL and headers.
 */
export function refusal(
  hub: GuardedHub,
  options: GuardOptions,
  request: Request,
): Response | undefined {
  if (!originAllowed(options, request)) {
    logRefusal(options, request.headers.get("origin") ?? "");
    return new Response("origin not allowed", { status: 403 });
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
 * Whether the request's `Origin` may open a WebSocket under `options`; see
 * {@linkcode GuardOptions.allowedOrigins}.
 */
export function originAllowed(options: GuardOptions, request: Request): boolean {
  const headers = request.headers;
  const origin = headers.get("origin");
  if (origin === null) return !options.requireOrigin;
  const allowed = options.allowedOrigins;
  if (allowed === "*") return true;
  const normal = normalOrigin(origin);
  if (normal !== undefined && normal === ownOrigin(request)) return true;
  if (allowed === undefined) return false;
  if (typeof allowed === "function") return allowed(origin) === true;
  return allowed.some((entry) => entry === origin || matches(entry, normal));
}

/** `scheme://host[:port]` in lower case without a default port, or `undefined` if not an origin. */
function normalOrigin(text: string): string | undefined {
  try {
    const url = new URL(text);
    const scheme = url.protocol === "wss:"
      ? "https:"
      : url.protocol === "ws:"
      ? "http:"
      : url.protocol;
    if (scheme !== "http:" && scheme !== "https:") return undefined;
    url.protocol = scheme;
    return url.origin;
  } catch {
    return undefined;
  }
}

/**
 * The origin the client sent this request to. Behind a proxy that is the
 * first `Forwarded` element's `proto` and `host`, else the first
 * `X-Forwarded-Proto` and `X-Forwarded-Host` values; otherwise the request's
 * own scheme and `Host`. Browsers do not let a page set these headers on a
 * WebSocket handshake, so reading them cannot let a foreign page in.
 */
function ownOrigin(request: Request): string | undefined {
  const headers = request.headers;
  let proto: string | undefined;
  let host: string | undefined;
  const forwarded = headers.get("forwarded");
  if (forwarded) {
    for (const pair of forwarded.split(",")[0].split(";")) {
      const at = pair.indexOf("=");
      const key = pair.slice(0, at).trim().toLowerCase();
      const value = pair.slice(at + 1).trim().replace(/^"(.*)"$/, "$1");
      if (key === "proto") proto = value;
      else if (key === "host") host = value;
    }
  }
  proto ??= firstValue(headers.get("x-forwarded-proto"));
  host ??= firstValue(headers.get("x-forwarded-host"));
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return undefined;
  }
  host ??= headers.get("host") ?? url.host;
  proto ??= url.protocol.slice(0, -1);
  return normalOrigin(`${proto.toLowerCase()}://${host}`);
}

function firstValue(header: string | null): string | undefined {
  const first = header?.split(",")[0].trim();
  return first ? first : undefined;
}

/** A subdomain wildcard (`https://*.example.com[:port]`) against a normalized origin. */
function matches(pattern: string, origin: string | undefined): boolean {
  if (origin === undefined) return false;
  const star = pattern.indexOf("://*.");
  if (star < 0) return normalOrigin(pattern) === origin;
  const base = normalOrigin(pattern.slice(0, star) + "://x." + pattern.slice(star + 5));
  if (base === undefined) return false;
  const prefix = base.slice(0, base.indexOf("://") + 3);
  const suffix = base.slice(prefix.length + 1);
  if (!origin.startsWith(prefix) || !origin.endsWith(suffix)) return false;
  const labels = origin.slice(prefix.length, origin.length - suffix.length);
  return /^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(labels);
}

/**
 * Wraps a route handler (such as the WebSocket upgrade) so the guard runs
 * first (what `serve()` and `socksync()` do with their `guard` option).
 */
export function guarded(
  hub: GuardedHub,
  options: GuardOptions,
  handler: MiddlewareHandler,
): MiddlewareHandler {
  return (c: Context, next) => {
    const refused = refusal(hub, options, c.req.raw);
    if (refused) return Promise.resolve(refused);
    return handler(c, next);
  };
}
