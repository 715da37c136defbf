/**
 * The change feed of one PostgreSQL list (see `stores/postgres/list.ts`):
 * reports the changes that arrive through the store's listening connection,
 * and this instance's own unpublished ones, to this instance's listeners, in
 * version order, turns a gap into a reset, and lets a mutation wait until
 * its own change has been reported.
 *
 * @module
 */
import type { ListChange, ListListener } from "../../src/store.ts";
import { callListener } from "../../src/listeners.ts";
import { inSequence } from "../common/resync.ts";

type Waiter = { version: number; done: () => void };

/**
 * The listeners of one list and what has been reported to them.
 */
export class ListFeed<T> {
  // Each listener with the version it was added at: changes this instance
  // made before that had settled already and are not reported to it.
  #listeners = new Map<ListListener<T>, number>();
  #settledVersion = 0;
  #lastVersion: number | undefined;
  // While a reset is being read, changes wait here so none is lost or doubled.
  #held: ListChange<T>[] | undefined;
  #reportedVersion = 0;
  readonly #waiters = new Set<Waiter>();

  readonly timeoutMs: number;

  /** `timeoutMs` bounds how long a mutation waits for its change (see {@linkcode reported}). */
  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: ListListener<T>): () => void {
    // A wrapper per call: the same function subscribed twice is two subscriptions.
    const entry: ListListener<T> = (change) => listener(change);
    this.#listeners.set(entry, this.#settledVersion);
    return () => void this.#listeners.delete(entry);
  }

  /** Drops every listener and releases every waiting mutation. */
  clear(): void {
    this.#listeners.clear();
    for (const waiter of [...this.#waiters]) waiter.done();
  }

  /**
   * Reports a change. Changes arrive in version order; one that does not
   * follow the last (messages were missed) becomes a reset.
   */
  report(change: ListChange<T>): void {
    if (this.#held) return void this.#held.push(change);
    const last = this.#lastVersion;
    this.#lastVersion = change.version;
    const report = inSequence(last, change);
    for (const [listener, since] of [...this.#listeners]) {
      if (report.op === "reset" || report.version > since) callListener(listener, report);
    }
    this.#reportedVersion = change.version;
    this.#wake(false);
  }

  /**
   * Reports a change this instance made and did not publish (no other store
   * listened), made by `change` only when someone listens. One already
   * covered by a later report (a reset, or another store's change that
   * overtook it on the way here) is dropped.
   */
  reportOwn(version: number, change: () => ListChange<T>): void {
    if (this.#held) return void this.#held.push(change());
    if (this.#lastVersion !== undefined && version <= this.#lastVersion) return;
    if (this.#listeners.size > 0) return this.report(change());
    this.#lastVersion = this.#reportedVersion = version;
    this.#wake(false);
  }

  /**
   * Reports a reset at the version `read` resolves, holding the changes that
   * arrive meanwhile; those the reset covers are dropped, the rest follow it.
   */
  async reset(read: () => Promise<number>): Promise<void> {
    this.#held ??= [];
    let version: number | undefined;
    try {
      version = await read();
      this.#lastVersion = version;
      for (const listener of [...this.#listeners.keys()]) {
        callListener(listener, { op: "reset", version });
      }
      this.#reportedVersion = version;
      this.#wake(true);
    } finally {
      const held = this.#held ?? [];
      this.#held = undefined;
      for (const change of held) {
        if (version === undefined || change.version > version) this.report(change);
      }
    }
  }

  /**
   * Resolves once the change with this version (or a reset covering it) has
   * been reported to this instance's listeners, as with the Redis store, so
   * that a call's reply follows its own change frames; bounded by the
   * timeout while the listening connection is down.
   */
  reported(version: number): Promise<void> {
    this.#settledVersion = Math.max(this.#settledVersion, version);
    if (this.#reportedVersion >= version || this.#listeners.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = {
        version,
        done: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.done, this.timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  #wake(all: boolean): void {
    for (const waiter of [...this.#waiters]) {
      if (all || waiter.version <= this.#reportedVersion) waiter.done();
    }
  }
}
