/**
 * In-memory stores: a {@linkcode MemoryListSource} (`list.ts`: every
 * operation O(log n)), a {@linkcode MemoryVarStore} and a
 * {@linkcode MemoryPresenceStore} (`presence.ts`). Values are cloned on the
 * way in and out, so callers can never reach the store's own objects.
 *
 * @module
 */
import type { ListSource, PresenceStore, Store, VarStore } from "../../src/store.ts";
import { MemoryListSource } from "./list.ts";
import { MemoryPresenceStore } from "./presence.ts";

export { MemoryListSource } from "./list.ts";
export { MemoryPresenceStore } from "./presence.ts";

// structuredClone keeps every JSON value (and more) intact.
const clone = <T>(value: T): T => structuredClone(value);

/**
 * Var values kept in process memory (cloned in and out).
 *
 * @example
 * ```ts
 * import { MemoryVarStore } from "./mod.ts";
 * const vars = new MemoryVarStore();
 * await vars.set("counter", 1);
 * await vars.get("counter"); // 1
 * ```
 */
export class MemoryVarStore implements VarStore {
  #values = new Map<string, unknown>();

  /** The stored value, or `undefined`. */
  get(name: string): Promise<unknown> {
    return Promise.resolve(clone(this.#values.get(name)));
  }

  /** Stores a value (`undefined` forgets the var). */
  set(name: string, value: unknown): Promise<void> {
    if (value === undefined) this.#values.delete(name);
    else this.#values.set(name, clone(value));
    return Promise.resolve();
  }
}

/**
 * A whole store in process memory: nothing survives a restart.
 *
 * @example
 * ```ts
 * import { memoryStore } from "./mod.ts";
 * const store = memoryStore();
 * await store.list<string>("todos").insert(0, "milk");
 * await store.close();
 * ```
 */
export function memoryStore(): Store {
  const lists = new Map<string, MemoryListSource<unknown>>();
  let presence: MemoryPresenceStore | undefined;
  return {
    kind: "memory",
    vars: new MemoryVarStore(),
    list<T>(name: string): ListSource<T> {
      let list = lists.get(name);
      if (!list) lists.set(name, list = new MemoryListSource());
      return list as ListSource<T>;
    },
    presence(): PresenceStore {
      return presence ??= new MemoryPresenceStore();
    },
    async close(): Promise<void> {
      await presence?.close();
      for (const list of lists.values()) await list.close();
    },
  };
}
