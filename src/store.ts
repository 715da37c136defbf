/**
 * The store contracts: {@linkcode ListSource} for ordered, paged lists and
 * {@linkcode VarStore} for var values. Stores live in `stores/`; anything that
 * implements these interfaces and passes `socksync/testing` can back a list.
 *
 * @module
 */

/**
 * One list item: a string id, unique within its list, and a JSON value.
 *
 * @example
 * ```ts
 * import type { ListItem } from "./store.ts";
 * const item: ListItem<{ text: string }> = { id: "a1", value: { text: "milk" } };
 * ```
 */
export interface ListItem<T = unknown> {
  /** The item's id, unique within its list. */
  id: string;
  /** The item's value. */
  value: T;
}

/**
 * A page of a list read in one atomic step, so that `items`, `total` and
 * `version` agree with each other.
 *
 * @example
 * ```ts
 * import type { ListPage } from "./store.ts";
 * const page: ListPage<string> = { items: [{ id: "a", value: "x" }], total: 1, version: 3 };
 * ```
 */
export interface ListPage<T = unknown> {
  /** The items from `offset`, at most `limit` of them, in list order. */
  items: ListItem<T>[];
  /** The number of items in the whole list. */
  total: number;
  /** The list's version when it was read (see {@linkcode ListChange}). */
  version: number;
  /**
   * Optional, for a store that keeps values as JSON text: the page's items as
   * stored, `ids[i]` and `json[i]` being `items[i].id` and a JSON text of
   * `items[i].value`. The hub puts this text into its frames as it is,
   * without parsing and encoding it again, so such a store may build `items`
   * only when they are read (an accessor). A store defines it as a
   * non-enumerable property, so that a page still compares equal to a plain
   * `{ items, total, version }`.
   *
   * It describes the page only until its items are read: reading or setting
   * `items` must drop it (`undefined` from then on), since whoever read them
   * may change them in place (a source that hides a field of each value)
   * and the hub must then send the items. The texts are trusted as they
   * are, not parsed: they must be JSON the store wrote itself (a value
   * written into the store's keys by other means goes out unchecked, and
   * a client cannot read a frame with text that is not JSON).
   */
  readonly stored?: {
    /** The items' ids, in order. */
    readonly ids: readonly string[];
    /** Each item's value as JSON text, in the same order. */
    readonly json: readonly string[];
  };
}

/**
 * A change the store applied, as its change feed reports it. `index` is the
 * item's position in the whole list (before the change for `delete`, after it
 * for `insert`), `total` is the item count after the change and `version` is
 * the list's version after it: it grows by exactly one per applied change, so
 * a reader can tell which changes a page it read already contains.
 *
 * `reset` says the store cannot describe what changed (for example after it
 * lost its connection): every view must be read again.
 *
 * @example
 * ```ts
 * import type { ListChange } from "./store.ts";
 * const change: ListChange<string> = {
 *   op: "insert", index: 0, id: "a", value: "x", total: 1, version: 1,
 * };
 * ```
 */
export type ListChange<T = unknown> =
  | {
    op: "insert";
    index: number;
    id: string;
    value: T;
    total: number;
    version: number;
  }
  | {
    op: "set";
    index: number;
    id: string;
    value: T;
    total: number;
    version: number;
  }
  | { op: "delete"; index: number; id: string; total: number; version: number }
  | { op: "reset"; version: number };

/**
 * Called by a store for every change it applied, in the order it applied them.
 *
 * @example
 * ```ts
 * import type { ListListener } from "./store.ts";
 * const log: ListListener<string> = (change) => console.log(change.op);
 * ```
 */
export type ListListener<T = unknown> = (change: ListChange<T>) => void;

/**
 * An ordered list of `{ id, value }` items with paging: what a SockSync list is
 * backed by. Every method may be async, so a store can live in another process.
 *
 * The contract (checked by `listSourceConformance` in `socksync/testing`):
 * - `page` clamps: a negative offset counts as 0, an offset past the end gives
 *   no items; `limit` < 1 gives no items.
 * - `insert` takes an index in `0..count` (else it throws a
 *   `SockSyncError` with code 6) and an optional id (a duplicate id throws
 *   code 6); it creates an id when none is given.
 * - `get`, `indexOf`, `set` and `delete` with an unknown id: `get` resolves
 *   `undefined`, `indexOf` resolves -1, `set` and `delete` throw a
 *   `SockSyncError` with code 4 and change nothing.
 * - Every mutation is atomic and reported once to every listener, in order,
 *   with `version` one more than the version before it. A listener may run
 *   before or after the mutating call settles (a shared store such as Redis
 *   reports changes as its server publishes them, other processes' too).
 * - Values handed out (`page`, `get`, `insert`) are the caller's own copies:
 *   changing them does not change the store.
 * - `close` on a list taken from a {@linkcode Store} drops that list's
 *   listeners only; `Store.close` releases connections and files.
 *
 * @example
 * ```ts
 * import type { ListSource } from "./store.ts";
 * async function firstPage<T>(source: ListSource<T>) {
 *   const { items, total } = await source.page(0, 20);
 *   return { items, total };
 * }
 * ```
 */
