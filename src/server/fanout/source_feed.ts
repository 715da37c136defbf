/**
 * A list's hold on its source's change feed, taken while someone listens
 * and let go when no one does.
 *
 * @module
 */

/**
 * A list's hold on its source's change feed: taken inside the list's queue
 * before the read that answers a new view or item subscription (so changes
 * from then on reach the fan-out, and the version bookkeeping drops those the
 * read already holds), let go once no subscriber is left, so that an idle
 * store is asked for nothing (no timer, no read).
 */
export class SourceFeed {
  // Not generic in the item type, so that a LocalList stays covariant in it.
  readonly #subscribe: () => () => void;
  #stop: (() => void) | undefined;
  #closed = false;

  /** @param subscribe subscribes to the source and returns the unsubscribe */
  constructor(subscribe: () => () => void) {
    this.#subscribe = subscribe;
  }

  /** Whether it listens to the source. */
  get listening(): boolean {
    return this.#stop !== undefined;
  }

  /** Starts listening (a no-op when it does, or once closed). */
  listen(): void {
    if (this.#stop || this.#closed) return;
    this.#stop = this.#subscribe();
  }

  /** Stops listening until the next {@linkcode listen}. */
  stop(): void {
    const stop = this.#stop;
    this.#stop = undefined;
    stop?.();
  }

  /** Stops listening for good. */
  close(): void {
    this.#closed = true;
    this.stop();
  }
}
