/**
 * The demo's sign-in routes. `POST /login` with JSON `{ name, ttl? }` (name
 * 1–32 characters, ttl in seconds, default 3600) sets the session cookie
 * (`HttpOnly`, `SameSite=Lax`) and answers `{ token, expiresAt }`: the same
 * session as a bearer token, for clients without cookies. `POST /logout`
 * ends the session the request carries (cookie or bearer token): its token
 * is refused from then on and its connections close with 4001, on every
 * instance.
 *
 * @module
 */
import type { Hono } from "hono";
import * as v from "valibot";
import type { Hub } from "../mod.ts";
import { type DemoSession, SESSION_COOKIE, type Sessions, tokenOf } from "./session.ts";

/** The longest session, in seconds: a week. */
const MAX_TTL = 7 * 24 * 3600;

const Login = v.object({
  name: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(32)),
  ttl: v.optional(v.pipe(v.number(), v.minValue(1), v.maxValue(MAX_TTL)), 3600),
});

/**
 * What the routes need: the hub (to close a session's connections), the
 * sessions, and how to tell the other instances (optional).
 *
 * @example
 * ```ts
 * import type { LoginOptions } from "./login.ts";
 * const publish: LoginOptions["publishLogout"] = async (session) => console.log(session.sid);
 * ```
 */
export interface LoginOptions {
  /** The demo hub (its connections of a session are closed at sign-out). */
  hub: Pick<Hub, "revoke">;
  /** Signs and checks the session tokens. */
  sessions: Sessions;
  /** Tells the other instances that a session ended, so they refuse its token too. */
  publishLogout?: (session: DemoSession) => Promise<void>;
}

/**
 * Adds `POST /login` and `POST /logout` to the demo's app.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { Hub } from "../mod.ts";
 * import { addLoginRoutes } from "./login.ts";
 * import { Sessions } from "./session.ts";
 * const app = new Hono();
 * addLoginRoutes(app, { hub: new Hub(), sessions: await Sessions.create() });
 * ```
 */
export function addLoginRoutes(app: Hono, options: LoginOptions): void {
  const { hub, sessions } = options;
  app.post("/login", async (c) => {
    const body = await c.req.json().catch(() => undefined);
    const parsed = v.safeParse(Login, body);
    if (!parsed.success) {
      return c.json({ error: "send JSON { name: 1-32 characters, ttl?: seconds }" }, 400);
    }
    const { name, ttl } = parsed.output;
    const { token, session } = await sessions.issue(name, ttl);
    c.header("set-cookie", cookie(token, Math.round(ttl)));
    c.header("cache-control", "no-store");
    return c.json({ token, expiresAt: session.exp });
  });
  app.post("/logout", async (c) => {
    const session = await sessions.verify(tokenOf(c.req.raw));
    if (session) {
      sessions.revoke(session.sid, session.exp);
      // The other instances learn that the token is dead before its connections close.
      // A failure here leaves the token refused on this instance only: say so, still sign out.
      await options.publishLogout?.(session).catch((error) =>
        console.error(`sign-out of one session not recorded for other instances: ${error}`)
      );
      hub.revoke(`session:${session.sid}`);
    }
    c.header("set-cookie", cookie("", 0));
    return c.json({ ok: true });
  });
}

/** The session cookie: script-proof, sent on same-site navigation and by the page's socket. */
function cookie(token: string, maxAge: number): string {
  return `${SESSION_COOKIE}=${token}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax`;
}
