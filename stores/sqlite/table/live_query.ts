/**
 * The live half of a table query: binding (checks, statements, routing), the rank index
 * over (ORDER BY values, key) and the reconciliation of one changed row with it. The
 * read-only list facade is `SqliteTableSource` in `sqlite_table.ts`.
 *
 * @module
 */
import { ErrorCode, isSockSyncError, SockSyncError } from "../../../src/errors.ts";
import type { ListChange, ListItem, ListListener } from "../../../src/store.ts";
import { compareSqlValues, RankIndex } from "../../table/rank_index.ts";
import type { SqliteChangeWatcher } from "../changes.ts";
import type { SqlValue } from "../../table/sql_value.ts";
import type { SqliteDriver, SqliteStatement } from "../driver.ts";
import {
  bindRowSchema,
  type JsKind,
  type RowReader,
  type RowSchema,
  schemaColumns,
} from "../../table/row_schema.ts";
import { type Family, type LiveQuery, type QueryEntry, type Row, TableHub } from "./table_hub.ts";
import { bindWhere, keysetValues, type OrderTerm } from "../../table/where.ts";
import {
  compareKeys,
  completeOrder,
  type QueryStatement,
  queryStatements,
  rowValue,
} from "../../table/sql.ts";

/**
 * Options for `sqliteTable` (`sqlite_table.ts`).
 *
 * @example
 * ```ts
 * import type { SqliteTableOptions } from "./mod.ts";
 * import { openSqliteDriver } from "../driver.ts";
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
  /**
   * The columns that make an item's value, an object with these keys: the
   * untyped form (the item type is then whatever the caller asserts). Give
   * `schema` instead to have the type inferred and checked.
   */
  columns?: string[];
  /**
   * The row's valibot object schema (as `hub.list` takes): its keys are the
   * value columns, its output the item type. Each column's SQL type is checked
   * against it at bind time and every row read is parsed by it.
   */
  schema?: RowSchema;
}

// What each affinity's values come as (integers beyond 2^53 as their decimal text).
const GIVES: Record<string, JsKind[]> = {
  INTEGER: ["number"],
  REAL: ["number"],
  NUMERIC: ["number", "string"],
  TEXT: ["string"],
  BLOB: ["string", "number"],
};

/**
 * The refusal of a nullable ORDER BY column: SQLite cannot add NOT NULL in
 * place, so the message says how to get there.
 */
function nullableOrderMessage(table: string, column: string): string {
  return `ORDER BY column "${column}" of "${table}" must be NOT NULL (SQLite cannot add NOT NULL ` +
    `to a column in place: recreate "${table}" with "${column}" NOT NULL, after ` +
    `UPDATE "${table}" SET "${column}" = … WHERE "${column}" IS NULL)`;
}

// Rows per statement while loading the index.
const LOAD_CHUNK = 4096;

/**
 * The live part of `SqliteTableSource` (`sqlite_table.ts`): what a table hub calls.
 *
 * @internal
 */
export abstract class LiveTableQuery<T> implements LiveQuery {
  /** The queries sharing this one's WHERE. */
  readonly family: Family;
  /** This query's equality values, for routing. */
  readonly routeKey: string | undefined;
  /** The table's hub. */
  protected readonly hub: TableHub;
  /** The database's change watcher. */
  protected readonly watcher: SqliteChangeWatcher;
  /** The ORDER BY, ending with the key. */
  protected readonly order: OrderTerm[];
  /** The value columns. */
  protected readonly columns: string[];
  /** How rows are read for the schema, when there is one. */
  readonly #reader: RowReader | undefined;
  /** The WHERE's bound values. */
  protected readonly params: SqlValue[];
  /** The listeners. */
  protected readonly listeners: Set<ListListener<T>> = new Set();
  /** The rank index, kept while anything listens. */
  protected index: RankIndex<QueryEntry> | undefined;
  /** The version: one more per change emitted. */
  protected version = 0;
  readonly #sql: Record<QueryStatement, string>;

