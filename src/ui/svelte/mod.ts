/**
 * `socksync/svelte`: Svelte 5 bindings over a SockSync client. Make them
 * once from the typed client with {@linkcode createHooks}, then read vars,
 * list pages and items with `useVar`, `useList` and `useItem`, the
 * connection with `useConnection`, and call functions with `useCall`: their
 * names, params, args and results are typed from the server's declarations.
 *
 * Each returns a handle whose fields are reactive in runes mode
 * (`counter.value`, `todos.items`) and which is also a Svelte store of its
 * snapshot (`$counter.value` in a legacy component). A handle opens its
 * mirror while something reads it and closes it once nothing does, so a
 * destroyed component releases what it showed; for arguments that change,
 * make the handle in a `$derived` (`$derived(useList("messages", { params:
 * { room } }))`). A client put in context with {@linkcode provideClient}
 * takes precedence over the one given to `createHooks`; the untyped
 * functions exported directly read only the one in context.
 *
 * Svelte is an optional peer dependency: install `svelte` to use this entry
 * point.
 *
 * @example
 * ```ts
 * import { connect } from "../../../mod.ts";
 * import { createHooks } from "./mod.ts";
 *
 * type Api = {
 *   vars: { counter: number };
 *   lists: {};
 *   functions: { increment: { args: undefined; result: number } };
 * };
 * const client = connect<Api>("ws://127.0.0.1:8080/ws/socksync");
 * const { useCall, useVar } = createHooks(client);
 * // In a component's <script>; then {counter.value ?? "–"} (runes mode) or
 * // {$counter.value ?? "–"}, and <button onclick={() => increment()}>+1</button>.
 * const counter = useVar("counter"); // counter.value: number | undefined
 * const increment = useCall("increment");
 * ```
 *
 * @module
 */
import { getContext, setContext } from "svelte";
import type { BindableClient, CallChange, ListOpenOptions } from "../contract.ts";
import { callOf, connectionOf, itemOf, listOf, varOf } from "./live.ts";
import type { ApiShape, UntypedApi } from "../../protocol/api.ts";
import type { Client } from "../../client/client.ts";
import type { ConnectionHandle, ItemHandle, ListHandle, SvelteHooks, VarHandle } from "./types.ts";

export type {
  ConnectionHandle,
  ItemHandle,
  ListHandle,
  Subscribable,
  SvelteHooks,
  VarHandle,
} from "./types.ts";
export type {
  BindableClient,
  CallChange,
  ConnectionState,
  ConnectionStatus,
  ItemEntry,
  ItemState,
  ListOpenOptions,
  ListState,
  OptimisticEdit,
  VarState,
} from "../contract.ts";

const CLIENT = Symbol("socksync client");

/**
 * Puts a client in context for the component that calls it (during its
 * initialisation) and every component inside it.
 *
 * @example
 * ```ts
 * import { connect } from "../../../mod.ts";
 * import { provideClient } from "./mod.ts";
 * // In the root component's <script>:
 * const install = () => provideClient(connect("ws://127.0.0.1:8080/ws/socksync"));
 * ```
 */
export function provideClient(client: BindableClient): void {
  setContext(CLIENT, client);
}

/**
 * The client in context; throws when there is none.
 *
 * @example
 * ```ts
 * import { useClient } from "./mod.ts";
 * // In a component's <script>:
 * const status = () => useClient() ? "ok" : "none";
 * ```
 */
export function useClient(): BindableClient {
  return installed();
}

/** The client in context, else `fallback`; throws when there is neither. */
function installed(fallback?: BindableClient): BindableClient {
  let client: BindableClient | undefined;
  try {
    client = getContext<BindableClient | undefined>(CLIENT);
  } catch {
    // Outside a component's initialisation there is no context to read.
  }
  client ??= fallback;
  if (!client) {
    throw new Error(
      "socksync/svelte: no client here: make the functions with createHooks(client), or put one in context with provideClient(client)",
    );
  }
  return client;
}

