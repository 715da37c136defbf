/**
 * One PostgreSQL database seen by table bindings: a pool for their statements and ONE
 * dedicated listening connection that hears the change triggers of every bound table
 * (`LISTEN` on one channel). A change is routed to the live queries it can touch (those
 * holding the row, those whose `column = :param` values it has, and those SQL must
 * decide for). When the listening connection drops, every live query reloads (a fresh
 * `set_all` for its views) once it is back; a payload that cannot be parsed is logged
 * once and does the same.
 *
 * @module
 */
import { ErrorCode, SockSyncError } from "../../../src/errors.ts";
import { openPgClient, type PgSql, quoteIdent } from "../driver.ts";
import { parsePayload, type PgKind } from "./sql.ts";

/**
 * A change as the trigger reports it: the row's columns as text, when it fitted.
 *
 * @internal
 */
export interface PgRowChange {
  op: "i" | "u" | "d";
  key: string;
  row: Record<string, string | null> | undefined;
}

/**
 * What the database needs from a live query.
 *
 * @internal
 */
export interface PgLiveQuery {
  /** Its `column = :param` columns and their values' text, when they alone decide a match. */
  readonly route: { columns: string[]; key: string } | undefined;
  /** Queues one change (`held`: the query holds the row now). */
  changed(change: PgRowChange): void;
  /** Queues a reload from the table (changes may have been missed); rejects when it failed. */
  reset(): Promise<void>;
}

/**
 * A bound table: its columns and its live queries.
 *
 * @internal
 */
export interface PgTable {
  /** Its oid. */
  oid: number;
  /** Its name as the application gave it. */
  name: string;
  /** The quoted, schema-qualified name. */
  quoted: string;
  /** Its key column. */
  key: string;
  /** Each column's kind. */
  kinds: Map<string, PgKind>;
  /** Routed live queries: by their columns (one entry per distinct WHERE), then by route key. */
  routes: Map<string, { columns: string[]; queries: Map<string, Set<PgLiveQuery>> }>;
  /** Live queries every change is offered to. */
  unrouted: Set<PgLiveQuery>;
  /** Which live queries hold each row, by key. */
  members: Map<string, Set<PgLiveQuery>>;
}

/**
 * The route key of column values as text.
 */
export function routeKey(values: (string | null | undefined)[]): string {
  return JSON.stringify(values);
}

/**
 * Adds a live query to its table's routes.
 */
export function enter(table: PgTable, query: PgLiveQuery): void {
  const route = query.route;
  if (!route) return void table.unrouted.add(query);
  const sig = JSON.stringify(route.columns);
  let family = table.routes.get(sig);
  if (!family) table.routes.set(sig, family = { columns: route.columns, queries: new Map() });
  let set = family.queries.get(route.key);
  if (!set) family.queries.set(route.key, set = new Set());
  set.add(query);
}

/** Removes a live query from its table's routes (see {@linkcode enter}). */
export function leave(table: PgTable, query: PgLiveQuery): void {
  const route = query.route;
  if (!route) return void table.unrouted.delete(query);
  const sig = JSON.stringify(route.columns);
  const family = table.routes.get(sig);
  const set = family?.queries.get(route.key);
  if (set?.delete(query) && set.size === 0) family!.queries.delete(route.key);
  if (family && family.queries.size === 0) table.routes.delete(sig);
}

/**
 * Options of {@linkcode openPostgresTables}.
 *
 * @example
 * ```ts
 * import type { PostgresTablesOptions } from "./db.ts";
 * const options: PostgresTablesOptions = { url: "postgres://postgres@127.0.0.1:5432/app" };
 * ```
 */
export interface PostgresTablesOptions {
  /** The database, `postgres://USER@HOST:PORT/DB`. */
  url: string;
  /** The NOTIFY channel of the triggers (default `socksync_tables`). */
  channel?: string;
  /** Connections for statements, besides the listening one (default 4). */
  maxConnections?: number;
  /** Where a bad payload or a failed reload is reported (default `console.error`). */
  onError?: (error: unknown) => void;
}

/**
 * A database for `postgresTable` (`postgres_table.ts`): open one per server process and
 * share it between bindings.
 *
 * @example
 * ```ts
 * import { openPostgresTables } from "./db.ts";
 * const db = await openPostgresTables({ url: "postgres://postgres@127.0.0.1:5432/postgres" });
 * await db.sql.unsafe("SELECT 1");
 * await db.close();
 * ```
 */
export class PostgresTables {
  /** The statement pool (postgres.js); the application may use it for its own SQL too. */
  readonly sql: PgSql;
  /** The NOTIFY channel. */
  readonly channel: string;
  /** Error sink. */
  readonly onError: (error: unknown) => void;
  readonly #tables = new Map<number, PgTable>();
  readonly #binding = new Map<string, Promise<PgTable>>();
  readonly #listener: PgSql;
  #badPayload = false;
  #closed = false;
  #listening = false;
  #relistening = false;

