/**
 * A live, sorted, filtered query over an application's own PostgreSQL table, as a
 * read-only {@linkcode ListSource}: {@linkcode postgresTable}, the same binding as
 * `sqliteTable`. Writes are anyone's SQL (the application, `psql`, another service);
 * a trigger announces each row change with `pg_notify`, the database's one listening
 * connection hears it, and the query turns it into `insert`, `delete` and `set`
 * changes with exact indexes from an order-statistic index over (ORDER BY values, key)
 * kept while anything listens.
 *
 * @module
 */
import { ErrorCode, isSockSyncError, SockSyncError } from "../../../src/errors.ts";
import type {
  ListChange,
  ListItem,
  ListListener,
  ListPage,
  ListSource,
} from "../../../src/store.ts";
import { bindQuery, type BoundQuery, param, type PostgresTableOptions, sortValue } from "./bind.ts";
import { enter, leave, type PgLiveQuery, type PgRowChange, routeKey } from "./db.ts";
import { fromText } from "./sql.ts";
import type { SqlValue } from "../../table/sql_value.ts";
import { type Entry, LiveIndex } from "./index.ts";
import { keysetValues } from "../../table/where.ts";
import type * as v from "valibot";
import type { RowSchema } from "../../table/row_schema.ts";

export { openPostgresTables, PostgresTables } from "./db.ts";
export type { PostgresTablesOptions } from "./db.ts";
export type { PostgresTableOptions } from "./bind.ts";
export type { OrderTerm } from "../../table/where.ts";
export type { RowSchema } from "../../table/row_schema.ts";

const READ_ONLY = "this list is a table query: write the table with SQL";
const LOAD_CHUNK = 4096;

type TextRow = Record<string, unknown>;

/**
 * A live query over a PostgreSQL table (see {@linkcode postgresTable}).
 *
 * @example
 * ```ts
 * import { openPostgresTables, postgresTable } from "./mod.ts";
 * const db = await openPostgresTables({ url: "postgres://postgres@127.0.0.1:5432/postgres" });
 * await db.sql.unsafe("CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY, text TEXT NOT NULL)");
 * const notes = postgresTable({ db, table: "notes", key: "id", columns: ["text"] });
 * const stop = notes.subscribe((change) => console.log(change.op));
 * await db.sql.unsafe("INSERT INTO notes VALUES ('a', 'milk')"); // soon logs "insert"
 * stop();
 * await db.close();
 * ```
 */