/**
 * The functions typed from a client's API: `useVar`, `useList`, `useItem`
 * and `useCall` check every name, params, args and result against the
 * server's declarations, with no type arguments to write. They read the
 * client in context (see {@linkcode provideClient}) if there is one, else
 * `client`; without `client`, name the API instead: `createHooks<Api>()`.
 *
 * @example
 * ```ts
 * import { connect } from "../../../mod.ts";
 * import { createHooks } from "./mod.ts";
 * type Api = {
 *   vars: {};
 *   lists: { todos: { item: { text: string }; params: undefined } };
 *   functions: { add_todo: { args: { text: string }; result: { id: string } } };
 * };
 * const { useCall, useList } = createHooks(connect<Api>("ws://127.0.0.1:8080/ws/socksync"));
 * // In a component's <script>:
 * const setup = () => {
 *   const todos = useList("todos", { pageSize: 10 }); // todos.items[0]?.value.text: string
 *   const add = useCall("add_todo"); // add({ text: "milk" }): Promise<{ id: string }>
 *   return { todos, add };
 * };
 * ```
 */
export function createHooks<A extends ApiShape = UntypedApi>(client?: Client<A>): SvelteHooks<A> {
  const use = () => installed(client as BindableClient | undefined);
  const hooks: SvelteHooks<UntypedApi> = {
    useClient: use as () => Client,
    useVar: (name) => varOf(use(), name),
    useList: (name, options) => listOf(use(), name, options),
    useItem: (list, id) => itemOf(use(), list, id),
    useCall: (name) => callOf(use(), name),
    useConnection: () => connectionOf(use()),
  };
  return hooks as unknown as SvelteHooks<A>;
}

/**
 * A live server var, `{ value, ready, status, error }`, from the client in context,
 * with the value's type written by hand (see {@linkcode createHooks} for
 * types from the server).
 *
 * @example
 * ```ts
 * import { useVar } from "./mod.ts";
 * // In a component's <script>; then {counter.value} (runes) or {$counter.value}.
 * const counter = () => useVar<number>("counter");
 * ```
 */
export function useVar<T = unknown>(name: string): VarHandle<T> {
  return varOf(useClient(), name) as VarHandle<T>;
}

/**
 * A live page of a server list: `{ items, total, page, pageSize, pageCount,
 * ready, error, setPage }`, from the client in context, with the item type
 * written by hand. The name and `params` pick the view (the client shares
 * one per list and params), `page` and `pageSize` move it.
 *
 * @example
 * ```ts
 * import { useList } from "./mod.ts";
 * // In a component's <script>; then {#each todos.items as todo (todo.id)}…{/each}.
 * const todos = () => useList<{ text: string }>("todos", { pageSize: 10 });
 * ```
 */
export function useList<T = unknown>(name: string, options?: ListOpenOptions): ListHandle<T> {
  return listOf(useClient(), name, options) as ListHandle<T>;
}

/**
 * A live list item, `{ value, exists, ready, status, error }`, from the client in
 * context, with the item type written by hand.
 *
 * @example
 * ```ts
 * import { useItem } from "./mod.ts";
 * // In a component's <script>; then {todo.exists ? todo.value.text : "deleted"}.
 * const todo = (id: string) => useItem<{ text: string }>("todos", id);
 * ```
 */
export function useItem<T = unknown>(list: string, id: string): ItemHandle<T> {
  return itemOf(useClient(), list, id) as ItemHandle<T>;
}

/**
 * A function that calls a server function through the client in context:
 * `call(args, { optimistic })` (`optimistic` needs a client made with
 * `connect(url, { optimisticCalls })`), with args and result types written by hand.
 *
 * @example
 * ```ts
 * import { useCall } from "./mod.ts";
 * // In a component's <script>; then <button onclick={() => add({ text: "milk" })}>.
 * const add = () => useCall<{ text: string }, { id: string }>("add_todo");
 * ```
 */
export function useCall<A = unknown, R = unknown>(
  name: string,
): (args?: A, options?: CallChange) => Promise<R> {
  return callOf(useClient(), name) as (args?: A, options?: CallChange) => Promise<R>;
}

/**
 * The connection state of the client in context, `{ status, attempt,
 * nextAttempt, lastDisconnect }` (`connecting`, `open`, `reconnecting` with
 * the next attempt's time, `closed`): reactive in runes mode, and a store.
 *
 * @example
 * ```ts
 * import { useConnection } from "./mod.ts";
 * // In a component's <script>; then {connection.status === "open" ? "live" : connection.status}.
 * const connection = () => useConnection();
 * ```
 */
export function useConnection(): ConnectionHandle {
  return connectionOf(useClient());
}
