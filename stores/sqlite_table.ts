/**
 * A live, sorted, filtered query over an application's own SQLite table, as a read-only
 * {@linkcode ListSource}: {@linkcode sqliteTable}. Writes are the application's own SQL
 * (any connection, any process); triggers record them (`sqlite_changes.ts`) and the
 * query turns them into `insert`, `delete` and `set` changes with exact indexes, taken
 * from an order-statistic index over (ORDER BY values, key) kept while anything listens.
 *
 * @module
 */
import { ErrorCode, isSockSyncError, SockSyncError } from "../src/errors.ts";
import type { ListChange, ListItem, ListListener, ListPage, ListSource } from "../src/store.ts";
import { compareSqlValues, RankIndex } from "./rank_index.ts";
import { quoteIdent, type SqliteChangeWatcher, type SqlValue } from "./sqlite_changes.ts";
import type { SqliteDriver, SqliteStatement } from "./sqlite_driver.ts";
import {
  type Family,
  type LiveQuery,
  type QueryEntry,
  type Row,
  TableHub,
} from "./sqlite_table_hub.ts";
import { bindWhere, keysetSql, keysetValues, orderSql, type OrderTerm } from "./sqlite_where.ts";

export type { OrderTerm } from "./sqlite_where.ts";

/**
 * Options for {@linkcode sqliteTable}.
 *
 * @example
 * ```ts
 * import type { SqliteTableOptions } from "./sqlite_table.ts";
 * import { openSqliteDriver } from "./sqlite_driver.ts";
 * const options: SqliteTableOptions = {
 *   db: await openSqliteDriver(":memory:"),
 *   table: "messages",
 *   key: "id",
 *   orderBy: [{ column: "created_at", desc: true }, { column: "id", desc: true }],
 *   where: "room = :room",
 *   params: { room: "general" },
 *   columns: ["room", "author", "text", "created_at"],
 * };
 * ```
 */
export interface SqliteTableOptions {
  /** The database (see `sqlite_driver.ts`); its change watcher is shared by every binding. */
  db: SqliteDriver;
  /** The table. */
  table: string;
  /** The key column (unique; the item id is its value as a string). */
  key: string;
  /** The order (NOT NULL columns); the key breaks ties (ascending unless listed). */
  orderBy?: OrderTerm[];
  /** A WHERE with named placeholders (`room = :room`); values come from `params`. */
  where?: string;
  /** The placeholders' values. */
  params?: Record<string, unknown>;
  /** The columns that make an item's value, an object with these keys. */
  columns: string[];
}

type Statement = "scan" | "scanNext" | "from" | "page" | "count" | "get" | "before";

const READ_ONLY = "this list is a table query: write the table with SQL";
// Rows per statement while loading the index.
const LOAD_CHUNK = 4096;

/**
 * A live query over a table. Reading methods work at any time; while a listener is
 * subscribed the query keeps its index and reports every change, whoever made it
 * (call {@linkcode SqliteTableSource.flush} after writing through the same connection
 * to hear it at once; other connections' writes are noticed within ~100 ms).
 *
 * @example
 * ```ts
 * import { openSqliteDriver } from "./sqlite_driver.ts";
 * import { sqliteTable } from "./sqlite_table.ts";
 * const db = await openSqliteDriver(":memory:");
 * db.exec("CREATE TABLE notes (id TEXT PRIMARY KEY, text TEXT NOT NULL)");
 * const notes = sqliteTable({ db, table: "notes", key: "id", columns: ["text"] });
 * const stop = notes.subscribe((change) => console.log(change.op));
 * db.exec("INSERT INTO notes VALUES ('a', 'milk')");
 * notes.flush(); // logs "insert"
 * stop();
 * db.close();
 * ```
 */
export class SqliteTableSource<T = Record<string, unknown>> implements ListSource<T>, LiveQuery {
  /** The queries sharing this one's WHERE. */
  readonly family: Family;
  /** This query's equality values, for routing. */
  readonly routeKey: string | undefined;
  readonly #hub: TableHub;
  readonly #watcher: SqliteChangeWatcher;
  readonly #order: OrderTerm[];
  readonly #columns: string[];
  readonly #params: SqlValue[];
  readonly #sql: Record<Statement, string>;
  readonly #listeners = new Set<ListListener<T>>();
  #index: RankIndex<QueryEntry> | undefined;
  #version = 0;

