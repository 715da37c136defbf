/**
 * The in-memory order of one PostgreSQL list (see `stores/postgres/list.ts`):
 * its ids in list order with their order keys, in a counted tree, so that a
 * rank, a neighbour's key or a page's start key costs O(log n) at any size.
 *
 * The tree describes the list at one version. It is loaded by one ordered
 * scan on first use, follows this instance's own writes (which succeed only
 * at the version it describes) and other instances' changes from the
 * listening connection, in version order. When those do not come in time
 * (the listening connection was down) or do not follow on, it is dropped and
 * loaded again.
 *
 * @module
 */
import { orderKeyBetween } from "../common/order_key.ts";
import { CountedTree, type TreeEntry } from "../common/counted_tree.ts";
import { decodeText, type PgRow } from "./driver.ts";
import type { PgListContext, PgListMessage } from "./list_sql.ts";

/** How long a tree waits for changes the database already holds before it loads again, in ms. */
const CATCH_UP_MS = 500;

/**
 * A list's ids and order keys in list order.
 */
export type ListTree = CountedTree<string>;

type Waiter = { version: number; done: () => void };

/**
 * The tree of one list and the version it describes.
 */
export class ListOrder {
  #tree: ListTree | undefined;
  #version = -1;
  #loading: Promise<ListTree> | undefined;
  // Changes that arrive while the tree loads, applied after it.
  #pending: PgListMessage[] | undefined;
  readonly #waiters = new Set<Waiter>();

  readonly context: PgListContext;
  readonly key: string;

  /** `key` is the list's name as stored. */
  constructor(context: PgListContext, key: string) {
    this.context = context;
    this.key = key;
  }

  /** The tree, or `undefined` while it is not loaded. */
  get tree(): ListTree | undefined {
    return this.#tree;
  }

  /** The version the tree describes (-1 while it is not loaded). */
  get version(): number {
    return this.#version;
  }

  /** The tree, loaded when missing. */
  ensure(): Promise<ListTree> {
    if (this.#tree) return Promise.resolve(this.#tree);
    return this.#loading ??= this.#load().finally(() => this.#loading = undefined);
  }

  /**
   * After this instance's own write, made at `version` with `tree`
   * describing it: `change` applies it, unless the tree moved on meanwhile
   * (its change came back first, or the tree was loaded again).
   */
  applyOwn(tree: ListTree, version: number, change: () => void): void {
    if (this.#tree !== tree || this.#version !== version) return;
    change();
    this.#version = version + 1;
    this.#wake();
  }

  /** A change from the listening connection. */
  apply(message: PgListMessage): void {
    if (this.#pending) return void this.#pending.push(message);
    const tree = this.#tree;
    if (!tree || message.version <= this.#version) return;
    if (message.version !== this.#version + 1 || message.rekey) return this.drop();
    if (message.op === "insert") {
      if (tree.byId.has(message.id) || message.index > tree.size) return this.drop();
      tree.insert(message.index, { id: message.id, value: message.key!, leaf: null });
    } else if (message.op === "delete") {
      const entry = tree.byId.get(message.id);
      if (!entry) return this.drop();
      tree.remove(entry);
    }
    this.#version = message.version;
    this.#wake();
  }

  /**
   * The database holds another version than the tree (`rows[0].version`,
   * none when the list's row is gone): waits for the changes in between,
   * or drops the tree when they do not come in time or it is ahead.
   */
  async catchUp(rows: PgRow[]): Promise<void> {
    const version = rows.length > 0 ? Number(rows[0].version) : -1;
    if (version < this.#version || version < 0) return this.drop();
    if (version === this.#version) return;
    const caughtUp = await new Promise<boolean>((resolve) => {
      const waiter = {
        version,
        done: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve(this.#version >= version);
        },
      };
      const timer = setTimeout(waiter.done, CATCH_UP_MS);
      this.#waiters.add(waiter);
    });
    if (!caughtUp) this.drop();
  }

  /** Forgets the tree; the next operation loads it again. */
  drop(): void {
    this.#tree = undefined;
    this.#version = -1;
    this.#wake();
  }

  // One ordered scan of (id, key) in a snapshot that also reads the version.
  async #load(): Promise<ListTree> {
    this.#pending = [];
    let tree: ListTree;
    try {
      const { run, statements } = this.context;
      const { version, rows } = await run(async (sql) => {
        await sql.unsafe(statements.ensure, [this.key], { prepare: true });
        return await sql.begin("isolation level repeatable read read only", async (tx) => {
          // One scan of the whole list: may take longer than a statement should, and
          // is planned for this list (whose size the generic plan would not know).
          await tx.unsafe("SET LOCAL statement_timeout = 0; SET LOCAL plan_cache_mode = auto");
          const [meta] = await tx.unsafe(statements.meta, [this.key], { prepare: true });
          const rows = await tx.unsafe(statements.scan, [this.key], { prepare: true });
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
      this.#version = version;
    } finally {
      const pending = this.#pending ?? [];
      this.#pending = undefined;
      for (const message of pending) this.apply(message);
    }
    this.#wake();
    return tree;
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) {
      if (!this.#tree || this.#version >= waiter.version) waiter.done();
    }
  }
}

/**
 * The order key for a new item at `index`: between its neighbours' keys
 * (taken from `keys` when the list is being given fresh ones).
 */
export function keyAt(tree: ListTree, index: number, keys: string[] | null): string {
  const at = (i: number) => keys ? keys[i] : tree.at(i)!.value;
  return orderKeyBetween(index > 0 ? at(index - 1) : null, index < tree.size ? at(index) : null);
}
