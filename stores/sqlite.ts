/**
 * The SQLite store: one file holds every list and var, so data survives a
 * restart with nothing else to run. {@linkcode openSqliteStore} opens it.
 *
 * Items are ordered by fractional order keys (`src/order_key.ts`), indexed
 * on (list, key): an insert makes one new key between its neighbours and
 * never renumbers the others. Each list's version and count live in a row
 * of their own, bumped in the same transaction as the change. Changes are
 * reported to listeners in this process after the commit.
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { nanoid } from "nanoid";
import { ErrorCode, isSockSyncError, SockSyncError } from "../src/errors.ts";
import {
  ORDER_KEY_REBALANCE_LENGTH,
  orderKeyBetween,
  sequentialOrderKeys,
} from "../src/order_key.ts";
import type {
  ListChange,
  ListItem,
  ListListener,
  ListPage,
  ListSource,
  Store,
  VarStore,
} from "../src/store.ts";
import { CountedTree, type TreeEntry } from "./counted_tree.ts";
import { openSqliteDriver, type SqliteDriver } from "./sqlite_driver.ts";

export type { SqliteDriver, SqliteStatement } from "./sqlite_driver.ts";

/**
 * Options for {@linkcode openSqliteStore}.
 *
 * @example
 * ```ts
 * import type { SqliteStoreOptions } from "./sqlite.ts";
 * const options: SqliteStoreOptions = { path: "./data/socksync.db" };
 * ```
 */
export interface SqliteStoreOptions {
  /** The database file; its directory is created when missing. `":memory:"` keeps it in memory. */
  path: string;
}

const SCHEMA = `
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA busy_timeout = 5000;
CREATE TABLE IF NOT EXISTS socksync_lists (
  name TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS socksync_items (
  list TEXT NOT NULL,
  id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  UNIQUE (list, id)
);
CREATE INDEX IF NOT EXISTS socksync_items_order ON socksync_items (list, key);
CREATE TABLE IF NOT EXISTS socksync_vars (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

const SQL = {
  meta: "SELECT version, count FROM socksync_lists WHERE name = ?",
  bump: `INSERT INTO socksync_lists (name, version, count) VALUES (?, 1, ?)
    ON CONFLICT (name) DO UPDATE SET version = version + 1, count = count + excluded.count
    RETURNING version, count`,
  dataVersion: "PRAGMA data_version",
  valueOf: "SELECT value FROM socksync_items WHERE list = ? AND id = ?",
  // Keyset paging: the start key comes from the in-memory index, so SQLite
  // seeks straight to it instead of stepping over `offset` rows.
  pageFrom: `SELECT id, value FROM socksync_items WHERE list = ? AND key >= ?
    ORDER BY key LIMIT ?`,
  // Loading an index: the list in (key, rowid) order, a chunk at a time;
  // rowid breaks ties so even duplicate keys are neither lost nor repeated.
  scanFirst: `SELECT rowid AS r, id, key FROM socksync_items WHERE list = ?
    ORDER BY key, rowid LIMIT ?`,
  scanNext: `SELECT rowid AS r, id, key FROM socksync_items WHERE list = ?
    AND (key, rowid) > (?, ?) ORDER BY key, rowid LIMIT ?`,
  add: "INSERT INTO socksync_items (list, id, key, value) VALUES (?, ?, ?, ?)",
  update: "UPDATE socksync_items SET value = ? WHERE list = ? AND id = ?",
  remove: "DELETE FROM socksync_items WHERE list = ? AND id = ?",
  rekey: "UPDATE socksync_items SET key = ? WHERE list = ? AND id = ?",
  getVar: "SELECT value FROM socksync_vars WHERE name = ?",
  setVar: `INSERT INTO socksync_vars (name, value) VALUES (?, ?)
    ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
  deleteVar: "DELETE FROM socksync_vars WHERE name = ?",
  begin: "BEGIN",
  beginWrite: "BEGIN IMMEDIATE",
  commit: "COMMIT",
  rollback: "ROLLBACK",
} as const;

// Rows per statement while loading an index: bounds the memory a load needs
// besides the index itself.
const SCAN_CHUNK = 4096;

type Row = Record<string, unknown>;

/** What the database needs from a list object to keep its index honest. */
interface IndexedList {
  readonly loaded: boolean;
  recheck(): (() => void) | undefined;
  drop(): void;
}

/** The database and its prepared statements, shared by every list of a store. */
class Database {
  #statements = new Map<string, ReturnType<SqliteDriver["prepare"]>>();
  #dataVersion: number | undefined;
  /** Every list object of the store, to check when another connection wrote. */
  readonly lists = new Set<IndexedList>();
  closed = false;

  constructor(readonly driver: SqliteDriver) {
    driver.exec(SCHEMA);
  }

  get(sql: string, ...params: (string | number)[]): Row | undefined {
    return this.#prepare(sql).get(...params) ?? undefined;
  }
  all(sql: string, ...params: (string | number)[]): Row[] {
    return this.#prepare(sql).all(...params);
  }
  run(sql: string, ...params: (string | number)[]): void {
    this.#prepare(sql).run(...params);
  }

  /**
   * Runs `body` in one transaction; any error rolls it back and is rethrown
   * as a store error. First checks whether another connection committed
   * since this one last looked (`PRAGMA data_version`, read inside the
   * transaction so it matches the snapshot `body` sees) and, if so, drops
   * the indexes of the lists it changed; their listeners hear a reset once
   * the transaction has ended.
   */
  transaction<R>(write: boolean, body: () => R): Promise<R> {
    if (this.closed) return Promise.reject(storeError("store closed"));
    let resets: (() => void)[] = [];
    try {
      this.run(write ? SQL.beginWrite : SQL.begin);
      let result: R;
      try {
        resets = this.#notice();
        result = body();
      } catch (error) {
        this.#abandon(write, error);
        this.run(SQL.rollback);
        throw error;
      }
      try {
        this.run(SQL.commit);
      } catch (error) {
        this.#abandon(write, error);
        throw error;
      }
      return Promise.resolve(result);
    } catch (error) {
      return Promise.reject(isSockSyncError(error) ? error : storeError(error));
    } finally {
      for (const reset of resets) reset();
    }
  }

