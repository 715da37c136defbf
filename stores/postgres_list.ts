/**
 * One list of the PostgreSQL store (see `stores/postgres.ts`).
 *
 * Items are rows ordered by fractional order keys (`src/order_key.ts`) on
 * an index (list, key); the list's version and count live in a row of
 * their own. Positions come from an in-memory counted tree per list (ids
 * and keys, as the SQLite store keeps): a page seeks straight to the key at
 * its offset, and a rank, a neighbour or a page start costs O(log n) at any
 * size, which SQL alone cannot give without an O(offset) scan.
 *
 * The tree is kept exact without trusting timing: every mutation is one
 * statement that writes only if the list's version is still the one the
 * tree describes (a compare-and-set on the version row), and every page
 * checks the version it read against the tree's. Other instances' changes
 * reach the tree through the listening connection, in version order; when
 * they do not come (that connection was down), the tree is read again.
 *
 * @module
 */
import { nanoid } from "nanoid";
import { ErrorCode, SockSyncError } from "../src/errors.ts";
import {
  ORDER_KEY_REBALANCE_LENGTH,
  orderKeyBetween,
  sequentialOrderKeys,
} from "../src/order_key.ts";
import type { ListChange, ListItem, ListListener, ListPage, ListSource } from "../src/store.ts";
import { CountedTree, type TreeEntry } from "./counted_tree.ts";
import {
  decodeText,
  encodeText,
  fitsPayload,
  type PgRow,
  type PgSql,
  type PgTables,
} from "./postgres_driver.ts";

/**
 * What every list of a store shares.
 *
 * @example
 * ```ts
 * import type { PgListContext } from "./postgres_list.ts";
 * const timeout = (context: PgListContext) => context.timeoutMs;
 * ```
 */
export interface PgListContext {
  readonly tables: PgTables;
  readonly channel: string;
  /** How long a mutation waits for its change to come back, in ms. */
  readonly timeoutMs: number;
  readonly statements: ListStatements;
  /** Runs statements; a failure becomes a code 8 `SockSyncError`. */
  run<R>(body: (sql: PgSql) => Promise<R>): Promise<R>;
}

/**
 * A change as the store publishes it (the list's change plus what the trees need).
 *
 * @example
 * ```ts
 * import type { PgListMessage } from "./postgres_list.ts";
 * const message: PgListMessage = {
 *   list: "todos", op: "delete", index: 0, id: "a", total: 0, version: 2,
 * };
 * ```
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
 * The SQL text of each list operation.
 *
 * @example
 * ```ts
 * import type { ListStatements } from "./postgres_list.ts";
 * const page = (statements: ListStatements) => statements.page;
 * ```
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
 * The SQL of the list operations, for one store's tables.
 *
 * @example
 * ```ts
 * import { listStatements } from "./postgres_list.ts";
 * import { pgTables } from "./postgres_driver.ts";
 * listStatements(pgTables("socksync", "")).meta;
 * ```
 */
export function listStatements(t: PgTables): ListStatements {
  const bump = (count: string) =>
    `WITH m AS (UPDATE ${t.lists} SET version = version + 1${count}
      WHERE name = $1 AND version = $2 RETURNING version)`;
  return {
    ensure: `INSERT INTO ${t.lists} (name, version, count) VALUES ($1, 0, 0)
      ON CONFLICT (name) DO NOTHING`,
    meta: `SELECT version, count FROM ${t.lists} WHERE name = $1`,
    scan: `SELECT id, key FROM ${t.items} WHERE list = $1 ORDER BY key`,
    // Keyset paging: the start key comes from the tree; one statement is one
    // snapshot, so the version tells whether the tree matched these rows.
    page: `SELECT (SELECT version FROM ${t.lists} WHERE name = $1) AS version,
        (SELECT count FROM ${t.lists} WHERE name = $1) AS count, id, value
      FROM ${t.items} WHERE list = $1 AND key >= $2 ORDER BY key LIMIT $3`,
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
    insert: `${bump(", count = count + 1")},
      i AS (INSERT INTO ${t.items} (list, id, key, value)
        SELECT $1::text, $3::text, $4::text, $5::text FROM m)
      SELECT m.version, pg_notify($6, $7) FROM m`,
    set: `${bump("")},
      u AS (UPDATE ${t.items} SET value = $4::text
        WHERE list = $1 AND id = $3 AND EXISTS (SELECT 1 FROM m))
      SELECT m.version, pg_notify($5, $6) FROM m`,
    delete: `${bump(", count = count - 1")},
      d AS (DELETE FROM ${t.items} WHERE list = $1 AND id = $3 AND EXISTS (SELECT 1 FROM m))
      SELECT m.version, pg_notify($4, $5) FROM m`,
    rekey: `UPDATE ${t.items} SET key = v.key FROM unnest($2::text[], $3::text[]) AS v(id, key)
      WHERE list = $1 AND ${t.items}.id = v.id`,
  };
}