export interface ListSource<T = unknown> {
  /** The number of items. */
  count(): Promise<number>;
  /** Up to `limit` items from `offset`, with the total and version read at the same moment. */
  page(offset: number, limit: number): Promise<ListPage<T>>;
  /** The item with this id, or `undefined`. */
  get(id: string): Promise<ListItem<T> | undefined>;
  /** The position of the item with this id in the whole list, or -1. */
  indexOf(id: string): Promise<number>;
  /** Inserts a value at `index` (0..count) and resolves the new item. */
  insert(index: number, value: T, id?: string): Promise<ListItem<T>>;
  /** Replaces the value of the item with this id. */
  set(id: string, value: T): Promise<void>;
  /** Deletes the item with this id. */
  delete(id: string): Promise<void>;
  /**
   * Replaces an item's value with `fn(current)` atomically, also against
   * other processes sharing the store (a compare-and-set retried on
   * conflict), and resolves the new item; unknown id → code 4. `fn` may run
   * more than once; if it throws, nothing is stored. Optional: without it,
   * `LocalList.update` is atomic within one process only.
   */
  update?(id: string, fn: (current: T) => T): Promise<ListItem<T>>;
  /** Registers a change listener; returns the function that removes it. */
  subscribe(listener: ListListener<T>): () => void;
  /** Releases what the store holds (connections, files). */
  close?(): Promise<void>;
}

/**
 * Called by a var store when a value changed outside this process (for
 * example by another server instance on the same Redis).
 *
 * @example
 * ```ts
 * import type { VarListener } from "./store.ts";
 * const log: VarListener = (name, value) => console.log(name, value);
 * ```
 */
export type VarListener = (name: string, value: unknown) => void;

/**
 * Where var values persist. `get` resolves `undefined` for a var never set;
 * values handed out are the caller's own copies. `varStoreConformance` in
 * `socksync/testing` checks the contract (the example below passes it).
 *
 * @example
 * ```ts
 * import type { VarStore } from "./store.ts";
 * const values = new Map<string, unknown>();
 * // Copies in and out: callers never hold the store's own objects.
 * const store: VarStore = {
 *   get: (name) => Promise.resolve(structuredClone(values.get(name))),
 *   set: (name, value) => {
 *     values.set(name, structuredClone(value));
 *     return Promise.resolve();
 *   },
 * };
 * ```
 */
export interface VarStore {
  /** The stored value, or `undefined` when the var was never set. */
  get(name: string): Promise<unknown>;
  /** Stores a value. */
  set(name: string, value: unknown): Promise<void>;
  /**
   * Replaces the value with `fn(current)` atomically across every process
   * sharing the store (`current` is `undefined` for a var never set) and
   * resolves the value stored. `fn` may run more than once (after a
   * concurrent write it runs again on the newer value), so it must be pure; if
   * it throws, nothing is stored. Optional: without it, `LocalVar.update` is
   * atomic within one process only.
   */
  update?(name: string, fn: (current: unknown) => unknown): Promise<unknown>;
  /**
   * Reports values set by other processes (not this one's own sets; after a
   * lost connection, every current value again): every value set after the
   * store's next operation, which may wait until the store listens (a hub
   * reads the var after subscribing); returns the function that stops it.
   */
  subscribe?(listener: VarListener): () => void;
  /** Releases what the store holds. */
  close?(): Promise<void>;
}

