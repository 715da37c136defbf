/**
 * The PostgreSQL store: lists and vars shared by every server instance on
 * one PostgreSQL, with no Redis needed for fan-out.
 * {@linkcode openPostgresStore} opens it.
 *
 * Tables `lists`, `items` and `vars` (with an optional name prefix) live in
 * a schema of their own. Every mutation is one statement that changes the
 * data, bumps the list's (or var's) version if it is still the one this
 * instance knows (a compare-and-set), and publishes the change with
 * `pg_notify` in the same transaction: a list's change only while another
 * store listens (registered in table `listeners`, see `listeners.ts`).
 * Each store holds ONE listening connection and reports changes to its
 * listeners from there, so an instance sees its own changes and everyone
 * else's in the order the database committed them; a list mutation settles
 * once its own change came back that way, or, unpublished, once this store
 * reported it.
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
import { ErrorCode, isSockSyncError, SockSyncError } from "../../src/errors.ts";
import type { ListSource, PresenceStore, Store } from "../../src/store.ts";
import {
  encodeText,
  listenerName,
  openPgClient,
  pgError,
  type PgSql,
  type PgTables,
  pgTables,
  quoteIdent,
} from "./driver.ts";
import { PostgresListSource } from "./list.ts";
import {
  addListenersColumn,
  LISTENERS_COLUMN,
  listenersTable,
  registerListener,
  unregisterListener,
} from "./listeners.ts";
import { PostgresCallStore } from "./calls.ts";
import { listStatements, LostWrite, type PgListContext, type PgListMessage } from "./list_sql.ts";
import { type PgVarMessage, PostgresVarStore } from "./var.ts";
import { serialResync } from "../common/resync.ts";
import { LeasedPresence, type LeaseOptions } from "../common/leased_presence.ts";

export type { LeaseOptions } from "../common/leased_presence.ts";
import { PostgresLeases, presenceStatements } from "./presence.ts";

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
  /** The lease of this process's presence (see `store.presence()`); default 5 s, renewed every 1 s. */
  presence?: LeaseOptions;
}