/** How long a tree waits for changes the database already holds before it loads again, in ms. */
const CATCH_UP_MS = 500;
/** Tries before an operation falls back to a plain scan (or, writing, gives up). */
const ATTEMPTS = 4;
const WRITE_ATTEMPTS = 100;

const json = (value: unknown): string => JSON.stringify(value ?? null);
const invalid = (message: string) => new SockSyncError(ErrorCode.InvalidArguments, message);
const refuse = (error: unknown) => ({ error });
const unknownId = (id: string) =>
  refuse(new SockSyncError(ErrorCode.InvalidId, `unknown id ${id}`));

type Tree = CountedTree<string>;
/** An error a mutation throws once the tree proved current (else it runs again). */
type Refusal = { error: unknown };
type Waiter = { version: number; done: () => void };

/**
 * A list kept in PostgreSQL; listeners hear every change (this instance's
 * and others') from the store's listening connection, in version order.
 * `openPostgresStore` makes them.
 *
 * @example
 * ```ts ignore
 * import { openPostgresStore } from "./postgres.ts";
 * const store = await openPostgresStore({ url: "postgres://postgres@127.0.0.1:5432/postgres" });
 * const todos = store.list<{ text: string }>("todos"); // a PostgresListSource
 * await todos.insert(0, { text: "milk" });
 * ```
 */
