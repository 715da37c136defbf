/**
 * The registry of the PostgreSQL stores that listen for one store's list
 * changes: table `listeners` (one row per store object, with the pid of its
 * listening connection), mirrored into every list's row (`lists.listeners`,
 * their tokens) so that a write reads it from the row it updates anyway. A
 * list write sends `pg_notify` only while a store other than the writer is
 * registered; a store alone on its tables pays for no NOTIFY and reports its
 * own changes itself (see `list.ts`).
 *
 * No store misses a change committed after its first read: it registers,
 * after its LISTEN, in a transaction that takes the lists table in SHARE ROW
 * EXCLUSIVE mode, which waits for every list write (and new list row) in
 * flight and holds back new ones until the registration commits. A write
 * holds that table in ROW EXCLUSIVE mode from before its statement's
 * snapshot (PostgreSQL locks a statement's tables before it takes the
 * snapshot) until it commits: so it either committed before the
 * registration took the lock, and the new store's reads see it, or its
 * snapshot sees the registration, and it notifies. The same lock makes
 * registrations and removals take turns, so that none undoes another's
 * mirror.
 *
 * A row whose listening connection is gone (a crash) costs NOTIFYs until
 * the next registration prunes it.
 *
 * @module
 */
import type { PgSql, PgTables } from "./driver.ts";

/**
 * The registry's table.
 */
export function listenersTable(t: PgTables): string {
  return `CREATE TABLE IF NOT EXISTS ${t.listeners} (
      token text PRIMARY KEY,
      pid integer NOT NULL)`;
}

/**
 * The lists table's column that mirrors the registry. A row made some other
 * way than by a store (which copies the registry into it) holds `*`, a token
 * nobody has, so that writes to it publish until the next registration.
 */
export const LISTENERS_COLUMN = "listeners text[] NOT NULL DEFAULT '{*}'";

/**
 * Adds the mirror's column to a lists table made before it existed.
 */
export async function addListenersColumn(tx: PgSql, t: PgTables): Promise<void> {
  const [row] = await tx.unsafe(
    `SELECT 1 FROM pg_attribute
     WHERE attrelid = $1::regclass AND attname = 'listeners' AND NOT attisdropped`,
    [t.lists],
  );
  if (!row) {
    await tx.unsafe(`ALTER TABLE ${t.lists} ADD COLUMN ${LISTENERS_COLUMN}`);
  }
}

/**
 * The tokens registered now, as a new list's row holds them.
 */
export function registeredTokens(t: PgTables): string {
  return `ARRAY(SELECT token FROM ${t.listeners} ORDER BY token)`;
}

/**
 * The tail of a list write after its CTE `m` (the version bump, returning
 * the row's `listeners`): sends the change (`$channel` the channel, the next
 * parameter the payload) only when a store other than the writer (the
 * parameter after that, its token) is registered, and says so in
 * `published`.
 */
export function publishing(channel: number): string {
  const [payload, token] = [channel + 1, channel + 2];
  return `SELECT CASE WHEN array_remove(m.listeners, $${token}::text) <> '{}'
      THEN pg_notify($${channel}, $${payload}) IS NOT NULL ELSE false END AS published FROM m`;
}

/**
 * Registers the store `token` as listening through `sql`, its listening
 * connection, which must LISTEN already; prunes rows whose connection is gone.
 */
export async function registerListener(sql: PgSql, t: PgTables, token: string): Promise<void> {
  await sql.begin("", async (tx) => {
    // Waits for the list writes in flight: see the module's comment.
    await tx.unsafe(`LOCK TABLE ${t.lists} IN SHARE ROW EXCLUSIVE MODE`);
    await tx.unsafe(
      `DELETE FROM ${t.listeners} l
       WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = l.pid)`,
    );
    await tx.unsafe(
      `INSERT INTO ${t.listeners} (token, pid) VALUES ($1, pg_backend_pid())
       ON CONFLICT (token) DO UPDATE SET pid = excluded.pid`,
      [token],
    );
    await tx.unsafe(mirror(t));
  });
}

/**
 * Removes the store `token` from the registry (when it closes).
 */
export async function unregisterListener(sql: PgSql, t: PgTables, token: string): Promise<void> {
  await sql.begin("", async (tx) => {
    await tx.unsafe(`LOCK TABLE ${t.lists} IN SHARE ROW EXCLUSIVE MODE`);
    await tx.unsafe(`DELETE FROM ${t.listeners} WHERE token = $1`, [token]);
    await tx.unsafe(mirror(t));
  });
}

// Every list's row takes the registry's tokens.
function mirror(t: PgTables): string {
  return `UPDATE ${t.lists} SET listeners = r.tokens
    FROM (SELECT ${registeredTokens(t)} AS tokens) r WHERE listeners <> r.tokens`;
}
