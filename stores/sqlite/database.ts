/**
 * The database under the SQLite store: its schema, its SQL, the prepared
 * statements, and transactions. While the store has listeners, each
 * transaction first hands the changes other connections logged to the
 * store's feed (the change watcher of `sqlite_changes.ts`); either way it
 * notices writes it was not told about (`PRAGMA data_version`) and tells the
 * affected lists to drop their index.
 *
 * @module
 */
import { nanoid } from "nanoid";
import { isSockSyncError } from "../../src/errors.ts";
import { storeClosed, storeError } from "../common/store_errors.ts";
import { CHANGE_LOG_SCHEMA, CHANGE_LOG_SQL } from "./change_log.ts";
import { changeWatcher, type SqliteChangeWatcher } from "./changes.ts";
import type { SqliteArrayStatement, SqliteDriver } from "./driver.ts";

/**
 * The change-table channel the SQLite store logs its own changes on.
 */
export const STORE_CHANNEL = "socksync:store";

// busy_timeout first: switching a new file to WAL takes a lock that another
// process opening the same file at the same moment may hold.
const SCHEMA = `
PRAGMA busy_timeout = 5000;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
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
CREATE TABLE IF NOT EXISTS socksync_list_owners (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  alone INTEGER NOT NULL DEFAULT 1
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS socksync_vars (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
${CHANGE_LOG_SCHEMA}
`;

// A file made before claims had their `alone` column (see WRITE_STEPS).
const CLAIMS_ALONE = "SELECT 1 FROM pragma_table_info('socksync_list_owners') WHERE name = 'alone'";
const ADD_ALONE = "ALTER TABLE socksync_list_owners ADD COLUMN alone INTEGER NOT NULL DEFAULT 1";

// A process that starts reading the change log takes from every owner the
// right to write alone (unlogged): so an owner's write checks one row, its
// claim, instead of also looking for readers (a second table, so a second
// page to read after another connection's commit, ≈ 1 µs). The owner's next
// write finds it and goes through a transaction, which logs and lets go.
const REVOKE = `
CREATE TRIGGER IF NOT EXISTS socksync_list_owners_revoke AFTER INSERT ON socksync_change_readers
BEGIN
  UPDATE socksync_list_owners SET alone = 0 WHERE alone;
END;
`;

// What the write triggers below raise when the list's version row is not the
// one the caller's index describes.
const STALE = "socksync: list changed elsewhere";

/**
 * How far an owned list's versions may run past its version row (see
 * `WRITE_STEPS`): a connection taking the list over writes the row's version
 * plus this, above every version the owner reported.
 */
export const CLAIM_SPAN = 65_536;

/**
 * The statements of the triggers that make a list's insert or delete one
 * autocommit statement (an INSERT into a TEMP view, below), with `NEW.x` for
 * the view's columns. The complexity test checks their plans too.
 *
 * A list this connection does not own: `check` first (the list's version row
 * must be the one the caller's index describes, else it raises and nothing is
 * written), then the item, the version row, the change-log row (only while
 * some process reads the log, as `SQL.log`) and, when `NEW.owner` is set, the
 * claim (`socksync_list_owners`; the check then also refuses while some process
 * reads the log, and the primary key refuses a list someone else owns).
 *
 * A list this connection owns, while its claim is there and lets it write
 * alone (`SQL.insertOwned`, `SQL.deleteOwned`: plain statements, no trigger):
 * the item alone. Its version and count stay in memory, so the commit dirties
 * no page the bare statement would not. A process that starts reading the log
 * takes that right from every claim (`REVOKE`), so the owner's next write runs
 * as a transaction, which logs it and lets the claim go. Every other
 * connection takes the list over before it uses its index or bumps the
 * version row: it scans the list, writes the true count and a version
 * `CLAIM_SPAN` above the row's (the owner's versions never run that far:
 * before they would, it writes the row itself and lets go), and drops the
 * claim; the owner's next write then changes nothing and runs as a
 * transaction. A claim is only made in the write that bumps the row, so
 * whoever knew the list before sees the row moved.
 */