  /** Whether no other connection has committed since this one last looked. */
  unchanged(): boolean {
    const seen = Number(this.get(SQL.dataVersion)?.data_version);
    return this.#dataVersion !== undefined && seen === this.#dataVersion;
  }

  /**
   * Runs `body` without a transaction when no other connection has
   * committed since this one last looked: for answers that come from
   * `list`'s index alone (or from one SQL statement, which is a snapshot by
   * itself). Otherwise it falls back to {@linkcode transaction}.
   */
  quick<R>(list: IndexedList | undefined, body: () => R): Promise<R> {
    if (this.closed) return Promise.reject(storeError("store closed"));
    if (list && !list.loaded) return this.transaction(false, body);
    try {
      return this.unchanged() ? Promise.resolve(body()) : this.transaction(false, body);
    } catch (error) {
      return Promise.reject(isSockSyncError(error) ? error : storeError(error));
    }
  }

  // Another connection (another process, or another store object on the same
  // file) committed: keep the indexes of lists whose version row is as we
  // left it, drop the others.
  #notice(): (() => void)[] {
    const seen = Number(this.get(SQL.dataVersion)?.data_version);
    const known = this.#dataVersion;
    this.#dataVersion = seen;
    if (known === undefined || seen === known) return [];
    const resets: (() => void)[] = [];
    for (const list of this.lists) {
      const reset = list.recheck();
      if (reset) resets.push(reset);
    }
    return resets;
  }

  // A write failed after it may have changed an index in memory (or the
  // rollback may have failed too): rebuild every index from the file.
  #abandon(write: boolean, error: unknown): void {
    if (write && !isSockSyncError(error)) {
      for (const list of this.lists) list.drop();
    }
  }

  #prepare(sql: string) {
    let statement = this.#statements.get(sql);
    if (!statement) {
      this.#statements.set(sql, statement = this.driver.prepare(sql));
    }
    return statement;
  }
}

function storeError(cause: unknown): SockSyncError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new SockSyncError(ErrorCode.Other, `store unavailable: ${message}`);
}

const json = (value: unknown): string => JSON.stringify(value ?? null);

/** A list's index: its ids in order, each with its order key. */
type OrderIndex = CountedTree<string>;

class SqliteListSource<T> implements ListSource<T> {
  #listeners = new Set<ListListener<T>>();
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
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
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
    for (const listener of [...this.#listeners]) listener(change);
  }
}

// The key for a new item at `index`: between its neighbours' keys, which
// the index gives in O(log n).
function keyAt(order: OrderIndex, index: number): string {
  const before = index > 0 ? order.at(index - 1)!.value : null;
  const after = index < order.size ? order.at(index)!.value : null;
  return orderKeyBetween(before, after);
}

class SqliteVarStore implements VarStore {
  constructor(readonly db: Database) {}

  get(name: string): Promise<unknown> {
    return this.db.transaction(false, () => {
      const row = this.db.get(SQL.getVar, name);
      return row ? JSON.parse(row.value as string) : undefined;
    });
  }

  set(name: string, value: unknown): Promise<void> {
    return this.db.transaction(true, () => {
      if (value === undefined) this.db.run(SQL.deleteVar, name);
      else this.db.run(SQL.setVar, name, json(value));
    });
  }
}

/**
 * A store over an open {@linkcode SqliteDriver}, for callers that bring their
 * own driver (or wrap one, as the complexity test does to count statements).
 * Creates the tables when missing.
 *
 * @example
 * ```ts
 * import { sqliteStore } from "./sqlite.ts";
 * import { openSqliteDriver } from "./sqlite_driver.ts";
 * const store = sqliteStore(await openSqliteDriver(":memory:"));
 * await store.list("todos").insert(0, { text: "milk" });
 * await store.close();
 * ```
 */
export function sqliteStore(driver: SqliteDriver): Store {
  const db = new Database(driver);
  const lists = new Map<string, SqliteListSource<unknown>>();
  return {
    kind: "sqlite",
    vars: new SqliteVarStore(db),
    list<T>(name: string): ListSource<T> {
      let list = lists.get(name);
      if (!list) {
        lists.set(name, list = new SqliteListSource(db, name));
        db.lists.add(list);
      }
      return list as ListSource<T>;
    },
    async close(): Promise<void> {
      if (db.closed) return;
      for (const list of lists.values()) await list.close();
      db.closed = true;
      driver.close();
    },
  };
}

/**
 * Opens (or creates) the SQLite store at `path`, in WAL mode. Uses
 * `node:sqlite` on Deno, Bun and Node ≥ 22.13, else `better-sqlite3`.
 *
 * @example
 * ```ts
 * import { openSqliteStore } from "./sqlite.ts";
 * const store = await openSqliteStore({ path: "./data/socksync.db" });
 * await store.vars.set("title", "Groceries");
 * await store.close();
 * ```
 */
export async function openSqliteStore(
  options: SqliteStoreOptions,
): Promise<Store> {
  const { path } = options;
  try {
    if (path !== ":memory:" && !path.startsWith("file:")) {
      await mkdir(dirname(path), { recursive: true });
    }
    return sqliteStore(await openSqliteDriver(path));
  } catch (error) {
    throw storeError(error);
  }
}
