/**
 * The demo's operator routes: `GET /metrics` (Prometheus text, on unless
 * `SOCKSYNC_METRICS=off`) and the admin page `/admin/` (only when
 * `SOCKSYNC_ADMIN_TOKEN` is set). The page signs in with the token once
 * (`POST /admin/login`, never in a URL, so never in an access log) and gets
 * a random session cookie; the WebSocket then carries that cookie, and the
 * hub's `authorize` lets only such connections read the admin vars.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { Metrics } from "../src/peer/metrics.ts";
import { registerMetrics } from "../src/prometheus/mod.ts";

/** The admin session cookie's name. */
export const ADMIN_COOKIE = "socksync_admin";

/**
 * What a demo connection's context says about it.
 *
 * @example
 * ```ts
 * import type { DemoContext } from "./admin.ts";
 * const context: DemoContext = { admin: false };
 * ```
 */
export interface DemoContext {
  /** Whether the connection came with a valid admin session cookie. */
  admin: boolean;
}

/**
 * Admin sign-in: the token (compared in constant time) buys a random session
 * id, kept in memory for `ttl` milliseconds.
 *
 * @example
 * ```ts
 * import { AdminSessions } from "./admin.ts";
 * const sessions = new AdminSessions("s3cret");
 * const id = sessions.signIn("s3cret");
 * sessions.valid(id); // true
 * ```
 */
export class AdminSessions {
  readonly #token: string;
  readonly #ttl: number;
  readonly #sessions = new Map<string, number>();

  /**
   * @param token the admin token (from `SOCKSYNC_ADMIN_TOKEN`)
   * @param ttl how long a session lasts, in milliseconds (default 12 hours)
   */
  constructor(token: string, ttl = 12 * 3600_000) {
    this.#token = token;
    this.#ttl = ttl;
  }

  /** A new session id if `token` is the admin token, else `undefined`. */
  signIn(token: string): string | undefined {
    if (!sameText(token, this.#token)) return undefined;
    const bytes = crypto.getRandomValues(new Uint8Array(24));
    const id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    this.#sessions.set(id, Date.now() + this.#ttl);
    return id;
  }

  /** Whether `id` names a live session. */
  valid(id: string | undefined): boolean {
    if (id === undefined) return false;
    const until = this.#sessions.get(id);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.#sessions.delete(id);
    return false;
  }
}

/** Compares two strings in time that does not depend on where they differ. */
function sameText(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < y.length; i++) diff |= (x[i] ?? 0) ^ y[i];
  return diff === 0;
}

/**
 * Serves `GET /metrics` from the hub's metrics, in a registry of its own
 * (with prom-client's process metrics).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { Hub } from "../mod.ts";
 * import { addMetricsRoute } from "./admin.ts";
 * const app = new Hono();
 * await addMetricsRoute(app, new Hub({ metrics: true }));
 * ```
 */
export async function addMetricsRoute(
  app: Hono,
  hub: { readonly metrics?: Metrics },
): Promise<void> {
  const { Registry } = await import("prom-client");
  const registry = await registerMetrics(hub, { registry: new Registry() });
  app.get("/metrics", async (c) => {
    const text = await registry.metrics();
    return c.body(text, 200, { "content-type": registry.contentType });
  });
}

/**
 * The admin page as built (see `page/build.ts`).
 *
 * @example
 * ```ts
 * import type { AdminPage } from "./admin.ts";
 * const page: AdminPage = { html: "", login: "", script: "", style: "" };
 * ```
 */
export interface AdminPage {
  /** The page, for a signed-in browser. */
  html: string;
  /** The sign-in form, for anyone else. */
  login: string;
  /** Its script, bundled. */
  script: string;
  /** uPlot's stylesheet and the page's own. */
  style: string;
}

/**
 * Adds `/admin/`, `/admin/login`, `/admin/app.js` and `/admin/app.css`.
 * Without a session cookie, `/admin/` answers 401 with the sign-in form; a
 * wrong token answers 401 too. The token is never logged or echoed.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { AdminSessions, addAdminRoutes } from "./admin.ts";
 * const app = new Hono();
 * addAdminRoutes(app, new AdminSessions("s3cret"), { html: "", login: "", script: "", style: "" });
 * ```
 */
export function addAdminRoutes(app: Hono, sessions: AdminSessions, page: AdminPage): void {
  const signedIn = (c: Context) => sessions.valid(getCookie(c, ADMIN_COOKIE));
  app.get("/admin", (c) => c.redirect("/admin/"));
  app.get("/admin/", (c) => signedIn(c) ? c.html(page.html) : c.html(page.login, 401));
  app.post("/admin/login", async (c) => {
    const form = await c.req.parseBody();
    const token = typeof form.token === "string" ? form.token : "";
    const id = sessions.signIn(token);
    if (id === undefined) return c.html(page.login.replace("<!--error-->", "Wrong token."), 401);
    setCookie(c, ADMIN_COOKIE, id, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      secure: new URL(c.req.url).protocol === "https:",
    });
    return c.redirect("/admin/", 303);
  });
  app.get("/admin/app.js", (c) => {
    if (!signedIn(c)) return c.text("sign in first", 401);
    c.header("content-type", "text/javascript; charset=utf-8");
    return c.body(page.script);
  });
  app.get("/admin/app.css", (c) => {
    c.header("content-type", "text/css; charset=utf-8");
    return c.body(page.style);
  });
}

/**
 * The context of a demo connection: admin when its upgrade request carried
 * a live admin session cookie.
 *
 * @example
 * ```ts
 * import { AdminSessions, demoContext } from "./admin.ts";
 * const context = demoContext(new AdminSessions("s3cret"));
 * ```
 */
export function demoContext(sessions: AdminSessions | undefined): (c: Context) => DemoContext {
  return (c) => ({ admin: sessions?.valid(getCookie(c, ADMIN_COOKIE)) ?? false });
}
