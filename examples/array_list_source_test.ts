// deno-lint-ignore-file require-await
// The custom store of docs/stores.md ("Writing your own store"), run against the kit:
//   node --import tsx --test examples/array_list_source_test.ts
//   deno test examples/array_list_source_test.ts
//   bun test examples/array_list_source_test.ts
import { SockSyncError } from "socksync";
import type { ListChange, ListItem, ListListener, ListPage, ListSource } from "socksync";
import { listSourceConformance } from "socksync/testing";

/** A list over a plain array: O(n) changes, fine for a few thousand items. */
class ArrayListSource<T> implements ListSource<T> {
  #items: ListItem<T>[] = [];
  #version = 0;
  #listeners = new Set<ListListener<T>>();

  async count() {
    return this.#items.length;
  }
  async page(offset: number, limit: number): Promise<ListPage<T>> {
    const start = Math.max(0, offset);
    const items = limit < 1 ? [] : this.#items.slice(start, start + limit);
    // Copies, so callers never change what the store holds.
    return { items: structuredClone(items), total: this.#items.length, version: this.#version };
  }
  async get(id: string) {
    return structuredClone(this.#items.find((item) => item.id === id));
  }
  async indexOf(id: string) {
    return this.#items.findIndex((item) => item.id === id);
  }
  async insert(index: number, value: T, id: string = crypto.randomUUID()) {
    if (!Number.isInteger(index) || index < 0 || index > this.#items.length) {
      throw new SockSyncError(6, "index out of range");
    }
    if (this.#items.some((item) => item.id === id)) throw new SockSyncError(6, "duplicate id");
    this.#items.splice(index, 0, { id, value: structuredClone(value) });
    this.#emit({
      op: "insert",
      index,
      id,
      value,
      total: this.#items.length,
      version: ++this.#version,
    });
    return { id, value: structuredClone(value) };
  }
  async set(id: string, value: T) {
    const index = this.#find(id);
    this.#items[index] = { id, value: structuredClone(value) };
    this.#emit({
      op: "set",
      index,
      id,
      value,
      total: this.#items.length,
      version: ++this.#version,
    });
  }
  async delete(id: string) {
    const index = this.#find(id);
    this.#items.splice(index, 1);
    this.#emit({ op: "delete", index, id, total: this.#items.length, version: ++this.#version });
  }
  subscribe(listener: ListListener<T>) {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }
  #find(id: string): number {
    const index = this.#items.findIndex((item) => item.id === id);
    if (index < 0) throw new SockSyncError(4, `unknown id ${id}`);
    return index;
  }
  #emit(change: ListChange<T>) {
    for (const listener of [...this.#listeners]) listener(change);
  }
}

listSourceConformance("ArrayListSource", () => new ArrayListSource());