export const WRITE_STEPS = {
  check: `SELECT RAISE(ABORT, '${STALE}') WHERE NOT EXISTS (SELECT 1 FROM main.socksync_lists
    WHERE name = NEW.list AND version = NEW.version AND count = NEW.count)
    OR (NEW.owner IS NOT NULL AND EXISTS (SELECT 1 FROM main.socksync_change_readers
      WHERE reader >= '' LIMIT 1))`,
  claim: `INSERT INTO main.socksync_list_owners (name, owner) SELECT NEW.list, NEW.owner
    WHERE NEW.owner IS NOT NULL`,
  add: `INSERT INTO main.socksync_items (list, id, key, value)
    VALUES (NEW.list, NEW.id, NEW.key, NEW.value)`,
  grow: `UPDATE main.socksync_lists SET version = version + 1, count = count + 1
    WHERE name = NEW.list`,
  logInsert: `INSERT INTO main.socksync_changes (tbl, op, key)
    SELECT '${STORE_CHANNEL}', 'i', json_array(NEW.list, NEW.version + 1, NEW.id, NEW.idx, NEW.key,
      json(NEW.value)) FROM main.socksync_change_readers WHERE reader >= '' LIMIT 1`,
  remove: "DELETE FROM main.socksync_items WHERE list = NEW.list AND id = NEW.id",
  shrink: `UPDATE main.socksync_lists SET version = version + 1, count = count - 1
    WHERE name = NEW.list`,
  logDelete: `INSERT INTO main.socksync_changes (tbl, op, key)
    SELECT '${STORE_CHANNEL}', 'd', json_array(NEW.list, NEW.version + 1, NEW.id, NEW.idx)
    FROM main.socksync_change_readers WHERE reader >= '' LIMIT 1`,
} as const;

// Per connection (TEMP: other connections, and the file, never see them).
// One statement instead of four (BEGIN IMMEDIATE, the bump that also reads
// data_version and the readers, the write, COMMIT): less of SQLite's work
// per write.
const WRITES = `
CREATE TEMP VIEW IF NOT EXISTS socksync_list_insert (list, id, key, value, version, count, idx, owner)
  AS SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL;
CREATE TEMP TRIGGER IF NOT EXISTS socksync_list_insert_do INSTEAD OF INSERT ON socksync_list_insert
BEGIN
  ${WRITE_STEPS.check};
  ${WRITE_STEPS.add};
  ${WRITE_STEPS.grow};
  ${WRITE_STEPS.logInsert};
  ${WRITE_STEPS.claim};
END;
CREATE TEMP VIEW IF NOT EXISTS socksync_list_delete (list, id, version, count, idx, owner)
  AS SELECT NULL, NULL, NULL, NULL, NULL, NULL;
CREATE TEMP TRIGGER IF NOT EXISTS socksync_list_delete_do INSTEAD OF INSERT ON socksync_list_delete
BEGIN
  ${WRITE_STEPS.check};
  ${WRITE_STEPS.remove};
  ${WRITE_STEPS.shrink};
  ${WRITE_STEPS.logDelete};
  ${WRITE_STEPS.claim};
END;
`;

/**
 * Every SQL statement the store runs; the complexity test checks their plans.
 */