export class PostgresTableSource<T = Record<string, unknown>>
  implements ListSource<T>, PgLiveQuery {
  readonly #options: PostgresTableOptions;
  #bound: Promise<BoundQuery> | undefined;
  #query: BoundQuery | undefined;
  #index: LiveIndex | undefined;
  readonly #listeners = new Set<ListListener<T>>();
  #version = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #entered = false;

  /** Binds lazily: the first read or subscription checks the table. */
  constructor(options: PostgresTableOptions) {
    this.#options = { ...options, columns: options.columns && [...options.columns] };
  }

  /** The route of this query (known once bound). */
  get route(): BoundQuery["route"] {
    return this.#query?.route;
  }

  /** Whether the index is loaded (a listener is subscribed). */
  get live(): boolean {
    return this.#index !== undefined;
  }

  count(): Promise<number> {
    return this.#serial(async (q) =>
      this.#live() ?? Number((await this.#sql(q.sql.count, q.params))[0].n)
    );
  }

  async page(offset: number, limit: number): Promise<ListPage<T>> {
    const start = Math.max(0, Math.trunc(offset) || 0);
    const take = Math.max(0, Math.trunc(limit) || 0);
    // A page read while a change is on its way disagrees with the index: wait for it.
    for (let attempt = 0;; attempt++) {
      const page = await this.#serial(async (q) => {
        if (this.#live() === undefined) {
          const rows = take > 0 ? await this.#sql(q.sql.page, [...q.params, take, start]) : [];
          const total = Number((await this.#sql(q.sql.count, q.params))[0].n);
          return { items: rows.map((r) => this.#item(r)), total, version: this.#version };
        }
        const index = this.#index!;
        const items = await this.#keysetPage(q, index, start, take);
        if (!items && attempt >= 20) await this.#reload(q);
        return items ? { items, total: index.size, version: this.#version } : undefined;
      });
      if (page) return page;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  get(id: string): Promise<ListItem<T> | undefined> {
    return this.#serial(async (q) => {
      const [row] = await this.#sql(q.sql.get, [...q.params, id]);
      return row ? this.#item(row) : undefined;
    });
  }

  indexOf(id: string): Promise<number> {
    return this.#serial(async (q) => {
      if (this.#live() !== undefined) {
        return this.#index!.rankOf(id);
      }
      const [row] = await this.#sql(q.sql.get, [...q.params, id]);
      if (!row) return -1;
      const key = this.#sortKey(q, row);
      const [n] = await this.#sql(q.sql.before, [...q.params, ...this.#keyset(q, key)]);
      return Number(n.n);
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
    const stop = () => this.#unsubscribe(listener);
    if (this.#listeners.has(listener)) return stop;
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) {
      this.#serial(async (q) => {
        if (this.#listeners.size === 0 || this.#entered) return;
        enter(q.table, this);
        this.#entered = true;
        await this.#load(q);
      }).catch((error) => this.#options.db.onError(error));
    }
    return stop;
  }

  /** Drops the listeners (and with them the index). */
  close(): Promise<void> {
    for (const listener of [...this.#listeners]) this.#unsubscribe(listener);
    return this.#queue.then(() => {}, () => {});
  }

  /** From the database: one row changed (applied in arrival order). */
  changed(change: PgRowChange): void {
    this.#serial((q) => this.#apply(q, change)).catch((error) => this.#options.db.onError(error));
  }

  /**
   * From the database: changes may have been missed; reload and tell the listeners.
   * Rejects when the reload failed (the database asks again).
   */
  reset(): Promise<void> {
    return this.#serial((q) => this.#reload(q)).catch((error) => {
      this.#options.db.onError(error);
      throw error;
    });
  }

  #unsubscribe(listener: ListListener<T>): void {
    if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return;
    this.#serial((q) => {
      if (this.#listeners.size > 0 || !this.#entered) return Promise.resolve();
      leave(q.table, this);
      this.#entered = false;
      this.#unload();
      return Promise.resolve();
    }).catch(() => {});
  }

  /** The live size, or `undefined` when nothing listens (reads go to SQL then). */
  #live(): number | undefined {
    return this.#index?.size;
  }

  async #apply(q: BoundQuery, change: PgRowChange): Promise<void> {
    if (!this.#index) return;
    let row: TextRow | undefined;
    if (change.op !== "d") {
      if (q.route && change.row) {
        const route = routeKey(q.route.columns.map((c) => change.row![c]));
        row = route === q.route.key ? change.row : undefined;
      } else {
        [row] = await this.#sql(q.sql.get, [...q.params, change.key]);
      }
    }
    const changes = row
      ? this.#index.reconcile<T>(change.key, this.#sortKey(q, row), this.#value(row))
      : this.#index.reconcile<T>(change.key, undefined, undefined as T);
    for (const c of changes) this.#emit(c);
  }

  async #reload(q: BoundQuery): Promise<void> {
    if (!this.#entered) return;
    this.#unload();
    await this.#load(q);
    this.#emit({ op: "reset", version: 0 });
  }

  async #load(q: BoundQuery): Promise<void> {
    const entries: Entry[] = [];
    const index = new LiveIndex(this, q.order, q.table);
    let rows = await this.#sql(q.sql.scan, [...q.params, LOAD_CHUNK]);
    while (rows.length > 0) {
      for (const row of rows) {
        const entry = { id: String(row[q.table.key]), key: this.#sortKey(q, row) };
        if (entries.length > 0 && !index.before(entries[entries.length - 1], entry)) {
          throw new SockSyncError(ErrorCode.Other, `table "${q.table.name}": rows out of order`);
        }
        entries.push(entry);
      }
      if (rows.length < LOAD_CHUNK) break;
      const last = entries[entries.length - 1].key;
      rows = await this.#sql(q.sql.scanNext, [...q.params, ...this.#keyset(q, last), LOAD_CHUNK]);
    }
    index.fill(entries);
    this.#index = index;
    this.#version++;
  }

  #unload(): void {
    this.#index?.clear();
    this.#index = undefined;
  }

  async #keysetPage(q: BoundQuery, index: LiveIndex, start: number, take: number) {
    const first = index.at(start);
    if (!first || take === 0) return [];
    const n = Math.min(take, index.size - start);
    const rows = await this.#sql(q.sql.from, [...q.params, ...this.#keyset(q, first.key), n]);
    const items = rows.map((r) => this.#item(r));
    let i = 0;
    for (const entry of index.from(start)) {
      if (i >= n) break;
      if (items[i]?.id !== entry.id) return null;
      i++;
    }
    return items.length === n ? items : null;
  }

  #sortKey(q: BoundQuery, row: TextRow): SqlValue[] {
    return q.order.map((t) => sortValue(row[t.column], q.table.kinds.get(t.column)!));
  }

  #keyset(q: BoundQuery, key: SqlValue[]): (string | null)[] {
    return keysetValues(q.order, key).map(param);
  }

  #item(row: TextRow): ListItem<T> {
    return { id: String(row[this.#options.key]), value: this.#value(row) };
  }

  #value(row: TextRow): T {
    const { table, columns, reader } = this.#query!;
    const value: Record<string, unknown> = {};
    for (const column of columns) {
      const kind = reader?.exactText.has(column) ? "text" : table.kinds.get(column)!;
      value[column] = fromText(row[column], kind);
    }
    return (reader ? reader.read(value, String(row[this.#options.key])) : value) as T;
  }

  #emit(change: ListChange<T>): void {
    const stamped = { ...change, version: ++this.#version } as ListChange<T>;
    for (const listener of [...this.#listeners]) listener(stamped);
  }

  /** Runs `body` after everything queued before it, with the bound query; SQL errors become code 8. */
  #serial<R>(body: (q: BoundQuery) => Promise<R>): Promise<R> {
    const run = async () => {
      this.#bound ??= bindQuery(this.#options);
      this.#bound.catch(() => this.#bound = undefined);
      const q = this.#query = await this.#bound;
      return await body(q);
    };
    const result = this.#queue.then(run, run).catch((error) => {
      throw this.#wrap(error);
    });
    this.#queue = result.catch(() => {});
    return result;
  }

  #sql(text: string, params: (string | number | null)[]): Promise<TextRow[]> {
    return this.#options.db.sql.unsafe(text, params);
  }

  #wrap(error: unknown): SockSyncError {
    if (isSockSyncError(error)) return error;
    const wrapped = new SockSyncError(
      ErrorCode.Other,
      `table "${this.#options.table}": the database query failed`,
    );
    (wrapped as { cause?: unknown }).cause = error;
    return wrapped;
  }
}

/**
 * A live query over an application's own PostgreSQL table (see
 * {@linkcode PostgresTableSource}). A missing table or column fails the first read with
 * a `SockSyncError` naming it.
 *
 * @example
 * ```ts
 * import { openPostgresTables, postgresTable } from "./mod.ts";
 * const db = await openPostgresTables({ url: "postgres://postgres@127.0.0.1:5432/postgres" });
 * await db.sql.unsafe(`CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY,
 *   room TEXT NOT NULL, author TEXT NOT NULL, text TEXT NOT NULL, created_at BIGINT NOT NULL)`);
 * const general = postgresTable({
 *   db, table: "messages", key: "id",
 *   orderBy: [{ column: "created_at", desc: true }, { column: "id", desc: true }],
 *   where: "room = :room", params: { room: "general" },
 *   columns: ["room", "author", "text", "created_at"],
 * });
 * (await general.page(0, 50)).items;
 * await db.close();
 * ```
 */
export function postgresTable<S extends RowSchema>(
  options: PostgresTableOptions & { schema: S; columns?: undefined },
): PostgresTableSource<v.InferOutput<S>>;
/** The untyped form: the value `columns`, and the item type the caller gives. */
export function postgresTable<T = Record<string, unknown>>(
  options: PostgresTableOptions & { columns: string[]; schema?: undefined },
): PostgresTableSource<T>;
/** Options built elsewhere, with `schema` or `columns`: the item type the caller gives. */
export function postgresTable<T = Record<string, unknown>>(
  options: PostgresTableOptions,
): PostgresTableSource<T>;
export function postgresTable(options: PostgresTableOptions): PostgresTableSource<unknown> {
  return new PostgresTableSource(options);
}
