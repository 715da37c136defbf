/**
 * A list of the SQLite store: rows ordered by fractional order keys, and an
 * in-memory index (a counted B+ tree over ids and keys) that gives ranks and
 * neighbours' keys in O(log n). Changes are reported after the commit.
 *
 * @module
 */
import { nanoid } from "nanoid";
import { ErrorCode, SockSyncError } from "../src/errors.ts";
import type { ListChange, ListItem, ListListener, ListPage, ListSource } from "../src/store.ts";
import { CountedTree, type TreeEntry } from "./counted_tree.ts";
import { ORDER_KEY_REBALANCE_LENGTH, orderKeyBetween, sequentialOrderKeys } from "./order_key.ts";
import { Listeners } from "./shared.ts";
import { type Database, SCAN_CHUNK, SQL } from "./sqlite_database.ts";

/**
 * A value as the store keeps it: JSON text (`undefined` becomes `null`).
 *
 * @example
 * ```ts
 * import { json } from "./sqlite_list.ts";
 * json(undefined); // "null"
 * ```
 */
export const json = (value: unknown): string => JSON.stringify(value ?? null);

/** A list's index: its ids in order, each with its order key. */
type OrderIndex = CountedTree<string>;

/**
 * One named list in the SQLite file; the store hands out one object per name.
 *
 * @example
 * ```ts
 * import type { SqliteListSource } from "./sqlite_list.ts";
 * async function size(list: SqliteListSource<string>) {
 *   return await list.count();
 * }
 * ```
 */
export class SqliteListSource<T> implements ListSource<T> {
  readonly #listeners = new Listeners<[ListChange<T>]>();
  // Built on first use, dropped when another connection changed the list.
  #index: OrderIndex | undefined;
  // The list's version as this object last knew it (kept when the index is
  // dropped, so a change by another connection is noticed only once).
  #version: number | undefined;

  constructor(readonly db: Database, readonly name: string) {}

  /** Whether the index is in memory. */
  get loaded(): boolean {
    return this.#index !== undefined;
  }

