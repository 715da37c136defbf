/**
 * Presence kept in process memory: one {@linkcode MemoryListSource} per
 * scope, the members of this process only (nothing to lease: a process that
 * dies takes its presence with it).
 *
 * @module
 */
import type { ListSource, PresenceStore } from "../../src/store.ts";
import { listHandle } from "../common/list_handle.ts";
import { MemoryListSource } from "./list.ts";

interface Scope {
  readonly list: MemoryListSource<unknown>;
  holds: number;
  // Joins and leaves of the scope, one after the other: a join looks, then
  // writes, and a leave between the two would leave it a stale index or id.
  tail: Promise<unknown>;
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

  #scope(name: string): Scope {
    let scope = this.#scopes.get(name);
    if (!scope) {
      this.#scopes.set(
        name,
        scope = { list: new MemoryListSource(), holds: 0, tail: Promise.resolve() },
      );
    }
    return scope;
  }

  #forget(name: string, scope: Scope): void {
    if (scope.holds === 0 && this.#scopes.get(name) === scope) {
      scope.list.count().then((n) => {
        if (n === 0 && scope.holds === 0 && this.#scopes.get(name) === scope) {
          this.#scopes.delete(name);
        }
      });
    }
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

  #serial<R>(scope: Scope, step: () => Promise<R>): Promise<R> {
    const done = scope.tail.then(step);
    scope.tail = done.catch(() => {});
    return done;
  }

  /** Adds member `key` at the end (or sets its value); resolves its id, which is `key`. */
  join(name: string, key: string, value: unknown): Promise<string> {
    const scope = this.#scope(name);
    const { list } = scope;
    return this.#serial(scope, async () => {
      if (await list.get(key)) await list.set(key, value);
      else await list.insert(await list.count(), value, key);
      return key;
    });
  }

  /** Replaces a member's value; unknown → code 4. */
  set(name: string, key: string, value: unknown): Promise<void> {
    const scope = this.#scope(name);
    return this.#serial(scope, () => scope.list.set(key, value));
  }

  /** Removes a member (a no-op when absent). */
  async leave(name: string, key: string): Promise<void> {
    const scope = this.#scopes.get(name);
    if (!scope) return;
    await this.#serial(scope, async () => {
      if (await scope.list.get(key)) await scope.list.delete(key);
    });
    this.#forget(name, scope);
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
