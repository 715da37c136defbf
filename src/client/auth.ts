/**
 * The client's side of authenticating over the socket: where credentials
 * come from (the `auth` option), which ones are known stale (refused, or
 * ended by a 4001 close) and never sent again, and the refresh ahead of
 * the server's expiry. A client carries this code only when given
 * {@linkcode socketAuth}.
 *
 * @module
 */
import { AUTH_CLOSE, AUTH_NAME, type AuthReturn } from "../protocol/auth.ts";
import { INVALID_FUNC, OTHER, SockSyncError } from "../errors.ts";
import type { ClientPeer as Peer, ErrorAbout } from "../peer/consumer_peer.ts";

/**
 * The `auth` option of a client: credentials (any JSON value, e.g. a bearer
 * token), or a function that returns the current ones, called before every
 * connect and before every refresh. `undefined` means none: the connection
 * goes on with what the upgrade carried (e.g. a same-origin session cookie).
 *
 * @example
 * ```ts
 * import type { AuthOption } from "./auth.ts";
 * const fixed: AuthOption = "eyJhbGciOi…";
 * const fetched: AuthOption = async () => (await (await fetch("/token")).json()).token;
 * ```
 */
export type AuthOption =
  | string
  | number
  | boolean
  | null
  | Record<string, unknown>
  | unknown[]
  | (() => unknown);

/**
 * What a client's `socketAuth` option takes (see {@linkcode socketAuth}):
 * the code that authenticates over the socket, which a client without it
 * does not carry.
 *
 * @example
 * ```ts
 * import { connect } from "./client.ts";
 * import { socketAuth } from "./auth.ts";
 * const client = connect("ws://127.0.0.1:8080/ws/socksync", { auth: "eyJhbGciOi…", socketAuth });
 * ```
 */
export interface SocketAuth {
  /**
   * The credentials of one client, from its `auth` option, reporting
   * failures to `onError` (with what they are about: the `socksync:auth` call).
   *
   * @internal
   */
  start(option: AuthOption, onError: (error: SockSyncError, about: ErrorAbout) => void): ClientAuth;
}

/**
 * Authentication over the socket, for a client that uses it: `connect(url,
 * { auth, socketAuth })` sends the `auth` option's credentials on every
 * connection before anything else and refreshes them ahead of the server's
 * expiry (see `ClientOptions.auth`). A client without it carries none of
 * this code, and refuses an `auth` option with a `TypeError`.
 *
 * @example
 * ```ts
 * import { connect } from "./client.ts";
 * import { socketAuth } from "./auth.ts";
 * const getToken = async () => (await (await fetch("/token")).json()).token;
 * const client = connect("ws://127.0.0.1:8080/ws/socksync", { auth: getToken, socketAuth });
 * ```
 */
export const socketAuth: SocketAuth = {
  start: (option, onError) =>
    new ClientAuth(option, {
      onError: (error) => onError(error, { type: "function", name: AUTH_NAME }),
    }),
};

/** What {@linkcode ClientAuth.next} found. */
type Next =
  | { kind: "none" }
  | { kind: "stale" }
  | { kind: "fresh"; credentials: unknown; text: string };

/** How many stale credentials are remembered. */
const STALE_KEPT = 32;

/**
 * The refresh lead: a refresh starts this long before the expiry, a fifth
 * of the lifetime but at most a minute.
 */
export function refreshDelay(expiresIn: number): number {
  return Math.max(0, expiresIn - Math.min(expiresIn / 5, 60_000));
}

/**
 * The credentials of one client across its connections, and what the client
 * asks of them around each connection: before it opens ({@linkcode ClientAuth.open}),
 * once its socket is open ({@linkcode ClientAuth.begin}), and when it closes
 * ({@linkcode ClientAuth.closed}).
 */
export class ClientAuth {
  readonly #option: AuthOption;
  readonly #onError: (error: SockSyncError) => void;
  readonly #stale = new Set<string>();
  // The credentials the connection authenticated (or is authenticating) with.
  #current: string | undefined;
  // The credentials found before the socket opened, to send once it has.
  #pending: (Next & { kind: "fresh" }) | undefined;
  #refresh: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param option the `auth` option
   * @param hooks where authentication failures are reported
   */
  constructor(option: AuthOption, hooks: { onError(error: SockSyncError): void }) {
    this.#option = option;
    this.#onError = hooks.onError;
  }

