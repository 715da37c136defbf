/**
 * The per-table side of table bindings: one {@linkcode TableHub} per watched table reads
 * each changed row once and hands it only to the live queries it can touch: those that
 * hold the row now and those whose `column = :param` conjuncts its new values satisfy
 * (a hash lookup per distinct WHERE, not a scan over the queries).
 *
 * @module
 */
import { ErrorCode, SockSyncError } from "../../../src/errors.ts";
import { type ChangeConsumer, changeWatcher, type SqliteChangeWatcher } from "../changes.ts";
import { quoteIdent, type SqlValue } from "../../table/sql_value.ts";
import { type CompiledWhere, compileWhere } from "../../table/where.ts";
import type { SqliteDriver } from "../driver.ts";

/** A row as read from the table: the columns any live query needs. */
export type Row = Record<string, SqlValue>;

/**
 * One row's place in one live query.
 */
export interface QueryEntry {
  /** The row's key as an item id. */
  readonly id: string;
  /** The ORDER BY values, the key column last. */
  key: SqlValue[];
  /** The query holding it. */
  readonly query: LiveQuery;
}

/**
 * What a hub needs from a live query.
 */
export interface LiveQuery {
  /** The queries sharing its WHERE. */
  readonly family: Family;
  /** Its equality parameters, tagged (see {@linkcode tagValue}); `undefined` when SQL must decide. */
  readonly routeKey: string | undefined;
  /** Brings the query up to date with one row (`undefined`: the row is gone). */
  reconcile(id: string, key: SqlValue, row: Row | undefined, old: QueryEntry | undefined): void;
  /** Rebuilds from the table and tells the listeners to re-read. */
  reload(): void;
}

/**
 * Values that compare in JS exactly as SQLite's `=` does for this column affinity get a
 * tag; anything else (a NULL, a blob, a real, a string against a numeric column) gets
 * `undefined` and leaves the decision to SQL.
 */
export function tagValue(value: unknown, affinity: string): string | undefined {
  if (affinity === "TEXT" && typeof value === "string") return "s" + value;
  if ((affinity === "INTEGER" || affinity === "NUMERIC") && Number.isSafeInteger(value)) {
    return "n" + value;
  }
  return undefined;
}

/**
 * The live queries of one table that share a WHERE, indexed by their equality values.
 */
export class Family {
  /** The compiled WHERE. */
  readonly where: CompiledWhere;
  /** Live queries by route key. */
  readonly routes: Map<string, Set<LiveQuery>> = new Map();
  /** Live queries every changed row must be checked against. */
  readonly unrouted: Set<LiveQuery> = new Set();
  readonly #affinities: string[];

  /**
   * An empty family.
   *
   * @param where the compiled WHERE
   * @param affinities the affinity of each equality's column, or [] when nothing routes
   */
  constructor(where: CompiledWhere, affinities: string[]) {
    this.where = where;
    this.#affinities = affinities;
  }

