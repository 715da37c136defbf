/**
 * The vars of the PostgreSQL store (see `stores/postgres/mod.ts`): one row per
 * var with its JSON text and a version that grows with every write, so that
 * `update` is a compare-and-set on that version and a late change never
 * undoes a newer one.
 *
 * @module
 */
import { ErrorCode, SockSyncError } from "../../src/errors.ts";
import type { VarListener, VarStore } from "../../src/store.ts";
import { Listeners } from "../../src/listeners.ts";
import { decodeText, encodeText, fitsPayload, type PgSql, type PgTables } from "./driver.ts";

/**
 * What the vars need from their store.
 */
export interface PgVarContext {
  readonly tables: PgTables;
  readonly channel: string;
  /** Tells this instance's own changes from others'. */
  readonly source: string;
  /** Runs statements; a failure becomes a code 8 `SockSyncError`. */
  run<R>(body: (sql: PgSql) => Promise<R>): Promise<R>;
}

/**
 * A var change as the store publishes it.
 */
export interface PgVarMessage {
  var: string;
  src: string;
  version: number;
  deleted?: boolean;
  value?: unknown;
  /** The value did not fit the payload: read it back. */
  big?: boolean;
}

/** How many times `update` retries after concurrent writes before it gives up. */
const UPDATE_ATTEMPTS = 100;

function varStatements(t: PgTables): Record<"get" | "all" | "set" | "update", string> {
  // `$4` is the payload up to the version, `$5` what follows it.
  const write = (condition: string) =>
    `WITH u AS (INSERT INTO ${t.vars} (name, value, version) VALUES ($1, $2::text, 1)
      ON CONFLICT (name) DO UPDATE SET value = excluded.value, version = ${t.vars}.version + 1
      ${condition} RETURNING version)
    SELECT version, pg_notify($3, $4 || version || $5) FROM u`;
  return {
    get: `SELECT value, version FROM ${t.vars} WHERE name = $1`,
    all: `SELECT name, value, version FROM ${t.vars}`,
    set: write(""),
    update: write(`WHERE ${t.vars}.version = $6`),
  };
}

/**
 * Vars in PostgreSQL; listeners hear other instances' writes.
 * `openPostgresStore` makes them.
 */
export class PostgresVarStore implements VarStore {
  readonly #sql: Record<"get" | "all" | "set" | "update", string>;
  readonly #listeners = new Listeners<[string, unknown]>();
  // The newest version seen per var, so a late message never undoes a newer value.
  #versions = new Map<string, number>();
  #held: PgVarMessage[] | undefined;

  readonly context: PgVarContext;

  constructor(context: PgVarContext) {
    this.context = context;
    this.#sql = varStatements(context.tables);
  }

  async get(name: string): Promise<unknown> {
    const row = await this.#read(name);
    return row.text === null ? undefined : JSON.parse(row.text);
  }

  async set(name: string, value: unknown): Promise<void> {
    const text = value === undefined ? null : JSON.stringify(value);
    const version = await this.#write(this.#sql.set, name, text, []);
    this.#seen(name, version!);
  }

  /**
   * Read-modify-write as a compare-and-set on the var's version: `fn` runs on
   * the value read, and the write happens only if the version is still the
   * one read; otherwise `fn` runs again on the newer value.
   */
  async update(name: string, fn: (current: unknown) => unknown): Promise<unknown> {
    for (let attempt = 1; attempt <= UPDATE_ATTEMPTS; attempt++) {
      const row = await this.#read(name);
      const next = fn(row.text === null ? undefined : JSON.parse(row.text));
      const text = next === undefined ? null : JSON.stringify(next);
      const version = await this.#write(this.#sql.update, name, text, [row.version]);
      if (version !== undefined) {
        this.#seen(name, version);
        return text === null ? undefined : JSON.parse(text);
      }
      // Writers that keep colliding in lockstep are spread apart.
      if (attempt > 2) {
        await new Promise((resolve) =>
          setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 50))
        );
      }
    }
    throw new SockSyncError(ErrorCode.Other, `var ${name} changed too often to update`);
  }

  /** Reports values set by other instances (and every value after the listening connection came back). */
  subscribe(listener: VarListener): () => void {
    return this.#listeners.add(listener);
  }

  /** A change from the listening connection. */
  async receive(message: PgVarMessage): Promise<void> {
    if (this.#held) return void this.#held.push(message);
    if (message.src === this.context.source || this.#listeners.size === 0) {
      this.#seen(message.var, message.version);
      return;
    }
    let value = message.deleted ? undefined : message.value;
    let version = message.version;
    if (message.big) {
      const row = await this.#read(message.var);
      value = row.text === null ? undefined : JSON.parse(row.text);
      version = Math.max(version, row.version);
    }
    if (!this.#seen(message.var, version)) return;
    this.#listeners.emit(message.var, value);
  }

  /**
   * After the listening connection came back: reports every var's value.
   * Messages arriving meanwhile wait; those the read covers are dropped.
   */
  async reset(): Promise<void> {
    if (this.#listeners.size === 0) {
      // Nothing to report; a database that lost its vars counts from 1 again.
      this.#versions.clear();
      return;
    }
    this.#held ??= [];
    try {
      const rows = await this.context.run((sql) =>
        sql.unsafe(this.#sql.all, [], { prepare: true })
      );
      const names = new Set(this.#versions.keys());
      for (const row of rows) {
        const name = decodeText(row.name as string);
        names.delete(name);
        const version = Number(row.version);
        const value = row.value === null ? undefined : JSON.parse(row.value as string);
        this.#versions.set(name, version);
        this.#listeners.emit(name, value);
      }
      // Vars the database no longer holds (it was wiped): reported as undefined.
      for (const name of names) {
        this.#versions.delete(name);
        this.#listeners.emit(name, undefined);
      }
    } finally {
      const held = this.#held ?? [];
      this.#held = undefined;
      for (const message of held) await this.receive(message);
    }
  }

  detach(): void {
    this.#listeners.clear();
  }

  async #read(name: string): Promise<{ text: string | null; version: number }> {
    const [row] = await this.context.run((sql) =>
      sql.unsafe(this.#sql.get, [encodeText(name)], { prepare: true })
    );
    return { text: (row?.value as string | null) ?? null, version: Number(row?.version ?? 0) };
  }

  // Writes and publishes; resolves the new version, or undefined when a
  // compare-and-set found another version.
  async #write(
    statement: string,
    name: string,
    text: string | null,
    extra: number[],
  ): Promise<number | undefined> {
    const { source, channel } = this.context;
    const head = JSON.stringify({ var: name, src: source, deleted: text === null });
    const body = text === null ? "" : `,"value":${text}`;
    let before = `${head.slice(0, -1)}${body},"version":`;
    if (!fitsPayload(before + "12345678901234567890}")) {
      before = `${head.slice(0, -1)},"big":true,"version":`;
    }
    const rows = await this.context.run((sql) =>
      sql.unsafe(statement, [encodeText(name), text, channel, before, "}", ...extra], {
        prepare: true,
      })
    );
    return rows.length === 0 ? undefined : Number(rows[0].version);
  }

  #seen(name: string, version: number): boolean {
    if ((this.#versions.get(name) ?? 0) >= version) return false;
    this.#versions.set(name, version);
    return true;
  }
}
