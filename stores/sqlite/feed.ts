/**
 * The change feed of the SQLite store across processes. Every write of the
 * store logs what it did in the change table of `sqlite_changes.ts` (in the
 * same transaction, and only while some process reads it); while this
 * store has listeners, the connection's change watcher reads the rows other
 * connections added (one cheap check every 100 ms, the rows only when
 * something committed) and hands them to {@linkcode StoreFeed}, which
 * replays them on the lists (exact `insert`, `set` and `delete`, or a
 * `reset` where it cannot tell) and reports changed vars. With no listener
 * there is no timer and no read.
 *
 * @module
 */
import { nanoid } from "nanoid";
import type { VarListener, VarStore } from "../../src/store.ts";
import { Listeners } from "../../src/listeners.ts";
import type { ChangeConsumer, ChangeRow } from "./changes.ts";
import { type Database, Refusal, SCAN_CHUNK, SQL } from "./database.ts";
import type { SqliteListSource } from "./list.ts";
import { json, type ListHost, type LoggedChange, logRow, STORE_CHANNEL } from "./list_log.ts";

/**
 * Reads other connections' logged changes for one store object and counts
 * its listeners: the first one starts the watcher, the last one stops it.
 *
 * @internal
 */
export class StoreFeed implements ChangeConsumer, ListHost {
  /** Tells this store object's own log rows from others'. */
  readonly source: string = nanoid();
  /** The store's vars. */
  readonly vars: SqliteVarStore;
  #holds = 0;
  #stop: (() => void) | undefined;

  readonly db: Database;
  readonly lists: ReadonlyMap<string, SqliteListSource<unknown>>;

  /**
   * @param db the store's database
   * @param lists the store's list objects by name
   */
  constructor(db: Database, lists: ReadonlyMap<string, SqliteListSource<unknown>>) {
    this.db = db;
    this.lists = lists;
    this.vars = new SqliteVarStore(this);
  }

  /** Counts one more listener; returns the function that counts it out (once). */
  hold(): () => void {
    if (this.#holds++ === 0) this.#start();
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.#holds === 0) this.close();
    };
  }

  /** Stops reading (the store's `close`, or the last listener left). */
  close(): void {
    this.#stop?.();
    this.#stop = undefined;
  }

  /** Inside the watcher's read: replays the lists' changes, reports the vars'. */
  rows(rows: ChangeRow[]): void {
    const lists = new Map<string, LoggedChange[]>();
    const vars = new Set<string>();
    for (const { op, key } of rows) {
      const row = parse(key);
      // Not a row this store wrote: nothing it says can be trusted.
      if (!row) return this.lost();
      if (op === "v") {
        if (row[0] !== this.source) vars.add(String(row[1]));
        continue;
      }
      const [name, version, ...args] = row as [string, number, ...unknown[]];
      if (!this.lists.has(name)) continue;
      let changes = lists.get(name);
      if (!changes) lists.set(name, changes = []);
      changes.push({ op, version: Number(version), args });
    }
    for (const [name, changes] of lists) this.lists.get(name)!.replay(changes);
    for (const name of vars) this.#reportVar(name);
  }

  /** Changes were lost: every list reads again, every var is reported. */
  lost(): void {
    for (const list of this.lists.values()) list.resync();
    if (this.vars.listening) {
      const names = new Set(this.vars.names);
      for (let after = "";;) {
        const rows = this.db.all(SQL.varsFrom, after, SCAN_CHUNK);
        for (const row of rows) names.add(after = String(row.name));
        if (rows.length < SCAN_CHUNK) break;
      }
      for (const name of names) this.#reportVar(name);
    }
  }

  #reportVar(name: string): void {
    if (!this.vars.listening) return;
    const row = this.db.get(SQL.getVar, name);
    const value = row ? JSON.parse(row.value as string) : undefined;
    this.db.watcher.afterRead(() => this.vars.report(name, value));
  }

  #start(): void {
    if (this.db.closed) return;
    try {
      this.#stop = this.db.watcher.listen(STORE_CHANNEL, this);
    } catch (error) {
      console.error("socksync: the SQLite store cannot watch its file:", error);
      return;
    }
    // What was committed before this process registered as a reader was not
    // logged for it: a transaction now compares each list it knows with the
    // file, and lets go of the lists this connection owns (their versions
    // were in memory only), so that others' next writes of them are logged.
    const owned = [...this.lists.values()].filter((list) => list.owned);
    this.db.transaction(owned.length > 0, () => owned.forEach((list) => list.release()))
      .catch(() => {});
  }
}

function parse(key: unknown): unknown[] | undefined {
  try {
    const row = JSON.parse(String(key));
    return Array.isArray(row) ? row : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The vars of the SQLite store: one row each, `update` in one write
 * transaction (atomic across processes), and `subscribe` for the values
 * other connections set.
 *
 * @example
 * ```ts
 * import type { SqliteVarStore } from "./feed.ts";
 * async function title(vars: SqliteVarStore) {
 *   return await vars.get("title");
 * }
 * ```
 */
export class SqliteVarStore implements VarStore {
  readonly #listeners = new Listeners<[string, unknown]>();
  readonly #holds = new Set<() => void>();
  /** Every var this object read or wrote: reported again after lost changes. */
  readonly names: Set<string> = new Set();

  /** The store's feed (database, source id, listener count). */
  readonly feed: StoreFeed;

  /**
   * The vars of one SQLite store.
   *
   * @param feed the store's feed (database, source id, listener count)
   */
  constructor(feed: StoreFeed) {
    this.feed = feed;
  }

  /** Whether a listener is subscribed. */
  get listening(): boolean {
    return this.#listeners.size > 0;
  }

  get(name: string): Promise<unknown> {
    this.names.add(name);
    const db = this.feed.db;
    return db.transaction(false, () => {
      const row = db.get(SQL.getVar, name);
      return row ? JSON.parse(row.value as string) : undefined;
    });
  }

  set(name: string, value: unknown): Promise<void> {
    return this.feed.db.transaction(true, () => void this.#write(name, value));
  }

  /** Replaces the value with `fn(current)` in one write transaction: atomic across processes. */
  update(name: string, fn: (current: unknown) => unknown): Promise<unknown> {
    const db = this.feed.db;
    return db.transaction(true, () => {
      const row = db.get(SQL.getVar, name);
      let next: unknown;
      try {
        next = fn(row ? JSON.parse(row.value as string) : undefined);
      } catch (error) {
        throw new Refusal(error);
      }
      return this.#write(name, next);
    });
  }

  /** Reports values set through other connections (and every value after lost changes). */
  subscribe(listener: VarListener): () => void {
    const stop = this.#listeners.add(listener);
    const release = this.feed.hold();
    this.#holds.add(release);
    return () => {
      stop();
      if (this.#holds.delete(release)) release();
    };
  }

  /** Tells the listeners (the feed calls it once the read has ended). */
  report(name: string, value: unknown): void {
    this.names.add(name);
    this.#listeners.emit(name, value);
  }

  /** Drops every listener (the store's `close`). */
  detach(): void {
    this.#listeners.clear();
    for (const release of this.#holds) release();
    this.#holds.clear();
  }

  // Inside a write transaction; resolves the caller's copy of what was stored.
  #write(name: string, value: unknown): unknown {
    const db = this.feed.db;
    this.names.add(name);
    if (value === undefined) db.run(SQL.deleteVar, name);
    else db.run(SQL.setVar, name, json(value));
    db.log("v", () => logRow([this.feed.source, name]));
    return value === undefined ? undefined : JSON.parse(json(value));
  }
}
