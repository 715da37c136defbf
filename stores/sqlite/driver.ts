/**
 * The one tiny synchronous SQLite interface the SQLite store is written
 * against, and {@linkcode openSqliteDriver}, which picks what the runtime
 * has: `node:sqlite` (Deno, Bun, Node ≥ 22.13) or else `better-sqlite3`
 * (an optional peer dependency, needed on older Node only).
 *
 * @module
 */
import { importDriver } from "../common/driver_import.ts";

/**
 * A value SQLite takes as a parameter or gives back.
 *
 * @internal
 */
type SqlValue = string | number | bigint | null | Uint8Array;

/**
 * A prepared statement.
 *
 * @example
 * ```ts
 * import type { SqliteStatement } from "./driver.ts";
 * function first(statement: SqliteStatement) {
 *   return statement.get("todos");
 * }
 * ```
 */
export interface SqliteStatement {
  /** Runs the statement, for its effect: how many rows it changed. */
  run(...params: SqlValue[]): { changes: number | bigint };
  /** The first row, or `undefined`. */
  get(...params: SqlValue[]): Record<string, SqlValue> | undefined;
  /** All rows. */
  all(...params: SqlValue[]): Record<string, SqlValue>[];
}

/**
 * A prepared statement whose rows come back as arrays of their columns.
 *
 * @example
 * ```ts
 * import type { SqliteArrayStatement } from "./driver.ts";
 * function ids(statement: SqliteArrayStatement) {
 *   return statement.all("todos").map((row) => row[0]);
 * }
 * ```
 */
export interface SqliteArrayStatement {
  /** All rows, each as an array of its columns in order. */
  all(...params: SqlValue[]): SqlValue[][];
}

/**
 * An open database.
 *
 * @example
 * ```ts
 * import type { SqliteDriver } from "./driver.ts";
 * function migrate(db: SqliteDriver) {
 *   db.exec("CREATE TABLE IF NOT EXISTS t (x)");
 * }
 * ```
 */
export interface SqliteDriver {
  /** Which library runs underneath, for logs: `"node:sqlite"` or `"better-sqlite3"`. */
  readonly name: string;
  /** Runs SQL text without parameters (may hold several statements). */
  exec(sql: string): void;
  /** Prepares one statement. */
  prepare(sql: string): SqliteStatement;
  /**
   * Prepares one statement whose rows come back as arrays (optional: it saves
   * building an object per row on hot reads; without it the store reads objects).
   */
  prepareArrays?(sql: string): SqliteArrayStatement;
  /** Closes the database. */
  close(): void;
}

interface NodeSqliteModule {
  DatabaseSync: new (path: string) => {
    exec(sql: string): void;
    prepare(sql: string): SqliteStatement & { setReturnArrays?(on: boolean): void };
    close(): void;
  };
}

interface BetterSqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement & { raw(on: boolean): SqliteArrayStatement };
  close(): void;
}

/**
 * Opens the SQLite file at `path` with whatever this runtime offers. Without
 * either driver it rejects with an error that names the package to install.
 *
 * @example
 * ```ts
 * import { openSqliteDriver } from "./driver.ts";
 * const db = await openSqliteDriver(":memory:");
 * db.prepare("SELECT 1 AS one").get(); // { one: 1 }
 * db.close();
 * ```
 */
export async function openSqliteDriver(path: string): Promise<SqliteDriver> {
  let nodeSqlite: NodeSqliteModule | undefined;
  try {
    // Absent on Node < 22.13 (or behind a flag): fall back below.
    nodeSqlite = await import("node:sqlite" as string) as NodeSqliteModule;
  } catch {
    nodeSqlite = undefined;
  }
  if (nodeSqlite?.DatabaseSync) {
    const db = new nodeSqlite.DatabaseSync(path);
    // Before anything reads the schema: another process setting up the same
    // new file (its switch to WAL) would otherwise fail this one's first
    // statement at once with "database is locked".
    db.exec("PRAGMA busy_timeout = 5000");
    // `setReturnArrays` is newer than `node:sqlite` itself (Node 22.16, Deno, Bun have it).
    const arrays = typeof db.prepare("SELECT 1").setReturnArrays === "function";
    return {
      name: "node:sqlite",
      exec: (sql) => db.exec(sql),
      prepare: (sql) => db.prepare(sql),
      ...(arrays
        ? {
          prepareArrays(sql: string) {
            const statement = db.prepare(sql);
            statement.setReturnArrays!(true);
            return statement as unknown as SqliteArrayStatement;
          },
        }
        : {}),
      close: () => db.close(),
    };
  }
  // A variable specifier keeps bundlers and type checkers from requiring it.
  const specifier = "better-sqlite3";
  const { default: Database } = await importDriver(
    {
      entry: "socksync/stores/sqlite",
      pkg: "better-sqlite3",
      version: "12",
      otherwise: "node:sqlite (Deno, Bun, Node >= 22.13)",
    },
    () => import(specifier) as Promise<{ default: new (path: string) => BetterSqliteDatabase }>,
  );
  const db = new Database(path);
  return {
    name: "better-sqlite3",
    exec: (sql) => db.exec(sql),
    prepare: (sql) => db.prepare(sql),
    prepareArrays: (sql) => db.prepare(sql).raw(true),
    close: () => db.close(),
  };
}