  /**
   * Before a connection: asks the option for credentials, then calls
   * `connect`. Credentials known stale are never sent and no socket opens
   * for them: the failure is reported and, unless the option is a value
   * (which stays stale), `retry` schedules the next attempt.
   */
  async open(connect: () => void, retry: () => void): Promise<void> {
    const next = await this.next();
    if (next.kind === "stale") {
      this.#onError(
        new SockSyncError(INVALID_FUNC, "authentication expired: credentials are stale"),
      );
      if (typeof this.#option === "function") retry();
      return;
    }
    this.#pending = next.kind === "fresh" ? next : undefined;
    connect();
  }

  /**
   * The connection's socket is open: authenticates it with the credentials
   * {@linkcode ClientAuth.open} found, then calls `ready` (at once without
   * any), so that mirrors subscribe once the connection has its identity.
   */
  begin(peer: Peer, timeout: number, ready: () => void): void {
    const fresh = this.#pending;
    this.#pending = undefined;
    if (!fresh) return ready();
    void this.send(peer, fresh, timeout).then(ready);
  }

  /** The connection closed: with 4001 its identity is gone, and these credentials with it. */
  closed(code: number | undefined): void {
    if (code === AUTH_CLOSE) this.expired();
  }

  /**
   * Asks the option for credentials now and authenticates the open
   * connection (`peer()`) with them (see `Client.authenticate`); `false`
   * when not connected, or not fresh.
   */
  async authenticate(peer: () => Peer | undefined, timeout: number): Promise<boolean> {
    const open = peer();
    if (!open) return false;
    const next = await this.next();
    if (next.kind !== "fresh" || peer() !== open) return false;
    return await this.send(open, next, timeout);
  }

  /**
   * The credentials to use now: fresh ones, none (`undefined` from the
   * option), or `stale` when the option gave credentials already known to be
   * refused or expired (never sent again).
   */
  async next(): Promise<Next> {
    let credentials: unknown;
    try {
      credentials = typeof this.#option === "function" ? await this.#option() : this.#option;
    } catch (error) {
      this.#onError(
        new SockSyncError(
          OTHER,
          `auth failed: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
      return { kind: "stale" };
    }
    if (credentials === undefined) return { kind: "none" };
    const text = JSON.stringify(credentials);
    if (this.#stale.has(text)) return { kind: "stale" };
    return { kind: "fresh", credentials, text };
  }

  /** Marks the credentials of the last connection stale (it was closed with 4001). */
  expired(): void {
    this.stop();
    if (this.#current !== undefined) this.#markStale(this.#current);
    this.#current = undefined;
  }

  #markStale(text: string): void {
    this.#stale.add(text);
    if (this.#stale.size > STALE_KEPT) {
      this.#stale.delete(this.#stale.values().next().value as string);
    }
  }

  /**
   * Authenticates a connection with these credentials (a `socksync:auth`
   * call) and schedules the refresh ahead of the expiry the server returns.
   * Resolves whether they were accepted; refused ones are marked stale and
   * reported.
   */
  async send(peer: Peer, next: Next & { kind: "fresh" }, timeout: number): Promise<boolean> {
    this.#current = next.text;
    let answer: AuthReturn;
    try {
      answer = await peer.call<AuthReturn>(AUTH_NAME, next.credentials, { timeout });
    } catch (error) {
      if (peer.detached) return false;
      const failure = error instanceof SockSyncError
        ? error
        : new SockSyncError(OTHER, String(error));
      if (failure.code === INVALID_FUNC) this.#markStale(next.text);
      if (this.#current === next.text) this.#current = undefined;
      this.#onError(failure);
      return false;
    }
    const expiresIn = answer?.expires_in;
    clearTimeout(this.#refresh);
    this.#refresh = undefined;
    if (typeof expiresIn === "number" && !peer.detached) {
      this.#refresh = setTimeout(() => {
        this.#refresh = undefined;
        void this.refresh(peer, timeout);
      }, refreshDelay(expiresIn));
    }
    return true;
  }

  /**
   * Asks the option for credentials again and authenticates the open
   * connection with them, its subscriptions untouched. The same credentials
   * as now are not sent again (they would expire as they are): the server
   * then closes with 4001 at the expiry and the next connect asks again.
   */
  async refresh(peer: Peer, timeout: number): Promise<boolean> {
    const next = await this.next();
    if (peer.detached) return false;
    if (next.kind !== "fresh") return false;
    if (next.text === this.#current) return false;
    return await this.send(peer, next, timeout);
  }

  /** Stops the refresh timer. */
  stop(): void {
    clearTimeout(this.#refresh);
    this.#refresh = undefined;
  }
}
