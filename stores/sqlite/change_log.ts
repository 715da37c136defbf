/**
 * The change log in the database file: `socksync_changes` (one row per changed row of a
 * watched table, in `seq` order), `socksync_change_readers` (the processes listening, so
 * that the triggers record only while someone reads, and trimming keeps what a reader
 * has not seen yet), the triggers that fill it, and the types of the watcher that reads it
 * (`changes.ts`).
 *
 * @module
 */
import type { SqliteDriver } from "./driver.ts";
import { quoteIdent, type SqlValue } from "../table/sql_value.ts";

/**
 * One recorded change, as {@linkcode ChangeConsumer.rows} receives it: `op` is `i`, `u`
 * or `d` for a trigger's row; a writer that records its own changes (the SQLite store)
 * chooses its own ops and puts what it needs in `key`.
 */
export interface ChangeRow {
  /** What happened. */
  op: string;
  /** The changed row's key (or the writer's own description of the change). */
  key: SqlValue;
}

/**
 * Told about changed rows of one table, inside the read transaction in which they were
 * read, so that it can read the rows' current state from the same snapshot. A consumer
 * has `changed` (each key once) or `rows` (every change, in order).
 */
export interface ChangeConsumer {
  /** The keys changed since the last call, each once, in the order first changed. */
  changed?(keys: SqlValue[]): void;
  /** Every change since the last call, in the order committed (used instead of `changed`). */
  rows?(rows: ChangeRow[]): void;
  /** Changes were trimmed before this process read them: rebuild from the table. */
  lost(): void;
}

/**
 * Options for `changeWatcher` (`changes.ts`).
 */
export interface ChangeWatcherOptions {
  /** How often a listening watcher looks for other connections' writes, in ms (default 100). */
  pollMs?: number;
  /** How often a listening watcher refreshes its reader row and trims, in ms (default 10000). */
  maintainMs?: number;
  /** Told about failures that have no caller (the timer's reads, listeners that throw). */
  onError?: (error: unknown) => void;
}

/** The change table and the table of registered readers. */
export const CHANGE_LOG_SCHEMA = `
CREATE TABLE IF NOT EXISTS socksync_changes (
  seq INTEGER PRIMARY KEY,
  tbl TEXT NOT NULL,
  op TEXT NOT NULL,
  key
);
CREATE TABLE IF NOT EXISTS socksync_change_readers (
  reader TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL
);`;

/** The statements of the change watcher. */
export const CHANGE_LOG_SQL = {
  stamp: "SELECT total_changes() AS t, data_version AS v FROM pragma_data_version()",
  last: "SELECT COALESCE(MAX(seq), 0) AS seq FROM socksync_changes",
  since: "SELECT seq, tbl, op, key FROM socksync_changes WHERE seq > ? ORDER BY seq LIMIT ?",
  // A change a writer records itself (the SQLite store's own tables), only while some
  // process reads: the range under LIMIT finds the first reader without a scan.
  append: `INSERT INTO socksync_changes (tbl, op, key)
    SELECT ?, ?, ? FROM socksync_change_readers WHERE reader >= '' LIMIT 1`,
  register: "INSERT INTO socksync_change_readers (reader, seq, at) VALUES (?, ?, ?)",
  heartbeat: "UPDATE socksync_change_readers SET seq = ?, at = ? WHERE reader = ? RETURNING reader",
  unregister: "DELETE FROM socksync_change_readers WHERE reader = ?",
  expire: "DELETE FROM socksync_change_readers WHERE at < ?",
  // The row at the smallest seen seq stays, so MAX(seq) never goes back and a
  // gap in seq always means rows were trimmed unseen.
  trim: `DELETE FROM socksync_changes WHERE seq < COALESCE(
    (SELECT MIN(seq) FROM socksync_change_readers), (SELECT MAX(seq) FROM socksync_changes))`,
  triggers: `SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?
    AND name LIKE 'socksync\\_%' ESCAPE '\\'`,
} as const;

const quoteText = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/**
 * Creates the change log when missing and the AFTER INSERT, UPDATE and DELETE triggers of
 * `table` that record its `key` column (an update that changes the key records both).
 * Throws if the table has SockSync triggers for another key column.
 */
export function installTriggers(db: SqliteDriver, table: string, key: string): void {
  db.exec(CHANGE_LOG_SCHEMA);
  const prefix = `socksync_${table}_${key}_`;
  for (const row of db.prepare(CHANGE_LOG_SQL.triggers).all(table)) {
    if (!String(row.name).startsWith(prefix)) {
      throw new Error(`table "${table}" has change triggers for another key column`);
    }
  }
  const t = quoteIdent(table);
  const k = quoteIdent(key);
  const name = (op: string) => quoteIdent(prefix + op);
  const record = (op: string, row: string) =>
    `INSERT INTO socksync_changes (tbl, op, key) VALUES (${
      quoteText(table)
    }, '${op}', ${row}.${k});`;
  const when = "WHEN EXISTS (SELECT 1 FROM socksync_change_readers)";
  db.exec(`
      CREATE TRIGGER IF NOT EXISTS ${name("insert")} AFTER INSERT ON ${t} ${when}
      BEGIN ${record("i", "NEW")} END;
      CREATE TRIGGER IF NOT EXISTS ${name("update")} AFTER UPDATE ON ${t} ${when}
      BEGIN ${record("u", "OLD")}
        INSERT INTO socksync_changes (tbl, op, key) SELECT ${quoteText(table)}, 'u', NEW.${k}
          WHERE NEW.${k} IS NOT OLD.${k};
      END;
      CREATE TRIGGER IF NOT EXISTS ${name("delete")} AFTER DELETE ON ${t} ${when}
      BEGIN ${record("d", "OLD")} END;`);
}
