/**
 * Change capture for SQLite tables, whoever writes them: this connection, another
 * connection, another process or the `sqlite3` CLI. {@linkcode changeWatcher} gives the
 * one watcher of a database; {@linkcode SqliteChangeWatcher.watch} installs triggers on a
 * table that append `(table, op, key)` to `socksync_changes`, whose `seq` (an INTEGER
 * PRIMARY KEY) orders every change.
 *
 * While a consumer listens, the watcher checks `total_changes()` and `PRAGMA data_version`
 * (one statement) every 100 ms and reads the rows after the last `seq` it saw. With
 * nothing listening there is no timer and no statement at all; the triggers record
 * nothing either, because they only fire while some process is registered in
 * `socksync_change_readers`. Rows every registered reader has seen are trimmed. A writer
 * may also record its own changes in the same transaction (`CHANGE_LOG_SQL.append`, which
 * records only while someone reads): the SQLite store does, for its lists and vars.
 *
 * @module
 */
import { nanoid } from "nanoid";
import type { SqliteDriver, SqliteStatement } from "./driver.ts";
import { CHANGE_LOG_SCHEMA, CHANGE_LOG_SQL as SQL, installTriggers } from "./change_log.ts";

import type { SqlValue } from "../table/sql_value.ts";
import type { ChangeConsumer, ChangeRow, ChangeWatcherOptions } from "./change_log.ts";

export type { ChangeConsumer, ChangeRow, ChangeWatcherOptions } from "./change_log.ts";

// Rows read per statement while catching up.
const CHUNK = 4096;
// How often a listening reader refreshes its row and trims, and when a silent one expires.
const MAINTAIN_MS = 10_000;
const EXPIRE_MS = 120_000;

const watchers = new WeakMap<SqliteDriver, SqliteChangeWatcher>();

/**
 * The change watcher of a database: one per driver, shared by every table bound on it
 * (options count only when it is created).
 */
export function changeWatcher(
  db: SqliteDriver,
  options: ChangeWatcherOptions = {},
): SqliteChangeWatcher {
  let watcher = watchers.get(db);
  if (!watcher) watchers.set(db, watcher = new SqliteChangeWatcher(db, options));
  return watcher;
}

/**
 * Reads the change table for its consumers (see the module documentation). Every read
 * it makes runs in one short transaction of its own on the shared connection.
 */
export class SqliteChangeWatcher {
  /** The connection it reads through. */
  readonly db: SqliteDriver;
  readonly #pollMs: number;
  readonly #maintainMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #statements = new Map<string, SqliteStatement>();
  readonly #consumers = new Map<string, Set<ChangeConsumer>>();
  readonly #watched = new Map<string, string>();
  #listening = 0;
  #reader: string | undefined;
  #seq = 0;
  #stamp = "";
  #timer: ReturnType<typeof setInterval> | undefined;
  #maintained = 0;
  #inRead = false;
  #after: (() => void)[] = [];
  #draining = false;
  #failure = "";

  /**
   * A watcher over `db`; prefer {@linkcode changeWatcher}, which shares one per database.
   *
   * @param db the connection
   * @param options poll interval and error sink
   */
  constructor(db: SqliteDriver, options: ChangeWatcherOptions = {}) {
    this.db = db;
    this.#pollMs = options.pollMs ?? 100;
    this.#maintainMs = options.maintainMs ?? MAINTAIN_MS;
    this.#onError = options.onError ?? ((error) => console.error(error));
  }

  /** Runs a cached prepared statement. */
  statement(sql: string): SqliteStatement {
    let statement = this.#statements.get(sql);
    if (!statement) this.#statements.set(sql, statement = this.db.prepare(sql));
    return statement;
  }

  /**
   * Installs the triggers that record changes of `table` by its `key` column (once per
   * table; they stay in the file). A table already watched by another key column throws.
   */
  watch(table: string, key: string): void {
    const known = this.#watched.get(table);
    if (known === key) return;
    if (known !== undefined) throw new Error(`table "${table}" is watched by column "${known}"`);
    installTriggers(this.db, table, key);
    this.#watched.set(table, key);
  }

