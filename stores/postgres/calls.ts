/**
 * The PostgreSQL store's memory of call answers (the optional
 * `Store.calls`): a table `calls` (key, answer, expires_at) in the store's
 * schema, created on first use. A claim is one `INSERT … ON CONFLICT` that
 * also takes over an expired row; expired rows are deleted now and then.
 *
 * @module
 */
import type { CallStore } from "../../src/store.ts";
import { encodeText, type PgSql, quoteIdent } from "./driver.ts";

/** Every this many answers stored, the expired rows are deleted. */
const SWEEP_EVERY = 256;

/**
 * Call answers kept in PostgreSQL.
 */
export class PostgresCallStore implements CallStore {
  readonly #schema: string;
  readonly #table: string;
  readonly #run: <R>(body: (sql: PgSql) => Promise<R>) => Promise<R>;
  #ready: Promise<void> | undefined;
  #finished = 0;

  /**
   * @param options the store's schema and table prefix, and how it runs a statement
   */
  constructor(options: {
    schema: string;
    prefix: string;
    run: <R>(body: (sql: PgSql) => Promise<R>) => Promise<R>;
  }) {
    this.#schema = options.schema;
    this.#table = `${quoteIdent(options.schema)}.${quoteIdent(`${options.prefix}calls`)}`;
    this.#run = options.run;
  }

  /** Creates the table once (under the lock the store's schema is created under). */
  #created(): Promise<void> {
    return this.#ready ??= this.#run((sql) =>
      sql.begin("", async (tx) => {
        await tx.unsafe("SELECT pg_advisory_xact_lock(hashtext($1))", [
          `socksync:${this.#schema}`,
        ]);
        await tx.unsafe(`CREATE TABLE IF NOT EXISTS ${this.#table} (
          key text PRIMARY KEY,
          answer text,
          expires_at timestamptz NOT NULL)`);
      })
    ).then(() => {}, (error) => {
      this.#ready = undefined;
      throw error;
    });
  }

  /** See {@linkcode CallStore.claim}. */
  async claim(key: string, ttl: number): Promise<{ claimed: boolean; answer?: string }> {
    await this.#created();
    const params = [encodeText(key), String(Math.max(1, Math.ceil(ttl)))];
    const claimed = await this.#run((sql) =>
      sql.unsafe(
        `INSERT INTO ${this.#table} AS c (key, answer, expires_at)
         VALUES ($1, NULL, now() + ($2 || ' milliseconds')::interval)
         ON CONFLICT (key) DO UPDATE SET answer = NULL, expires_at = EXCLUDED.expires_at
         WHERE c.expires_at < now()
         RETURNING 1 AS claimed`,
        params,
      )
    );
    if (claimed.length > 0) return { claimed: true };
    const [row] = await this.#run((sql) =>
      sql.unsafe(
        `SELECT answer FROM ${this.#table} WHERE key = $1 AND expires_at >= now()`,
        [params[0]],
      )
    );
    const answer = row?.answer;
    return typeof answer === "string" ? { claimed: false, answer } : { claimed: false };
  }

  /** See {@linkcode CallStore.finish}. */
  async finish(key: string, answer: string, ttl: number): Promise<void> {
    await this.#created();
    await this.#run((sql) =>
      sql.unsafe(
        `UPDATE ${this.#table} SET answer = $2, expires_at = now() + ($3 || ' milliseconds')::interval
         WHERE key = $1`,
        [encodeText(key), answer, String(Math.max(1, Math.ceil(ttl)))],
      )
    );
    if (++this.#finished % SWEEP_EVERY === 0) {
      await this.#run((sql) => sql.unsafe(`DELETE FROM ${this.#table} WHERE expires_at < now()`))
        .catch(() => {});
    }
  }
}
