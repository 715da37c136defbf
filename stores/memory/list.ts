/**
 * A list kept in process memory: a counted B+ tree (`counted_tree.ts`:
 * leaves of up to 64 items, each inner node knowing how many items lie below
 * it) plus an id → item map, so every operation costs O(log n) (page:
 * O(log n + limit)) and nothing ever splices the whole list. Values are
 * cloned on the way in and out, so callers can never reach the store's own
 * objects.
 *
 * @module
 */
import { nanoid } from "nanoid";
import { ErrorCode, SockSyncError } from "../../src/errors.ts";
import type { ListChange, ListItem, ListListener, ListPage, ListSource } from "../../src/store.ts";
import { CountedTree, type TreeLeaf } from "../common/counted_tree.ts";
import { Listeners } from "../../src/listeners.ts";

// structuredClone keeps every JSON value (and more) intact.
const clone = <T>(value: T): T => structuredClone(value);

/**
 * A list kept in process memory, with O(log n) reads and writes by index or
 * id. Nothing survives a restart.
 *
 * @example
 * ```ts
 * import { MemoryListSource } from "./mod.ts";
 * const todos = new MemoryListSource<string>();
 * await todos.insert(0, "milk");
 * const { items, total } = await todos.page(0, 20);
 * ```
 */
export class MemoryListSource<T = unknown> implements ListSource<T> {
  #tree = new CountedTree<T>();
  #version = 0;
  readonly #listeners = new Listeners<[ListChange<T>]>();

  /** The number of items (O(1)). */
  count(): Promise<number> {
    return Promise.resolve(this.#tree.byId.size);
  }

  /** Up to `limit` items from `offset`, with the total and version. */
  page(offset: number, limit: number): Promise<ListPage<T>> {
    const total = this.#tree.byId.size;
    const items: ListItem<T>[] = [];
    const start = Math.max(0, Math.trunc(offset) || 0);
    if (limit >= 1 && start < total) {
      let [leaf, at]: [TreeLeaf<T> | null, number] = this.#tree.locate(start);
      while (leaf && items.length < limit) {
        const entry = leaf.entries[at++];
        if (entry) items.push({ id: entry.id, value: clone(entry.value) });
        else [leaf, at] = [leaf.next, 0];
      }
    }
    return Promise.resolve({ items, total, version: this.#version });
  }

  /** The item with this id, or `undefined`. */
  get(id: string): Promise<ListItem<T> | undefined> {
    const entry = this.#tree.byId.get(id);
    return Promise.resolve(entry && { id, value: clone(entry.value) });
  }

  /** The item's position, or -1. */
  indexOf(id: string): Promise<number> {
    const entry = this.#tree.byId.get(id);
    return Promise.resolve(entry ? this.#tree.indexOf(entry) : -1);
  }

  /** Inserts a value at `index` (0..count). */
  insert(index: number, value: T, id?: string): Promise<ListItem<T>> {
    const total = this.#tree.byId.size;
    if (!Number.isInteger(index) || index < 0 || index > total) {
      return reject(ErrorCode.InvalidArguments, `index ${index} out of range`);
    }
    const itemId = id ?? this.#newId();
    if (typeof itemId !== "string" || this.#tree.byId.has(itemId)) {
      return reject(ErrorCode.InvalidArguments, `duplicate id ${itemId}`);
    }
    const stored = clone(value);
    this.#tree.insert(index, { id: itemId, value: stored, leaf: null });
    this.#emit({
      op: "insert",
      index,
      id: itemId,
      value: clone(stored),
      total: total + 1,
      version: ++this.#version,
    });
    return Promise.resolve({ id: itemId, value: clone(stored) });
  }

  /** Replaces the value of the item with this id. */
  set(id: string, value: T): Promise<void> {
    const entry = this.#tree.byId.get(id);
    if (!entry) return reject(ErrorCode.InvalidId, `unknown id ${id}`);
    entry.value = clone(value);
    this.#emit({
      op: "set",
      index: this.#tree.indexOf(entry),
      id,
      value: clone(entry.value),
      total: this.#tree.byId.size,
      version: ++this.#version,
    });
    return Promise.resolve();
  }

  /** Deletes the item with this id. */
  delete(id: string): Promise<void> {
    const entry = this.#tree.byId.get(id);
    if (!entry) return reject(ErrorCode.InvalidId, `unknown id ${id}`);
    const index = this.#tree.indexOf(entry);
    this.#tree.remove(entry);
    this.#emit({
      op: "delete",
      index,
      id,
      total: this.#tree.byId.size,
      version: ++this.#version,
    });
    return Promise.resolve();
  }

  /** Registers a change listener; returns the function that removes it. */
  subscribe(listener: ListListener<T>): () => void {
    return this.#listeners.add(listener);
  }

  /** Drops every listener (the items stay). */
  close(): Promise<void> {
    this.#listeners.clear();
    return Promise.resolve();
  }

  #newId(): string {
    let id = nanoid();
    while (this.#tree.byId.has(id)) id = nanoid();
    return id;
  }

  #emit(change: ListChange<T>): void {
    this.#listeners.emit(change);
  }
}

function reject(code: 4 | 6, message: string): Promise<never> {
  return Promise.reject(new SockSyncError(code, message));
}
