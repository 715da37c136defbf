/**
 * `socksync/vue`: Vue 3 composables over a SockSync client. Make them
 * once from the typed client with {@linkcode createHooks}, then read vars,
 * list pages and items with `useVar`, `useList` and `useItem`, and call
 * functions with `useCall`: their names, params, args and results are typed
 * from the server's declarations. Each composable returns a reactive object
 * that takes a mirror's whole snapshot at once, and its subscription ends
 * with the component (or effect scope) that made it. A client installed with
 * `app.use(socksync(client))` (or {@linkcode provideClient}) takes precedence
 * over the one given to `createHooks`; the untyped composables exported
 * directly read only the installed one.
 *
 * Vue is an optional peer dependency: install `vue` to use this entry point.
 *
 * @example
 * ```ts
 * import { createApp, defineComponent, h } from "vue";
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
 * const Counter = defineComponent(() => {
 *   const counter = useVar("counter"); // counter.value: number | undefined
 *   const increment = useCall("increment");
 *   return () => h("button", { onClick: () => increment() }, `${counter.value ?? "–"} +1`);
 * });
 * const app = createApp(Counter);
 * ```
 *
 * @module
 */
import {
  type App,
  hasInjectionContext,
  inject,
  type InjectionKey,
  type MaybeRefOrGetter,
  provide,
} from "vue";
import type {
  BindableClient,
  CallChange,
  ConnectionState,
  ItemState,
  VarState,
} from "../contract.ts";
import { callOf, connectionOf, itemOf, listOf, varOf } from "./follow.ts";
import type { ApiShape, UntypedApi } from "../../protocol/api.ts";
import type { Client } from "../../client/client.ts";
import type { ListHandle, UseListOptions, VueHooks } from "./types.ts";

export type { ListHandle, UseListOptions, UseListRest, VueHooks } from "./types.ts";
export type {
  BindableClient,
  CallChange,
  ConnectionState,
  ConnectionStatus,
  ItemEntry,
  ItemState,
  ListState,
  OptimisticEdit,
  VarState,
} from "../contract.ts";

const CLIENT: InjectionKey<BindableClient> = Symbol("socksync client");

/**
 * A Vue plugin that makes a client available to every component of the app.
 *
 * @example
 * ```ts
 * import { socksync } from "./mod.ts";
 * import { connect } from "../../../mod.ts";
 * const plugin = socksync(connect("ws://127.0.0.1:8080/ws/socksync"));
 * // createApp(App).use(plugin).mount("#app");
 * ```
 */
export function socksync(client: BindableClient): { install(app: App): void } {
  return { install: (app: App) => void app.provide(CLIENT, client) };
}

/**
 * Makes a client available to the components below the one whose `setup`
 * calls it (instead of the plugin).
 *
 * @example
 * ```ts
 * import { defineComponent, h } from "vue";
 * import { connect } from "../../../mod.ts";
 * import { provideClient } from "./mod.ts";
 * const Root = defineComponent(() => {
 *   provideClient(connect("ws://127.0.0.1:8080/ws/socksync"));
 *   return () => h("main");
 * });
 * ```
 */
export function provideClient(client: BindableClient): void {
  provide(CLIENT, client);
}

/**
 * The installed client; throws when there is none.
 *
 * @example
 * ```ts
 * import { defineComponent, h } from "vue";
 * import { useClient } from "./mod.ts";
 * const Status = defineComponent(() => {
 *   const client = useClient();
 *   return () => h("span", client ? "ok" : "none");
 * });
 * ```
 */
export function useClient(): BindableClient {
  return installed();
}

/** The installed client, else `fallback`; throws when there is neither. */
function installed(fallback?: BindableClient): BindableClient {
  // Outside a component's setup there is nothing installed to ask for.
  const client = (hasInjectionContext() ? inject(CLIENT, null) : null) ?? fallback;
  if (!client) {
    throw new Error(
      "socksync/vue: no client here: make the composables with createHooks(client), or install one with app.use(socksync(client)) or provideClient(client)",
    );
  }
  return client;
}

/**
 * The composables typed from a client's API: `useVar`, `useList`, `useItem`
 * and `useCall` check every name, params, args and result against the
 * server's declarations, with no type arguments to write. They read the
 * client installed in the app (`app.use(socksync(client))`) if there is one,
 * else `client`; without `client`, name the API instead:
 * `createHooks<Api>()`.
 *
 * @example
 * ```ts
 * import { defineComponent, h } from "vue";
 * import { connect } from "../../../mod.ts";
 * import { createHooks } from "./mod.ts";
 * type Api = {
 *   vars: {};
 *   lists: { todos: { item: { text: string }; params: undefined } };
 *   functions: { add_todo: { args: { text: string }; result: { id: string } } };
 * };
 * const { useCall, useList } = createHooks(connect<Api>("ws://127.0.0.1:8080/ws/socksync"));
 * const Todos = defineComponent(() => {
 *   const todos = useList("todos", { pageSize: 10 });
 *   const add = useCall("add_todo");
 *   return () =>
 *     h("section", [
 *       h("button", { onClick: () => add({ text: "milk" }) }, "Add milk"),
 *       h("ul", todos.items.map((t) => h("li", { key: t.id }, t.value.text))),
 *     ]);
 * });
 * ```
 */