  count(): Promise<number> {
    return this.db.quick(this, () => this.#load().size);
  }

  page(offset: number, limit: number): Promise<ListPage<T>> {
    const start = Math.max(0, Math.trunc(offset) || 0);
    const index = this.#index;
    if (index && !this.db.closed && start < index.size && limit >= 1) {
      // Fast path without a transaction: the rows first, then data_version.
      // That only grows, so if it is still the one the index describes, no
      // other connection had committed when the rows were read either.
      try {
        const take = Math.min(Math.trunc(limit), index.size - start);
        const rows = this.db.all(SQL.pageFrom, this.name, index.at(start)!.value, take);
        if (rows.length === take && this.db.unchanged()) {
          const items: ListItem<T>[] = [];
          for (const row of rows) {
            items.push({ id: row.id as string, value: JSON.parse(row.value as string) as T });
          }
          return Promise.resolve({ items, total: index.size, version: this.#version! });
        }
      } catch {
        // The transaction below reports it properly.
      }
    }
    return this.db.transaction(false, () => {
      const index = this.#load();
      const total = index.size;
      const take = Math.min(Math.trunc(limit) || 0, total - start);
      const items: ListItem<T>[] = [];
      if (take >= 1) {
        const rows = this.db.all(SQL.pageFrom, this.name, index.at(start)!.value, take);
        for (const row of rows) {
          items.push({ id: row.id as string, value: JSON.parse(row.value as string) as T });
        }
      }
      return { items, total, version: this.#version! };
    });
  }

  get(id: string): Promise<ListItem<T> | undefined> {
    return this.db.quick(undefined, () => {
      const row = this.db.get(SQL.valueOf, this.name, id);
      return row && { id, value: JSON.parse(row.value as string) as T };
    });
  }

  indexOf(id: string): Promise<number> {
    return this.db.quick(this, () => {
      const index = this.#load();
      const entry = index.byId.get(id);
      return entry ? index.indexOf(entry) : -1;
    });
  }

  async insert(index: number, value: T, id?: string): Promise<ListItem<T>> {
    const itemId = id ?? nanoid();
    const text = json(value);
    const change = await this.db.transaction(true, () => {
      const order = this.#load();
      if (!Number.isInteger(index) || index < 0 || index > order.size) {
        throw new SockSyncError(
          ErrorCode.InvalidArguments,
          `index ${index} out of range`,
        );
      }
      if (order.byId.has(itemId)) {
        throw new SockSyncError(
          ErrorCode.InvalidArguments,
          `duplicate id ${itemId}`,
        );
      }
      let key = keyAt(order, index);
      if (key.length > ORDER_KEY_REBALANCE_LENGTH) {
        this.#rebalance(order);
        key = keyAt(order, index);
      }
      this.db.run(SQL.add, this.name, itemId, key, text);
      const meta = this.#bump(1);
      // Only after every statement succeeded: a failure drops the index.
      order.insert(index, { id: itemId, value: key, leaf: null });
      this.#verify(order, meta.total);
      return {
        op: "insert" as const,
        index,
        id: itemId,
        value: JSON.parse(text) as T,
        ...meta,
      };
    });
    this.#emit(change);
    return { id: itemId, value: JSON.parse(text) };
  }

  async set(id: string, value: T): Promise<void> {
    const text = json(value);
    const change = await this.db.transaction(true, () => {
      const order = this.#load();
      const index = order.indexOf(this.#existing(order, id));
      this.db.run(SQL.update, text, this.name, id);
      const meta = this.#bump(0);
      this.#verify(order, meta.total);
      return {
        op: "set" as const,
        index,
        id,
        value: JSON.parse(text) as T,
        ...meta,
      };
    });
    this.#emit(change);
  }

  async delete(id: string): Promise<void> {
    const change = await this.db.transaction(true, () => {
      const order = this.#load();
      const entry = this.#existing(order, id);
      const index = order.indexOf(entry);
      this.db.run(SQL.remove, this.name, id);
      const meta = this.#bump(-1);
      order.remove(entry);
      this.#verify(order, meta.total);
      return { op: "delete" as const, index, id, ...meta };
    });
    this.#emit(change);
  }

  subscribe(listener: ListListener<T>): () => void {
    return this.#listeners.add(listener);
  }

  /** Drops this list's listeners; the store's `close` closes the file. */
  close(): Promise<void> {
    this.#listeners.clear();
    return Promise.resolve();
  }

  /** Forgets the index; the next operation loads it again. */
  drop(): void {
    this.#index = undefined;
  }

  /**
   * Called inside a transaction after another connection committed: when
   * this list's version row moved, drops the index and returns what tells
   * the listeners (to run after the transaction).
   */
  recheck(): (() => void) | undefined {
    if (this.#version === undefined) return undefined;
    const { version, count } = this.#meta();
    if (version === this.#version && count === (this.#index?.size ?? count)) return undefined;
    this.#index = undefined;
    this.#version = version;
    return () => this.#emit({ op: "reset", version });
  }

  // The index, loaded with one ordered scan of (id, key) when missing. Runs
  // inside a transaction, so the scan and the version row match.
  #load(): OrderIndex {
    if (this.#index) return this.#index;
    const entries: TreeEntry<string>[] = [];
    let rows = this.db.all(SQL.scanFirst, this.name, SCAN_CHUNK);
    let sorted = true;
    while (rows.length > 0) {
      for (const row of rows) {
        const key = row.key as string;
        // Keys must be distinct and in JS string order for keyset paging.
        if (entries.length > 0 && !(entries[entries.length - 1].value < key)) sorted = false;
        entries.push({ id: row.id as string, value: key, leaf: null });
      }
      if (rows.length < SCAN_CHUNK) break;
      const last = rows[rows.length - 1];
      rows = this.db.all(SQL.scanNext, this.name, last.key as string, last.r as number, SCAN_CHUNK);
    }
    const index = CountedTree.from(entries);
    // Only a file written by something else can get here: fresh keys fix it.
    if (!sorted) this.#rebalance(index);
    this.#version = this.#meta().version;
    return this.#index = index;
  }

  #meta(): { version: number; count: number } {
    const row = this.db.get(SQL.meta, this.name);
    return {
      version: Number(row?.version ?? 0),
      count: Number(row?.count ?? 0),
    };
  }

  #bump(delta: number): { total: number; version: number } {
    const row = this.db.get(SQL.bump, this.name, delta)!;
    this.#version = Number(row.version);
    return { total: Number(row.count), version: this.#version };
  }

  // The count row and the index disagree only if the file was changed
  // behind our back without a version bump: rebuild from the file then.
  #verify(order: OrderIndex, total: number): void {
    if (order.size !== total) this.#index = undefined;
  }

  #existing(order: OrderIndex, id: string): TreeEntry<string> {
    const entry = order.byId.get(id);
    if (!entry) throw new SockSyncError(ErrorCode.InvalidId, `unknown id ${id}`);
    return entry;
  }

  // Rare: many inserts at one spot made a key too long; give every item a short one.
  #rebalance(order: OrderIndex): void {
    const keys = sequentialOrderKeys(order.size);
    let i = 0;
    for (const entry of order.from(0)) {
      entry.value = keys[i++];
      this.db.run(SQL.rekey, entry.value, this.name, entry.id);
    }
  }

  #emit(change: ListChange<T>): void {
    this.#listeners.emit(change);
  }
}

// The key for a new item at `index`: between its neighbours' keys, which
// the index gives in O(log n).
function keyAt(order: OrderIndex, index: number): string {
  const before = index > 0 ? order.at(index - 1)!.value : null;
  const after = index < order.size ? order.at(index)!.value : null;
  return orderKeyBetween(before, after);
}