  /**
   * Binds the query; the table, its columns and the WHERE are checked now.
   *
   * @param options see {@linkcode SqliteTableOptions}
   */
  constructor(options: SqliteTableOptions) {
    const { table, key } = options;
    const hub = this.hub = TableHub.of(options.db, table, key);
    this.watcher = hub.watcher;
    const order = completeOrder(options.orderBy, key);
    // Checked against fresh metadata when the cached columns refuse (the table may have changed).
    const check = () => {
      for (const term of order) {
        if (term.column !== key && !hub.require(term.column).notNull) {
          throw new SockSyncError(ErrorCode.Other, nullableOrderMessage(table, term.column));
        }
      }
      return options.schema
        ? bindRowSchema(
          table,
          options.schema,
          schemaColumns(options.schema).map((name) => {
            const column = hub.require(name);
            return {
              name,
              sqlType: column.type || "(no type)",
              gives: GIVES[column.affinity] ?? ["string", "number"],
              nullable: !column.notNull,
              intBool: column.affinity === "INTEGER" || column.affinity === "NUMERIC",
            };
          }),
        )
        : undefined;
    };
    try {
      this.#reader = check();
    } catch (error) {
      if (!hub.refresh()) throw error;
      this.#reader = check();
    }
    this.order = order;
    this.columns = options.schema ? schemaColumns(options.schema) : [...options.columns ?? []];
    this.family = hub.family(options.where, [...order.map((t) => t.column), ...this.columns]);
    this.params = bindWhere(this.family.where, options.params ?? {});
    this.routeKey = this.family.routeOf(options.params ?? {});
    this.#sql = queryStatements({
      table,
      key,
      order,
      columns: this.columns,
      where: this.family.where.sql,
    });
    // Prepared now, so a bad WHERE or column fails at bind time, not on first read.
    this.run(() => this.statement("get"));
  }

  /** Inside the watcher's read: brings the index up to date with one changed row. */
  reconcile(id: string, key: SqlValue, row: Row | undefined, old: QueryEntry | undefined): void {
    const index = this.index;
    if (!index) return;
    const matches = row !== undefined &&
      (this.routeKey !== undefined
        ? this.family.routeOfRow(row) === this.routeKey
        : this.statement("get").get(...this.params, key) !== undefined);
    if (!matches) {
      if (!old) return;
      const at = index.remove(old);
      this.hub.unlink(old);
      return this.emit({ op: "delete", index: at, id, total: index.size, version: 0 });
    }
    const sortKey = this.order.map((t) => t.column === this.hub.key ? key : row[t.column]);
    const value = this.#value(row);
    if (!old) {
      const entry: QueryEntry = { id, key: sortKey, query: this };
      const at = index.insert(entry);
      this.hub.link(entry);
      return this.emit({ op: "insert", index: at, id, value, total: index.size, version: 0 });
    }
    if (sortKey.every((v, i) => compareSqlValues(v, old.key[i]) === 0)) {
      const at = index.rankOf(old);
      return this.emit({ op: "set", index: at, id, value, total: index.size, version: 0 });
    }
    const from = index.remove(old);
    old.key = sortKey;
    const to = index.insert(old);
    if (from === to) {
      return this.emit({ op: "set", index: to, id, value, total: index.size, version: 0 });
    }
    this.emit({ op: "delete", index: from, id, total: index.size - 1, version: 0 });
    this.emit({ op: "insert", index: to, id, value, total: index.size, version: 0 });
  }

  /** Inside the watcher's read: rebuilds the index from the table and emits a reset. */
  reload(): void {
    if (!this.index) return;
    this.unload();
    this.load();
    this.emit({ op: "reset", version: 0 });
  }

  /**
   * Inside a read: the index, loaded again (with a reset) if a failed reload lost it
   * while listeners remain; `undefined` while nothing listens.
   */
  protected loaded(): RankIndex<QueryEntry> | undefined {
    if (!this.index && this.listeners.size > 0) {
      this.load();
      this.emit({ op: "reset", version: 0 });
    }
    return this.index;
  }

  /** Inside a read: loads the index with one ordered scan of the query. */
  protected load(): void {
    const entries: QueryEntry[] = [];
    const key = this.hub.key;
    let rows = this.statement("scan").all(...this.params, LOAD_CHUNK);
    while (rows.length > 0) {
      for (const row of rows) {
        const sortKey = this.order.map((t) => row[t.column]);
        const entry: QueryEntry = { id: String(row[key]), key: sortKey, query: this };
        if (entries.length > 0 && this.#compare(entries[entries.length - 1], entry) >= 0) {
          throw new SockSyncError(
            ErrorCode.Other,
            `table "${this.hub.table}": ORDER BY needs the BINARY collation`,
          );
        }
        entries.push(entry);
      }
      if (rows.length < LOAD_CHUNK) break;
      const last = entries[entries.length - 1].key;
      rows = this.statement("scanNext").all(
        ...this.params,
        ...keysetValues(this.order, last),
        LOAD_CHUNK,
      );
    }
    this.index = RankIndex.from(entries, (a, b) => this.#compare(a, b));
    for (const entry of entries) this.hub.link(entry);
    this.version++;
  }

  /** Drops the index and its memberships. */
  protected unload(): void {
    const index = this.index;
    if (!index) return;
    for (const entry of index.from(0)) this.hub.unlink(entry);
    this.index = undefined;
  }

  /** A page read from the table starting at the index's entry at `start`, or `null` when the table and the index disagree. */
  protected keysetPage(
    index: RankIndex<QueryEntry>,
    start: number,
    take: number,
  ): ListItem<T>[] | null {
    const first = index.at(start);
    if (!first || take === 0) return [];
    const n = Math.min(take, index.size - start);
    const rows = this.statement("from").all(
      ...this.params,
      ...keysetValues(this.order, first.key),
      n,
    );
    const items = rows.map((r) => this.item(r));
    let i = start;
    for (const entry of index.from(start)) {
      if (i - start >= n) break;
      if (items[i - start]?.id !== entry.id) return null;
      i++;
    }
    return items.length === n ? items : null;
  }

  #compare(a: QueryEntry, b: QueryEntry): number {
    return compareKeys(this.order, a.key, b.key);
  }

  /** This query's entry for an item id, if it holds the row. */
  protected entryOf(id: string): QueryEntry | undefined {
    const held = this.hub.members.get(id);
    if (held === undefined) return undefined;
    if (!Array.isArray(held)) return held.query === this ? held : undefined;
    return held.find((e) => e.query === this);
  }

  /** COUNT(*) of the query. */
  protected countAll(): number {
    return Number(this.statement("count").get(...this.params)?.n);
  }

  /** A row as an item. */
  protected item(row: Row | Record<string, SqlValue>): ListItem<T> {
    return { id: String(row[this.hub.key]), value: this.#value(row) };
  }

  #value(row: Row): T {
    const value = rowValue(row, this.columns);
    return (this.#reader ? this.#reader.read(value, String(row[this.hub.key])) : value) as T;
  }

  /** Stamps a change with the next version and queues it for the listeners, after the read. */
  protected emit(change: ListChange<T>): void {
    const stamped = { ...change, version: ++this.version } as ListChange<T>;
    const listeners = [...this.listeners];
    this.watcher.afterRead(() => {
      for (const listener of listeners) listener(stamped);
    });
  }

  /** A statement of this query, prepared once per connection. */
  protected statement(name: QueryStatement): SqliteStatement {
    return this.watcher.statement(this.#sql[name]);
  }

  /** Runs `body` in a read of the watcher (changes applied first); SQL errors become code 8. */
  protected read<R>(body: () => R): Promise<R> {
    try {
      return Promise.resolve(this.run(() => this.watcher.read(body)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Runs `body`; SQL errors become code 8 with a message that carries no SQL text or data. */
  protected run<R>(body: () => R): R {
    try {
      return body();
    } catch (error) {
      if (isSockSyncError(error)) throw error;
      const wrapped = new SockSyncError(
        ErrorCode.Other,
        `table "${this.hub.table}": the database query failed`,
      );
      (wrapped as { cause?: unknown }).cause = error;
      throw wrapped;
    }
  }
}
