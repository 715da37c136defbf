/**
 * Authentication and revocation on the hub: the options that authenticate a
 * connection over its socket and say when its identity expires, the bus that
 * carries revocations to the other instances, and {@linkcode Revocations},
 * which finds the live connections a revocation or a re-check is about.
 *
 * @module
 */
import { nanoid } from "nanoid";
import { AUTH_CLOSE, AUTH_CLOSE_REASON } from "../protocol/auth.ts";
import type { Peer } from "../peer/peer.ts";
import type { Authenticated } from "../peer/session.ts";

export type { Authenticated } from "../peer/session.ts";

/**
 * The hub's authentication options (part of `HubOptions`).
 *
 * @example
 * ```ts
 * import type { AuthOptions } from "./auth.ts";
 * type User = { user: string; session: string; exp: number };
 * const sessions = new Map<string, User>();
 * const options: AuthOptions<User | undefined> = {
 *   authenticate: (token) => {
 *     const found = typeof token === "string" ? sessions.get(token) : undefined;
 *     return found && { context: found, expiresAt: found.exp };
 *   },
 *   expiresAt: (context) => context?.exp,
 *   sessionKeys: (context) => context ? [`user:${context.user}`, `session:${context.session}`] : [],
 * };
 * ```
 */
export interface AuthOptions<C> {
  /**
   * Turns the credentials a client sends over the socket (its `auth`
   * option; a `socksync:auth` call) into the connection's context and
   * expiry. `undefined` or a throw refuses them with error 1 and the
   * connection keeps the identity it had. Given the connection's current
   * context (from the upgrade, e.g. a cookie session, or the last
   * authentication). Every live subscription is then checked against the
   * new context. Without it, clients cannot authenticate over the socket.
   */
  authenticate?: (
    credentials: unknown,
    current: C,
  ) => Authenticated<C> | undefined | Promise<Authenticated<C> | undefined>;
  /**
   * When the identity of a context built at the upgrade expires (ms since
   * the epoch; `undefined`: never), e.g. a cookie session's end. The
   * connection closes with 4001 `authentication expired` then, unless it
   * authenticated again over the socket.
   */
  expiresAt?: (context: C) => number | undefined;
  /**
   * The keys {@linkcode Revocations.revoke} and
   * {@linkcode Revocations.recheck} find a connection by, from its context:
   * its user, its session, its tenant… Default: none (only predicates match).
   */
  sessionKeys?: (context: C) => Iterable<string> | undefined;
  /**
   * Carries revocations and re-checks by key to the other instances serving
   * the same application (see `redisRevocations`, `postgresRevocations`).
   */
  revocations?: RevocationBus;
}

/**
 * A channel between the instances of one application: what one publishes,
 * every instance subscribed receives (itself included or not).
 *
 * @example
 * ```ts
 * import type { RevocationBus } from "./auth.ts";
 * // One process: a bus that delivers to itself.
 * const listeners = new Set<(message: string) => void>();
 * const bus: RevocationBus = {
 *   publish: async (message) => listeners.forEach((listener) => listener(message)),
 *   subscribe: (listener) => {
 *     listeners.add(listener);
 *     return () => listeners.delete(listener);
 *   },
 * };
 * ```
 */
export interface RevocationBus {
  /** Sends a message to every instance. */
  publish(message: string): Promise<void>;
  /** Calls `listener` with every message published; returns the remover. */
  subscribe(listener: (message: string) => void): () => void;
}

/**
 * Which connections a revocation or re-check is about: those whose
 * `sessionKeys` include this key (on every instance), or (on this instance
 * only) those whose context passes this predicate.
 *
 * @example
 * ```ts
 * import type { ConnectionMatch } from "./auth.ts";
 * const ada: ConnectionMatch<{ user: string }> = "user:ada";
 * const admins: ConnectionMatch<{ user: string; admin: boolean }> = (context) => context.admin;
 * ```
 */
export type ConnectionMatch<C> = string | ((context: C) => boolean);

