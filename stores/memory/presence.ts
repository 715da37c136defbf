/**
 * Presence kept in process memory: one {@linkcode MemoryListSource} per
 * scope, the members of this process only (nothing to lease: a process that
 * dies takes its presence with it).
 *
 * @module
 */
import type { ListSource, PresenceStore } from "../../src/store.ts";
import { KeyedQueue } from "../common/keyed_queue.ts";
import { listHandle } from "../common/list_handle.ts";
import { MemoryListSource } from "./list.ts";

interface Scope {
  readonly list: MemoryListSource<unknown>;
  holds: number;
}

/**
 * A {@linkcode PresenceStore} in process memory: joins, updates and leaves
 * cost O(log n) at any room size; a scope with no member and no reader is
 * forgotten.
 *
 * @example
 * ```ts
 * import { MemoryPresenceStore } from "./presence.ts";
 * const presence = new MemoryPresenceStore();
 * await presence.join("room:general", "c1", { name: "ann" });
 * await presence.members("room:general").count(); // 1
 * await presence.close();
 * ```
 */
export class MemoryPresenceStore implements PresenceStore {
  readonly #scopes = new Map<string, Scope>();
  // A scope's joins, updates and leaves, one after another: a join looks, then
  // writes, and a leave between the two would leave it a stale index or id.
  readonly #queue = new KeyedQueue();

  #scope(name: string): Scope {
    let scope = this.#scopes.get(name);
    if (!scope) this.#scopes.set(name, scope = { list: new MemoryListSource(), holds: 0 });
    return scope;
  }

  // Queued like a join, so that a join never writes to a scope forgotten meanwhile.
  #forget(name: string, scope: Scope): void {
    if (scope.holds !== 0) return;
    void this.#queue.run(name, async () => {
      if (
        scope.holds === 0 && this.#scopes.get(name) === scope && (await scope.list.count()) === 0
      ) this.#scopes.delete(name);
    });
  }

  /** The members of a scope; `close` drops this hold's listeners only. */
  members<T = unknown>(name: string): ListSource<T> {
    const scope = this.#scope(name);
    scope.holds++;
    return listHandle(scope.list as ListSource<T>, () => {
      scope.holds--;
      this.#forget(name, scope);
    });
  }

  /** Adds member `key` at the end (or sets its value); resolves its id, which is `key`. */
  join(name: string, key: string, value: unknown): Promise<string> {
    return this.#queue.run(name, async () => {
      const { list } = this.#scope(name);
      if (await list.get(key)) await list.set(key, value);
      else await list.insert(await list.count(), value, key);
      return key;
    });
  }

  /** Replaces a member's value; unknown → code 4. */
  set(name: string, key: string, value: unknown): Promise<void> {
    return this.#queue.run(name, () => this.#scope(name).list.set(key, value));
  }

  /** Removes a member (a no-op when absent). */
  leave(name: string, key: string): Promise<void> {
    return this.#queue.run(name, async () => {
      const scope = this.#scopes.get(name);
      if (!scope) return;
      if (await scope.list.get(key)) await scope.list.delete(key);
      this.#forget(name, scope);
    });
  }

  /** Removes every member. */
  async close(): Promise<void> {
    for (const [name, scope] of [...this.#scopes]) {
      const { items } = await scope.list.page(0, Infinity);
      for (const { id } of items) await scope.list.delete(id);
      this.#forget(name, scope);
    }
  }
}
