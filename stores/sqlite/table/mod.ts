/**
 * A live, sorted, filtered query over an application's own SQLite table, as a read-only
 * {@linkcode ListSource}: {@linkcode sqliteTable}. Writes are the application's own SQL
 * (any connection, any process); triggers record them (`sqlite_changes.ts`) and the
 * query turns them into `insert`, `delete` and `set` changes with exact indexes, taken
 * from an order-statistic index over (ORDER BY values, key) kept while anything listens.
 *
 * @module
 */
import { ErrorCode, SockSyncError } from "../../../src/errors.ts";
import type { ListItem, ListListener, ListPage, ListSource } from "../../../src/store.ts";
import { LiveTableQuery, type SqliteTableOptions } from "./live_query.ts";
import { keysetValues } from "../../table/where.ts";
import type * as v from "valibot";
import type { RowSchema } from "../../table/row_schema.ts";

export { openSqliteDriver } from "../driver.ts";
export type { SqliteDriver, SqliteStatement } from "../driver.ts";
export type { SqliteTableOptions } from "./live_query.ts";
export type { OrderTerm } from "../../table/where.ts";
export type { RowSchema } from "../../table/row_schema.ts";

const READ_ONLY = "this list is a table query: write the table with SQL";

/**
 * A live query over a table. Reading methods work at any time; while a listener is
 * subscribed the query keeps its index and reports every change, whoever made it
 * (call {@linkcode SqliteTableSource.flush} after writing through the same connection
 * to hear it at once; other connections' writes are noticed within ~100 ms).
 *
 * @example
 * ```ts
 * import { openSqliteDriver } from "../driver.ts";
 * import { sqliteTable } from "./mod.ts";
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
export class SqliteTableSource<T = Record<string, unknown>> extends LiveTableQuery<T>
  implements ListSource<T> {
  /** Whether a listener is subscribed (the index is kept then). */
  get live(): boolean {
    return this.index !== undefined;
  }

  /** Hands every committed change to the listeners now (after writing through `db`). */
  flush(): void {
    this.run(() => this.watcher.flush());
  }

  count(): Promise<number> {
    return this.read(() => this.loaded()?.size ?? this.countAll());
  }

  page(offset: number, limit: number): Promise<ListPage<T>> {
    const start = Math.max(0, Math.trunc(offset) || 0);
    const take = Math.max(0, Math.trunc(limit) || 0);
    return this.read(() => {
      const index = this.loaded();
      if (!index) {
        const rows = take > 0 ? this.statement("page").all(...this.params, take, start) : [];
        return {
          items: rows.map((r) => this.item(r)),
          total: this.countAll(),
          version: this.version,
        };
      }
      let items = this.keysetPage(index, start, take);
      if (!items) {
        // The table changed without its triggers (or in an order SQLite sorts differently):
        // start over from the table and tell the listeners.
        this.reload();
        items = this.keysetPage(this.index!, start, take);
        if (!items) {
          throw new SockSyncError(ErrorCode.Other, "the table and its index disagree");
        }
      }
      return { items, total: this.index!.size, version: this.version };
    });
  }

  get(id: string): Promise<ListItem<T> | undefined> {
    return this.read(() => {
      const row = this.statement("get").get(...this.params, id);
      return row ? this.item(row) : undefined;
    });
  }

  indexOf(id: string): Promise<number> {
    return this.read(() => {
      const index = this.loaded();
      if (index) {
        const entry = this.entryOf(id);
        return entry ? index.rankOf(entry) : -1;
      }
      const row = this.statement("get").get(...this.params, id);
      if (!row) return -1;
      const values = keysetValues(this.order, this.order.map((t) => row[t.column]));
      return Number(this.statement("before").get(...this.params, ...values)?.n);
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
    if (this.listeners.has(listener)) return () => this.#unsubscribe(listener);
    this.listeners.add(listener);
    if (this.listeners.size === 1) {
      try {
        this.hub.enter(this);
        this.run(() => this.watcher.read(() => this.load()));
      } catch (error) {
        this.listeners.delete(listener);
        this.hub.leave(this);
        throw error;
      }
    }
    return () => this.#unsubscribe(listener);
  }

  /** Drops the listeners (and with them the index). */
  close(): Promise<void> {
    for (const listener of [...this.listeners]) this.#unsubscribe(listener);
    return Promise.resolve();
  }

  #unsubscribe(listener: ListListener<T>): void {
    if (!this.listeners.delete(listener) || this.listeners.size > 0) return;
    this.unload();
    this.hub.leave(this);
  }
}

/**
 * A live query over an application's own table (see {@linkcode SqliteTableSource}).
 * With `schema` (a valibot object schema) the item type is inferred from it, each
 * column's SQL type is checked against it now, and every row read is parsed by it; with
 * `columns` the item type is the one given. A missing table or column, or a column that
 * cannot give the schema's type, throws a `SockSyncError` naming it.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { openSqliteDriver } from "../driver.ts";
 * import { sqliteTable } from "./mod.ts";
 * const db = await openSqliteDriver(":memory:");
 * db.exec(`CREATE TABLE messages (id TEXT PRIMARY KEY, room TEXT NOT NULL,
 *   author TEXT NOT NULL, text TEXT NOT NULL, created_at BIGINT NOT NULL)`);
 * const general = sqliteTable({
 *   db, table: "messages", key: "id",
 *   orderBy: [{ column: "created_at", desc: true }, { column: "id", desc: true }],
 *   where: "room = :room", params: { room: "general" },
 *   schema: v.object({ author: v.string(), text: v.string(), created_at: v.number() }),
 * });
 * (await general.page(0, 50)).total; // 0
 * ```
 */
export function sqliteTable<S extends RowSchema>(
  options: SqliteTableOptions & { schema: S; columns?: undefined },
): SqliteTableSource<v.InferOutput<S>>;
/** The untyped form: the value `columns`, and the item type the caller gives. */
export function sqliteTable<T = Record<string, unknown>>(
  options: SqliteTableOptions & { columns: string[]; schema?: undefined },
): SqliteTableSource<T>;
/** Options built elsewhere, with `schema` or `columns`: the item type the caller gives. */
export function sqliteTable<T = Record<string, unknown>>(
  options: SqliteTableOptions,
): SqliteTableSource<T>;
export function sqliteTable(options: SqliteTableOptions): SqliteTableSource<unknown> {
  return new SqliteTableSource(options);
}
