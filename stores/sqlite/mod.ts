/**
 * The SQLite store: one file holds every list and var, so data survives a
 * restart with nothing else to run. {@linkcode openSqliteStore} opens it.
 *
 * Items are ordered by fractional order keys (`stores/common/order_key.ts`), indexed
 * on (list, key): an insert makes one new key between its neighbours and
 * never renumbers the others. Each list's version and count live in a row
 * of their own, bumped in the same transaction as the change, except while
 * one connection writes the list alone (it claims it, keeps them in memory,
 * and any other connection takes it over first: `WRITE_STEPS` in
 * `database.ts`). Changes are
 * reported to listeners in this process right after the commit, and, while
 * the store has listeners, those made through other connections to the file
 * (other processes) within about 100 ms (`sqlite_feed.ts`). The database is
 * `sqlite_database.ts`, a list `sqlite_list.ts`.
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { Store } from "../../src/store.ts";
import { isMissingDriver } from "../common/driver_import.ts";
import { storeError } from "../common/store_errors.ts";
import { Database } from "./database.ts";
import { SqliteListSource } from "./list.ts";
import { openSqliteDriver, type SqliteDriver } from "./driver.ts";
import { type SqliteVarStore, StoreFeed } from "./feed.ts";

export type { SqliteVarStore } from "./feed.ts";

export type { SqliteArrayStatement, SqliteDriver, SqliteStatement } from "./driver.ts";

/**
 * Options for {@linkcode openSqliteStore}.
 *
 * @example
 * ```ts
 * import type { SqliteStoreOptions } from "./mod.ts";
 * const options: SqliteStoreOptions = { path: "./data/socksync.db" };
 * ```
 */
export interface SqliteStoreOptions {
  /** The database file; its directory is created when missing. `":memory:"` keeps it in memory. */
  path: string;
}

/**
 * The SQLite store: a {@linkcode Store} whose vars have `subscribe` and
 * `update` and whose lists have `update`.
 *
 * @example
 * ```ts
 * import type { SqliteStore } from "./mod.ts";
 * function watch(store: SqliteStore) {
 *   return store.vars.subscribe((name, value) => console.log(name, value));
 * }
 * ```
 */
export interface SqliteStore extends Store {
  /** The vars (other connections' writes are reported while subscribed). */
  readonly vars: SqliteVarStore;
  /** The list with this name (created empty when new); the same object for the same name. */
  list<T = unknown>(name: string): SqliteListSource<T>;
}

/**
 * A store over an open {@linkcode SqliteDriver}, for callers that bring their
 * own driver (or wrap one, as the complexity test does to count statements).
 * Creates the tables when missing.
 *
 * @example
 * ```ts
 * import { sqliteStore } from "./mod.ts";
 * import { openSqliteDriver } from "./driver.ts";
 * const store = sqliteStore(await openSqliteDriver(":memory:"));
 * await store.list("todos").insert(0, { text: "milk" });
 * await store.close();
 * ```
 */
export function sqliteStore(driver: SqliteDriver): SqliteStore {
  const db = new Database(driver);
  const lists = new Map<string, SqliteListSource<unknown>>();
  const feed = new StoreFeed(db, lists);
  return {
    kind: "sqlite",
    vars: feed.vars,
    list<T>(name: string): SqliteListSource<T> {
      let list = lists.get(name);
      if (!list) {
        lists.set(name, list = new SqliteListSource(feed, name));
        db.lists.add(list);
      }
      return list as SqliteListSource<T>;
    },
    async close(): Promise<void> {
      if (db.closed) return;
      // The lists this connection owns get their true version rows back (a
      // failure leaves them to be taken over, as after a crash).
      const owned = [...lists.values()].filter((list) => list.owned);
      if (owned.length > 0) {
        await db.transaction(true, () => owned.forEach((list) => list.release())).catch(() => {});
      }
      for (const list of lists.values()) await list.close();
      feed.vars.detach();
      feed.close();
      // The connection closes: so does its watcher (table bindings on it too).
      db.watcher.close();
      db.closed = true;
      driver.close();
    },
  };
}

/**
 * Opens (or creates) the SQLite store at `path`, in WAL mode. Uses
 * `node:sqlite` on Deno, Bun and Node ≥ 22.13, else `better-sqlite3`. Rejects
 * with a `SockSyncError` (code 8) when the file cannot be opened, and with an
 * `Error` that says how to install it when neither driver is there.
 *
 * @example
 * ```ts
 * import { openSqliteStore } from "./mod.ts";
 * const store = await openSqliteStore({ path: "./data/socksync.db" });
 * await store.vars.set("title", "Groceries");
 * await store.close();
 * ```
 */
export async function openSqliteStore(
  options: SqliteStoreOptions,
): Promise<SqliteStore> {
  const { path } = options;
  try {
    if (path !== ":memory:" && !path.startsWith("file:")) {
      await mkdir(dirname(path), { recursive: true });
    }
    return sqliteStore(await openSqliteDriver(path));
  } catch (error) {
    // A missing driver is a setup mistake, not an unavailable store.
    throw isMissingDriver(error) ? error : storeError(error);
  }
}