  /**
   * Binds the query; the table, its columns and the WHERE are checked now.
   *
   * @param options see {@linkcode SqliteTableOptions}
   */
  constructor(options: SqliteTableOptions) {
    const { table, key } = options;
    const hub = this.#hub = TableHub.of(options.db, table, key);
    this.#watcher = hub.watcher;
    const order = (options.orderBy ?? []).map((t) => ({ column: t.column, desc: !!t.desc }));
    if (!order.some((t) => t.column === key)) order.push({ column: key, desc: false });
    order.splice(order.findIndex((t) => t.column === key) + 1);
    for (const term of order) {
      if (term.column !== key && !hub.require(term.column).notNull) {
        throw new SockSyncError(
          ErrorCode.Other,
          `ORDER BY column "${term.column}" of "${table}" must be NOT NULL`,
        );
      }
    }
    this.#order = order;
    this.#columns = [...options.columns];
    this.family = hub.family(options.where, [...order.map((t) => t.column), ...this.#columns]);
    this.#params = bindWhere(this.family.where, options.params ?? {});
    this.routeKey = this.family.routeOf(options.params ?? {});
    const t = quoteIdent(table);
    const k = quoteIdent(key);
    const where = `${k} IS NOT NULL AND (${this.family.where.sql})`;
    const sortCols = order.map((o) => quoteIdent(o.column)).join(", ");
    const valueCols = [key, ...this.#columns].map(quoteIdent).join(", ");
    const by = orderSql(order);
    this.#sql = {
      scan: `SELECT ${sortCols} FROM ${t} WHERE ${where} ${by} LIMIT ?`,
      scanNext: `SELECT ${sortCols} FROM ${t} WHERE ${where} AND ${
        keysetSql(order, false)
      } ${by} LIMIT ?`,
      from: `SELECT ${valueCols} FROM ${t} WHERE ${where} AND ${
        keysetSql(order, true)
      } ${by} LIMIT ?`,
      page: `SELECT ${valueCols} FROM ${t} WHERE ${where} ${by} LIMIT ? OFFSET ?`,
      count: `SELECT COUNT(*) AS n FROM ${t} WHERE ${where}`,
      get: `SELECT ${sortCols}, ${valueCols} FROM ${t} WHERE ${where} AND ${k} = ?`,
      before: `SELECT COUNT(*) AS n FROM ${t} WHERE ${where} AND NOT (${keysetSql(order, true)})`,
    };
    // Prepared now, so a bad WHERE or column fails at bind time, not on first read.
    this.#run(() => this.#statement("get"));
  }

  /** Whether a listener is subscribed (the index is kept then). */
  get live(): boolean {
    return this.#index !== undefined;
  }

  /** Hands every committed change to the listeners now (after writing through `db`). */
  flush(): void {
    this.#run(() => this.#watcher.flush());
  }

  count(): Promise<number> {
    return this.#read(() => this.#index?.size ?? this.#countAll());
  }

  page(offset: number, limit: number): Promise<ListPage<T>> {
    const start = Math.max(0, Math.trunc(offset) || 0);
    const take = Math.max(0, Math.trunc(limit) || 0);
    return this.#read(() => {
      const index = this.#index;
      if (!index) {
        const rows = take > 0 ? this.#statement("page").all(...this.#params, take, start) : [];
        return {
          items: rows.map((r) => this.#item(r)),
          total: this.#countAll(),
          version: this.#version,
        };
      }
      let items = this.#keysetPage(index, start, take);
      if (!items) {
        // The table changed without its triggers (or in an order SQLite sorts differently):
        // start over from the table and tell the listeners.
        this.reload();
        items = this.#keysetPage(this.#index!, start, take) ?? [];
      }
      return { items, total: this.#index!.size, version: this.#version };
    });
  }

  get(id: string): Promise<ListItem<T> | undefined> {
    return this.#read(() => {
      const row = this.#statement("get").get(...this.#params, id);
      return row ? this.#item(row) : undefined;
    });
  }

  indexOf(id: string): Promise<number> {
    return this.#read(() => {
      if (this.#index) {
        const entry = this.#entryOf(id);
        return entry ? this.#index.rankOf(entry) : -1;
      }
      const row = this.#statement("get").get(...this.#params, id);
      if (!row) return -1;
      const values = keysetValues(this.#order, this.#order.map((t) => row[t.column]));
      return Number(this.#statement("before").get(...this.#params, ...values)?.n);
    });
  }

