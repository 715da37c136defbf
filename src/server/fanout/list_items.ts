/**
 * The item-subscription bookkeeping of a list: who watches which item, with
 * the list version each watcher's copy reflects, and the reverse index
 * (which items each subscriber watches), so that dropping a subscriber
 * touches only its own items and a change finds its item's watchers without
 * a scan.
 *
 * @module
 */
import type { Subscriber } from "../../peer/socket.ts";

/**
 * The item subscriptions of one list.
 */
export class ItemSubscriptions {
  readonly #watchers = new Map<string, Map<Subscriber, number>>();
  readonly #itemsOf = new Map<Subscriber, Set<string>>();

  /** Subscribes to an item, as having seen `version` (again: updates the version). */
  add(subscriber: Subscriber, id: string, version: number): void {
    let watchers = this.#watchers.get(id);
    if (!watchers) this.#watchers.set(id, watchers = new Map());
    watchers.set(subscriber, version);
    let ids = this.#itemsOf.get(subscriber);
    if (!ids) this.#itemsOf.set(subscriber, ids = new Set());
    ids.add(id);
  }

  /** How many subscribers watch at least one item. */
  get size(): number {
    return this.#itemsOf.size;
  }

  /** Whether this subscriber watches this item. */
  has(subscriber: Subscriber, id: string): boolean {
    return this.#watchers.get(id)?.has(subscriber) ?? false;
  }

  /** The watchers of an item, each with the version it has seen; `undefined` when none. */
  watchers(id: string): Map<Subscriber, number> | undefined {
    return this.#watchers.get(id);
  }

  /** Every watched id with its watchers, as a copy (safe to change them while iterating). */
  entries(): [string, Map<Subscriber, number>][] {
    return [...this.#watchers];
  }

  /** Ends one subscription (a no-op without one). */
  drop(subscriber: Subscriber, id: string): void {
    const ids = this.#itemsOf.get(subscriber);
    if (ids?.delete(id) && ids.size === 0) this.#itemsOf.delete(subscriber);
    const watchers = this.#watchers.get(id);
    if (watchers?.delete(subscriber) && watchers.size === 0) this.#watchers.delete(id);
  }

  /** Ends every item subscription of a subscriber. */
  dropAll(subscriber: Subscriber): void {
    for (const id of this.#itemsOf.get(subscriber) ?? []) {
      const watchers = this.#watchers.get(id);
      if (watchers?.delete(subscriber) && watchers.size === 0) this.#watchers.delete(id);
    }
    this.#itemsOf.delete(subscriber);
  }

  /** Ends every subscription to an item (it was deleted). */
  forget(id: string): void {
    for (const subscriber of this.#watchers.get(id)?.keys() ?? []) {
      const ids = this.#itemsOf.get(subscriber);
      if (ids?.delete(id) && ids.size === 0) this.#itemsOf.delete(subscriber);
    }
    this.#watchers.delete(id);
  }
}
