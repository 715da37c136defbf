/**
 * The demo's sessions: `POST /login` signs one (HMAC-SHA256 with
 * `SOCKSYNC_SECRET`, else a random secret per start) into a token that is
 * both the `HttpOnly` session cookie and a bearer token for clients without
 * cookies; `POST /logout` revokes it. A revoked token is refused from then
 * on, here and (through the revocation channel) on the other instances.
 *
 * @module
 */

/**
 * One signed-in session: the connection's context in the demo.
 *
 * @example
 * ```ts
 * import type { DemoSession } from "./session.ts";
 * const session: DemoSession = { sid: "s1", name: "ada", exp: Date.now() + 3_600_000 };
 * ```
 */
export interface DemoSession {
  /** The session's id (what `POST /logout` revokes). */
  sid: string;
  /** The user's name. */
  name: string;
  /** When it expires, in ms since the epoch. */
  exp: number;
}

/**
 * The session cookie's name.
 *
 * @example
 * ```ts
 * import { SESSION_COOKIE } from "./session.ts";
 * console.log(SESSION_COOKIE); // "socksync_session"
 * ```
 */
export const SESSION_COOKIE = "socksync_session";

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const plain = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = new Uint8Array(plain.length);
  for (let i = 0; i < plain.length; i++) bytes[i] = plain.charCodeAt(i);
  return bytes;
}

/**
 * Signs, checks and revokes session tokens.
 *
 * @example
 * ```ts
 * import { Sessions } from "./session.ts";
 * const sessions = await Sessions.create("a secret");
 * const { token } = await sessions.issue("ada", 60);
 * console.log((await sessions.verify(token))?.name); // "ada"
 * ```
 */
export class Sessions {
  readonly #key: CryptoKey;
  // Revoked session ids until they would have expired anyway.
  readonly #revoked = new Map<string, number>();

  private constructor(key: CryptoKey) {
    this.#key = key;
  }

  /** Sessions signed with `secret`, or with a random secret (sessions end with the process). */
  static async create(secret?: string): Promise<Sessions> {
    const raw = secret ? encoder.encode(secret) : crypto.getRandomValues(new Uint8Array(32));
    const key = await crypto.subtle.importKey(
      "raw",
      raw,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    return new Sessions(key);
  }

  /** Signs a new session for `name`, valid `ttl` seconds. */
  async issue(name: string, ttl: number): Promise<{ token: string; session: DemoSession }> {
    const sid = base64url(crypto.getRandomValues(new Uint8Array(12)));
    const session: DemoSession = { sid, name, exp: Date.now() + Math.round(ttl * 1000) };
    const body = base64url(encoder.encode(JSON.stringify(session)));
    const signature = new Uint8Array(
      await crypto.subtle.sign("HMAC", this.#key, encoder.encode(body)),
    );
    return { token: `${body}.${base64url(signature)}`, session };
  }

  /** The session of a token: signed here, not expired, not revoked; else `undefined`. */
  async verify(token: unknown): Promise<DemoSession | undefined> {
    if (typeof token !== "string" || token.length > 1024) return undefined;
    const [body, signature, extra] = token.split(".");
    if (!body || !signature || extra !== undefined) return undefined;
    try {
      const ok = await crypto.subtle.verify(
        "HMAC",
        this.#key,
        fromBase64url(signature),
        encoder.encode(body),
      );
      if (!ok) return undefined;
      const session = JSON.parse(new TextDecoder().decode(fromBase64url(body))) as DemoSession;
      if (!(session.exp > Date.now()) || this.#revoked.has(session.sid)) return undefined;
      return session;
    } catch {
      return undefined;
    }
  }

  /** Refuses this session's token from now on. */
  revoke(sid: string, exp: number): void {
    const now = Date.now();
    for (const [id, until] of this.#revoked) if (until <= now) this.#revoked.delete(id);
    if (exp > now) this.#revoked.set(sid, exp);
  }
}

/**
 * The token a request carries: `Authorization: Bearer …`, else the session
 * cookie.
 *
 * @example
 * ```ts
 * import { tokenOf } from "./session.ts";
 * tokenOf(new Request("http://x/", { headers: { authorization: "Bearer abc" } })); // "abc"
 * ```
 */
export function tokenOf(request: Request): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "");
  if (bearer) return bearer[1];
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === SESSION_COOKIE) return value.join("=");
  }
  return undefined;
}
