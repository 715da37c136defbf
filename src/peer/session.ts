/**
 * The authentication of one connection: its expiry timer (the connection
 * closes with 4001 when its identity expires without a refresh) and the
 * `socksync:auth` calls that refresh or change that identity.
 *
 * @module
 */
import { AUTH_CLOSE, AUTH_CLOSE_REASON, AUTH_NAME, type AuthReturn } from "../protocol/auth.ts";
import { encodeReturn } from "../protocol/encode.ts";
import { ErrorCode, isSockSyncError, SockSyncError } from "../errors.ts";
import type { MessageWithFunc } from "../protocol/schemas.ts";
import { REPORT } from "./host.ts";
import { timerDelay } from "./limits.ts";

/**
 * What authenticating credentials gives: the connection's new context and
 * when it expires (milliseconds since the epoch; absent: never).
 *
 * @example
 * ```ts
 * import type { Authenticated } from "./session.ts";
 * const result: Authenticated<{ user: string }> = {
 *   context: { user: "ada" },
 *   expiresAt: Date.now() + 60_000,
 * };
 * ```
 */
export interface Authenticated<C = unknown> {
  /** The connection's context from now on. */
  context: C;
  /** When this identity expires, in milliseconds since the epoch; absent: never. */
  expiresAt?: number;
}

/**
 * Turns the credentials a `socksync:auth` call carries into an identity, given
 * the connection's current context; `undefined` (or a throw) refuses them.
 */
export type Authenticate = (
  credentials: unknown,
  current: unknown,
) => Authenticated | undefined | Promise<Authenticated | undefined>;

/**
 * The peer as its session sees it.
 */
export interface SessionHost {
  /** The connection's context. */
  readonly context: unknown;
  /** Whether the connection is gone. */
  readonly detached: boolean;
  /** Replaces the context and its expiry, and re-checks the live subscriptions. */
  updateContext(context: unknown, expiresAt?: number): void;
  /** Sends one encoded frame. */
  sendText(text: string): void;
  /** Closes the connection. */
  close(code: number, reason: string): void;
  /** Reports a failure with no caller to tell. */
  [REPORT](error: unknown): void;
}

/**
 * The expiry and the authentication calls of one connection.
 *
 * @internal
 */
export class Session {
  readonly #host: SessionHost;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #expiresAt: number | undefined;
  // Authentication calls run one at a time, in frame order: the last one sent wins.
  #last: Promise<void> = Promise.resolve();

  /** @param host the connection */
  constructor(host: SessionHost) {
    this.#host = host;
  }

  /** When the connection's identity expires (ms since the epoch); `undefined`: never. */
  get expiresAt(): number | undefined {
    return this.#expiresAt;
  }

  /**
   * Sets when the identity expires (`undefined`: never): at that moment the
   * connection closes with 4001 "authentication expired".
   */
  expireAt(expiresAt: number | undefined): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#expiresAt = expiresAt;
    if (expiresAt === undefined || this.#host.detached) return;
    const left = expiresAt - Date.now();
    if (!(left > 0)) {
      this.#expire();
      return;
    }
    // Timers fire at once past their longest delay: such a timer only waits and sets the next.
    const delay = timerDelay(left) ?? 1;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (delay < left) this.expireAt(expiresAt);
      else this.#expire();
    }, delay);
  }

  #expire(): void {
    this.#host.close(AUTH_CLOSE, AUTH_CLOSE_REASON.expired);
  }

  /**
   * Answers a `socksync:auth` call: the credentials (its `args`) go to
   * `authenticate`; on success the connection takes the new context and
   * expiry, its live subscriptions are re-checked, and the call returns
   * `{ expires_in }`. Refused credentials are error 1, and the connection
   * keeps the identity it had.
   */
  authenticate(message: MessageWithFunc<"call">, authenticate: Authenticate): Promise<void> {
    const host = this.#host;
    const run = this.#last.then(async () => {
      let result: Authenticated | undefined;
      try {
        result = await authenticate(message.args, host.context);
      } catch (error) {
        if (!isSockSyncError(error)) host[REPORT](error);
        result = undefined;
      }
      if (host.detached) return;
      const expiresAt = result?.expiresAt;
      if (!result || (expiresAt !== undefined && !(expiresAt > Date.now()))) {
        throw new SockSyncError(ErrorCode.InvalidFunc, "authentication failed");
      }
      host.updateContext(result.context, expiresAt);
      const value: AuthReturn = {
        expires_in: expiresAt === undefined ? null : Math.max(0, expiresAt - Date.now()),
      };
      host.sendText(encodeReturn(AUTH_NAME, { id: message.id, value }));
    });
    this.#last = run.catch(() => {});
    return run;
  }

  /** Stops the expiry timer: the connection is gone. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