  /**
   * Registers a consumer of `table`'s changes; returns the function that removes it.
   * The first consumer registers this process as a reader and starts the timer, the
   * last one to leave stops both.
   */
  listen(table: string, consumer: ChangeConsumer): () => void {
    let set = this.#consumers.get(table);
    if (!set) this.#consumers.set(table, set = new Set());
    if (set.has(consumer)) return () => {};
    if (this.#listening === 0) this.#start();
    set.add(consumer);
    this.#listening++;
    return () => {
      if (!set.delete(consumer)) return;
      if (set.size === 0) this.#consumers.delete(table);
      if (--this.#listening === 0) this.#stop();
    };
  }

  /** Whether any consumer listens. */
  get listening(): boolean {
    return this.#listening > 0;
  }

  /** Whether a read transaction of {@linkcode read} is open. */
  get reading(): boolean {
    return this.#inRead;
  }

  /**
   * Runs `body` in a read transaction (a write transaction with `write`) after handing
   * every change committed so far to the consumers, so `body` sees the same snapshot
   * their state now describes. Work queued with {@linkcode afterRead} runs once the
   * transaction has ended. Nested calls just run `body`.
   */
  read<R>(body: () => R, write = false): R {
    if (this.#inRead) return body();
    this.#inRead = true;
    let result: R;
    try {
      this.statement(write ? "BEGIN IMMEDIATE" : "BEGIN").run();
      try {
        this.#catchUp();
        result = body();
      } catch (error) {
        this.statement("ROLLBACK").run();
        throw error;
      }
      this.statement("COMMIT").run();
    } finally {
      this.#inRead = false;
      // Even after a failure: what consumers applied before it must reach their listeners.
      this.#drain();
    }
    return result;
  }

  /** Reads the changes made so far (call it after writing through this connection). */
  flush(): void {
    if (this.#listening > 0) this.read(() => {});
  }

  /** Queues work (listener calls) for when the current read transaction has ended, in order. */
  afterRead(task: () => void): void {
    this.#after.push(task);
  }

  /** Stops the timer and unregisters the reader; consumers are dropped. */
  close(): void {
    this.#consumers.clear();
    if (this.#listening > 0) {
      this.#listening = 0;
      this.#stop();
    }
  }

  #start(): void {
    this.db.exec(CHANGE_LOG_SCHEMA);
    const reader = nanoid();
    const now = Date.now();
    this.statement("BEGIN IMMEDIATE").run();
    try {
      // Registered first: any write committed after this one is recorded, so the
      // snapshot read next plus the rows after #seq miss nothing.
      const last = Number(this.statement(SQL.last).get()?.seq ?? 0);
      this.statement(SQL.register).run(reader, last, now);
      // Read while this connection holds the write lock: no other can commit
      // between it and the snapshot above, so nothing committed hides behind it.
      this.#stamp = this.#readStamp();
      this.statement("COMMIT").run();
      this.#seq = last;
    } catch (error) {
      this.statement("ROLLBACK").run();
      throw error;
    }
    this.#reader = reader;
    this.#maintained = now;
    this.#timer = setInterval(() => this.#tick(), this.#pollMs);
    // The timer must not keep the process alive: Node and Bun give a handle, Deno a number.
    const deno = (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno;
    if (typeof this.#timer === "number") deno?.unrefTimer?.(this.#timer);
    else (this.#timer as { unref?: () => void }).unref?.();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const reader = this.#reader;
    this.#reader = undefined;
    if (reader === undefined) return;
    try {
      this.statement(SQL.unregister).run(reader);
      this.statement(SQL.trim).run();
    } catch (error) {
      this.#onError(error);
    }
  }

  #readStamp(): string {
    const row = this.statement(SQL.stamp).get();
    return `${row?.t}/${row?.v}`;
  }

  // One cheap statement per tick; the change table is read only when something committed.
  #tick(): void {
    try {
      const stamp = this.#readStamp();
      if (stamp !== this.#stamp) {
        this.read(() => {});
        this.#stamp = stamp;
      }
      const now = Date.now();
      if (now - this.#maintained >= this.#maintainMs) this.#maintain(now);
      this.#failure = "";
    } catch (error) {
      // A broken binding fails every tick: report each new failure once.
      const text = String(error);
      if (text !== this.#failure) this.#onError(error);
      this.#failure = text;
    }
  }

  // One write transaction: catching up first and reading the stamp last, with the
  // write lock held, means a commit by another connection is either read now or changes
  // the stamp the next tick compares (the maintenance writes change it too).
  #maintain(now: number): void {
    this.#maintained = now;
    this.#stamp = this.read(() => {
      if (!this.statement(SQL.heartbeat).get(this.#seq, now, this.#reader!)) {
        // Expired by another process (this one stalled): writes since then went
        // unrecorded. Registered again, the consumers reload from this snapshot.
        this.statement(SQL.register).run(this.#reader!, this.#seq, now);
        for (const set of this.#consumers.values()) for (const c of set) c.lost();
      }
      this.statement(SQL.expire).run(now - EXPIRE_MS);
      this.statement(SQL.trim).run();
      return this.#readStamp();
    }, true);
  }

  // Inside the read transaction: the rows after #seq, grouped by table.
  #catchUp(): void {
    if (this.#listening === 0) return;
    const tables = new Map<string, ChangeRow[]>();
    // Advanced only once every consumer took the rows: a failed read is read again.
    let seq = this.#seq;
    for (;;) {
      const rows = this.statement(SQL.since).all(seq, CHUNK);
      if (rows.length === 0) break;
      if (Number(rows[0].seq) !== seq + 1) {
        // Trimmed before we read them (this reader had expired): the consumers reload
        // from this snapshot, which holds every change up to MAX(seq).
        this.#seq = Number(this.statement(SQL.last).get()?.seq ?? 0);
        for (const set of this.#consumers.values()) for (const c of set) c.lost();
        return;
      }
      for (const row of rows) {
        const table = row.tbl as string;
        if (!this.#consumers.has(table)) continue;
        let list = tables.get(table);
        if (!list) tables.set(table, list = []);
        list.push({ op: String(row.op), key: row.key });
      }
      seq = Number(rows[rows.length - 1].seq);
      if (rows.length < CHUNK) break;
    }
    for (const [table, rows] of tables) {
      let keys: SqlValue[] | undefined;
      for (const consumer of this.#consumers.get(table) ?? []) {
        if (consumer.rows) consumer.rows(rows);
        else consumer.changed?.(keys ??= distinctKeys(rows));
      }
    }
    this.#seq = seq;
  }

  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let task = this.#after.shift(); task; task = this.#after.shift()) {
        try {
          task();
        } catch (error) {
          this.#onError(error);
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}

// Each key once, in the order first changed. Text "1" and integer 1 are different keys;
// blobs compare by content.
function distinctKeys(rows: ChangeRow[]): SqlValue[] {
  const map = new Map<unknown, SqlValue>();
  for (const { key } of rows) {
    const id = key instanceof Uint8Array ? `b${Array.from(key).join(",")}` : key;
    if (!map.has(id)) map.set(id, key);
  }
  return [...map.values()];
}