function schemaStatements(t: PgTables): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${t.schema}`,
    `CREATE TABLE IF NOT EXISTS ${t.lists} (
      name text PRIMARY KEY,
      version bigint NOT NULL,
      count bigint NOT NULL,
      ${LISTENERS_COLUMN})`,
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
    listenersTable(t),
    ...presenceStatements(t),
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

/**
 * Whether a statement failed for want of a connection rather than on its
 * merits: no answer at all, or PostgreSQL's own word that the connection
 * ended (class 08; 57P01–57P03: terminated, crashed, shutting down or
 * starting up) or that the statement ran too long (57014).
 */
function lostConnection(error: unknown): boolean {
  const { name, code } = (error ?? {}) as { name?: string; code?: string };
  if (name !== "PostgresError") return true;
  return code === "57014" || /^(08|57P0[123])/.test(code ?? "");
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
  return await PostgresStore.open(options.url, {
    schema,
    prefix,
    tables: pgTables(schema, prefix),
    channel,
    timeoutMs,
    maxConnections: options.maxConnections ?? 10,
    presence: options.presence,
  });
}

/** What {@linkcode PostgresStore.open} needs besides the URL, defaults applied. */
interface PostgresSettings {
  schema: string;
  prefix: string;
  tables: PgTables;
  channel: string;
  timeoutMs: number;
  maxConnections: number;
  presence?: LeaseOptions;
}

/**
 * The store {@linkcode openPostgresStore} opens: a pool for statements and
 * one listening connection whose notifications it hands to its lists and
 * vars, one at a time.
 */
class PostgresStore implements Store {
  readonly kind = "postgres";
  readonly vars: PostgresVarStore;
  /** Where call answers are remembered across instances. */
  readonly calls: PostgresCallStore;
  readonly #sql: PgSql;
  #listener: PgSql | undefined;
  // This store in the registry of listeners (see listeners.ts); also tells its var messages.
  readonly #token = nanoid();
  readonly #tables: PgTables;
  readonly #channel: string;
  readonly #listContext: PgListContext;
  readonly #lists = new Map<string, PostgresListSource<unknown>>();
  // After a cut feed every list listener gets a reset and every var listener every value.
  readonly #resync: () => Promise<void>;
  #closed = false;
  // Changes are handled one at a time, in the order they arrived; a resync
  // waits for the changes already received to be handled first.
  #chain = Promise.resolve();
  // A statement failed for want of a connection: a read that a view needed
  // (a page re-read while applying a change) may be lost, so once statements
  // succeed again every view is read again, as after a listener reconnect.
  #cut = false;
  #complained = false;
  #listening = false;
  #relistening = false;
  // A list write is running on the listening connection.
  #writing = false;
  #probe: ReturnType<typeof setTimeout> | undefined;
  #presence: LeasedPresence | undefined;
  #presenceOptions: LeaseOptions | undefined;

  private constructor(
    sql: PgSql,
    { schema, prefix, tables, channel, timeoutMs }: PostgresSettings,
  ) {
    this.#sql = sql;
    this.#tables = tables;
    this.#channel = channel;
    const run = <R>(body: (sql: PgSql) => Promise<R>) => this.#run(body);
    this.#listContext = {
      tables,
      channel,
      token: this.#token,
      timeoutMs,
      statements: listStatements(tables),
      run,
      write: (body, pool) => this.#write(body, pool),
    };
    this.vars = new PostgresVarStore({ tables, channel, source: this.#token, run });
    this.calls = new PostgresCallStore({ schema, prefix, run });
    this.#resync = serialResync({
      lists: () => this.#lists.values(),
      vars: this.vars,
      closed: () => this.#closed,
    });
  }

  /**
   * Opens the statement pool and the listening connection, creates the
   * schema and tables when missing and LISTENs.
   */
  static async open(url: string, settings: PostgresSettings): Promise<PostgresStore> {
    const { timeoutMs, channel } = settings;
    const common = {
      connect_timeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
      onnotice: () => {},
      connection: { application_name: "socksync" },
    };
    const settingsOf = (application_name: string) => ({
      application_name,
      // The server cancels a statement that waits or runs longer (a lock held
      // elsewhere, an overloaded server): the caller gets code 8, not a hang.
      statement_timeout: String(timeoutMs),
      // Every statement is prepared once per connection and then planned once: by
      // default PostgreSQL plans these again on every run (a `LIMIT $3` makes its
      // generic plan look dear), which costs more than running them (a page, measured
      // on a loaded machine: 40–90 µs planning, 25–35 running). Their plans do not
      // depend on the values: lookups by key and keyset ranges under a LIMIT. The
      // whole-list scan that loads a tree plans per run again (see order.ts).
      plan_cache_mode: "force_generic_plan",
    });
    const sql = await openPgClient(url, {
      ...common,
      connection: settingsOf("socksync"),
      max: settings.maxConnections,
    });
    const store = new PostgresStore(sql, settings);
    store.#presenceOptions = settings.presence;
    const listener = await openPgClient(url, {
      ...common,
      // List writes run here too (see #write), bounded and planned like the pool's
      // statements; the name tells this connection from the pool's (it runs more than LISTEN).
      connection: settingsOf(listenerName(channel)),
      max: 1,
      idle_timeout: null,
      max_lifetime: null,
      fetch_types: false,
      onnotify: (name, text) => name === channel && store.#deliver(text),
      onclose: () => void store.#relisten(),
    });
    await store.#start(listener, settings.schema);
    return store;
  }

  /** The list with this name (the same object for the same name). */
  list<T>(name: string): ListSource<T> {
    let list = this.#lists.get(name);
    if (!list) this.#lists.set(name, list = new PostgresListSource(this.#listContext, name));
    return list as ListSource<T>;
  }

  /**
   * This process's presence (made on the first call): members listed for
   * every process on this database, under a lease renewed every second.
   */
  presence(): PresenceStore {
    return this.#presence ??= new LeasedPresence(
      new PostgresLeases((body) => this.#run(body), this.#tables, (name) => this.list(name)),
      this.#presenceOptions,
    );
  }

  /** Removes this process's members, drops every listener and ends both connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#presence?.close().catch(() => {});
    this.#closed = true;
    clearTimeout(this.#probe);
    for (const list of this.#lists.values()) await list.close();
    this.vars.detach();
    // Others stop publishing to this store; a row left behind costs them NOTIFYs only.
    if (this.#listening) {
      await unregisterListener(this.#listener!, this.#tables, this.#token).catch(() => {});
    }
    await Promise.allSettled([this.#sql.end({ timeout: 1 }), this.#listener?.end({ timeout: 1 })]);
  }

  /** Creates the schema and tables when missing and LISTENs on `listener`. */
  async #start(listener: PgSql, schema: string): Promise<void> {
    this.#listener = listener;
    try {
      await this.#sql.begin("", async (tx) => {
        await tx.unsafe("SELECT pg_advisory_xact_lock(hashtext($1))", [`socksync:${schema}`]);
        for (const statement of schemaStatements(this.#tables)) await tx.unsafe(statement);
        await addListenersColumn(tx, this.#tables);
      });
      await this.#relisten();
      if (!this.#listening) throw new Error("could not listen");
    } catch (error) {
      this.#closed = true;
      await Promise.allSettled([this.#sql.end({ timeout: 0 }), listener.end({ timeout: 0 })]);
      throw pgError(error);
    }
  }

  /** A notification from the listening connection: handled after the ones before it. */
  #deliver(text: string): void {
    this.#chain = this.#chain.then(() => this.#handle(text)).catch(() => {});
  }

  /**
   * LISTENs (again after the connection dropped, with backoff while the
   * database is down) and registers as a listener, then resyncs: changes
   * published meanwhile were missed.
   */
  async #relisten(): Promise<void> {
    const listener = this.#listener;
    if (!listener || this.#relistening || this.#closed) return;
    this.#relistening = true;
    const reconnect = this.#listening;
    this.#listening = false;
    try {
      for (let attempt = 0; !this.#closed; attempt++) {
        try {
          await listener.unsafe(`LISTEN ${quoteIdent(this.#channel)}`);
          await registerListener(listener, this.#tables, this.#token);
          this.#listening = true;
          break;
        } catch (error) {
          if (!reconnect && attempt === 0) throw error;
          await sleep(Math.min(50 * 2 ** attempt, 2000));
        }
      }
    } finally {
      this.#relistening = false;
    }
    if (reconnect) this.#deliverResync();
  }

  #deliverResync(): void {
    this.#chain = this.#chain.then(this.#resync).catch(() => {});
  }

  // A statement lost its connection: once one succeeds again every view is
  // read again. Other traffic may never come (the failed one may be that very
  // resync, its connection cut with the listening one), so a probe asks.
  #retryCut(): void {
    if (this.#probe !== undefined || this.#closed) return;
    this.#probe = setTimeout(() => {
      this.#probe = undefined;
      if (this.#cut) this.#run((sql) => sql.unsafe("SELECT 1")).catch(() => {});
    }, 250);
  }

  async #run<R>(body: (sql: PgSql) => Promise<R>): Promise<R> {
    if (this.#closed) throw new SockSyncError(ErrorCode.Other, "store closed");
    let result: R;
    try {
      result = await body(this.#sql);
    } catch (error) {
      if (lostConnection(error)) {
        this.#cut = true;
        this.#retryCut();
      }
      throw pgError(error);
    }
    if (this.#cut) {
      this.#cut = false;
      this.#deliverResync();
    }
    return result;
  }

  /**
   * A list write on the listening connection while it listens and no other
   * write is using it: the write's own NOTIFY then comes back on it with the
   * reply, where from the pool it would wake this process (and the listening
   * backend) once more, and a write that waits for its change to be reported
   * waits no longer than for its reply. Writes that come while one runs there
   * go to the pool, so that concurrent writes still spread over its connections.
   */
  async #write<R>(body: (sql: PgSql) => Promise<R>, pool: boolean): Promise<R> {
    const listener = this.#listener;
    if (pool || !listener || !this.#listening || this.#writing || this.#closed) {
      return await this.#run(body);
    }
    this.#writing = true;
    try {
      return await body(listener);
    } catch (error) {
      // A cancelled statement (57014) did not commit, and a SockSyncError comes from the
      // pool (a renumbering): only this connection dropping leaves doubt.
      const { code } = (error ?? {}) as { code?: string };
      throw lostConnection(error) && code !== "57014" && !isSockSyncError(error)
        ? new LostWrite(pgError(error))
        : pgError(error);
    } finally {
      this.#writing = false;
    }
  }

  async #handle(text: string): Promise<void> {
    let message: PgListMessage | PgVarMessage;
    try {
      message = JSON.parse(text);
      const valid = typeof message === "object" && message !== null &&
        Number.isInteger(message.version) &&
        ("var" in message ? typeof message.var === "string" : typeof message.list === "string");
      if (!valid) throw new Error("not a change");
    } catch {
      if (!this.#complained) {
        this.#complained = true;
        console.error(
          `socksync: unreadable notification on channel ${this.#channel}; every view is read again`,
        );
      }
      return await this.#resync();
    }
    if ("var" in message) return await this.vars.receive(message);
    const list = this.#lists.get(message.list);
    if (!list) return;
    if (message.big) {
      const key = [encodeText(message.list), encodeText(message.id)];
      const row = await this.#run((sql) =>
        sql.unsafe(this.#listContext.statements.get, key, { prepare: true })
      ).then(([row]) => row, () => undefined);
      // Gone already (or unreadable): the listeners read the list again.
      if (!row) return list.receiveReset(message.version);
      message.value = JSON.parse(row.value as string);
    }
    list.receive(message);
  }
}
export {
  openPostgresChannel,
  type PostgresChannel,
  type PostgresChannelOptions,
} from "./channel.ts";
