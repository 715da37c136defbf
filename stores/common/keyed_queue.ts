/**
 * Tasks run one after another per key, keys independent of each other: a
 * store operation that reads, then writes (a presence join reads the count,
 * then inserts) must not interleave with another on the same key.
 *
 * @module
 */

/**
 * One queue per key; a key's queue is forgotten once it ran empty.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs `task` after every earlier task of `key`; a failure does not stop the next. */
  run<R>(key: string, task: () => Promise<R>): Promise<R> {
    const run = (this.#tails.get(key) ?? Promise.resolve()).then(task);
    const tail = run.catch(() => {});
    this.#tails.set(key, tail);
    tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return run;
  }

  /** Resolves once every task queued so far has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#tails.values());
  }
}
