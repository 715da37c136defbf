/**
 * In-memory stores: a {@linkcode MemoryListSource} and a {@linkcode MemoryVarStore}.
 *
 * Lists are kept in a counted B+ tree (leaves of up to 64 items, each inner
 * node knowing how many items lie below it) plus an id → item map, so every
 * operation costs O(log n) (page: O(log n + limit)) and nothing ever splices
 * the whole list. Values are cloned on the way in and out, so callers can
 * never reach the store's own objects.
 *
 * @module
 */
import { nanoid } from "nanoid";
import { ErrorCode, SockSyncError } from "../src/errors.ts";
import type {
  ListChange,
  ListItem,
  ListListener,
  ListPage,
  ListSource,
  Store,
  VarStore,
} from "../src/store.ts";

// Fan-out of the tree: big enough to keep it shallow, small enough that the
// linear scans inside one node stay cheap.
const MAX_CHILDREN = 64;
const MIN_CHILDREN = MAX_CHILDREN / 4;

interface Entry<T> {
  id: string;
  value: T;
  leaf: Leaf<T>;
}
interface Leaf<T> {
  leaf: true;
  parent: Inner<T> | null;
  entries: Entry<T>[];
  prev: Leaf<T> | null;
  next: Leaf<T> | null;
}
interface Inner<T> {
  leaf: false;
  parent: Inner<T> | null;
  children: Node<T>[];
  size: number;
}
type Node<T> = Leaf<T> | Inner<T>;

const newLeaf = <T>(): Leaf<T> => ({
  leaf: true,
  parent: null,
  entries: [],
  prev: null,
  next: null,
});
const sizeOf = <T>(node: Node<T>): number => node.leaf ? node.entries.length : node.size;
const widthOf = <T>(node: Node<T>): number =>
  node.leaf ? node.entries.length : node.children.length;

// structuredClone keeps every JSON value (and more) intact.
const clone = <T>(value: T): T => structuredClone(value);

/** An order-statistic B+ tree of entries: positions by count, not by key. */
class CountedTree<T> {
  root: Node<T> = newLeaf();
  readonly byId = new Map<string, Entry<T>>();

  /** The leaf holding position `index` (0..size) and the offset inside it. */
  locate(index: number): [Leaf<T>, number] {
    let node = this.root;
    while (!node.leaf) {
      const children: Node<T>[] = node.children;
      let i = 0;
      for (; i < children.length - 1; i++) {
        const size = sizeOf(children[i]);
        if (index < size) break;
        index -= size;
      }
      node = children[i];
    }
    return [node, index];
  }

  indexOf(entry: Entry<T>): number {
    let index = entry.leaf.entries.indexOf(entry);
    let node: Node<T> = entry.leaf;
    for (let parent = node.parent; parent; parent = parent.parent) {
      for (const child of parent.children) {
        if (child === node) break;
        index += sizeOf(child);
      }
      node = parent;
    }
    return index;
  }

  insert(index: number, entry: Entry<T>): void {
    const [leaf, offset] = this.locate(index);
    leaf.entries.splice(offset, 0, entry);
    entry.leaf = leaf;
    this.byId.set(entry.id, entry);
    for (let p = leaf.parent; p; p = p.parent) p.size++;
    if (leaf.entries.length > MAX_CHILDREN) this.#split(leaf);
  }

  remove(entry: Entry<T>): void {
    const leaf = entry.leaf;
    leaf.entries.splice(leaf.entries.indexOf(entry), 1);
    this.byId.delete(entry.id);
    for (let p = leaf.parent; p; p = p.parent) p.size--;
    this.#shrink(leaf);
  }

  #split(node: Node<T>): void {
    const half = widthOf(node) >> 1;
    let right: Node<T>;
    if (node.leaf) {
      const leaf: Leaf<T> = newLeaf();
      leaf.entries = node.entries.splice(half);
      for (const entry of leaf.entries) entry.leaf = leaf;
      leaf.prev = node;
      leaf.next = node.next;
      if (node.next) node.next.prev = leaf;
      node.next = leaf;
      right = leaf;
    } else {
      const children = node.children.splice(half);
      let size = 0;
      for (const child of children) size += sizeOf(child);
      right = { leaf: false, parent: null, children, size };
      for (const child of children) child.parent = right;
      node.size -= size;
    }
    const parent = node.parent;
    if (!parent) {
      this.root = {
        leaf: false,
        parent: null,
        children: [node, right],
        size: sizeOf(node) + sizeOf(right),
      };
      node.parent = right.parent = this.root;
      return;
    }
    parent.children.splice(parent.children.indexOf(node) + 1, 0, right);
    right.parent = parent;
    if (parent.children.length > MAX_CHILDREN) this.#split(parent);
  }

  // Merges an underfull node into a sibling so the tree stays shallow and
  // pages never walk long chains of near-empty leaves.
  #shrink(node: Node<T>): void {
    const parent = node.parent;
    if (!parent) {
      if (!node.leaf && node.children.length === 1) {
        this.root = node.children[0];
        this.root.parent = null;
      } else if (!node.leaf && node.children.length === 0) {
        this.root = newLeaf();
      }
      return;
    }
    const width = widthOf(node);
    if (width >= MIN_CHILDREN) return;
    const at = parent.children.indexOf(node);
    const sibling = parent.children[at - 1] ?? parent.children[at + 1];
    if (width > 0 && (!sibling || width + widthOf(sibling) > MAX_CHILDREN)) {
      return;
    }
    if (width > 0 && sibling) this.#mergeInto(node, sibling, at > 0);
    if (node.leaf) {
      if (node.prev) node.prev.next = node.next;
      if (node.next) node.next.prev = node.prev;
    }
    parent.children.splice(at, 1);
    this.#shrink(parent);
  }

  #mergeInto(node: Node<T>, sibling: Node<T>, toLeft: boolean): void {
    if (node.leaf && sibling.leaf) {
      for (const entry of node.entries) entry.leaf = sibling;
      if (toLeft) sibling.entries.push(...node.entries);
      else sibling.entries.unshift(...node.entries);
    } else if (!node.leaf && !sibling.leaf) {
      for (const child of node.children) child.parent = sibling;
      if (toLeft) sibling.children.push(...node.children);
      else sibling.children.unshift(...node.children);
      sibling.size += node.size;
    }
  }
}

/**
 * A list kept in process memory, with O(log n) reads and writes by index or
 * id. Nothing survives a restart.
 *
 * @example
 * ```ts
 * import { MemoryListSource } from "./memory.ts";
 * const todos = new MemoryListSource<string>();
 * await todos.insert(0, "milk");
 * const { items, total } = await todos.page(0, 20);
 * ```
 */
export class MemoryListSource<T = unknown> implements ListSource<T> {
  #tree = new CountedTree<T>();
  #version = 0;
  #listeners = new Set<ListListener<T>>();

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
      let [leaf, at]: [Leaf<T> | null, number] = this.#tree.locate(start);
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
    this.#tree.insert(index, { id: itemId, value: stored, leaf: null! });
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
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
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
    for (const listener of [...this.#listeners]) listener(change);
  }
}

function reject(code: 4 | 6, message: string): Promise<never> {
  return Promise.reject(new SockSyncError(code, message));
}

/**
 * Var values kept in process memory (cloned in and out).
 *
 * @example
 * ```ts
 * import { MemoryVarStore } from "./memory.ts";
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
 * import { memoryStore } from "./memory.ts";
 * const store = memoryStore();
 * await store.list<string>("todos").insert(0, "milk");
 * await store.close();
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
    async close(): Promise<void> {
      for (const list of lists.values()) await list.close();
    },
  };
}