/**
 * Where the answers of calls marked `once` are remembered across server
 * instances (optional part of a {@linkcode Store}): a key is claimed by the
 * one instance that runs the call, and its answer is kept for a while, so a
 * call sent again after a reconnect to another instance is answered, not run
 * again. Keys and answers are strings; entries expire by themselves.
 *
 * @example
 * ```ts
 * import type { CallStore } from "./store.ts";
 * const entries = new Map<string, string | null>();
 * // Within one process, without expiry: what Redis and PostgreSQL do across processes.
 * const calls: CallStore = {
 *   claim(key) {
 *     if (!entries.has(key)) {
 *       entries.set(key, null);
 *       return Promise.resolve({ claimed: true });
 *     }
 *     return Promise.resolve({ claimed: false, answer: entries.get(key) ?? undefined });
 *   },
 *   finish(key, answer) {
 *     entries.set(key, answer);
 *     return Promise.resolve();
 *   },
 * };
 * ```
 */
export interface CallStore {
  /**
   * Claims `key` atomically across every process sharing the store: `claimed`
   * when no one holds it (the claim then lasts `ttl` ms, or until
   * {@linkcode CallStore.finish}), else the answer stored for it, or no answer
   * while its claimer still runs it.
   */
  claim(key: string, ttl: number): Promise<{ claimed: boolean; answer?: string }>;
  /** Stores the answer of a claimed key, kept for `ttl` ms. */
  finish(key: string, answer: string, ttl: number): Promise<void>;
}

/**
 * A store backend: var values plus any number of named lists, opened once per
 * server. `SOCKSYNC_STORE` picks one (`memory`, `sqlite:PATH`, `redis://…`).
 *
 * @example
 * ```ts
 * import type { Store } from "./store.ts";
 * async function todos(store: Store) {
 *   return await store.list<{ text: string }>("todos").count();
 * }
 * ```
 */
export interface Store {
  /** What kind of store this is, for `/health` and logs: `"memory"`, `"sqlite"`, `"redis"`, … */
  readonly kind: string;
  /** Where var values persist. */
  readonly vars: VarStore;
  /**
   * Where the answers of calls are remembered across instances (shared
   * stores: Redis, PostgreSQL); absent, each instance remembers its own.
   */
  readonly calls?: CallStore;
  /** The list with this name (created empty when new); the same object for the same name. */
  list<T = unknown>(name: string): ListSource<T>;
  /**
   * The store's presence (see {@linkcode PresenceStore}): made on the first
   * call, the same object after; closed by `close`. Optional.
   */
  presence?(): PresenceStore;
  /** Flushes and releases everything the store holds. */
  close(): Promise<void>;
}

/**
 * Who is present where: for each scope (a string the hub makes, such as a
 * presence list's name and a room) one list of members, oldest arrival
 * first, shared by every process on the store. A process adds its own
 * members (`join`), changes their values (`set`) and removes them (`leave`);
 * a store shared by several processes keeps each process's members under a
 * lease it renews, so that the members of a process that died without
 * leaving are removed by the others once the lease ran out. `close` removes
 * this process's members at once.
 *
 * The hub names members with `key` (one per connection); the item ids of the
 * scope's list are the store's own (a shared store puts the lease in them).
 *
 * @example
 * ```ts
 * import type { PresenceStore } from "./store.ts";
 * async function here(presence: PresenceStore) {
 *   await presence.join("room:general", "c1", { name: "ann" });
 *   const { items, total } = await presence.members("room:general").page(0, 50);
 *   await presence.leave("room:general", "c1");
 *   return { items, total };
 * }
 * ```
 */
export interface PresenceStore {
  /**
   * The members of a scope as a list, to read and follow (its writes are
   * `join`, `set` and `leave`). `close` on it drops only the listeners added
   * through it.
   */
  members<T = unknown>(scope: string): ListSource<T>;
  /**
   * Adds this process's member `key` at the end of the scope (a member
   * already there keeps its place and takes `value`); resolves its item id
   * once the scope's listeners were told. With `session` (a client's secret
   * id, the same on each of its connections), a member another process (or
   * an earlier lease of this one) joined with the same session in that
   * scope is taken over instead: it keeps its item id and its place, takes
   * `value`, and becomes `key`'s; its old owner's `leave` and lease sweep no
   * longer remove it.
   */
  join(scope: string, key: string, value: unknown, session?: string): Promise<string>;
  /** Replaces the value of this process's member `key`; unknown → `SockSyncError` code 4. */
  set(scope: string, key: string, value: unknown): Promise<void>;
  /** Removes this process's member `key` (a no-op when it is not there). */
  leave(scope: string, key: string): Promise<void>;
  /** Removes every member of this process and stops renewing its lease. */
  close(): Promise<void>;
}