  insert(): Promise<ListItem<T>> {
    return Promise.reject(new SockSyncError(ErrorCode.InvalidFunc, READ_ONLY));
  }

  set(): Promise<void> {
    return Promise.reject(new SockSyncError(ErrorCode.InvalidFunc, READ_ONLY));
  }

  delete(): Promise<void> {
    return Promise.reject(new SockSyncError(ErrorCode.InvalidFunc, READ_ONLY));
  }

  /** The first listener loads the index (one ordered scan); the last one drops it. */
  subscribe(listener: ListListener<T>): () => void {
    if (this.#listeners.has(listener)) return () => this.#unsubscribe(listener);
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) {
      try {
        this.#hub.enter(this);
        this.#run(() => this.#watcher.read(() => this.#load()));
      } catch (error) {
        this.#listeners.delete(listener);
        this.#hub.leave(this);
        throw error;
      }
    }
    return () => this.#unsubscribe(listener);
  }

  /** Drops the listeners (and with them the index). */
  close(): Promise<void> {
    for (const listener of [...this.#listeners]) this.#unsubscribe(listener);
    return Promise.resolve();
  }

  /** Inside the watcher's read: brings the index up to date with one changed row. */
  reconcile(id: string, key: SqlValue, row: Row | undefined, old: QueryEntry | undefined): void {
    const index = this.#index;
    if (!index) return;
    const matches = row !== undefined &&
      (this.routeKey !== undefined
        ? this.family.routeOfRow(row) === this.routeKey
        : this.#statement("get").get(...this.#params, key) !== undefined);
    if (!matches) {
      if (!old) return;
      const at = index.remove(old);
      this.#hub.unlink(old);
      return this.#emit({ op: "delete", index: at, id, total: index.size, version: 0 });
    }
    const sortKey = this.#order.map((t) => t.column === this.#hub.key ? key : row[t.column]);
    const value = this.#value(row);
    if (!old) {
      const entry: QueryEntry = { id, key: sortKey, query: this };
      const at = index.insert(entry);
      this.#hub.link(entry);
      return this.#emit({ op: "insert", index: at, id, value, total: index.size, version: 0 });
    }
    if (sortKey.every((v, i) => compareSqlValues(v, old.key[i]) === 0)) {
      const at = index.rankOf(old);
      return this.#emit({ op: "set", index: at, id, value, total: index.size, version: 0 });
    }
    const from = index.remove(old);
    old.key = sortKey;
    const to = index.insert(old);
    if (from === to) {
      return this.#emit({ op: "set", index: to, id, value, total: index.size, version: 0 });
    }
    this.#emit({ op: "delete", index: from, id, total: index.size - 1, version: 0 });
    this.#emit({ op: "insert", index: to, id, value, total: index.size, version: 0 });
  }

  /** Inside the watcher's read: rebuilds the index from the table and emits a reset. */
  reload(): void {
    if (!this.#index) return;
    this.#unload();
    this.#load();
    this.#emit({ op: "reset", version: 0 });
  }

  #unsubscribe(listener: ListListener<T>): void {
    if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return;
    this.#unload();
    this.#hub.leave(this);
  }

  #load(): void {
    const entries: QueryEntry[] = [];
    const key = this.#hub.key;
    let rows = this.#statement("scan").all(...this.#params, LOAD_CHUNK);
    while (rows.length > 0) {
      for (const row of rows) {
        const sortKey = this.#order.map((t) => row[t.column]);
        const entry: QueryEntry = { id: String(row[key]), key: sortKey, query: this };
        if (entries.length > 0 && this.#compare(entries[entries.length - 1], entry) >= 0) {
          throw new SockSyncError(
            ErrorCode.Other,
            `table "${this.#hub.table}": ORDER BY needs the BINARY collation`,
          );
        }
        entries.push(entry);
      }
      if (rows.length < LOAD_CHUNK) break;
      const last = entries[entries.length - 1].key;
      rows = this.#statement("scanNext").all(
        ...this.#params,
        ...keysetValues(this.#order, last),
        LOAD_CHUNK,
      );
    }
    this.#index = RankIndex.from(entries, (a, b) => this.#compare(a, b));
    for (const entry of entries) this.#hub.link(entry);
    this.#version++;
  }

  #unload(): void {
    const index = this.#index;
    if (!index) return;
    for (const entry of index.from(0)) this.#hub.unlink(entry);
    this.#index = undefined;
  }

  #keysetPage(index: RankIndex<QueryEntry>, start: number, take: number): ListItem<T>[] | null {
    const first = index.at(start);
    if (!first || take === 0) return [];
    const n = Math.min(take, index.size - start);
    const rows = this.#statement("from").all(
      ...this.#params,
      ...keysetValues(this.#order, first.key),
      n,
    );
    const items = rows.map((r) => this.#item(r));
    let i = start;
    for (const entry of index.from(start)) {
      if (i - start >= n) break;
      if (items[i - start]?.id !== entry.id) return null;
      i++;
    }
    return items.length === n ? items : null;
  }

  #compare(a: QueryEntry, b: QueryEntry): number {
    const order = this.#order;
    for (let i = 0; i < order.length; i++) {
      const c = compareSqlValues(a.key[i], b.key[i]);
      if (c !== 0) return order[i].desc ? -c : c;
    }
    return 0;
  }