export const SQL = {
  // A list's version row and its owner (NULL: none; see WRITE_STEPS).
  meta: `SELECT l.version, l.count, o.owner FROM socksync_lists l
    LEFT JOIN socksync_list_owners o ON o.name = l.name WHERE l.name = ?`,
  // The first statement of a list's write transaction: bumps the version row
  // and reads what `stamp` reads, in one statement (a plain UPDATE: cheaper
  // than an upsert; `create` makes the row on a list's first write). Nothing
  // when someone owns the list (it is taken over first).
  // Parameters: delta, name, name.
  bump: `UPDATE socksync_lists SET version = version + 1, count = count + ? WHERE name = ?
    AND NOT EXISTS (SELECT 1 FROM socksync_list_owners WHERE name = ?)
    RETURNING version, count, (SELECT data_version FROM pragma_data_version()) AS v,
    (SELECT 1 FROM socksync_change_readers WHERE reader >= '' LIMIT 1) AS r`,
  // Instead of `bump` on a list this connection owns: the true version and
  // count (then `unclaim`); nothing when another connection took it over.
  // Parameters: version, count, name, name, owner.
  release: `UPDATE socksync_lists SET version = ?, count = ? WHERE name = ?
    AND EXISTS (SELECT 1 FROM socksync_list_owners WHERE name = ? AND owner = ?)
    RETURNING version, count, (SELECT data_version FROM pragma_data_version()) AS v,
    (SELECT 1 FROM socksync_change_readers WHERE reader >= '' LIMIT 1) AS r`,
  // Instead of `bump` on a list this connection owns, while that holds and
  // lets it write alone (name, owner): what `stamp` reads, and nothing when
  // the claim has gone or lost that right (then `release`).
  ownedStamp: `SELECT data_version AS v,
    (SELECT 1 FROM socksync_change_readers WHERE reader >= '' LIMIT 1) AS r
    FROM pragma_data_version()
    WHERE EXISTS (SELECT 1 FROM socksync_list_owners WHERE name = ? AND owner = ? AND alone)`,
  unclaim: "DELETE FROM socksync_list_owners WHERE name = ?",
  // Taking a list over from its owner: version, count, name.
  takeOver: "UPDATE socksync_lists SET version = ?, count = ? WHERE name = ?",
  create:
    "INSERT INTO socksync_lists (name, version, count) VALUES (?, 1, ?) RETURNING version, count",
  dataVersion: "PRAGMA data_version",
  // At the start of every transaction, in one statement: whether another
  // connection committed, and whether any process reads the change log (a
  // write logs its change only then; registering takes the write lock, so
  // inside a write transaction the answer holds until it ends).
  stamp: `SELECT data_version AS v,
    (SELECT 1 FROM socksync_change_readers WHERE reader >= '' LIMIT 1) AS r
    FROM pragma_data_version()`,
  valueOf: "SELECT value FROM socksync_items WHERE list = ? AND id = ?",
  // Keyset paging: the start key comes from the in-memory index, so SQLite
  // seeks straight to it instead of stepping over `offset` rows.
  pageFrom: `SELECT id, value FROM socksync_items WHERE list = ? AND key >= ?
    ORDER BY key LIMIT ?`,
  // Loading an index: the list in (key, rowid) order, a chunk at a time;
  // rowid breaks ties so even duplicate keys are neither lost nor repeated.
  scanFirst: `SELECT rowid AS r, id, key FROM socksync_items WHERE list = ?
    ORDER BY key, rowid LIMIT ?`,
  scanNext: `SELECT rowid AS r, id, key FROM socksync_items WHERE list = ?
    AND (key, rowid) > (?, ?) ORDER BY key, rowid LIMIT ?`,
  cacheSize: "PRAGMA cache_size",
  scanCache: "PRAGMA cache_size = 64",
  add: "INSERT INTO socksync_items (list, id, key, value) VALUES (?, ?, ?, ?)",
  update: "UPDATE socksync_items SET value = ? WHERE list = ? AND id = ?",
  remove: "DELETE FROM socksync_items WHERE list = ? AND id = ?",
  rekey: "UPDATE socksync_items SET key = ? WHERE list = ? AND id = ?",
  getVar: "SELECT value FROM socksync_vars WHERE name = ?",
  setVar: `INSERT INTO socksync_vars (name, value) VALUES (?, ?)
    ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
  deleteVar: "DELETE FROM socksync_vars WHERE name = ?",
  // Every var, a chunk at a time: only after this process missed changes.
  // (The column by its table's name: on a driver that cuts NUL, `name` is also the rewritten
  // column's alias, and a bare ORDER BY name would sort by it, BLOBs last, skipping rows.)
  varsFrom:
    "SELECT name, value FROM socksync_vars WHERE name > ? ORDER BY socksync_vars.name LIMIT ?",
  log: CHANGE_LOG_SQL.append,
  // A whole insert or delete (see WRITE_STEPS): list, id, key, value, then
  // the version and count the index describes, the item's index, and this
  // connection's owner id to claim the list (or NULL).
  insertAlone: `INSERT INTO temp.socksync_list_insert (list, id, key, value, version, count, idx,
    owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  // list, id, version, count, index, owner or NULL.
  deleteAlone: `INSERT INTO temp.socksync_list_delete (list, id, version, count, idx, owner)
    VALUES (?, ?, ?, ?, ?, ?)`,
  // On a list this connection owns and may write alone (see WRITE_STEPS): the
  // item, and nothing when the claim has gone or lost that right.
  // Parameters: id, key, value, list, owner.
  insertOwned: `INSERT INTO socksync_items (list, id, key, value) SELECT name, ?, ?, ?
    FROM socksync_list_owners WHERE name = ? AND owner = ? AND alone`,
  // list, id, list, owner.
  deleteOwned: `DELETE FROM socksync_items WHERE list = ? AND id = ? AND EXISTS (SELECT 1
    FROM socksync_list_owners WHERE name = ? AND owner = ? AND alone)`,
  begin: "BEGIN",
  beginWrite: "BEGIN IMMEDIATE",
  commit: "COMMIT",
  rollback: "ROLLBACK",
} as const;

// Deno's node:sqlite reads a TEXT value only up to its first NUL (binding is
// whole, and so is the file). On such a driver (found once, by this probe) the
// statements that read ids or var names back run as `WHOLE_TEXT` has them: a
// text holding a NUL comes back as a BLOB of its bytes, which `whole` decodes.
// Values are JSON (NUL escaped) and the change log's rows too (json_array, JSON.stringify).
const CUTS_NUL = "SELECT char(97, 0, 98) AS s";
const wholeText = (column: string) =>
  `CASE WHEN instr(${column}, char(0)) > 0 THEN CAST(${column} AS BLOB) ELSE ${column} END AS ${column}`;
function rewrite(sql: string, from: string, column: string): [string, string] {
  const to = sql.replace(from, from.replace(column, wholeText(column)));
  if (to === sql) throw new Error(`no ${column} to read whole in ${sql}`);
  return [sql, to];
}
const WHOLE_TEXT: ReadonlyMap<string, string> = new Map([
  rewrite(SQL.pageFrom, "SELECT id,", "id"),
  rewrite(SQL.scanFirst, " id,", "id"),
  rewrite(SQL.scanNext, " id,", "id"),
  rewrite(SQL.varsFrom, "SELECT name,", "name"),
]);
// (Keeping a leading U+FEFF: it is part of the id, not a byte order mark.)
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

// The rows of a `WHOLE_TEXT` statement (objects or arrays), each BLOB decoded in place.
function whole<R extends Record<string, unknown> | unknown[]>(rows: R[]): R[] {
  for (const row of rows as Record<string, unknown>[]) {
    if (Array.isArray(row)) {
      for (let i = 0; i < row.length; i++) {
        if (row[i] instanceof Uint8Array) row[i] = utf8.decode(row[i]);
      }
    } else {
      for (const column in row) {
        const value = row[column];
        if (value instanceof Uint8Array) row[column] = utf8.decode(value);
      }
    }
  }
  return rows;
}

/**
 * Rows per statement while loading an index: bounds the memory a load needs
 * besides the index itself.
 */
export const SCAN_CHUNK = 4096;

/**
 * A row as the driver returns it.
 */
export type Row = Record<string, unknown>;

/**
 * What the database needs from a list object to keep its index honest.
 */
export interface IndexedList {
  readonly loaded: boolean;
  recheck(): (() => void) | undefined;
  drop(): void;
}

/**
 * The first statement of a write transaction that changes one list: it
 * bumps the list's version row and also returns `v` and `r` as `stamp`
 * does (so that statement is saved), and stands for the list's own recheck.
 * `run` returns `undefined` when it could not (the list has no row yet).
 */
export interface Lead {
  /** The list it bumps: not rechecked again. */
  readonly list: IndexedList;
  /** The bump; its row (with `v` and `r`) and what tells the list's listeners of a reset. */
  run(): { row: Row; reset?: () => void } | undefined;
}

// Tells listeners; one that throws must not turn a committed change into a failure.
function tell(task: () => void): void {
  try {
    task();
  } catch (error) {
    console.error("socksync: a SQLite store listener threw:", error);
  }
}

/**
 * Thrown inside a transaction for an error of the caller's own function (an
 * `update`'s `fn`): rolled back, and rejected as the error itself.
 */
export class Refusal {
  readonly error: unknown;

  /** @param error what the caller's function threw */
  constructor(error: unknown) {
    this.error = error;
  }
}

/**
 * Thrown inside a read transaction by work that has to write (taking over a
 * list another connection owns): the transaction runs again as a write.
 */
export class NeedsWrite {}

/**
 * The database and its prepared statements, shared by every list of a store.
 */
export class Database {
  #statements = new Map<string, ReturnType<SqliteDriver["prepare"]>>();
  #arrayStatements = new Map<string, SqliteArrayStatement>();
  #dataVersion: number | undefined;
  #readers = true;
  #busy = false;
  #committed: (() => void)[] = [];
  #rollbacks: (() => void)[] = [];
  #writing = false;
  /** Every list object of the store, to check when another connection wrote. */
  readonly lists: Set<IndexedList> = new Set();
  /** The connection's change watcher (shared with table bindings on it). */
  readonly watcher: SqliteChangeWatcher;
  closed: boolean = false;
  /** This connection's id in `socksync_list_owners` (the lists it owns). */
  readonly owner: string = nanoid();

  readonly driver: SqliteDriver;
  // Whether the driver cuts text read back at a NUL (see `WHOLE_TEXT`).
  readonly #cutsNul: boolean;

  constructor(driver: SqliteDriver) {
    this.driver = driver;
    this.#cutsNul = driver.prepare(CUTS_NUL).get()?.s !== "a\u0000b";
    driver.exec(SCHEMA);
    if (!driver.prepare(CLAIMS_ALONE).get()) {
      try {
        driver.exec(ADD_ALONE);
      } catch (error) {
        // Another process added it first.
        if (!driver.prepare(CLAIMS_ALONE).get()) throw error;
      }
    }
    driver.exec(REVOKE);
    driver.exec(WRITES);
    this.watcher = changeWatcher(driver);
  }

  /** Whether a transaction of the store is open and writes. */
  get writing(): boolean {
    return this.#writing;
  }

  /**
   * Whether a write may claim its list: no process read the change log when
   * this connection last looked (the claiming write checks again) and this
   * store does not listen.
   */
  get claimable(): boolean {
    return !this.#readers && !this.watcher.listening;
  }

  get(sql: string, ...params: (string | number)[]): Row | undefined {
    return this.#prepare(sql).get(...params) ?? undefined;
  }
  all(sql: string, ...params: (string | number)[]): Row[] {
    const rows = this.#prepare(sql).all(...params);
    return this.#cutsNul && WHOLE_TEXT.has(sql) ? whole(rows) : rows;
  }
  run(sql: string, ...params: (string | number | null)[]): void {
    this.#prepare(sql).run(...params);
  }

  /**
   * Queues work (telling listeners about this transaction's change) for
   * right after the commit; dropped if the transaction fails.
   */
  afterCommit(task: () => void): void {
    this.#committed.push(task);
  }

  /** Queues work (restoring what a list holds in memory) for when this transaction fails. */
  onRollback(task: () => void): void {
    this.#rollbacks.push(task);
  }

  /**
   * Runs `body` in one transaction; any error rolls it back and is rethrown
   * as a store error (a {@linkcode Refusal} as the error it carries). While
   * the watcher listens, the changes other connections logged are applied
   * first and their listeners told once it ends, before this transaction's
   * own change. Then it checks whether another connection committed
   * something it was not told about (`PRAGMA data_version`, read inside the
   * transaction so it matches the snapshot `body` sees) and, if so, drops
   * the indexes of the lists whose version row moved; their listeners hear a
   * reset once the transaction has ended.
   */
  transaction<R>(write: boolean, body: () => R, lead?: Lead): Promise<R> {
    if (this.closed) return Promise.reject(storeClosed());
    const outcome = this.#attempt(write, body, lead);
    // A read that has to take a list over runs again, as a write.
    return outcome instanceof NeedsWrite ? this.#attempt(true, body, lead) as Promise<R> : outcome;
  }

  #attempt<R>(write: boolean, body: () => R, lead?: Lead): Promise<R> | NeedsWrite {
    const resets: (() => void)[] = [];
    const committed: (() => void)[] = this.#committed = [];
    const rollbacks: (() => void)[] = this.#rollbacks = [];
    const run = () => {
      const led = lead?.run();
      if (led?.reset) resets.push(led.reset);
      this.#notice(resets, led && { row: led.row, list: lead!.list });
      return body();
    };
    let result: R;
    this.#busy = true;
    this.#writing = write;
    try {
      result = this.watcher.listening ? this.watcher.read(run, write) : this.#plain(write, run);
    } catch (error) {
      this.#busy = false;
      this.#writing = false;
      this.#committed = [];
      this.#rollbacks = [];
      for (const undo of rollbacks) undo();
      for (const reset of resets) tell(reset);
      if (error instanceof NeedsWrite && !write) return error;
      if (error instanceof Refusal) return Promise.reject(error.error);
      // A write failed after it may have changed an index in memory (or the
      // rollback may have failed too): rebuild every index from the file.
      if (write && !isSockSyncError(error)) { for (const list of this.lists) list.drop(); }
      return Promise.reject(isSockSyncError(error) ? error : storeError(error));
    }
    this.#busy = false;
    this.#writing = false;
    this.#committed = [];
    this.#rollbacks = [];
    for (const reset of resets) tell(reset);
    for (const task of committed) tell(task);
    return Promise.resolve(result);
  }

  /**
   * Runs one of the single-statement writes (`SQL.insertAlone`,
   * `SQL.deleteAlone`, `SQL.insertOwned`, `SQL.deleteOwned`) when none of the
   * store's transactions is open: the rows it changed (0 through a view,
   * whose trigger raises instead), or -1 when it did not run or failed
   * (another connection changed the list, or any failure); the caller then
   * writes in a transaction, which also reports a failure properly. As it
   * reads no `data_version`, the next transaction still notices what other
   * connections committed.
   */
  alone(sql: string, ...params: (string | number | null)[]): number {
    if (this.closed || this.#busy || this.watcher.reading) return -1;
    try {
      return Number(this.#prepare(sql).run(...params).changes);
    } catch {
      return -1;
    }
  }

  /**
   * Inside a write transaction: logs a change for other processes, only
   * when some process reads the change log (as seen when it began); `key`
   * builds the row only then.
   */
  log(op: string, key: () => string): void {
    if (this.#readers || this.watcher.listening) this.run(SQL.log, STORE_CHANNEL, op, key());
  }

  /**
   * The rows of one read statement (as arrays), in a bare read transaction that also
   * reads `PRAGMA data_version` (cheaper there than as a statement of its
   * own, and from the same snapshot as the rows): `undefined` when another
   * connection has committed since this one last looked, or while one of the
   * store's own transactions (or the watcher's read) is open.
   */
  snapshotRows(sql: string, ...params: (string | number)[]): unknown[][] | undefined {
    if (this.#busy || this.watcher.reading) return undefined;
    try {
      this.run(SQL.begin);
    } catch {
      // A transaction the store did not open (its caller's, on a shared
      // driver): the rows first, then data_version, which only grows.
      const rows = this.rows(sql, ...params);
      return this.unchanged() ? rows : undefined;
    }
    try {
      const rows = this.rows(sql, ...params);
      return this.unchanged() ? rows : undefined;
    } finally {
      this.run(SQL.commit);
    }
  }

  /** All rows, each as an array of its columns (no object per row when the driver can). */
  rows(sql: string, ...params: (string | number)[]): unknown[][] {
    if (!this.driver.prepareArrays) {
      return this.all(sql, ...params).map((row) => Object.values(row));
    }
    let statement = this.#arrayStatements.get(sql);
    if (!statement) {
      this.#arrayStatements.set(sql, statement = this.driver.prepareArrays(this.#readable(sql)));
    }
    const rows = statement.all(...params);
    return this.#cutsNul && WHOLE_TEXT.has(sql) ? whole(rows) : rows;
  }

  /** Whether no other connection has committed since this one last looked. */
  unchanged(): boolean {
    const seen = Number(this.get(SQL.dataVersion)?.data_version);
    return this.#dataVersion !== undefined && seen === this.#dataVersion;
  }

  /**
   * Runs `body` without a transaction when no other connection has
   * committed since this one last looked: for answers that come from
   * `list`'s index alone (or from one SQL statement, which is a snapshot by
   * itself). Otherwise it falls back to {@linkcode transaction}.
   */
  quick<R>(list: IndexedList | undefined, body: () => R): Promise<R> {
    if (this.closed) return Promise.reject(storeClosed());
    if (list && !list.loaded) return this.transaction(false, body);
    try {
      return this.unchanged() ? Promise.resolve(body()) : this.transaction(false, body);
    } catch (error) {
      return Promise.reject(isSockSyncError(error) ? error : storeError(error));
    }
  }

  #plain<R>(write: boolean, body: () => R): R {
    this.run(write ? SQL.beginWrite : SQL.begin);
    let result: R;
    try {
      result = body();
    } catch (error) {
      this.run(SQL.rollback);
      throw error;
    }
    this.run(SQL.commit);
    return result;
  }

  // Another connection (another process, or another store object on the same
  // file) committed: keep the indexes of lists whose version row is as we
  // left it, drop the others.
  // Resets go into `resets` as they come: a recheck that has to write
  // (NeedsWrite) leaves those before it to be told, and data_version unseen,
  // so that the write transaction run next checks again.
  #notice(resets: (() => void)[], led?: { row: Row; list: IndexedList }): void {
    const stamp = led?.row ?? this.get(SQL.stamp);
    const seen = Number(stamp?.v);
    this.#readers = stamp?.r != null;
    const known = this.#dataVersion;
    if (known !== undefined && seen !== known) {
      for (const list of this.lists) {
        if (list === led?.list) continue;
        const reset = list.recheck();
        if (reset) resets.push(reset);
      }
    }
    this.#dataVersion = seen;
  }

  #prepare(sql: string) {
    let statement = this.#statements.get(sql);
    if (!statement) {
      this.#statements.set(sql, statement = this.driver.prepare(this.#readable(sql)));
    }
    return statement;
  }

  // The statement as this driver runs it (see `WHOLE_TEXT`).
  #readable(sql: string): string {
    return this.#cutsNul ? WHOLE_TEXT.get(sql) ?? sql : sql;
  }
}
