/**
 * The PostgreSQL storage of leased presence (see
 * `stores/common/leased_presence.ts`): a table of leases with their expiry
 * (the database's clock) and a table of the (scope, item) pairs each lease
 * owns, with the session it joined with. Recording a pair locks its lease
 * row (`FOR SHARE`), so a sweeper's claim and a record never cross: a pair
 * is either recorded before the claim (and swept) or refused. Taking a pair
 * over (a session back on another instance) locks both lease rows the same
 * way, so it lands either before the old lease's claim (and is not swept) or
 * not at all.
 *
 * @module
 */
import type { ListSource } from "../../src/store.ts";
import type { LeaseBackend } from "../common/leased_presence.ts";
import type { PgSql, PgTables } from "./driver.ts";

/**
 * The statements that create the presence tables, run with the store's others.
 */
export function presenceStatements(t: PgTables): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${t.leases} (
      lease text PRIMARY KEY,
      expires timestamptz NOT NULL,
      claimed boolean NOT NULL DEFAULT false)`,
    `CREATE TABLE IF NOT EXISTS ${t.owned} (
      lease text NOT NULL,
      scope text NOT NULL,
      id text NOT NULL,
      PRIMARY KEY (lease, scope, id))`,
    // Tables made before sessions get the column.
    `ALTER TABLE ${t.owned} ADD COLUMN IF NOT EXISTS session text`,
    `CREATE INDEX IF NOT EXISTS ${t.ownedSessions} ON ${t.owned} (scope, session)
      WHERE session IS NOT NULL`,
  ];
}

const ms = (param: string) => `clock_timestamp() + ${param}::int * interval '1 millisecond'`;

/**
 * Leases and their records in PostgreSQL, for one store.
 */
export class PostgresLeases implements LeaseBackend {
  readonly #run: <R>(body: (sql: PgSql) => Promise<R>) => Promise<R>;
  readonly #t: PgTables;
  readonly #list: (name: string) => ListSource<unknown>;

  /**
   * @param run runs statements on the store's pool (failures become code 8)
   * @param tables the store's tables
   * @param list the store's list of a name
   */
  constructor(
    run: <R>(body: (sql: PgSql) => Promise<R>) => Promise<R>,
    tables: PgTables,
    list: (name: string) => ListSource<unknown>,
  ) {
    this.#run = run;
    this.#t = tables;
    this.#list = list;
  }

  /** A scope's members: a list of the store, under a name of its own. */
  list(scope: string): ListSource<unknown> {
    return this.#list(`\u001fpresence:${scope}`);
  }

  async renew(lease: string, ttlMs: number, create: boolean): Promise<boolean> {
    const t = this.#t;
    const rows = await this.#run((sql) =>
      create
        ? sql.unsafe(
          `INSERT INTO ${t.leases} (lease, expires) VALUES ($1, ${ms("$2")})
           ON CONFLICT (lease) DO UPDATE SET expires = EXCLUDED.expires
           WHERE NOT ${t.leases}.claimed RETURNING 1`,
          [lease, ttlMs],
        )
        : sql.unsafe(
          `UPDATE ${t.leases} SET expires = ${ms("$2")}
           WHERE lease = $1 AND NOT claimed AND expires > clock_timestamp() RETURNING 1`,
          [lease, ttlMs],
        )
    );
    return rows.length > 0;
  }

  async expired(): Promise<string[]> {
    const rows = await this.#run((sql) =>
      sql.unsafe(
        `SELECT lease FROM ${this.#t.leases} WHERE expires <= clock_timestamp() LIMIT 50`,
      )
    );
    return rows.map((row) => String(row.lease));
  }

  async claim(lease: string, retryMs: number): Promise<[string, string][] | undefined> {
    const t = this.#t;
    const claimed = await this.#run((sql) =>
      sql.unsafe(
        `UPDATE ${t.leases} SET claimed = true, expires = ${ms("$2")}
         WHERE lease = $1 AND expires <= clock_timestamp() RETURNING 1`,
        [lease, retryMs],
      )
    );
    if (claimed.length === 0) return undefined;
    // A statement of its own, after the claim: it sees every record made before it.
    const rows = await this.#run((sql) =>
      sql.unsafe(`SELECT scope, id FROM ${t.owned} WHERE lease = $1`, [lease])
    );
    return rows.map((row) => [String(row.scope), String(row.id)]);
  }

  async own(lease: string, scope: string, id: string, session?: string): Promise<boolean> {
    const t = this.#t;
    const rows = await this.#run((sql) =>
      sql.unsafe(
        `WITH l AS (SELECT lease FROM ${t.leases}
           WHERE lease = $1 AND NOT claimed AND expires > clock_timestamp() FOR SHARE)
         INSERT INTO ${t.owned} (lease, scope, id, session) SELECT lease, $2, $3, $4 FROM l
         ON CONFLICT (lease, scope, id) DO UPDATE SET session = EXCLUDED.session RETURNING 1`,
        [lease, scope, id, session ?? null],
      )
    );
    return rows.length > 0;
  }

  async take(lease: string, scope: string, session: string): Promise<string | undefined> {
    const t = this.#t;
    // Both lease rows locked: a claim of the old one waits for this (then
    // finds the record gone) or wins (then `NOT claimed` fails here, rechecked).
    const rows = await this.#run((sql) =>
      sql.unsafe(
        `WITH n AS (SELECT lease FROM ${t.leases}
           WHERE lease = $1 AND NOT claimed AND expires > clock_timestamp() FOR SHARE),
         o AS (SELECT o.lease, o.id FROM ${t.owned} o JOIN ${t.leases} l ON l.lease = o.lease
           WHERE o.scope = $2 AND o.session = $3 AND o.lease <> $1 AND NOT l.claimed
           LIMIT 1 FOR UPDATE OF o FOR SHARE OF l)
         UPDATE ${t.owned} SET lease = n.lease FROM o, n
         WHERE ${t.owned}.lease = o.lease AND ${t.owned}.scope = $2 AND ${t.owned}.id = o.id
         RETURNING ${t.owned}.id`,
        [lease, scope, session],
      )
    );
    return rows.length > 0 ? String(rows[0].id) : undefined;
  }

  async disown(lease: string, scope: string, id: string): Promise<boolean> {
    const rows = await this.#run((sql) =>
      sql.unsafe(
        `DELETE FROM ${this.#t.owned} WHERE lease = $1 AND scope = $2 AND id = $3 RETURNING 1`,
        [lease, scope, id],
      )
    );
    return rows.length > 0;
  }

  async end(lease: string): Promise<void> {
    const t = this.#t;
    await this.#run((sql) =>
      sql.unsafe(
        `WITH o AS (DELETE FROM ${t.owned} WHERE lease = $1)
         DELETE FROM ${t.leases} WHERE lease = $1`,
        [lease],
      )
    );
  }
}
