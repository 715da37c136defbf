/**
 * The PostgreSQL store: lists and vars shared by every server instance on
 * one PostgreSQL, with no Redis needed for fan-out.
 * {@linkcode openPostgresStore} opens it.
 *
 * Tables `lists`, `items` and `vars` (with an optional name prefix) live in
 * a schema of their own. Every mutation is one statement that changes the
 * data, bumps the list's (or var's) version if it is still the one this
 * instance knows (a compare-and-set), and publishes the change with
 * `pg_notify` in the same transaction. Each store holds ONE listening
 * connection and reports changes to its listeners from there only, so an
 * instance sees its own changes and everyone else's in the order the
 * database committed them; a list mutation settles once its own change came
 * back that way.
 *
 * After the listening connection drops and comes back, list listeners get
 * `{ op: "reset" }` and var listeners every current value: changes made
 * meanwhile were missed. A notification that cannot be read is logged once
 * and handled the same way. While the database is unreachable every call
 * fails with code 8 and the process stays up.
 *
 * The driver is `postgres` (postgres.js 3.x, an optional peer dependency):
 * pure JavaScript over the runtime's sockets, it runs unchanged on Deno,
 * Bun and Node.
 *
 * @module
 */
import { nanoid } from "nanoid";
import { ErrorCode, SockSyncError } from "../../src/errors.ts";
import type { ListSource, Store } from "../../src/store.ts";
import {
  encodeText,
  openPgClient,
  pgError,
  type PgSql,
  type PgTables,
  pgTables,
  quoteIdent,
} from "./driver.ts";
import { PostgresListSource } from "./list.ts";
import { listStatements, type PgListContext, type PgListMessage } from "./list_sql.ts";
import { type PgVarMessage, PostgresVarStore } from "./var.ts";
import { serialResync } from "../common/resync.ts";

/**
 * Options for {@linkcode openPostgresStore}.
 *
 * @example
 * ```ts
 * import type { PostgresStoreOptions } from "./mod.ts";
 * const options: PostgresStoreOptions = {
 *   url: "postgres://postgres@127.0.0.1:5432/postgres",
 *   schema: "todo_app",
 * };
 * ```
 */
export interface PostgresStoreOptions {
  /** `postgres://[user[:password]@]host[:port]/database`. */
  url: string;
  /** The schema that holds the tables, created when missing (default `"socksync"`). */
  schema?: string;
  /** Prepended to the table names, for several stores in one schema (default `""`). */
  prefix?: string;
  /**
   * How long connecting and one statement may take, and a mutation waits for
   * its change to come back, in ms (default 5000). Loading a list's order
   * and renumbering its keys are not bounded.
   */
  timeoutMs?: number;
  /** At most this many connections for statements, besides the listening one (default 10). */
  maxConnections?: number;
}

