/**
 * In-memory stores: a {@linkcode MemoryListSource} and a {@linkcode MemoryVarStore}.
 * PLACEHOLDER: simple array version; to be replaced by an O(log n) one.
 *
 * @module
 */
import { nanoid } from "nanoid";
import { ErrorCode, SockSyncError } from "../src/errors.ts";
import type {
  ListItem,
  ListListener,
  ListPage,
  ListSource,
  Store,
  VarStore,
} from "../src/store.ts";

/**
 * A list kept in process memory.
 *
 * @example
 * ```ts
 * import { MemoryListSource } from "./memory.ts";
 * const todos = new MemoryListSource<string>();
 * await todos.insert(0, "milk");
 * ```
 */
export class MemoryListSource<T = unknown> implements ListSource<T> {
  #items: ListItem<T>[] = [];
  #version = 0;
  #listeners = new Set<ListListener<T>>();

  count(): Promise<number> {
    return Promise.resolve(this.#items.length);
  }
  page(offset: number, limit: number): Promise<ListPage<T>> {
    const start = Math.max(0, offset);
    const items = limit < 1
      ? []
      : this.#items.slice(start, start + limit).map((i) => ({ ...i }));
    return Promise.resolve({
      items,
      total: this.#items.length,
      version: this.#version,
    });
  }
  get(id: string): Promise<ListItem<T> | undefined> {
    const item = this.#items.find((i) => i.id === id);
    return Promise.resolve(item && { ...item });
  }
  indexOf(id: string): Promise<number> {
    return Promise.resolve(this.#items.findIndex((i) => i.id === id));
  }
  insert(index: number, value: T, id: string = nanoid()): Promise<ListItem<T>> {
    if (!Number.isInteger(index) || index < 0 || index > this.#items.length) {
      return Promise.reject(
        new SockSyncError(ErrorCode.InvalidArguments, "index out of range"),
      );
    }
    if (this.#items.some((i) => i.id === id)) {
      return Promise.reject(
        new SockSyncError(ErrorCode.InvalidArguments, "duplicate id"),
      );
    }
    this.#items.splice(index, 0, { id, value });
    this.#emit({
      op: "insert",
      index,
      id,
      value,
      total: this.#items.length,
      version: ++this.#version,
    });
    return Promise.resolve({ id, value });
  }
  set(id: string, value: T): Promise<void> {
    const index = this.#items.findIndex((i) => i.id === id);
    if (index < 0) {
      return Promise.reject(
        new SockSyncError(ErrorCode.InvalidId, "unknown id"),
      );
    }
    this.#items[index] = { id, value };
    this.#emit({
      op: "set",
      index,
      id,
      value,
      total: this.#items.length,
      version: ++this.#version,
    });
    return Promise.resolve();
  }
  delete(id: string): Promise<void> {
    const index = this.#items.findIndex((i) => i.id === id);
    if (index < 0) {
      return Promise.reject(
        new SockSyncError(ErrorCode.InvalidId, "unknown id"),
      );
    }
    this.#items.splice(index, 1);
    this.#emit({
      op: "delete",
      index,
      id,
      total: this.#items.length,
      version: ++this.#version,
    });
    return Promise.resolve();
  }
  subscribe(listener: ListListener<T>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  #emit(change: Parameters<ListListener<T>>[0]): void {
    for (const listener of this.#listeners) listener(change);
  }
}

/**
 * Var values kept in process memory.
 *
 * @example
 * ```ts
 * import { MemoryVarStore } from "./memory.ts";
 * const vars = new MemoryVarStore();
 * await vars.set("counter", 1);
 * ```
 */
export class MemoryVarStore implements VarStore {
  #values = new Map<string, unknown>();
  get(name: string): Promise<unknown> {
    return Promise.resolve(this.#values.get(name));
  }
  set(name: string, value: unknown): Promise<void> {
    this.#values.set(name, value);
    return Promise.resolve();
  }
}

/**
 * A whole store in process memory: nothing survives a restart.
 *
 * @example
 * ```ts
 * import { memoryStore } from "./memory.ts";
 * const store = memoryStore();
 * await store.list<string>("todos").insert(0, "milk");
 * ```
 */
export function memoryStore(): Store {
  const lists = new Map<string, MemoryListSource<unknown>>();
  return {
    kind: "memory",
    vars: new MemoryVarStore(),
    list<T>(name: string): ListSource<T> {
      let list = lists.get(name);
      if (!list) lists.set(name, list = new MemoryListSource());
      return list as ListSource<T>;
    },
    close: () => Promise.resolve(),
  };
}
