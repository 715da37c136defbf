/**
 * The types of `socksync/vue`'s composables: their options, what they
 * return, and {@linkcode VueHooks}, the composables typed from a client's
 * API that `createHooks` hands out.
 *
 * @module
 */
import type { MaybeRefOrGetter } from "vue";
import type {
  ApiShape,
  FunctionName,
  ItemOf,
  ListName,
  ParamsOf,
  ResultOf,
  UntypedApi,
  VarName,
} from "../../protocol/api.ts";
import type { ConnectionState, ItemState, ListState, VarState } from "../contract.ts";
import type { Client } from "../../client/client.ts";
import type { CallRest } from "../../client/types.ts";

/**
 * Options of `useList`: each may be a ref or a getter. `P` is the type of
 * the list's params.
 *
 * @example
 * ```ts
 * import { ref } from "vue";
 * import type { UseListOptions } from "./types.ts";
 * const room = ref("general");
 * const options: UseListOptions = { pageSize: 20, params: () => ({ room: room.value }) };
 * ```
 */
export interface UseListOptions<P = Record<string, unknown>> {
  /** The zero-based page to show; a change moves the view. */
  page?: MaybeRefOrGetter<number | undefined>;
  /** The page size; a change moves the view (to `page`, or page 0). */
  pageSize?: MaybeRefOrGetter<number | undefined>;
  /** The list's params; a change opens another view. */
  params?: MaybeRefOrGetter<P | undefined>;
}

/**
 * A live page of a list and the way to move it.
 *
 * @example
 * ```ts
 * import type { ListHandle } from "./types.ts";
 * function label(todos: ListHandle<{ text: string }>): string {
 *   return `page ${todos.page + 1} of ${todos.pageCount}`;
 * }
 * ```
 */
export interface ListHandle<T> extends ListState<T> {
  /** Shows another page. */
  setPage(page: number): void;
}

/**
 * The options argument of a typed `useList`: required, with its `params`,
 * when the list's params are.
 *
 * @example
 * ```ts
 * import type { UseListRest } from "./types.ts";
 * type Api = { vars: {}; lists: { chat: { item: string; params: { room: string } } }; functions: {} };
 * const rest: UseListRest<Api, "chat"> = [{ params: () => ({ room: "general" }) }];
 * ```
 */
export type UseListRest<A extends ApiShape, N extends ListName<A>> = undefined extends
  ParamsOf<A, N> ? [options?: UseListOptions<ParamsOf<A, N>>]
  : [options: UseListOptions<ParamsOf<A, N>> & { params: MaybeRefOrGetter<ParamsOf<A, N>> }];

/**
 * The composables typed from a client's API (see `createHooks`): names,
 * params, args and results are checked against the server's declarations.
 *
 * @example
 * ```ts
 * import type { VueHooks } from "./types.ts";
 * type Api = {
 *   vars: { counter: number };
 *   lists: { todos: { item: { text: string }; params: undefined } };
 *   functions: { increment: { args: undefined; result: number } };
 * };
 * function label(hooks: VueHooks<Api>): string {
 *   const counter = hooks.useVar("counter");
 *   return String(counter.value ?? "–");
 * }
 * ```
 */
export interface VueHooks<A extends ApiShape = UntypedApi> {
  /** The client these composables read: the installed one, else the one given to `createHooks`. */
  useClient(): Client<A>;
  /** The live value of a var, as a reactive `{ value, ready, error }`. */
  useVar<N extends VarName<A>>(name: MaybeRefOrGetter<N>): Readonly<VarState<A["vars"][N]>>;
  /** A live page of a list, as a reactive `{ items, total, page, pageCount, setPage, … }`. */
  useList<N extends ListName<A>>(
    name: MaybeRefOrGetter<N>,
    ...options: UseListRest<A, N>
  ): Readonly<ListHandle<ItemOf<A, N>>>;
  /** A live list item, as a reactive `{ value, exists, ready, error }`. */
  useItem<N extends ListName<A>>(
    list: MaybeRefOrGetter<N>,
    id: MaybeRefOrGetter<string>,
  ): Readonly<ItemState<ItemOf<A, N>>>;
  /**
   * A function that calls a server function: `call(args, { optimistic })`
   * (`optimistic` needs a client made with `connect(url, { optimisticCalls })`).
   */
  useCall<N extends FunctionName<A>>(
    name: MaybeRefOrGetter<N>,
  ): (...args: CallRest<A, N>) => Promise<ResultOf<A, N>>;
  /** The connection's state, as a reactive `{ status, attempt, nextAttempt, lastDisconnect }`. */
  useConnection(): Readonly<ConnectionState>;
}
