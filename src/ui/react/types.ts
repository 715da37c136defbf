/**
 * The types of `socksync/react`'s hooks: what they return, and
 * {@linkcode ReactHooks}, the hooks typed from a client's API that
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
 * A live page of a list and the way to move it.
 *
 * @example
 * ```ts
 * import type { ListHook } from "./types.ts";
 * function label(todos: ListHook<{ text: string }>): string {
 *   return `page ${todos.page + 1} of ${todos.pageCount}`;
 * }
 * ```
 */
export interface ListHook<T> extends ListState<T> {
  /** Shows another page. */
  setPage(page: number): void;
}

/**
 * The hooks typed from a client's API (see `createHooks`): names, params,
 * args and results are checked against the server's declarations.
 *
 * @example
 * ```ts
 * import type { ReactHooks } from "./types.ts";
 * type Api = {
 *   vars: { counter: number };
 *   lists: {};
 *   functions: { increment: { args: undefined; result: number } };
 * };
 * function useLabel(hooks: ReactHooks<Api>): string {
 *   const counter = hooks.useVar("counter");
 *   return String(counter.value ?? "–");
 * }
 * ```
 */
export interface ReactHooks<A extends ApiShape = UntypedApi> {
  /** The client these hooks read: the nearest provider's, else the one given to `createHooks`. */
  useClient(): Client<A>;
  /** The live value of a var: `{ value, ready, error }`. */
  useVar<N extends VarName<A>>(name: N): VarState<A["vars"][N]>;
  /** A live page of a list: `{ items, total, page, pageCount, setPage, … }`. */
  useList<N extends ListName<A>>(name: N, ...options: ListRest<A, N>): ListHook<ItemOf<A, N>>;
  /** A live list item: `{ value, exists, ready, error }`. */
  useItem<N extends ListName<A>>(list: N, id: string): ItemState<ItemOf<A, N>>;
  /**
   * A function that calls a server function: `call(args, { optimistic })`
   * (`optimistic` needs a client made with `connect(url, { optimisticCalls })`).
   */
  useCall<N extends FunctionName<A>>(name: N): (...args: CallRest<A, N>) => Promise<ResultOf<A, N>>;
  /** The connection's state (see `useConnection`). */
  useConnection(): ConnectionState;
}