  /** The route key of a query's parameters, or `undefined` when SQL must decide. */
  routeOf(params: Record<string, unknown>): string | undefined {
    if (this.#affinities.length === 0) return undefined;
    let key = "";
    for (const [i, { param }] of this.where.equalities.entries()) {
      const tag = tagValue(params[param], this.#affinities[i]);
      if (tag === undefined) return undefined;
      key += tag + "\u0000";
    }
    return key;
  }

  /** The route key of a row, or `undefined` when it can match no routed query. */
  routeOfRow(row: Row): string | undefined {
    let key = "";
    for (const [i, { column }] of this.where.equalities.entries()) {
      const tag = tagValue(row[column], this.#affinities[i]);
      if (tag === undefined) return undefined;
      key += tag + "\u0000";
    }
    return key;
  }

  /** Adds a query that went live. */
  add(query: LiveQuery): void {
    const route = query.routeKey;
    if (route === undefined) return void this.unrouted.add(query);
    let set = this.routes.get(route);
    if (!set) this.routes.set(route, set = new Set());
    set.add(query);
  }

  /** Removes a query that stopped listening. */
  remove(query: LiveQuery): void {
    const route = query.routeKey;
    if (route === undefined) return void this.unrouted.delete(query);
    const set = this.routes.get(route);
    if (set?.delete(query) && set.size === 0) this.routes.delete(route);
  }
}

/**
 * Column facts from `PRAGMA table_info`.
 */
export interface Column {
  /** Its name. */
  name: string;
  /** Its declared type, as written in CREATE TABLE ("" for none). */
  type: string;
  /** Its type affinity: TEXT, INTEGER, NUMERIC, REAL or BLOB. */
  affinity: string;
  /** Whether it can never hold NULL. */
  notNull: boolean;
}

/** SQLite's affinity rules for a declared column type. */
function affinityOf(type: string): string {
  const t = type.toUpperCase();
  if (t.includes("INT")) return "INTEGER";
  if (t.includes("CHAR") || t.includes("CLOB") || t.includes("TEXT")) return "TEXT";
  if (t === "" || t.includes("BLOB")) return "BLOB";
  if (t.includes("REAL") || t.includes("FLOA") || t.includes("DOUB")) return "REAL";
  return "NUMERIC";
}

const hubs = new WeakMap<SqliteChangeWatcher, Map<string, TableHub>>();

/**
 * One watched table: its columns, its families of live queries, which live queries hold
 * each row, and the change consumer that reconciles them.
 */
export class TableHub implements ChangeConsumer {
  /** The shared watcher of the database. */
  readonly watcher: SqliteChangeWatcher;
  /** The table. */
  readonly table: string;
  /** Its key column. */
  readonly key: string;
  /** Its columns by name. */
  readonly columns: Map<string, Column> = new Map();
  /** Which live queries hold each row, by item id. */
  readonly members: Map<string, QueryEntry | QueryEntry[]> = new Map();
  readonly #families = new Map<string, Family>();
  readonly #needed = new Set<string>();
  readonly #collated: boolean;
  #readRow = "";
  #live = 0;
  #stop: (() => void) | undefined;

  /** The hub of `table` on this database, created (and its triggers installed) on first use. */
  static of(db: SqliteDriver, table: string, key: string): TableHub {
    const watcher = changeWatcher(db);
    let map = hubs.get(watcher);
    if (!map) hubs.set(watcher, map = new Map());
    let hub = map.get(table);
    if (!hub) map.set(table, hub = new TableHub(watcher, table, key));
    if (hub.key !== key) {
      throw new SockSyncError(ErrorCode.Other, `table "${table}" is bound by key ${hub.key}`);
    }
    return hub;
  }

  private constructor(watcher: SqliteChangeWatcher, table: string, key: string) {
    this.watcher = watcher;
    this.table = table;
    this.key = key;
    const master = watcher.statement(
      "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
    ).get(table);
    if (!master) {
      throw new SockSyncError(ErrorCode.Other, `table "${table}" does not exist in the database`);
    }
    // A COLLATE anywhere may change what `=` means: let SQL decide every match then.
    this.#collated = /\bCOLLATE\b/i.test(String(master.sql));
    this.#readColumns();
    this.require(key);
    watcher.watch(table, key);
    this.#need([key]);
  }

  /**
   * Reads the columns again (after a bind refused them: the table may have
   * been changed since); whether anything changed. Columns only get added or
   * changed: live queries keep theirs.
   */
  refresh(): boolean {
    const before = JSON.stringify([...this.columns.values()]);
    this.#readColumns();
    return JSON.stringify([...this.columns.values()]) !== before;
  }

  #readColumns(): void {
    for (
      const row of this.watcher.statement(`PRAGMA table_info(${quoteIdent(this.table)})`).all()
    ) {
      const name = String(row.name);
      const type = String(row.type ?? "");
      this.columns.set(name, {
        name,
        type,
        affinity: affinityOf(type),
        notNull: Number(row.notnull) === 1 || Number(row.pk) > 0 && /INT/i.test(type),
      });
    }
  }

  /** Throws a clear error unless the table has this column. */
  require(column: string): Column {
    const found = this.columns.get(column);
    if (!found) {
      throw new SockSyncError(ErrorCode.Other, `table "${this.table}" has no column "${column}"`);
    }
    return found;
  }

  /** The family of queries with this WHERE (created on first use). */
  family(where: string | undefined, needed: string[]): Family {
    const text = where ?? "";
    let family = this.#families.get(text);
    if (!family) {
      const compiled = compileWhere(text, [...this.columns.keys()]);
      const routable = !compiled.rest && compiled.equalities.length > 0 && !this.#collated;
      const affinities = routable
        ? compiled.equalities.map((e) => this.columns.get(e.column)!.affinity)
        : [];
      this.#families.set(text, family = new Family(compiled, affinities));
      this.#need(compiled.equalities.map((e) => e.column));
    }
    this.#need(needed);
    return family;
  }

  /** Registers a query that goes live; the first one starts listening to the table. */
  enter(query: LiveQuery): void {
    if (this.#live++ === 0) this.#stop = this.watcher.listen(this.table, this);
    query.family.add(query);
  }

  /** Unregisters a query that stopped listening. */
  leave(query: LiveQuery): void {
    query.family.remove(query);
    if (--this.#live === 0) {
      this.#stop?.();
      this.#stop = undefined;
    }
  }

  /** Records that `entry`'s query holds its row. */
  link(entry: QueryEntry): void {
    const held = this.members.get(entry.id);
    if (held === undefined) this.members.set(entry.id, entry);
    else if (Array.isArray(held)) held.push(entry);
    else this.members.set(entry.id, [held, entry]);
  }

  /** Records that `entry`'s query no longer holds its row. */
  unlink(entry: QueryEntry): void {
    const held = this.members.get(entry.id);
    if (held === entry) this.members.delete(entry.id);
    else if (Array.isArray(held)) {
      const rest = held.filter((e) => e !== entry);
      if (rest.length === 1) this.members.set(entry.id, rest[0]);
      else this.members.set(entry.id, rest);
    }
  }

  /** Inside the watcher's read transaction: reconcile each changed row once. */
  changed(keys: SqlValue[]): void {
    const read = this.watcher.statement(this.#readRow);
    for (const key of keys) {
      if (key === null) continue;
      const id = String(key);
      const row = read.get(key) as Row | undefined;
      const held = this.members.get(id);
      const olds = held === undefined ? [] : Array.isArray(held) ? [...held] : [held];
      const touched = new Set<LiveQuery>(olds.map((e) => e.query));
      if (row) {
        for (const family of this.#families.values()) {
          for (const query of family.unrouted) touched.add(query);
          if (family.routes.size === 0) continue;
          const route = family.routeOfRow(row);
          const routed = route === undefined ? undefined : family.routes.get(route);
          if (routed) { for (const query of routed) touched.add(query); }
        }
      }
      for (const query of touched) {
        query.reconcile(id, key, row, olds.find((e) => e.query === query));
      }
    }
  }

  /** Changes were lost: every live query reloads. */
  lost(): void {
    const queries = new Set<LiveQuery>();
    for (const family of this.#families.values()) {
      for (const query of family.unrouted) queries.add(query);
      for (const set of family.routes.values()) for (const query of set) queries.add(query);
    }
    for (const query of queries) query.reload();
  }

  #need(columns: string[]): void {
    let added = false;
    for (const column of columns) {
      if (this.#needed.has(column)) continue;
      this.require(column);
      this.#needed.add(column);
      added = true;
    }
    if (added) {
      this.#readRow = `SELECT ${[...this.#needed].map(quoteIdent).join(", ")} FROM ${
        quoteIdent(this.table)
      } WHERE ${quoteIdent(this.key)} = ?`;
    }
  }
}
