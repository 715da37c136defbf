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
  keyOf: "SELECT key FROM socksync_items WHERE list = ? AND id = ?",
  valueOf: "SELECT value FROM socksync_items WHERE list = ? AND id = ?",
  rank: "SELECT COUNT(*) AS n FROM socksync_items WHERE list = ? AND key < ?",
  keysUp: "SELECT key FROM socksync_items WHERE list = ? ORDER BY key LIMIT 2 OFFSET ?",
  keysDown: "SELECT key FROM socksync_items WHERE list = ? ORDER BY key DESC LIMIT 2 OFFSET ?",
  pageUp: "SELECT id, value FROM socksync_items WHERE list = ? ORDER BY key LIMIT ? OFFSET ?",
  pageDown:
    "SELECT id, value FROM socksync_items WHERE list = ? ORDER BY key DESC LIMIT ? OFFSET ?",
  add: "INSERT INTO socksync_items (list, id, key, value) VALUES (?, ?, ?, ?)",
  update: "UPDATE socksync_items SET value = ? WHERE list = ? AND id = ?",
  remove: "DELETE FROM socksync_items WHERE list = ? AND id = ?",
  allIds: "SELECT id FROM socksync_items WHERE list = ? ORDER BY key",
  rekey: "UPDATE socksync_items SET key = ? WHERE list = ? AND id = ?",
  getVar: "SELECT value FROM socksync_vars WHERE name = ?",
  setVar: `INSERT INTO socksync_vars (name, value) VALUES (?, ?)
    ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
  deleteVar: "DELETE FROM socksync_vars WHERE name = ?",
} as const;

type Row = Record<string, unknown>;

/** The database and its prepared statements, shared by every list of a store. */
class Database {
  #statements = new Map<string, ReturnType<SqliteDriver["prepare"]>>();
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

  /** Runs `body` in one transaction; any error rolls it back and is rethrown as a store error. */
  transaction<R>(write: boolean, body: () => R): Promise<R> {
    if (this.closed) return Promise.reject(storeError("store closed"));
    try {
      this.driver.exec(write ? "BEGIN IMMEDIATE" : "BEGIN");
      let result: R;
      try {
        result = body();
      } catch (error) {
        this.driver.exec("ROLLBACK");
        throw error;
      }
      this.driver.exec("COMMIT");
      return Promise.resolve(result);
    } catch (error) {
      return Promise.reject(isSockSyncError(error) ? error : storeError(error));
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

class SqliteListSource<T> implements ListSource<T> {
  #listeners = new Set<ListListener<T>>();

  constructor(readonly db: Database, readonly name: string) {}

  count(): Promise<number> {
    return this.db.transaction(false, () => this.#meta().count);
  }

  page(offset: number, limit: number): Promise<ListPage<T>> {
    return this.db.transaction(false, () => {
      const { version, count: total } = this.#meta();
      const start = Math.max(0, Math.trunc(offset) || 0);
      const take = Math.min(Math.trunc(limit) || 0, total - start);
      let rows: Row[] = [];
      // Offsets cost O(offset): walk in from the nearer end.
      if (take >= 1 && start <= total - start - take) {
        rows = this.db.all(SQL.pageUp, this.name, take, start);
      } else if (take >= 1) {
        rows = this.db.all(SQL.pageDown, this.name, take, total - start - take)
          .reverse();
      }
      const items = rows.map((row) => ({
        id: row.id as string,
        value: JSON.parse(row.value as string) as T,
      }));
      return { items, total, version };
    });
  }

  get(id: string): Promise<ListItem<T> | undefined> {
    return this.db.transaction(false, () => {
      const row = this.db.get(SQL.valueOf, this.name, id);
      return row && { id, value: JSON.parse(row.value as string) as T };
    });
  }

  indexOf(id: string): Promise<number> {
    return this.db.transaction(false, () => {
      const row = this.db.get(SQL.keyOf, this.name, id);
      return row ? this.#rank(row.key as string) : -1;
    });
  }

  async insert(index: number, value: T, id?: string): Promise<ListItem<T>> {
    const itemId = id ?? nanoid();
    const text = json(value);
    const change = await this.db.transaction(true, () => {
      const { count } = this.#meta();
      if (!Number.isInteger(index) || index < 0 || index > count) {
        throw new SockSyncError(
          ErrorCode.InvalidArguments,
          `index ${index} out of range`,
        );
      }
      if (this.db.get(SQL.keyOf, this.name, itemId)) {
        throw new SockSyncError(
          ErrorCode.InvalidArguments,
          `duplicate id ${itemId}`,
        );
      }
      let key = this.#keyAt(index, count);
      if (key.length > ORDER_KEY_REBALANCE_LENGTH) {
        this.#rebalance();
        key = this.#keyAt(index, count);
      }
      this.db.run(SQL.add, this.name, itemId, key, text);
      const meta = this.#bump(1);
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
      const index = this.#existingIndex(id);
      this.db.run(SQL.update, text, this.name, id);
      const meta = this.#bump(0);
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
      const index = this.#existingIndex(id);
      this.db.run(SQL.remove, this.name, id);
      return { op: "delete" as const, index, id, ...this.#bump(-1) };
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

  #meta(): { version: number; count: number } {
    const row = this.db.get(SQL.meta, this.name);
    return {
      version: Number(row?.version ?? 0),
      count: Number(row?.count ?? 0),
    };
  }

  #bump(delta: number): { total: number; version: number } {
    const row = this.db.get(SQL.bump, this.name, delta)!;
    return { total: Number(row.count), version: Number(row.version) };
  }

  #rank(key: string): number {
    return Number(this.db.get(SQL.rank, this.name, key)!.n);
  }

  #existingIndex(id: string): number {
    const row = this.db.get(SQL.keyOf, this.name, id);
    if (!row) throw new SockSyncError(ErrorCode.InvalidId, `unknown id ${id}`);
    return this.#rank(row.key as string);
  }

  // One statement: the two keys around `index`, read from the nearer end.
  #keyAt(index: number, count: number): string {
    if (count === 0) return orderKeyBetween(null, null);
    if (index <= count - index) {
      const rows = this.db.all(SQL.keysUp, this.name, Math.max(0, index - 1));
      const keys = rows.map((row) => row.key as string);
      return index === 0
        ? orderKeyBetween(null, keys[0])
        : orderKeyBetween(keys[0], keys[1] ?? null);
    }
    const after = count - index;
    const rows = this.db.all(SQL.keysDown, this.name, Math.max(0, after - 1));
    const keys = rows.map((row) => row.key as string);
    return after === 0 ? orderKeyBetween(keys[0], null) : orderKeyBetween(keys[1] ?? null, keys[0]);
  }

  // Rare: many inserts at one spot made a key too long; give every item a short one.
  #rebalance(): void {
    const ids = this.db.all(SQL.allIds, this.name).map((row) => row.id as string);
    const keys = sequentialOrderKeys(ids.length);
    ids.forEach((id, i) => this.db.run(SQL.rekey, keys[i], this.name, id));
  }

  #emit(change: ListChange<T>): void {
    for (const listener of [...this.#listeners]) listener(change);
  }
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
      if (!list) lists.set(name, list = new SqliteListSource(db, name));
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