export class PostgresListSource<T> implements ListSource<T> {
  readonly #key: string;
  // Each listener with the version it was added at: changes this instance
  // made before that had settled already and are not reported to it.
  #listeners = new Map<ListListener<T>, number>();
  #settledVersion = 0;
  #lastVersion: number | undefined;
  #held: ListChange<T>[] | undefined;
  #reportedVersion = 0;
  readonly #reportWaiters = new Set<Waiter>();
  #tree: Tree | undefined;
  #treeVersion = -1;
  #loading: Promise<Tree> | undefined;
  #pending: PgListMessage[] | undefined;
  readonly #treeWaiters = new Set<Waiter>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(readonly context: PgListContext, readonly name: string) {
    this.#key = encodeText(name);
  }

  count(): Promise<number> {
    const { run, statements } = this.context;
    return run(async (sql) => {
      const [row] = await sql.unsafe(statements.meta, [this.#key], { prepare: true });
      return Number(row?.count ?? 0);
    });
  }

  async page(offset: number, limit: number): Promise<ListPage<T>> {
    const start = Math.max(0, Math.trunc(offset) || 0);
    const want = Math.max(0, Math.min(Math.trunc(limit) || 0, 1e9));
    const { run, statements } = this.context;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const tree = await this.#ensure();
      const seen = this.#treeVersion;
      const take = Math.max(0, Math.min(want, tree.size - start));
      let rows = take > 0
        ? await run((sql) =>
          sql.unsafe(statements.page, [this.#key, tree.at(start)!.value, take], { prepare: true })
        )
        : [];
      // No items to read, or none found: the version row alone says whether that is right.
      if (rows.length === 0) {
        rows = await run((sql) => sql.unsafe(statements.meta, [this.#key], { prepare: true }));
      }
      if (rows.length > 0 && Number(rows[0].version) === seen) return this.#pageOf(rows);
      await this.#catchUp(rows);
    }
    const rows = await run((sql) =>
      sql.unsafe(statements.pageScan, [this.#key, start, want], { prepare: true })
    );
    return this.#pageOf(rows);
  }

  async get(id: string): Promise<ListItem<T> | undefined> {
    const { run, statements } = this.context;
    const [row] = await run((sql) =>
      sql.unsafe(statements.get, [this.#key, encodeText(id)], { prepare: true })
    );
    return row && { id, value: JSON.parse(row.value as string) };
  }

  async indexOf(id: string): Promise<number> {
    const { run, statements } = this.context;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const tree = await this.#ensure();
      const rows = await run((sql) => sql.unsafe(statements.meta, [this.#key], { prepare: true }));
      // A tree newer than the row read holds a change made during this call: as good an answer.
      if (rows.length > 0 && this.#tree === tree && this.#treeVersion >= Number(rows[0].version)) {
        const entry = tree.byId.get(id);
        return entry ? tree.indexOf(entry) : -1;
      }
      await this.#catchUp(rows);
    }
    const [row] = await run((sql) =>
      sql.unsafe(statements.rankScan, [this.#key, encodeText(id)], { prepare: true })
    );
    return Number(row.rank);
  }

  async insert(index: number, value: T, id?: string): Promise<ListItem<T>> {
    if (!Number.isInteger(index) || index < 0) throw invalid(`index ${index} out of range`);
    const itemId = id ?? nanoid();
    const text = json(value);
    const version = await this.#write(async (tree, version, sql) => {
      if (index > tree.size) return refuse(invalid(`index ${index} out of range`));
      if (tree.byId.has(itemId)) return refuse(invalid(`duplicate id ${itemId}`));
      let key = keyAt(tree, index, null);
      let keys: string[] | undefined;
      if (key.length > ORDER_KEY_REBALANCE_LENGTH) {
        keys = sequentialOrderKeys(tree.size);
        key = keyAt(tree, index, keys);
      }
      const message: PgListMessage = {
        list: this.name,
        op: "insert",
        index,
        id: itemId,
        total: tree.size + 1,
        version: version + 1,
        key,
        ...(keys ? { rekey: true } : {}),
      };
      const params = [this.#key, version, encodeText(itemId), key, text];
      const { statements, channel } = this.context;
      const statement = (tx: PgSql) =>
        tx.unsafe(statements.insert, [...params, channel, payload(message, text)], {
          prepare: true,
        });
      const rows = keys
        ? await sql.begin("", async (tx) => {
          const ids = [...tree.from(0)].map((entry) => encodeText(entry.id));
          await tx.unsafe(statements.rekey, [this.#key, ids, keys!]);
          return await statement(tx);
        })
        : await statement(sql);
      if (rows.length === 0) return undefined;
      return () => {
        if (keys) {
          let i = 0;
          for (const entry of tree.from(0)) entry.value = keys[i++];
        }
        tree.insert(index, { id: itemId, value: key, leaf: null });
      };
    });
    await this.#reported(version);
    return { id: itemId, value: JSON.parse(text) };
  }

  async set(id: string, value: T): Promise<void> {
    const text = json(value);
    const version = await this.#write(async (tree, version, sql) => {
      const entry = tree.byId.get(id);
      if (!entry) return unknownId(id);
      return await this.#setAt(sql, tree, version, entry, text);
    });
    await this.#reported(version);
  }

  async update(id: string, fn: (current: T) => T): Promise<ListItem<T>> {
    let stored = "";
    const { statements } = this.context;
    const version = await this.#write(async (tree, version, sql) => {
      const entry = tree.byId.get(id);
      if (!entry) return unknownId(id);
      const [row] = await sql.unsafe(statements.read, [this.#key, encodeText(id)], {
        prepare: true,
      });
      // The value read belongs to the version the tree describes, or the write below fails anyway.
      if (!row || Number(row.version) !== version || row.value === null) return undefined;
      try {
        stored = json(fn(JSON.parse(row.value as string)));
      } catch (error) {
        return refuse(error);
      }
      return await this.#setAt(sql, tree, version, entry, stored);
    });
    await this.#reported(version);
    return { id, value: JSON.parse(stored) };
  }

  async delete(id: string): Promise<void> {
    const version = await this.#write(async (tree, version, sql) => {
      const entry = tree.byId.get(id);
      if (!entry) return unknownId(id);
      const index = tree.indexOf(entry);
      const message: PgListMessage = {
        list: this.name,
        op: "delete",
        index,
        id,
        total: tree.size - 1,
        version: version + 1,
      };
      const { statements, channel } = this.context;
      const rows = await sql.unsafe(
        statements.delete,
        [this.#key, version, encodeText(id), channel, payload(message)],
        { prepare: true },
      );
      return rows.length === 0 ? undefined : () => tree.remove(entry);
    });
    await this.#reported(version);
  }

  subscribe(listener: ListListener<T>): () => void {
    this.#listeners.set(listener, this.#settledVersion);
    return () => void this.#listeners.delete(listener);
  }

  /** Drops this list's listeners; the store's `close` closes the connections. */
  close(): Promise<void> {
    this.#listeners.clear();
    for (const waiter of [...this.#reportWaiters]) waiter.done();
    return Promise.resolve();
  }

  /**
   * A change from the listening connection. Changes arrive in version order;
   * one that does not follow the last (messages were missed) becomes a reset.
   */
  receive(message: PgListMessage): void {
    this.#applyToTree(message);
    const { list: _, key: _key, big: _big, rekey: _rekey, ...change } = message;
    this.#report(change as ListChange<T>);
  }

  /** Reports a reset at this version (a change whose value could not be read back). */
  receiveReset(version: number): void {
    this.#drop();
    this.#report({ op: "reset", version });
  }

  /** After the listening connection came back: hold changes, report a reset, then the rest. */
  async reset(): Promise<void> {
    this.#drop();
    this.#held ??= [];
    let version: number | undefined;
    try {
      const [row] = await this.context.run((sql) =>
        sql.unsafe(this.context.statements.meta, [this.#key], { prepare: true })
      );
      version = Number(row?.version ?? 0);
      this.#lastVersion = version;
      for (const listener of [...this.#listeners.keys()]) listener({ op: "reset", version });
      this.#reportedVersion = version;
      this.#wakeReports(true);
    } finally {
      const held = this.#held ?? [];
      this.#held = undefined;
      for (const change of held) {
        if (version === undefined || change.version > version) this.#report(change);
      }
    }
  }

  #report(change: ListChange<T>): void {
    if (this.#held) return void this.#held.push(change);
    const last = this.#lastVersion;
    this.#lastVersion = change.version;
    const report: ListChange<T> = last === undefined || change.version === last + 1
      ? change
      : { op: "reset", version: change.version };
    for (const [listener, since] of [...this.#listeners]) {
      if (report.op === "reset" || report.version > since) listener(report);
    }
    this.#reportedVersion = change.version;
    this.#wakeReports(false);
  }

  #pageOf(rows: PgRow[]): ListPage<T> {
    const items: ListItem<T>[] = [];
    for (const row of rows) {
      if (row.id != null) {
        items.push({ id: decodeText(row.id as string), value: JSON.parse(row.value as string) });
      }
    }
    return { items, total: Number(rows[0]?.count ?? 0), version: Number(rows[0]?.version ?? 0) };
  }

  async #setAt(
    sql: PgSql,
    tree: Tree,
    version: number,
    entry: TreeEntry<string>,
    text: string,
  ): Promise<(() => void) | undefined> {
    const message: PgListMessage = {
      list: this.name,
      op: "set",
      index: tree.indexOf(entry),
      id: entry.id,
      total: tree.size,
      version: version + 1,
    };
    const { statements, channel } = this.context;
    const rows = await sql.unsafe(
      statements.set,
      [this.#key, version, encodeText(entry.id), text, channel, payload(message, text)],
      { prepare: true },
    );
    return rows.length === 0 ? undefined : () => {};
  }

  /**
   * Runs a mutation of this list, one at a time in this process. `attempt`
   * sees the tree at `version` and returns what the tree needs after its
   * write succeeded, `undefined` when the version had moved (then the tree
   * catches up and it runs again), or an error to throw, which is thrown
   * only once the tree proved current.
   */
  #write(
    attempt: (
      tree: Tree,
      version: number,
      sql: PgSql,
    ) => Promise<(() => void) | Refusal | undefined>,
  ): Promise<number> {
    const run = async () => {
      for (let tries = 0; tries < WRITE_ATTEMPTS; tries++) {
        const tree = await this.#ensure();
        const version = this.#treeVersion;
        const outcome = await this.context.run((sql) => attempt(tree, version, sql));
        if (typeof outcome === "function") {
          if (this.#tree === tree && this.#treeVersion === version) {
            outcome();
            this.#treeVersion = version + 1;
            this.#wakeTree();
          }
          return version + 1;
        }
        const rows = await this.context.run((sql) =>
          sql.unsafe(this.context.statements.meta, [this.#key], { prepare: true })
        );
        if (outcome && rows.length > 0 && Number(rows[0].version) === version) {
          throw outcome.error;
        }
        await this.#catchUp(rows);
      }
      throw new SockSyncError(ErrorCode.Other, `list ${this.name} kept changing; gave up`);
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => {});
    return result;
  }

  /** The database is past the tree (or behind it): wait for the changes, else load again. */
  async #catchUp(rows: PgRow[]): Promise<void> {
    const version = rows.length > 0 ? Number(rows[0].version) : -1;
    if (version < this.#treeVersion || version < 0) return this.#drop();
    if (version === this.#treeVersion) return;
    const caughtUp = await new Promise<boolean>((resolve) => {
      if (this.#treeVersion >= version) return resolve(true);
      const waiter = {
        version,
        done: () => {
          clearTimeout(timer);
          this.#treeWaiters.delete(waiter);
          resolve(this.#treeVersion >= version);
        },
      };
      const timer = setTimeout(waiter.done, CATCH_UP_MS);
      this.#treeWaiters.add(waiter);
    });
    if (!caughtUp) this.#drop();
  }

  #ensure(): Promise<Tree> {
    if (this.#tree) return Promise.resolve(this.#tree);
    return this.#loading ??= this.#load().finally(() => this.#loading = undefined);
  }

  async #load(): Promise<Tree> {
    this.#pending = [];
    let tree: Tree;
    try {
      const { run, statements } = this.context;
      const { version, rows } = await run(async (sql) => {
        await sql.unsafe(statements.ensure, [this.#key], { prepare: true });
        return await sql.begin("isolation level repeatable read read only", async (tx) => {
          const [meta] = await tx.unsafe(statements.meta, [this.#key], { prepare: true });
          const rows = await tx.unsafe(statements.scan, [this.#key], { prepare: true });
          return { version: Number(meta?.version ?? 0), rows };
        });
      });
      const entries: TreeEntry<string>[] = rows.map((row) => ({
        id: decodeText(row.id as string),
        value: row.key as string,
        leaf: null,
      }));
      tree = CountedTree.from(entries);
      this.#tree = tree;
      this.#treeVersion = version;
    } finally {
      const pending = this.#pending ?? [];
      this.#pending = undefined;
      for (const message of pending) this.#applyToTree(message);
    }
    this.#wakeTree();
    return tree;
  }

  #applyToTree(message: PgListMessage): void {
    if (this.#pending) return void this.#pending.push(message);
    const tree = this.#tree;
    if (!tree || message.version <= this.#treeVersion) return;
    if (message.version !== this.#treeVersion + 1 || message.rekey) return this.#drop();
    if (message.op === "insert") {
      if (tree.byId.has(message.id) || message.index > tree.size) return this.#drop();
      tree.insert(message.index, { id: message.id, value: message.key!, leaf: null });
    } else if (message.op === "delete") {
      const entry = tree.byId.get(message.id);
      if (!entry) return this.#drop();
      tree.remove(entry);
    }
    this.#treeVersion = message.version;
    this.#wakeTree();
  }

  #drop(): void {
    this.#tree = undefined;
    this.#treeVersion = -1;
    this.#wakeTree();
  }

  #wakeTree(): void {
    for (const waiter of [...this.#treeWaiters]) {
      if (!this.#tree || this.#treeVersion >= waiter.version) waiter.done();
    }
  }

  /**
   * Resolves once the change with this version (or a reset covering it) has
   * been reported to this instance's listeners, as with the Redis store;
   * bounded by the store's timeout while the listening connection is down.
   */
  #reported(version: number): Promise<void> {
    this.#settledVersion = Math.max(this.#settledVersion, version);
    if (this.#reportedVersion >= version || this.#listeners.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = {
        version,
        done: () => {
          clearTimeout(timer);
          this.#reportWaiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.done, this.context.timeoutMs);
      this.#reportWaiters.add(waiter);
    });
  }

  #wakeReports(all: boolean): void {
    for (const waiter of [...this.#reportWaiters]) {
      if (all || waiter.version <= this.#reportedVersion) waiter.done();
    }
  }
}

// The key for a new item at `index`, between its neighbours' keys (from
// `keys` when the list is being given fresh ones).
function keyAt(tree: Tree, index: number, keys: string[] | null): string {
  const at = (i: number) => keys ? keys[i] : tree.at(i)!.value;
  return orderKeyBetween(index > 0 ? at(index - 1) : null, index < tree.size ? at(index) : null);
}

// The NOTIFY payload: the change with its value when that fits, else marked
// `big` so that receivers read the value back.
function payload(message: PgListMessage, valueText?: string): string {
  const head = JSON.stringify(message);
  if (valueText === undefined) return head;
  const full = `${head.slice(0, -1)},"value":${valueText}}`;
  return fitsPayload(full) ? full : `${head.slice(0, -1)},"big":true}`;
}
