/**
 * A client's connection state, as something a page can show: `connecting`
 * before the first connection, `open`, `reconnecting` after a drop (with the
 * time of the next attempt while it waits for it), and `closed` for good,
 * with why the last connection ended. A snapshot source, so the bindings
 * (`useConnection` in `socksync/vue` and `socksync/react`) follow it as they
 * follow mirrors.
 *
 * @module
 */
import type { DisconnectInfo } from "./types.ts";

/**
 * Where a client's connection stands.
 *
 * @example
 * ```ts
 * import type { ConnectionStatus } from "./state.ts";
 * const label = (status: ConnectionStatus) => status === "open" ? "live" : status;
 * ```
 */
export type ConnectionStatus = "connecting" | "open" | "reconnecting" | "closed";

/**
 * A snapshot of a client's connection state.
 *
 * @example
 * ```ts
 * import type { ConnectionState } from "./state.ts";
 * const state: ConnectionState = {
 *   status: "reconnecting", attempt: 2, nextAttempt: Date.now() + 800,
 *   lastDisconnect: { code: 4000, reason: "no heartbeat: nothing heard from the server for 10000 ms" },
 * };
 * ```
 */
export interface ConnectionState {
  /** Where the connection stands. */
  readonly status: ConnectionStatus;
  /** Attempts that failed since the connection was last open (0 while open). */
  readonly attempt: number;
  /**
   * While `reconnecting` and waiting: when the next attempt starts (ms since
   * 1970, as `Date.now()`); absent while an attempt is under way.
   */
  readonly nextAttempt?: number;
  /** Why the last open connection ended, once one has. */
  readonly lastDisconnect?: DisconnectInfo;
}

/**
 * A client's connection state: `getSnapshot()` returns the same object until
 * it changes; `subscribe` calls the listener at once, then after every change.
 *
 * @example
 * ```ts
 * import { ConnectionStateSource } from "./state.ts";
 * const state = new ConnectionStateSource();
 * const stop = state.subscribe(({ status }) => console.log(status)); // "connecting"
 * state.update({ status: "open", attempt: 0 });
 * stop();
 * ```
 */
export class ConnectionStateSource {
  #state: ConnectionState = Object.freeze({ status: "connecting", attempt: 0 });
  readonly #listeners = new Set<(state: ConnectionState) => void>();

  /** The current state; the same object until it changes. */
  getSnapshot(): ConnectionState {
    return this.#state;
  }

  /** Calls `listener` now and after every change; returns the unsubscriber. */
  subscribe(listener: (state: ConnectionState) => void): () => void {
    this.#listeners.add(listener);
    listener(this.#state);
    return () => this.#listeners.delete(listener);
  }

  /** Moves to a new state (keeping `lastDisconnect` unless given) and tells the listeners. */
  update(
    next: Omit<ConnectionState, "lastDisconnect"> & { lastDisconnect?: DisconnectInfo },
  ): void {
    const lastDisconnect = next.lastDisconnect ?? this.#state.lastDisconnect;
    this.#state = Object.freeze({
      status: next.status,
      attempt: next.attempt,
      ...next.nextAttempt !== undefined && { nextAttempt: next.nextAttempt },
      ...lastDisconnect && { lastDisconnect },
    });
    for (const listener of [...this.#listeners]) listener(this.#state);
  }
}
