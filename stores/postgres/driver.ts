/**
 * What the PostgreSQL store needs from its driver, `postgres` (postgres.js
 * 3.x, which runs unchanged on Deno, Bun and Node), loaded on first use so
 * that the package stays an optional peer dependency; plus the helpers the
 * store's parts share: table names, error mapping and the text encoding
 * of ids and names.
 *
 * @module
 */
import { ErrorCode, isSockSyncError, SockSyncError } from "../../src/errors.ts";

/**
 * A row as the driver returns it.
 */
export type PgRow = Record<string, unknown>;

/**
 * A value passed as a statement parameter.
 */
export type PgParam = string | number | null | string[];

/**
 * The part of a postgres.js `Sql` instance the store uses.
 *
 * @internal
 */
export interface PgSql {
  /** Runs one statement with `$n` parameters. */
  unsafe(query: string, params?: PgParam[], options?: { prepare?: boolean }): Promise<PgRow[]>;
  /** Runs `body` in a transaction (`options` such as `"isolation level repeatable read"`). */
  begin<R>(options: string, body: (sql: PgSql) => Promise<R>): Promise<R>;
  /** Closes every connection. */
  end(options?: { timeout?: number }): Promise<void>;
}

/**
 * Options handed to postgres.js (the few the store sets).
 */
export interface PgDriverOptions {
  max?: number;
  connect_timeout?: number;
  idle_timeout?: number | null;
  max_lifetime?: number | null;
  onnotice?: (notice: unknown) => void;
  onnotify?: (channel: string, payload: string) => void;
  onclose?: (connectionId: number) => void;
  connection?: Record<string, string>;
  fetch_types?: boolean;
}

type PostgresFactory = (url: string, options: PgDriverOptions) => PgSql;

let factory: Promise<PostgresFactory> | undefined;

/**
 * Opens a postgres.js client (no connection is made until the first
 * statement). Rejects with a clear message when the package is missing.
 */
export async function openPgClient(url: string, options: PgDriverOptions): Promise<PgSql> {
  factory ??= (async () => {
    try {
      // A variable specifier keeps bundlers and type checkers from requiring it.
      const specifier = "postgres";
      const module = await import(specifier);
      return (module.default ?? module) as PostgresFactory;
    } catch (error) {
      factory = undefined;
      throw new Error(
        "The PostgreSQL store needs the postgres package (npm install postgres@3): " +
          (error instanceof Error ? error.message : String(error)),
      );
    }
  })();
  return (await factory)(url, options);
}

/**
 * A quoted SQL identifier.
 */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The store's error for a failed statement: code 8 ("store unavailable"),
 * unless it already is a `SockSyncError`.
 */
export function pgError(cause: unknown): SockSyncError {
  if (isSockSyncError(cause)) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new SockSyncError(ErrorCode.Other, `store unavailable: ${message}`);
}

/**
 * Ids and names as stored: PostgreSQL text cannot hold NUL, so `\` and NUL
 * are escaped (`\\`, `\0`); every other string is stored as it is, so the
 * tables stay readable.
 */
export function encodeText(text: string): string {
  return /[\\\0]/.test(text) ? text.replace(/\\/g, "\\\\").replace(/\0/g, "\\0") : text;
}

/**
 * The inverse of {@linkcode encodeText}.
 */
export function decodeText(text: string): string {
  return text.includes("\\")
    ? text.replace(/\\([\\0])/g, (_, char) => char === "0" ? "\0" : "\\")
    : text;
}

// NOTIFY payloads must stay under 8000 bytes; a little is kept for the envelope.
const PAYLOAD_LIMIT = 7800;
const encoder = new TextEncoder();

/**
 * Whether a NOTIFY payload fits PostgreSQL's 8000-byte limit.
 */
export function fitsPayload(text: string): boolean {
  if (text.length * 3 <= PAYLOAD_LIMIT) return true;
  return text.length <= PAYLOAD_LIMIT && encoder.encode(text).length <= PAYLOAD_LIMIT;
}

/**
 * The `application_name` of a store's listening connection, which tells it
 * from the pool's in `pg_stat_activity` (PostgreSQL keeps its first 63 bytes).
 */
export function listenerName(channel: string): string {
  return `socksync listen ${channel}`;
}

/**
 * The table names of one store: `schema`.`prefix` + lists, items, vars, listeners.
 */
export function pgTables(schema: string, prefix: string): PgTables {
  const table = (name: string) => `${quoteIdent(schema)}.${quoteIdent(prefix + name)}`;
  return {
    schema: quoteIdent(schema),
    lists: table("lists"),
    items: table("items"),
    vars: table("vars"),
    listeners: table("listeners"),
    itemsOrder: quoteIdent(`${prefix}items_order`),
    leases: table("presence_leases"),
    owned: table("presence_owned"),
    ownedSessions: quoteIdent(`${prefix}presence_owned_sessions`),
  };
}

/**
 * The quoted names of one store's schema, tables and index.
 */
export interface PgTables {
  schema: string;
  lists: string;
  items: string;
  vars: string;
  /** The stores listening for list changes (see `mod.ts`). */
  listeners: string;
  itemsOrder: string;
  /** Presence leases (see `presence.ts`). */
  leases: string;
  /** The members each presence lease owns. */
  owned: string;
  /** The index of those members by scope and session. */
  ownedSessions: string;
}