  private constructor(sql: PgSql, listener: PgSql, options: PostgresTablesOptions) {
    this.sql = sql;
    this.#listener = listener;
    this.channel = options.channel ?? "socksync_tables";
    this.onError = options.onError ?? ((error) => console.error(error));
  }

  /** Opens the pool and the listening connection. */
  static async open(options: PostgresTablesOptions): Promise<PostgresTables> {
    const common = { connect_timeout: 5, onnotice: () => {} };
    const sql = await openPgClient(options.url, { ...common, max: options.maxConnections ?? 4 });
    const ref: { db?: PostgresTables } = {};
    const listener = await openPgClient(options.url, {
      ...common,
      max: 1,
      idle_timeout: null,
      max_lifetime: null,
      fetch_types: false,
      onnotify: (channel, payload) => {
        if (ref.db && channel === ref.db.channel) ref.db.#deliver(payload);
      },
      onclose: () => {
        if (ref.db) void ref.db.#relisten();
      },
    });
    const db = ref.db = new PostgresTables(sql, listener, options);
    try {
      await db.#relisten();
      if (!db.#listening) throw new Error("could not listen");
    } catch (error) {
      await Promise.allSettled([sql.end({ timeout: 0 }), listener.end({ timeout: 0 })]);
      throw new SockSyncError(
        ErrorCode.Other,
        `PostgreSQL unavailable: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    return db;
  }

  /** The bound table `name` (checked, its trigger installed), once per table. */
  table(
    name: string,
    key: string,
    install: (db: PostgresTables) => Promise<PgTable>,
  ): Promise<PgTable> {
    let bound = this.#binding.get(name);
    if (!bound) {
      bound = install(this).then((table) => {
        this.#tables.set(table.oid, table);
        return table;
      });
      bound.catch(() => this.#binding.delete(name));
      this.#binding.set(name, bound);
    }
    return bound.then((table) => {
      if (table.key !== key) {
        throw new SockSyncError(ErrorCode.Other, `table "${name}" is bound by key ${table.key}`);
      }
      return table;
    });
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([this.sql.end({ timeout: 1 }), this.#listener.end({ timeout: 1 })]);
  }

  #deliver(text: string): void {
    const change = parsePayload(text);
    if (!change) {
      if (!this.#badPayload) {
        this.#badPayload = true;
        this.onError(
          new Error(`socksync: a NOTIFY on "${this.channel}" could not be parsed; views reset`),
        );
      }
      return this.#resetAll();
    }
    const table = this.#tables.get(change.t);
    if (!table) return;
    const rowChange: PgRowChange = {
      op: change.o as PgRowChange["op"],
      key: change.k,
      row: change.r,
    };
    const touched = new Set(table.members.get(change.k));
    for (const query of table.unrouted) touched.add(query);
    if (change.o !== "d") {
      for (const family of table.routes.values()) {
        if (change.r) {
          const route = routeKey(family.columns.map((c) => change.r![c]));
          for (const query of family.queries.get(route) ?? []) touched.add(query);
        } else {
          // No row in the payload: only SQL can tell which routed queries want it.
          for (const set of family.queries.values()) for (const query of set) touched.add(query);
        }
      }
    }
    for (const query of touched) query.changed(rowChange);
  }

  #resetAll(): void {
    for (const table of this.#tables.values()) {
      for (const query of table.unrouted) this.#reset(query);
      for (const family of table.routes.values()) {
        for (const set of family.queries.values()) for (const query of set) this.#reset(query);
      }
    }
  }

  // A reload that failed (its statement connection cut along with the listening one) is
  // tried again: the changes it was to pick up come in no notification.
  #reset(query: PgLiveQuery, attempt = 0): void {
    query.reset().catch(() => {
      if (this.#closed) return;
      setTimeout(() => this.#reset(query, attempt + 1), Math.min(50 * 2 ** attempt, 1000));
    });
  }

  // LISTENs again after the connection dropped (with backoff while the database is
  // down), then every live query reloads: changes made meanwhile were not heard.
  async #relisten(): Promise<void> {
    if (this.#relistening || this.#closed) return;
    this.#relistening = true;
    const reconnect = this.#listening;
    this.#listening = false;
    try {
      for (let attempt = 0; !this.#closed; attempt++) {
        try {
          await this.#listener.unsafe(`LISTEN ${quoteIdent(this.channel)}`);
          this.#listening = true;
          break;
        } catch (error) {
          if (!reconnect && attempt === 0) throw error;
          await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 1000)));
        }
      }
    } finally {
      this.#relistening = false;
    }
    if (reconnect) this.#resetAll();
  }
}

/**
 * Opens a database for table bindings (see {@linkcode PostgresTables}).
 *
 * @example
 * ```ts
 * import { openPostgresTables } from "./db.ts";
 * const db = await openPostgresTables({ url: "postgres://postgres@127.0.0.1:5432/postgres" });
 * await db.close();
 * ```
 */
export function openPostgresTables(options: PostgresTablesOptions): Promise<PostgresTables> {
  return PostgresTables.open(options);
}
