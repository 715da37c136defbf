/**
 * The resync of a store whose change feed was cut (a shared store's
 * listening connection dropped): every list and var told again, never twice
 * at once.
 *
 * @module
 */
import type { ListChange } from "../../src/store.ts";

/**
 * What a store resyncs after its change feed was cut: its lists and its vars.
 */
export interface Resyncable {
  /** The list sources open now. */
  lists: () => Iterable<{ reset(): Promise<void> }>;
  /** The var store. */
  vars: { reset(): Promise<void> };
  /** Whether the store is closed (then nothing is resynced). */
  closed: () => boolean;
}

/**
 * A resync for a store whose change feed may have missed changes: every list
 * listener gets a reset and every var listener every value again. Asked while
 * running, it runs once more after; never twice at once. A failure (the server
 * is down again) is left to the next reconnect, which asks again.
 */
export function serialResync(parts: Resyncable): () => Promise<void> {
  let resyncing = false;
  let again = false;
  return async () => {
    if (resyncing) return void (again = true);
    resyncing = true;
    try {
      do {
        again = false;
        if (parts.closed()) return;
        try {
          await Promise.all([...parts.lists()].map((list) => list.reset()));
          await parts.vars.reset();
        } catch {
          // Down again: the next reconnect resyncs again.
        }
      } while (again);
    } finally {
      resyncing = false;
    }
  };
}

/**
 * A change from a shared store's feed as listeners get it: the change itself
 * when it follows `last` (the version reported before), else a reset to its
 * version, so that listeners read again instead of trusting a broken
 * sequence (messages were missed, or the server lost data).
 */
export function inSequence<T>(last: number | undefined, change: ListChange<T>): ListChange<T> {
  return last === undefined || change.version === last + 1
    ? change
    : { op: "reset", version: change.version };
}
