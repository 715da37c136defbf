/**
 * One list of the PostgreSQL store (see `stores/postgres/mod.ts`).
 *
 * Items are rows ordered by fractional order keys (`stores/common/order_key.ts`) on
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
 * they do not come (that connection was down), the tree is read again. A
 * change is published only while another store listens (see
 * `listeners.ts`); otherwise this store reports it itself.
 *
 * @module
 */
import { nanoid } from "nanoid";
import { ErrorCode, SockSyncError } from "../../src/errors.ts";
import { ORDER_KEY_REBALANCE_LENGTH, sequentialOrderKeys } from "../common/order_key.ts";
import type { ListChange, ListItem, ListListener, ListPage, ListSource } from "../../src/store.ts";
import type { TreeEntry } from "../common/counted_tree.ts";
import { decodeText, encodeText, type PgRow, type PgSql } from "./driver.ts";
import { ListFeed } from "./feed.ts";
import {
  listPayload as payload,
  LostWrite,
  type PgListContext,
  type PgListMessage,
} from "./list_sql.ts";
import { keyAt, ListOrder, type ListTree as Tree } from "./order.ts";

/** Tries before an operation falls back to a plain scan (or, writing, gives up). */
const ATTEMPTS = 4;
const WRITE_ATTEMPTS = 100;

const json = (value: unknown): string => JSON.stringify(value ?? null);
const invalid = (message: string) => new SockSyncError(ErrorCode.InvalidArguments, message);
const refuse = (error: unknown) => ({ error });
const unknownId = (id: string) =>
  refuse(new SockSyncError(ErrorCode.InvalidId, `unknown id ${id}`));

/** An error a mutation throws once the tree proved current (else it runs again). */
type Refusal = { error: unknown };

/**
 * A mutation that landed: what the tree needs and, when it was not published
 * (no other store listens), how to make the change for this store to report.
 */
type Written = { apply: () => void; change: (() => ListChange<unknown>) | undefined };

/**
 * A list kept in PostgreSQL; listeners hear every change (this instance's
 * and others') in version order, from the store's listening connection or,
 * for this instance's changes that no other store listened for, from here.
 * `openPostgresStore` makes them.
 */
export class PostgresListSource<T> implements ListSource<T> {
  readonly #key: string;
  readonly #feed: ListFeed<T>;
  readonly #order: ListOrder;
  // This instance's mutations of the list, one at a time.
  #queue: Promise<unknown> = Promise.resolve();

  readonly context: PgListContext;
  readonly name: string;

