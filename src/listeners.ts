/**
 * A set of listeners that one failing listener cannot break.
 *
 * @module
 */

/**
 * Listeners of one event: `add` returns the remover, `emit` calls each one
 * (on a copy, so a listener may remove itself) and logs a throw.
 *
 * @example
 * ```ts
 * import { Listeners } from "./listeners.ts";
 * const onChange = new Listeners<[number]>();
 * const off = onChange.add((n) => console.log(n));
 * onChange.emit(1);
 * off();
 * ```
 */
export class Listeners<A extends unknown[]> {
  readonly #set = new Set<(...args: A) => void>();

  /** How many listeners there are. */
  get size(): number {
    return this.#set.size;
  }

  /** Adds a listener (none for `undefined`); returns the function that removes it. */
  add(listener: ((...args: A) => void) | undefined): () => void {
    if (!listener) return () => {};
    this.#set.add(listener);
    return () => this.#set.delete(listener);
  }

  /** Calls every listener; one that throws is logged and does not stop the others. */
  emit(...args: A): void {
    for (const listener of [...this.#set]) {
      try {
        listener(...args);
      } catch (error) {
        console.error(error);
      }
    }
  }
}
