/**
 * The SQL and the messages of the PostgreSQL store's lists (see
 * `stores/postgres/list.ts`), and what every list of a store shares.
 *
 * @module
 */
import { fitsPayload, type PgSql, type PgTables } from "./driver.ts";
import { publishing, registeredTokens } from "./listeners.ts";

/**
 * The SQL text of each list operation.
 */
export type ListStatements = Record<
  | "ensure"
  | "meta"
  | "scan"
  | "page"
  | "pageScan"
  | "rankScan"
  | "get"
  | "read"
  | "insert"
  | "set"
  | "delete"
  | "rekey",
  string
>;

/**
 * What every list of a store shares.
 */
export interface PgListContext {
  readonly tables: PgTables;
  readonly channel: string;
  /** This store in the registry of listeners (see `listeners.ts`). */
  readonly token: string;
  /** How long a mutation waits for its change to come back, in ms. */
  readonly timeoutMs: number;
  readonly statements: ListStatements;
  /** Runs statements; a failure becomes a code 8 `SockSyncError`. */
  run<R>(body: (sql: PgSql) => Promise<R>): Promise<R>;
  /**
   * Runs a write that may publish its change: on the listening connection
   * while that listens and is idle, so that its own notification comes back
   * with its reply instead of waking this process (and a backend) once
   * more; else, or with `pool`, as `run` does. When the listening connection
   * drops during the write, it throws a {@linkcode LostWrite}.
   */
  write<R>(body: (sql: PgSql) => Promise<R>, pool: boolean): Promise<R>;
}

/**
 * A write whose connection dropped before it answered: it may or may not
 * have committed. A list's compare-and-set tells: while the version is still
 * the one the write expected, it did not.
 */
export class LostWrite extends Error {
  /** What the caller gets when it cannot tell (code 8). */
  readonly error: Error;

  constructor(error: Error) {
    super(error.message);
    this.error = error;
  }
}

/**
 * A change as the store publishes it (the list's change plus what the trees need).
 */
export interface PgListMessage {
  list: string;
  op: "insert" | "set" | "delete";
  index: number;
  id: string;
  total: number;
  version: number;
  value?: unknown;
  /** An insert's order key. */
  key?: string;
  /** The value did not fit the payload: read it back. */
  big?: boolean;
  /** Every key of the list changed (a rebalance): trees load again. */
  rekey?: boolean;
}

/**
 * The SQL of the list operations, for one store's tables.
 */
export function listStatements(t: PgTables): ListStatements {
  const bump = (count: string) =>
    `WITH m AS (UPDATE ${t.lists} SET version = version + 1${count}
      WHERE name = $1 AND version = $2 RETURNING listeners)`;
  return {
    ensure: `INSERT INTO ${t.lists} (name, version, count, listeners)
      SELECT $1, 0, 0, ${registeredTokens(t)} ON CONFLICT (name) DO NOTHING`,
    meta: `SELECT version, count FROM ${t.lists} WHERE name = $1`,
    scan: `SELECT id, key FROM ${t.items} WHERE list = $1 ORDER BY key`,
    // Keyset paging: the start key comes from the tree; one statement is one
    // snapshot, so the version tells whether the tree matched these rows (and
    // when it did, the tree's size is the count: no second lookup). The page
    // comes back as one row, its ids and values as one JSON text
    // `[[id, …], [value, …]]` (NULL when no item), which the client parses once
    // instead of taking a row apart per item. Both aggregates read the rows
    // in the sorted subquery's order: the outer level only aggregates (no join
    // that could reorder them), so they arrive in key order and in step.
    page: `SELECT (SELECT version FROM ${t.lists} WHERE name = $1) AS version,
      '[' || json_agg(id)::text || ',[' || string_agg(value, ',') || ']]' AS items
      FROM (SELECT id, value FROM ${t.items} WHERE list = $1 AND key >= $2
        ORDER BY key LIMIT $3) page`,
    // Only while another instance writes faster than its changes arrive.
    pageScan: `SELECT l.version, l.count, i.id, i.value FROM ${t.lists} l
      LEFT JOIN LATERAL (SELECT id, value FROM ${t.items} WHERE list = $1
        ORDER BY key OFFSET $2 LIMIT $3) i ON true WHERE l.name = $1`,
    rankScan: `SELECT CASE WHEN k.key IS NULL THEN -1 ELSE
        (SELECT count(*) FROM ${t.items} WHERE list = $1 AND key < k.key) END AS rank
      FROM (SELECT (SELECT key FROM ${t.items} WHERE list = $1 AND id = $2) AS key) k`,
    get: `SELECT value FROM ${t.items} WHERE list = $1 AND id = $2`,
    read: `SELECT l.version, i.value FROM ${t.lists} l
      LEFT JOIN ${t.items} i ON i.list = l.name AND i.id = $2 WHERE l.name = $1`,
    // Each write publishes its change only while another store listens (see listeners.ts).
    insert: `${bump(", count = count + 1")},
      i AS (INSERT INTO ${t.items} (list, id, key, value)
        SELECT $1::text, $3::text, $4::text, $5::text FROM m)
      ${publishing(6)}`,
    set: `${bump("")},
      u AS (UPDATE ${t.items} SET value = $4::text
        WHERE list = $1 AND id = $3 AND EXISTS (SELECT 1 FROM m))
      ${publishing(5)}`,
    delete: `${bump(", count = count - 1")},
      d AS (DELETE FROM ${t.items} WHERE list = $1 AND id = $3 AND EXISTS (SELECT 1 FROM m))
      ${publishing(4)}`,
    rekey: `UPDATE ${t.items} SET key = v.key FROM unnest($2::text[], $3::text[]) AS v(id, key)
      WHERE list = $1 AND ${t.items}.id = v.id`,
  };
}

/**
 * The NOTIFY payload of a list change: the message with the value's JSON
 * text when that fits, else marked `big` so that receivers read it back.
 */
export function listPayload(message: PgListMessage, valueText?: string): string {
  const head = JSON.stringify(message);
  if (valueText === undefined) return head;
  const full = `${head.slice(0, -1)},"value":${valueText}}`;
  return fitsPayload(full) ? full : `${head.slice(0, -1)},"big":true}`;
}
