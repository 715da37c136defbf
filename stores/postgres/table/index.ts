/**
 * The order-statistic index of one live PostgreSQL table query: its rows' (ORDER BY
 * values, key) in a {@linkcode RankIndex}, which live queries hold each row (for
 * routing changes), and the reconciliation of one changed row into exact `insert`,
 * `delete` and `set` changes, O(log n) each (a move is a delete and an insert).
 *
 * @module
 */
import type { ListChange } from "../../../src/store.ts";
import { compareSqlValues, RankIndex } from "../../table/rank_index.ts";
import type { PgLiveQuery, PgTable } from "./db.ts";
import type { SqlValue } from "../../table/sql_value.ts";
import { compareKeys } from "../../table/sql.ts";
import type { OrderTerm } from "../../table/where.ts";

/** One row's place: its key as an item id and its ORDER BY values (the key last). */
export type Entry = { id: string; key: SqlValue[] };

/**
 * The rows of one live query, in order.
 */
export class LiveIndex {
  #index: RankIndex<Entry>;
  readonly #entries = new Map<string, Entry>();
  readonly #owner: PgLiveQuery;
  readonly #table: PgTable;
  readonly #order: OrderTerm[];

  /** An empty index of `owner`'s rows in `order`. */
  constructor(owner: PgLiveQuery, order: OrderTerm[], table: PgTable) {
    this.#owner = owner;
    this.#order = order;
    this.#table = table;
    this.#index = new RankIndex<Entry>((a, b) => compareKeys(order, a.key, b.key));
  }

  /** The number of rows. */
  get size(): number {
    return this.#index.size;
  }

  /** Whether `a` sorts strictly before `b`. */
  before(a: Entry, b: Entry): boolean {
    return compareKeys(this.#order, a.key, b.key) < 0;
  }

  /** Loads rows already in order (one scan of the query). */
  fill(entries: Entry[]): void {
    this.clear();
    this.#index = RankIndex.from(entries, (a, b) => compareKeys(this.#order, a.key, b.key));
    for (const entry of entries) this.#remember(entry);
  }

  /** Forgets every row (and its memberships). */
  clear(): void {
    for (const entry of this.#entries.values()) this.#forgetMember(entry.id);
    this.#entries.clear();
    this.#index = new RankIndex<Entry>((a, b) => compareKeys(this.#order, a.key, b.key));
  }

  /** The entry at rank `i`. */
  at(i: number): Entry | undefined {
    return this.#index.at(i);
  }

  /** Entries from rank `i` on. */
  from(i: number): Iterable<Entry> {
    return this.#index.from(i);
  }

  /** The rank of a row, or -1. */
  rankOf(id: string): number {
    const entry = this.#entries.get(id);
    return entry ? this.#index.rankOf(entry) : -1;
  }

  /**
   * Brings one row up to date: `key` its new ORDER BY values, or `undefined` when it is
   * no longer in the query. Returns the changes (versions left at 0).
   */
  reconcile<T>(id: string, key: SqlValue[] | undefined, value: T): ListChange<T>[] {
    const index = this.#index;
    const old = this.#entries.get(id);
    if (!key) {
      if (!old) return [];
      const at = index.remove(old);
      this.#entries.delete(id);
      this.#forgetMember(id);
      return [{ op: "delete", index: at, id, total: index.size, version: 0 }];
    }
    if (!old) {
      const entry = { id, key };
      const at = index.insert(entry);
      this.#remember(entry);
      return [{ op: "insert", index: at, id, value, total: index.size, version: 0 }];
    }
    if (key.every((v, i) => compareSqlValues(v, old.key[i]) === 0)) {
      return [{ op: "set", index: index.rankOf(old), id, value, total: index.size, version: 0 }];
    }
    const from = index.remove(old);
    old.key = key;
    const to = index.insert(old);
    if (from === to) return [{ op: "set", index: to, id, value, total: index.size, version: 0 }];
    return [
      { op: "delete", index: from, id, total: index.size - 1, version: 0 },
      { op: "insert", index: to, id, value, total: index.size, version: 0 },
    ];
  }

  #remember(entry: Entry): void {
    this.#entries.set(entry.id, entry);
    let held = this.#table.members.get(entry.id);
    if (!held) this.#table.members.set(entry.id, held = new Set());
    held.add(this.#owner);
  }

  #forgetMember(id: string): void {
    const held = this.#table.members.get(id);
    if (held?.delete(this.#owner) && held.size === 0) this.#table.members.delete(id);
  }
}