export function createHooks<A extends ApiShape = UntypedApi>(client?: Client<A>): VueHooks<A> {
  const use = () => installed(client as BindableClient | undefined);
  const hooks: VueHooks<UntypedApi> = {
    useClient: use as () => Client,
    useVar: (name) => varOf(use(), name),
    useList: (name, options) => listOf(use(), name, options),
    useItem: (list, id) => itemOf(use(), list, id),
    useCall: (name) => callOf(use(), name),
    useConnection: () => connectionOf(use()),
  };
  return hooks as unknown as VueHooks<A>;
}

/**
 * The live value of a server var, as a reactive `{ value, ready, error }`,
 * from the installed client, with the value's type written by hand (see
 * {@linkcode createHooks} for types from the server). `name` may be a ref or
 * a getter.
 *
 * @example
 * ```ts
 * import { defineComponent, h } from "vue";
 * import { useVar } from "./mod.ts";
 * const Counter = defineComponent(() => {
 *   const counter = useVar<number>("counter");
 *   return () => h("output", String(counter.value ?? "–"));
 * });
 * ```
 */
export function useVar<T = unknown>(name: MaybeRefOrGetter<string>): Readonly<VarState<T>> {
  return varOf(useClient(), name) as VarState<T>;
}

/**
 * A live page of a server list, as a reactive `{ items, total, page,
 * pageSize, pageCount, ready, error, setPage }`, from the installed client,
 * with the item type written by hand.
 *
 * @example
 * ```ts
 * import { defineComponent, h } from "vue";
 * import { useList } from "./mod.ts";
 * const Todos = defineComponent(() => {
 *   const todos = useList<{ text: string }>("todos", { pageSize: 10 });
 *   return () => h("ul", todos.items.map((t) => h("li", { key: t.id }, t.value.text)));
 * });
 * ```
 */
export function useList<T = unknown>(
  name: MaybeRefOrGetter<string>,
  options?: UseListOptions,
): Readonly<ListHandle<T>> {
  return listOf(useClient(), name, options) as ListHandle<T>;
}

/**
 * A live list item, as a reactive `{ value, exists, ready, error }`, from the
 * installed client, with the item type written by hand. `list` and `id` may
 * be refs or getters.
 *
 * @example
 * ```ts
 * import { defineComponent, h } from "vue";
 * import { useItem } from "./mod.ts";
 * const Todo = defineComponent((props: { id: string }) => {
 *   const todo = useItem<{ text: string }>("todos", () => props.id);
 *   return () => h("p", todo.exists ? todo.value!.text : "deleted");
 * }, { props: ["id"] });
 * ```
 */
export function useItem<T = unknown>(
  list: MaybeRefOrGetter<string>,
  id: MaybeRefOrGetter<string>,
): Readonly<ItemState<T>> {
  return itemOf(useClient(), list, id) as ItemState<T>;
}

/**
 * A function that calls a server function through the installed client:
 * `call(args, { optimistic })` (`optimistic` needs a client made with
 * `connect(url, { optimisticCalls })`), with args and result types written by hand.
 *
 * @example
 * ```ts
 * import { defineComponent, h } from "vue";
 * import { useCall } from "./mod.ts";
 * const Add = defineComponent(() => {
 *   const add = useCall<{ text: string }, { id: string }>("add_todo");
 *   return () => h("button", { onClick: () => add({ text: "milk" }) }, "Add milk");
 * });
 * ```
 */
export function useCall<A = unknown, R = unknown>(
  name: MaybeRefOrGetter<string>,
): (args?: A, options?: CallChange) => Promise<R> {
  return callOf(useClient(), name) as (args?: A, options?: CallChange) => Promise<R>;
}

/**
 * The connection's state, as a reactive `{ status, attempt, nextAttempt,
 * lastDisconnect }`, from the installed client: `connecting`, `open`,
 * `reconnecting` (with the time of the next attempt while it waits) or
 * `closed`. Calls made while not `open` wait for the connection, within
 * their timeout.
 *
 * @example
 * ```ts
 * import { defineComponent, h } from "vue";
 * import { useConnection } from "./mod.ts";
 * const Badge = defineComponent(() => {
 *   const connection = useConnection();
 *   return () => h("span", connection.status === "open" ? "live" : connection.status);
 * });
 * ```
 */
export function useConnection(): Readonly<ConnectionState> {
  return connectionOf(useClient());
}