  #entryOf(id: string): QueryEntry | undefined {
    const held = this.#hub.members.get(id);
    if (held === undefined) return undefined;
    if (!Array.isArray(held)) return held.query === this ? held : undefined;
    return held.find((e) => e.query === this);
  }

  #countAll(): number {
    return Number(this.#statement("count").get(...this.#params)?.n);
  }

  #item(row: Row | Record<string, SqlValue>): ListItem<T> {
    return { id: String(row[this.#hub.key]), value: this.#value(row) };
  }

  #value(row: Row): T {
    const value: Record<string, unknown> = {};
    for (const column of this.#columns) value[column] = toJson(row[column]);
    return value as T;
  }

  #emit(change: ListChange<T>): void {
    const stamped = { ...change, version: ++this.#version } as ListChange<T>;
    const listeners = [...this.#listeners];
    this.#watcher.afterRead(() => {
      for (const listener of listeners) listener(stamped);
    });
  }

  #statement(name: Statement): SqliteStatement {
    return this.#watcher.statement(this.#sql[name]);
  }

  #read<R>(body: () => R): Promise<R> {
    try {
      return Promise.resolve(this.#run(() => this.#watcher.read(body)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // SQL errors become code 8 with a message that carries no SQL text or data.
  #run<R>(body: () => R): R {
    try {
      return body();
    } catch (error) {
      if (isSockSyncError(error)) throw error;
      const wrapped = new SockSyncError(
        ErrorCode.Other,
        `table "${this.#hub.table}": the database query failed`,
      );
      (wrapped as { cause?: unknown }).cause = error;
      throw wrapped;
    }
  }
}

// JSON for the wire: integers beyond 2^53 as strings, blobs as base64.
function toJson(value: SqlValue): unknown {
  if (typeof value === "bigint") {
    return Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
  }
  if (value instanceof Uint8Array) return btoa(String.fromCharCode(...value));
  return value;
}

/**
 * A live query over an application's own table (see {@linkcode SqliteTableSource}).
 * A missing table or column throws a `SockSyncError` naming it.
 *
 * @example
 * ```ts
 * import { openSqliteDriver } from "./sqlite_driver.ts";
 * import { sqliteTable } from "./sqlite_table.ts";
 * const db = await openSqliteDriver(":memory:");
 * db.exec(`CREATE TABLE messages (id TEXT PRIMARY KEY, room TEXT NOT NULL,
 *   author TEXT NOT NULL, text TEXT NOT NULL, created_at BIGINT NOT NULL)`);
 * const general = sqliteTable({
 *   db, table: "messages", key: "id",
 *   orderBy: [{ column: "created_at", desc: true }, { column: "id", desc: true }],
 *   where: "room = :room", params: { room: "general" },
 *   columns: ["room", "author", "text", "created_at"],
 * });
 * (await general.page(0, 50)).total; // 0
 * ```
 */
export function sqliteTable<T = Record<string, unknown>>(
  options: SqliteTableOptions,
): SqliteTableSource<T> {
  return new SqliteTableSource<T>(options);
}
