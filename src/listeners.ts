/**
 * A set of listeners that one failing listener cannot break: the client's
 * and mirrors' events and the stores' change listeners.
 *
 * @module
 */

/**
 * Calls `listener` with `args`; a throw is logged (`console.error`) and goes
 * no further, so the caller's write and the other listeners carry on.
 */
export function callListener<A extends unknown[]>(
  listener: (...args: A) => void,
  ...args: A
): void {
  try {
    listener(...args);
  } catch (error) {
    console.error(error);
  }
}

/**
 * Listeners of one event: `add` returns the remover, `emit` calls each one in
 * the order added, over a copy of the set (a listener that unsubscribes, or
 * subscribes another, while being called changes nothing this round), and
 * logs a throw (see {@linkcode callListener}). Each `add` is a subscription of
 * its own: the same function added twice is called twice and each remover
 * removes one.
 */
export class Listeners<A extends unknown[]> {
  readonly #set = new Set<(...args: A) => void>();

  /** How many listeners there are. */
  get size(): number {
    return this.#set.size;
  }

  /**
   * Adds a listener (none for `undefined`); returns the function that removes
   * it (harmless to call twice).
   */
  add(listener: ((...args: A) => void) | undefined): () => void {
    if (!listener) return () => {};
    // A wrapper per call: the same function added twice is two subscriptions.
    const entry = (...args: A) => listener(...args);
    this.#set.add(entry);
    return () => void this.#set.delete(entry);
  }

  /** Calls every listener; one that throws is logged and does not stop the others. */
  emit(...args: A): void {
    for (const listener of [...this.#set]) callListener(listener, ...args);
  }

  /** Removes every listener. */
  clear(): void {
    this.#set.clear();
  }
}