function schemaStatements(t: PgTables): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${t.schema}`,
    `CREATE TABLE IF NOT EXISTS ${t.lists} (
      name text PRIMARY KEY,
      version bigint NOT NULL,
      count bigint NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t.items} (
      list text NOT NULL,
      id text NOT NULL,
      key text COLLATE "C" NOT NULL,
      value text NOT NULL,
      PRIMARY KEY (list, id))`,
    `CREATE INDEX IF NOT EXISTS ${t.itemsOrder} ON ${t.items} (list, key)`,
    `CREATE TABLE IF NOT EXISTS ${t.vars} (
      name text PRIMARY KEY,
      value text,
      version bigint NOT NULL)`,
  ];
}

// A malformed URL is the caller's mistake, not an outage: code 6, with the password hidden.
function checkUrl(url: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:")) {
    const shown = parsed
      ? (parsed.password ? url.replace(`:${parsed.password}@`, ":***@") : url)
      : url.replace(/:[^:@/]*@/, ":***@");
    throw new SockSyncError(
      ErrorCode.InvalidArguments,
      `not a PostgreSQL URL (postgres://user@host:port/database): ${shown}`,
    );
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Opens the PostgreSQL store: creates its schema and tables when missing and
 * starts listening for changes. Rejects with a `SockSyncError` (code 8) when
 * the database does not answer, and with a plain error naming the package
 * when `postgres` is not installed.
 *
 * @example
 * ```ts ignore
 * import { openPostgresStore } from "./mod.ts";
 * const store = await openPostgresStore({ url: "postgres://postgres@127.0.0.1:5432/postgres" });
 * await store.list("todos").insert(0, { text: "milk" });
 * await store.close();
 * ```
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const schema = options.schema ?? "socksync";
  const prefix = options.prefix ?? "";
  const timeoutMs = options.timeoutMs ?? 5000;
  const channel = `${schema}.${prefix}changes`;
  if (new TextEncoder().encode(channel).length > 63) {
    throw new SockSyncError(
      ErrorCode.InvalidArguments,
      `schema and prefix too long for a channel name: ${channel}`,
    );
  }
  checkUrl(options.url);
  const tables = pgTables(schema, prefix);
  const common = {
    connect_timeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
    onnotice: () => {},
    connection: { application_name: "socksync" },
  };
  const sql = await openPgClient(options.url, {
    ...common,
    // The server cancels a statement that waits or runs longer (a lock held
    // elsewhere, an overloaded server): the caller gets code 8, not a hang.
    connection: { ...common.connection, statement_timeout: String(timeoutMs) },
    max: options.maxConnections ?? 10,
  });
  let closed = false;
  // Changes are handled one at a time, in the order they arrived; a resync
  // waits for the changes already received to be handled first.
  let chain = Promise.resolve();
  const deliverResync = () => {
    chain = chain.then(resync).catch(() => {});
  };
  // A statement failed for want of a connection: a read that a view needed
  // (a page re-read while applying a change) may be lost, so once statements
  // succeed again every view is read again, as after a listener reconnect.
  let cut = false;
  const run = async <R>(body: (sql: PgSql) => Promise<R>): Promise<R> => {
    if (closed) throw new SockSyncError(ErrorCode.Other, "store closed");
    let result: R;
    try {
      result = await body(sql);
    } catch (error) {
      const { name, code } = (error ?? {}) as { name?: string; code?: string };
      // 57014: cancelled by statement_timeout; the others are not PostgreSQL's answers at all.
      if (name !== "PostgresError" || code === "57014") cut = true;
      throw pgError(error);
    }
    if (cut) {
      cut = false;
      deliverResync();
    }
    return result;
  };
  const source = nanoid();
  const listContext: PgListContext = {
    tables,
    channel,
    timeoutMs,
    statements: listStatements(tables),
    run,
  };
  const lists = new Map<string, PostgresListSource<unknown>>();
  const vars = new PostgresVarStore({ tables, channel, source, run });

  // After a cut feed every list listener gets a reset and every var listener every value.
  const resync = serialResync({
    lists: () => lists.values(),
    vars,
    closed: () => closed,
  });

  let complained = false;
  const handle = async (text: string): Promise<void> => {
    let message: PgListMessage | PgVarMessage;
    try {
      message = JSON.parse(text);
      const valid = typeof message === "object" && message !== null &&
        Number.isInteger(message.version) &&
        ("var" in message ? typeof message.var === "string" : typeof message.list === "string");
      if (!valid) throw new Error("not a change");
    } catch {
      if (!complained) {
        complained = true;
        console.error(
          `socksync: unreadable notification on channel ${channel}; every view is read again`,
        );
      }
      return await resync();
    }
    if ("var" in message) return await vars.receive(message);
    const list = lists.get(message.list);
    if (!list) return;
    if (message.big) {
      const row = await run((sql) =>
        sql.unsafe(listContext.statements.get, [encodeText(message.list), encodeText(message.id)], {
          prepare: true,
        })
      ).then(([row]) => row, () => undefined);
      // Gone already (or unreadable): the listeners read the list again.
      if (!row) return list.receiveReset(message.version);
      message.value = JSON.parse(row.value as string);
    }
    list.receive(message);
  };
  const deliver = (text: string) => {
    chain = chain.then(() => handle(text)).catch(() => {});
  };

  const listener = await openPgClient(options.url, {
    ...common,
    max: 1,
    idle_timeout: null,
    max_lifetime: null,
    fetch_types: false,
    onnotify: (name, text) => name === channel && deliver(text),
    onclose: () => void relisten(),
  });
  // LISTENs again after the connection dropped (with backoff while the
  // database is down), then resyncs: changes published meanwhile were missed.
  let listening = false;
  let relistening = false;
  const relisten = async (): Promise<void> => {
    if (relistening || closed) return;
    relistening = true;
    const reconnect = listening;
    listening = false;
    try {
      for (let attempt = 0; !closed; attempt++) {
        try {
          await listener.unsafe(`LISTEN ${quoteIdent(channel)}`);
          listening = true;
          break;
        } catch (error) {
          if (!reconnect && attempt === 0) throw error;
          await sleep(Math.min(50 * 2 ** attempt, 2000));
        }
      }
    } finally {
      relistening = false;
    }
    if (reconnect) deliverResync();
  };

  try {
    await sql.begin("", async (tx) => {
      await tx.unsafe("SELECT pg_advisory_xact_lock(hashtext($1))", [`socksync:${schema}`]);
      for (const statement of schemaStatements(tables)) await tx.unsafe(statement);
    });
    await relisten();
    if (!listening) throw new Error("could not listen");
  } catch (error) {
    closed = true;
    await Promise.allSettled([sql.end({ timeout: 0 }), listener.end({ timeout: 0 })]);
    throw pgError(error);
  }

  return {
    kind: "postgres",
    vars,
    list<T>(name: string): ListSource<T> {
      let list = lists.get(name);
      if (!list) lists.set(name, list = new PostgresListSource(listContext, name));
      return list as ListSource<T>;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const list of lists.values()) await list.close();
      vars.detach();
      await Promise.allSettled([sql.end({ timeout: 1 }), listener.end({ timeout: 1 })]);
    },
  };
}