interface BusMessage {
  from: string;
  op: "revoke" | "recheck";
  key: string;
}

/**
 * Revokes and re-checks the live connections of a hub, here and (for a key,
 * through the {@linkcode RevocationBus}) on the other instances.
 */
export class Revocations<C> {
  readonly #peers: () => Iterable<Peer<C>>;
  readonly #keys: ((context: C) => Iterable<string> | undefined) | undefined;
  readonly #bus: RevocationBus | undefined;
  readonly #onError: (error: unknown) => void;
  readonly #id = nanoid();
  readonly #stop: (() => void) | undefined;

  /** @param options the live connections, their keys, the bus, and where failures go */
  constructor(options: {
    peers: () => Iterable<Peer<C>>;
    sessionKeys?: (context: C) => Iterable<string> | undefined;
    bus?: RevocationBus;
    onError: (error: unknown) => void;
  }) {
    this.#peers = options.peers;
    this.#keys = options.sessionKeys;
    this.#bus = options.bus;
    this.#onError = options.onError;
    this.#stop = this.#bus?.subscribe((text) => this.#receive(text));
  }

  /**
   * Closes the matching connections with 4001 `authentication revoked` (a
   * client asks for new credentials before it reconnects); returns how many
   * were closed here.
   */
  revoke(match: ConnectionMatch<C>): number {
    this.#publish("revoke", match);
    return this.#revokeHere(match);
  }

  /**
   * Re-checks the live subscriptions of the matching connections (after a
   * permission change): each subscription `authorize` now refuses ends with
   * error 1. `update` first gives each its new context (this instance only);
   * returning `undefined` from it revokes that connection. Returns how many
   * connections were re-checked here.
   */
  recheck(match: ConnectionMatch<C>, update?: (context: C) => C | undefined): number {
    this.#publish("recheck", match);
    return this.#recheckHere(match, update);
  }

  /** Stops listening to the bus. */
  close(): void {
    this.#stop?.();
  }

  #matching(match: ConnectionMatch<C>): Peer<C>[] {
    const found: Peer<C>[] = [];
    for (const peer of this.#peers()) {
      try {
        if (typeof match === "function" ? match(peer.context) : this.#has(peer.context, match)) {
          found.push(peer);
        }
      } catch (error) {
        this.#onError(error);
      }
    }
    return found;
  }

  #has(context: C, key: string): boolean {
    const keys = this.#keys?.(context);
    if (!keys) return false;
    for (const k of keys) if (k === key) return true;
    return false;
  }

  #revokeHere(match: ConnectionMatch<C>): number {
    const peers = this.#matching(match);
    for (const peer of peers) peer.close(AUTH_CLOSE, AUTH_CLOSE_REASON.revoked);
    return peers.length;
  }

  #recheckHere(match: ConnectionMatch<C>, update?: (context: C) => C | undefined): number {
    const peers = this.#matching(match);
    for (const peer of peers) {
      try {
        if (!update) {
          peer.recheck();
          continue;
        }
        const next = update(peer.context);
        if (next === undefined) peer.close(AUTH_CLOSE, AUTH_CLOSE_REASON.revoked);
        else peer.updateContext(next, peer.expiresAt);
      } catch (error) {
        this.#onError(error);
      }
    }
    return peers.length;
  }

  #publish(op: BusMessage["op"], match: ConnectionMatch<C>): void {
    if (!this.#bus || typeof match !== "string") return;
    const message: BusMessage = { from: this.#id, op, key: match };
    this.#bus.publish(JSON.stringify(message)).catch(this.#onError);
  }

  #receive(text: string): void {
    let message: BusMessage;
    try {
      message = JSON.parse(text);
    } catch (error) {
      this.#onError(error);
      return;
    }
    if (message.from === this.#id || typeof message.key !== "string") return;
    if (message.op === "revoke") this.#revokeHere(message.key);
    else if (message.op === "recheck") this.#recheckHere(message.key);
  }
}
