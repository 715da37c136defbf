/**
 * The Redis store's change feed: its subscriber connection listens to the
 * changes channel only while some list or var of the store has listeners,
 * as the hub's lists listen to their source only while they have views. A
 * store nobody listens to is not sent its own changes back, so a write costs
 * it no second socket read.
 *
 * @module
 */
import type { Redis } from "ioredis";

/**
 * Subscribes the channel on the first hold and unsubscribes after the last.
 * While a SUBSCRIBE is on its way, commands wait for it (`starting`), so every
 * change made after a listener was added comes back to it.
 */
export class Feed {
  readonly #subscriber: Redis;
  readonly #channel: string;
  #holds = 0;
  // Bumped when the feed starts and when it stops: a write's change comes
  // back only if the feed listened when the write ran and has not stopped since.
  #epoch = 0;
  /** Set while a SUBSCRIBE is on its way; commands wait for it. */
  starting: Promise<void> | undefined;

  /**
   * @param subscriber the store's subscriber connection
   * @param channel the channel every change is published on
   */
  constructor(subscriber: Redis, channel: string) {
    this.#subscriber = subscriber;
    this.#channel = channel;
  }

  /** Whether some list or var has listeners (the channel is wanted). */
  get wanted(): boolean {
    return this.#holds > 0;
  }

  /**
   * The epoch a write sent now belongs to when its change will come back
   * (the channel is subscribed), else -1. Compare with {@linkcode epoch}
   * after the reply: a different value means the feed stopped meanwhile.
   */
  get live(): number {
    return this.#holds > 0 && !this.starting ? this.#epoch : -1;
  }

  /** The current epoch. */
  get epoch(): number {
    return this.#holds > 0 ? this.#epoch : -2;
  }

  /** Wants the channel until the returned release is called (harmless twice). */
  hold(): () => void {
    if (this.#holds++ === 0) {
      this.#epoch++;
      void this.subscribe();
    }
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.#holds === 0) {
        this.#epoch++;
        this.#subscriber.unsubscribe(this.#channel).catch(() => {});
      }
    };
  }

  /**
   * Subscribes (again, after a reconnect, in the same epoch: a write waiting
   * for its change is woken by the reset that follows): resolves true once
   * Redis confirmed, false when it failed (the subscriber is down; its next
   * `ready` subscribes again).
   */
  subscribe(): Promise<boolean> {
    const done = this.#subscriber.subscribe(this.#channel).then(() => true, () => false);
    const starting: Promise<void> = done.then(() => {
      if (this.starting === starting) this.starting = undefined;
    });
    this.starting = starting;
    return done;
  }
}
