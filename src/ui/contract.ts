/**
 * The part of a client that the framework bindings (`socksync/vue`,
 * `socksync/react`) use: mirrors with immutable snapshots and
 * `subscribe(listener) → unsubscribe`, and calls. Written as structural types
 * so that the bindings import no client code and any client shaped like this
 * (a typed `Client<Api>` included) fits.
 *
 * @module
 */
import type { SockSyncError } from "../errors.ts";
import type { ConnectionState } from "../client/state.ts";

export type { ConnectionState, ConnectionStatus } from "../client/state.ts";

/**
 * A source of immutable snapshots: `getSnapshot()` returns the same object
 * until something changes; `subscribe` calls the listener at once with the
 * current snapshot, then after every change (the Svelte store contract, and
 * what React's `useSyncExternalStore` needs).
 *
 * @internal
 */
export interface SnapshotSource<S> {
  /** The current snapshot; the same object until something changes. */
  getSnapshot(): S;
  /** Calls `listener` now and after every change; returns the unsubscriber. */
  subscribe(listener: (snapshot: S) => void): () => void;
}

/**
 * A var mirror's snapshot.
 *
 * @example
 * ```ts
 * import type { VarState } from "./contract.ts";
 * const state: VarState<number> = { value: 1, ready: true, status: "ready" };
 * ```
 */
export interface VarState<T> {
  /** The last value received; `undefined` until the first one. */
  readonly value: T | undefined;
  /** Whether the first value has arrived. */
  readonly ready: boolean;
  /**
   * `loading` until the first answer, `ready` once it arrived, `error` while
   * the last answer was an error (see `error`): a failed view is never an
   * empty one.
   */
  readonly status: "loading" | "ready" | "error";
  /** The last error the server sent about this var. */
  readonly error?: SockSyncError;
}

/**
 * One item of a list page.
 *
 * @example
 * ```ts
 * import type { ItemEntry } from "./contract.ts";
 * const entry: ItemEntry<string> = { id: "a1", value: "milk" };
 * ```
 */
export interface ItemEntry<T> {
  /** The item's id. */
  readonly id: string;
  /** The item's value. */
  readonly value: T;
}

/**
 * A list view's snapshot: one page, its total and where it is.
 *
 * @example
 * ```ts
 * import type { ListState } from "./contract.ts";
 * const state: ListState<string> = {
 *   items: [], total: 0, page: 0, pageSize: 10, pageCount: 1, ready: false, status: "loading",
 * };
 * ```
 */
export interface ListState<T> {
  /** The items of the page, in order. */
  readonly items: readonly ItemEntry<T>[];
  /** The number of items in the whole list. */
  readonly total: number;
  /** The zero-based page shown. */
  readonly page: number;
  /** The page size (the server's answer once it arrives). */
  readonly pageSize: number | undefined;
  /** The number of pages (at least 1). */
  readonly pageCount: number;
  /** Whether the first page has arrived. */
  readonly ready: boolean;
  /**
   * `loading` until the first answer, `ready` once it arrived, `error` while
   * the last answer was an error (see `error`): a failed view is never an
   * empty one.
   */
  readonly status: "loading" | "ready" | "error";
  /** The last error the server sent about this list. */
  readonly error?: SockSyncError;
}

/**
 * An item mirror's snapshot.
 *
 * @example
 * ```ts
 * import type { ItemState } from "./contract.ts";
 * const state: ItemState<string> = { value: "milk", exists: true, ready: true, status: "ready" };
 * ```
 */
export interface ItemState<T> {
  /** The item's value; `undefined` while loading or once deleted. */
  readonly value: T | undefined;
  /** Whether the item exists. */
  readonly exists: boolean;
  /** Whether the first answer has arrived. */
  readonly ready: boolean;
  /**
   * `loading` until the first answer, `ready` once it arrived, `error` while
   * the last answer was an error (see `error`): a failed view is never an
   * empty one.
   */
  readonly status: "loading" | "ready" | "error";
  /** The last error the server sent about this item. */
  readonly error?: SockSyncError;
}

