/**
 * The types of `socksync/svelte`: the handles its functions return (each
 * readable as runes-mode state and as a Svelte store) and
 * {@linkcode SvelteHooks}, the functions typed from a client's API that
 * `createHooks` hands out.
 *
 * @module
 */
import type {
  ApiShape,
  FunctionName,
  ItemOf,
  ListName,
  ResultOf,
  UntypedApi,
  VarName,
} from "../../protocol/api.ts";
import type { ConnectionState, ItemState, ListState, VarState } from "../contract.ts";
import type { Client } from "../../client/client.ts";
import type { CallRest, ListRest } from "../../client/types.ts";

/**
 * The Svelte store contract: `subscribe` calls `run` at once with the
 * current value, then after every change, and returns the unsubscriber. A
 * handle is such a store, so `$handle` reads it in any component.
 *
 * @example
 * ```ts
 * import type { Subscribable } from "./types.ts";
 * const constant: Subscribable<number> = {
 *   subscribe: (run) => (run(1), () => {}),
 * };
 * ```
 */
export interface Subscribable<S> {
  /** Calls `run` now and after every change; returns the unsubscriber. */
  subscribe(run: (value: S) => void): () => void;
}

/**
 * A live var: its fields are reactive in runes mode (`counter.value`), and
 * it is a store of its snapshot (`$counter.value`).
 *
 * @example
 * ```ts
 * import type { VarHandle } from "./types.ts";
 * const label = (counter: VarHandle<number>) => String(counter.value ?? "–");
 * ```
 */
export interface VarHandle<T> extends Readonly<VarState<T>>, Subscribable<VarState<T>> {}

/**
 * A live page of a list: its fields are reactive in runes mode
 * (`todos.items`), it is a store of its snapshot (`$todos.items`), and
 * `setPage` moves it.
 *
 * @example
 * ```ts
 * import type { ListHandle } from "./types.ts";
 * const label = (todos: ListHandle<{ text: string }>) =>
 *   `page ${todos.page + 1} of ${todos.pageCount}`;
 * ```
 */
export interface ListHandle<T> extends Readonly<ListState<T>>, Subscribable<ListState<T>> {
  /** Shows another page (and, with `pageSize`, another page size). */
  setPage(page: number, pageSize?: number): void;
}

/**
 * A live list item: its fields are reactive in runes mode (`todo.value`),
 * and it is a store of its snapshot (`$todo.value`).
 *
 * @example
 * ```ts
 * import type { ItemHandle } from "./types.ts";
 * const label = (todo: ItemHandle<{ text: string }>) => todo.value?.text ?? "…";
 * ```
 */
export interface ItemHandle<T> extends Readonly<ItemState<T>>, Subscribable<ItemState<T>> {}

/**
 * The client's connection state: its fields (`status`, `attempt`,
 * `nextAttempt`, `lastDisconnect`) are reactive in runes mode, and it is a
 * store of the state (`$connection.status`).
 *
 * @example
 * ```ts
 * import type { ConnectionHandle } from "./types.ts";
 * const badge = (connection: ConnectionHandle) =>
 *   connection.status === "open" ? "live" : connection.status;
 * ```
 */
export interface ConnectionHandle
  extends Readonly<ConnectionState>, Subscribable<ConnectionState> {}

/**
 * The functions typed from a client's API (see `createHooks`): names,
 * params, args and results are checked against the server's declarations.
 *
 * @example
 * ```ts
 * import type { SvelteHooks } from "./types.ts";
 * type Api = {
 *   vars: { counter: number };
 *   lists: {};
 *   functions: { increment: { args: undefined; result: number } };
 * };
 * function label(hooks: SvelteHooks<Api>): string {
 *   return String(hooks.useVar("counter").value ?? "–");
 * }
 * ```
 */
export interface SvelteHooks<A extends ApiShape = UntypedApi> {
  /** The client these functions read: the one in context, else the one given to `createHooks`. */
  useClient(): Client<A>;
  /** A live var: `{ value, ready, status, error }`. */
  useVar<N extends VarName<A>>(name: N): VarHandle<A["vars"][N]>;
  /** A live page of a list: `{ items, total, page, pageCount, setPage, … }`. */
  useList<N extends ListName<A>>(name: N, ...options: ListRest<A, N>): ListHandle<ItemOf<A, N>>;
  /** A live list item: `{ value, exists, ready, status, error }`. */
  useItem<N extends ListName<A>>(list: N, id: string): ItemHandle<ItemOf<A, N>>;
  /**
   * A function that calls a server function: `call(args, { optimistic })`
   * (`optimistic` needs a client made with `connect(url, { optimisticCalls })`).
   */
  useCall<N extends FunctionName<A>>(name: N): (...args: CallRest<A, N>) => Promise<ResultOf<A, N>>;
  /** The client's connection state: `{ status, attempt, nextAttempt, lastDisconnect }`. */
  useConnection(): ConnectionHandle;
}