  constructor(context: PgListContext, name: string) {
    this.context = context;
    this.name = name;
    this.#key = encodeText(name);
    this.#feed = new ListFeed(context.timeoutMs);
    this.#order = new ListOrder(context, this.#key);
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
      const tree = await this.#order.ensure();
      const seen = this.#order.version;
      const take = Math.max(0, Math.min(want, tree.size - start));
      // No items to read: the version row alone says whether that is right.
      const rows = take > 0
        ? await run((sql) =>
          sql.unsafe(statements.page, [this.#key, tree.at(start)!.value, take], { prepare: true })
        )
        : await run((sql) => sql.unsafe(statements.meta, [this.#key], { prepare: true }));
      const version = rows[0]?.version;
      if (version != null && Number(version) === seen) {
        return {
          items: this.#items((rows[0].items ?? null) as string | null),
          total: tree.size,
          version: seen,
        };
      }
      await this.#order.catchUp(version == null ? [] : rows);
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
      const tree = await this.#order.ensure();
      const rows = await run((sql) => sql.unsafe(statements.meta, [this.#key], { prepare: true }));
      // A tree newer than the row read holds a change made during this call: as good an answer.
      if (
        rows.length > 0 && this.#order.tree === tree &&
        this.#order.version >= Number(rows[0].version)
      ) {
        const entry = tree.byId.get(id);
        return entry ? tree.indexOf(entry) : -1;
      }
      await this.#order.catchUp(rows);
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
      const { statements, channel, token } = this.context;
      const params = [
        this.#key,
        version,
        encodeText(itemId),
        key,
        text,
        channel,
        payload(message, text),
        token,
      ];
      const statement = (tx: PgSql) => tx.unsafe(statements.insert, params, { prepare: true });
      // A renumbering takes a transaction of its own on the pool: it may run long, and
      // the listening connection should not be held meanwhile.
      const rows: PgRow[] = keys
        ? await this.context.run((pool) =>
          pool.begin("", async (tx) => {
            // Renumbers the whole list, planned for its size.
            await tx.unsafe("SET LOCAL statement_timeout = 0; SET LOCAL plan_cache_mode = auto");
            const ids = [...tree.from(0)].map((entry) => encodeText(entry.id));
            await tx.unsafe(statements.rekey, [this.#key, ids, keys!]);
            return await statement(tx);
          })
        )
        : await statement(sql);
      return written(rows, message, text, () => {
        if (keys) {
          let i = 0;
          for (const entry of tree.from(0)) entry.value = keys[i++];
        }
        tree.insert(index, { id: itemId, value: key, leaf: null });
      });
    });
    await this.#feed.reported(version);
    return { id: itemId, value: JSON.parse(text) };
  }

  async set(id: string, value: T): Promise<void> {
    const text = json(value);
    const version = await this.#write(async (tree, version, sql) => {
      const entry = tree.byId.get(id);
      if (!entry) return unknownId(id);
      return await this.#setAt(sql, tree, version, entry, text);
    });
    await this.#feed.reported(version);
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
    await this.#feed.reported(version);
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
      const { statements, channel, token } = this.context;
      const rows = await sql.unsafe(
        statements.delete,
        [this.#key, version, encodeText(id), channel, payload(message), token],
        { prepare: true },
      );
      return written(rows, message, undefined, () => tree.remove(entry));
    });
    await this.#feed.reported(version);
  }

  subscribe(listener: ListListener<T>): () => void {
    return this.#feed.subscribe(listener);
  }

  /** Drops this list's listeners; the store's `close` closes the connections. */
  close(): Promise<void> {
    this.#feed.clear();
    return Promise.resolve();
  }

  /** A change from the listening connection, in the order the database committed it. */
  receive(message: PgListMessage): void {
    this.#order.apply(message);
    const { list: _, key: _key, big: _big, rekey: _rekey, ...change } = message;
    this.#feed.report(change as ListChange<T>);
  }

  /** Reports a reset at this version (a change whose value could not be read back). */
  receiveReset(version: number): void {
    this.#order.drop();
    this.#feed.report({ op: "reset", version });
  }

  /** After the listening connection came back: a reset, then the changes that follow it. */
  reset(): Promise<void> {
    this.#order.drop();
    return this.#feed.reset(async () => {
      const [row] = await this.context.run((sql) =>
        sql.unsafe(this.context.statements.meta, [this.#key], { prepare: true })
      );
      return Number(row?.version ?? 0);
    });
  }

  // A page's items from the page statement's `[[id, …], [value, …]]` (null: none).
  #items(text: string | null): ListItem<T>[] {
    if (text === null) return [];
    const [ids, values] = JSON.parse(text) as [string[], T[]];
    const items: ListItem<T>[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) items[i] = { id: decodeText(ids[i]), value: values[i] };
    return items;
  }

  // The scan's rows, with the values through one JSON.parse (cheaper than one per row).
  #pageOf(rows: PgRow[]): ListPage<T> {
    const ids: string[] = [];
    let text = "[";
    for (const row of rows) {
      if (row.id == null) continue;
      ids.push(decodeText(row.id as string));
      text += text.length === 1 ? row.value as string : `,${row.value as string}`;
    }
    const values = ids.length > 0 ? JSON.parse(`${text}]`) as T[] : [];
    const items: ListItem<T>[] = ids.map((id, i) => ({ id, value: values[i] }));
    return {
      items,
      total: Number(rows[0]?.count ?? 0),
      version: Number(rows[0]?.version ?? 0),
    };
  }

  async #setAt(
    sql: PgSql,
    tree: Tree,
    version: number,
    entry: TreeEntry<string>,
    text: string,
  ): Promise<Written | undefined> {
    const message: PgListMessage = {
      list: this.name,
      op: "set",
      index: tree.indexOf(entry),
      id: entry.id,
      total: tree.size,
      version: version + 1,
    };
    const { statements, channel, token } = this.context;
    const rows = await sql.unsafe(
      statements.set,
      [this.#key, version, encodeText(entry.id), text, channel, payload(message, text), token],
      { prepare: true },
    );
    return written(rows, message, text, () => {});
  }

  /**
   * Runs a mutation of this list, one at a time in this process. `attempt`
   * sees the tree at `version` and returns what its write did when it
   * succeeded, `undefined` when the version had moved (then the tree
   * catches up and it runs again), or an error to throw, which is thrown
   * only once the tree proved current. A change that was not published is
   * reported here, before the next mutation runs.
   */
  #write(
    attempt: (tree: Tree, version: number, sql: PgSql) => Promise<Written | Refusal | undefined>,
  ): Promise<number> {
    const run = async () => {
      let pool = false;
      for (let tries = 0; tries < WRITE_ATTEMPTS; tries++) {
        const tree = await this.#order.ensure();
        const version = this.#order.version;
        let outcome: Written | Refusal | undefined;
        let lost: LostWrite | undefined;
        try {
          outcome = await this.context.write((sql) => attempt(tree, version, sql), pool);
        } catch (error) {
          if (!(error instanceof LostWrite)) throw error;
          lost = error;
        }
        if (outcome && "apply" in outcome) {
          this.#order.applyOwn(tree, version, outcome.apply);
          const change = outcome.change as (() => ListChange<T>) | undefined;
          if (change) this.#feed.reportOwn(version + 1, change);
          return version + 1;
        }
        const rows = await this.context.run((sql) =>
          sql.unsafe(this.context.statements.meta, [this.#key], { prepare: true })
        );
        if (lost) {
          // Still at the version the write expected: it did not commit, so it runs again,
          // on the pool while the listening connection comes back. Else nobody can tell.
          if (rows.length === 0 || Number(rows[0].version) !== version) throw lost.error;
          pool = true;
          continue;
        }
        if (outcome && rows.length > 0 && Number(rows[0].version) === version) {
          throw (outcome as Refusal).error;
        }
        await this.#order.catchUp(rows);
      }
      throw new SockSyncError(ErrorCode.Other, `list ${this.name} kept changing; gave up`);
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => {});
    return result;
  }
}

/**
 * What a write statement's rows say: nothing when the compare-and-set failed,
 * else the tree's `apply` and, when the change was not published, the change
 * as listeners get it (`valueText` the value's JSON).
 */
function written(
  rows: PgRow[],
  message: PgListMessage,
  valueText: string | undefined,
  apply: () => void,
): Written | undefined {
  if (rows.length === 0) return undefined;
  if (rows[0].published) return { apply, change: undefined };
  const { op, index, id, total, version } = message;
  const change = () =>
    (valueText === undefined
      ? { op, index, id, total, version }
      : { op, index, id, value: JSON.parse(valueText), total, version }) as ListChange<unknown>;
  return { apply, change };
}