/**
 * Options of a list view: the page to open, its size and the list's params.
 *
 * @example
 * ```ts
 * import type { ListOpenOptions } from "./contract.ts";
 * const options: ListOpenOptions = { page: 0, pageSize: 10, params: { room: "general" } };
 * ```
 */
export interface ListOpenOptions {
  /** The zero-based page to open. Default 0. */
  page?: number;
  /** The page size to ask for. */
  pageSize?: number;
  /** The list's parameters (e.g. a chat room). */
  params?: Record<string, unknown>;
}

/**
 * What the bindings need from a client: `Client` from `socksync` fits.
 *
 * @example
 * ```ts
 * import type { BindableClient } from "./contract.ts";
 * async function bump(client: BindableClient): Promise<void> {
 *   await client.call("increment", { by: 1 });
 * }
 * ```
 */
export interface BindableClient {
  /** The mirror of a var. */
  var(name: string): SnapshotSource<VarState<unknown>>;
  /** A view of one page of a list; `close()` ends it. */
  // deno-lint-ignore no-explicit-any
  list(name: any, options?: any): SnapshotSource<ListState<unknown>> & {
    setPage(page: number, pageSize?: number): void;
    close(): void;
  };
  /** The mirror of one list item; `close()` ends it. */
  // deno-lint-ignore no-explicit-any
  item(list: any, id: string): SnapshotSource<ItemState<unknown>> & { close(): void };
  /** Calls a server function, optionally with an optimistic local change. */
  // deno-lint-ignore no-explicit-any
  call(name: any, args?: any, options?: any): Promise<unknown>;
  /** The connection's state (`connecting`, `open`, `reconnecting`, `closed`). */
  readonly connection: SnapshotSource<ConnectionState>;
}

/**
 * The local change an optimistic call shows until its reply: what the
 * client's `call(name, args, { optimistic })` hands to the `optimistic`
 * function.
 *
 * @example
 * ```ts
 * import type { OptimisticEdit } from "./contract.ts";
 * const addMilk = (change: OptimisticEdit) =>
 *   void change.insert("todos", { value: { text: "milk", done: false } });
 * ```
 */
export interface OptimisticEdit {
  /** Shows a var's new value (or the value `fn` makes of the current one). */
  // deno-lint-ignore no-explicit-any
  set(name: string, value: any): void;
  /** Shows an item inserted at `index` of the whole list (default: the top); returns its id. */
  insert(list: string, item: { value: unknown; id?: string; index?: number }): string;
  /** Shows an item's new value (or the value `fn` makes of the current one). */
  // deno-lint-ignore no-explicit-any
  update(list: string, id: string, value: any): void;
  /** Shows the list without an item. */
  remove(list: string, id: string): void;
}

/**
 * Options of a call made through a binding's `useCall`.
 *
 * @example
 * ```ts
 * import type { CallChange } from "./contract.ts";
 * const options: CallChange = { optimistic: (change) => change.set("counter", 1) };
 * ```
 */
export interface CallChange {
  /** The optimistic local change, shown until the reply, rolled back on an error. */
  optimistic?: (change: OptimisticEdit) => void;
  /** The call's own timeout in milliseconds. */
  timeout?: number;
}

/**
 * A key that changes when a list's options (other than the page) change.
 */
export function listKey(name: string, pageSize?: number, params?: Record<string, unknown>): string {
  return JSON.stringify([name, pageSize ?? null, params ?? null]);
}

/**
 * A list state with nothing in it yet, for the time before a view opens.
 */
export const EMPTY_LIST: ListState<never> = Object.freeze({
  items: Object.freeze([]) as readonly never[],
  total: 0,
  page: 0,
  pageSize: undefined,
  pageCount: 1,
  ready: false,
  status: "loading",
});

/**
 * An item state with nothing in it yet, for the time before a mirror opens.
 */
export const EMPTY_ITEM: ItemState<never> = Object.freeze({
  value: undefined,
  exists: false,
  ready: false,
  status: "loading",
});
