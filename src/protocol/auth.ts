/**
 * What the protocol fixes about authenticating over the socket: the reserved
 * function a client calls with its credentials, what that call returns, and
 * the close code of a connection whose authentication expired or was revoked.
 *
 * @module
 */

/**
 * The reserved function a client calls with its credentials (the call's
 * `args`). A server that authenticates over the socket accepts calls to it
 * as soon as the connection opens (its `subscribe` to this function comes
 * with its other function subscriptions); the call returns {@linkcode AuthReturn}, or error 1 when the
 * credentials are refused (the connection keeps its previous identity).
 *
 * @example
 * ```ts
 * import { AUTH_NAME } from "./auth.ts";
 * const frame = { func: "call", type: "function", name: AUTH_NAME, id: "a1", args: "token" };
 * ```
 */
export const AUTH_NAME = "socksync:auth";

/**
 * What a successful `socksync:auth` call returns: the milliseconds the new
 * identity stays valid, counted from when the server sent it (relative, so
 * that clocks need not agree), or `null` when it does not expire.
 *
 * @example
 * ```ts
 * import type { AuthReturn } from "./auth.ts";
 * const answer: AuthReturn = { expires_in: 60_000 };
 * ```
 */
export interface AuthReturn {
  /** Milliseconds until the identity expires; `null`: never. */
  expires_in: number | null;
}

/**
 * The close code of a connection whose identity is gone: its
 * authentication expired without a refresh, or it was revoked (sign-out).
 * A client asks for fresh credentials before it reconnects.
 *
 * @example
 * ```ts
 * import { AUTH_CLOSE } from "./auth.ts";
 * const mustSignIn = (code: number) => code === AUTH_CLOSE;
 * ```
 */
export const AUTH_CLOSE = 4001;

/**
 * The close reasons sent with {@linkcode AUTH_CLOSE}.
 *
 * @example
 * ```ts
 * import { AUTH_CLOSE_REASON } from "./auth.ts";
 * console.log(AUTH_CLOSE_REASON.expired); // "authentication expired"
 * ```
 */
export const AUTH_CLOSE_REASON: {
  readonly expired: "authentication expired";
  readonly revoked: "authentication revoked";
} = { expired: "authentication expired", revoked: "authentication revoked" };
