/**
 * `socksync/vue`: Vue 3 composables over a SockSync client. Install the
 * client once with `app.use(socksync(client))` (or
 * {@linkcode provideClient} in a root component), then read vars, list pages
 * and items with {@linkcode useVar}, {@linkcode useList} and
 * {@linkcode useItem}, and call functions with {@linkcode useCall}. Each
 * composable returns a reactive object that takes a mirror's whole snapshot
 * at once, and its subscription ends with the component (or effect scope)
 * that made it.
 *
 * Vue is an optional peer dependency: install `vue` to use this entry point.
 *
 * @example
 * ```ts
 * import { createApp, defineComponent, h } from "vue";
 * import { connect } from "../mod.ts";
 * import { socksync, useCall, useVar } from "./vue.ts";
 *
 * const Counter = defineComponent(() => {
 *   const counter = useVar<number>("counter");
 *   const increment = useCall("increment");
 *   return () => h("button", { onClick: () => increment() }, `${counter.value ?? "–"} +1`);
 * });
 * const client = connect("ws://127.0.0.1:8080/ws/socksync");
 * const app = createApp(Counter).use(socksync(client));
 * ```
 *
 * @module
 */
import {
  type App,
  getCurrentScope,
  inject,
  type InjectionKey,
  type MaybeRefOrGetter,
  onScopeDispose,
  provide,
  shallowReactive,
  type ShallowRef,
  shallowRef,
  toValue,
  watch,
} from "vue";
import {
  type BindableClient,
  type CallChange,
  EMPTY_ITEM,
  EMPTY_LIST,
  type ItemState,
  listKey,
  type ListState,
  type VarState,
} from "./binding_types.ts";

export type {
  BindableClient,
  CallChange,
  ItemEntry,
  ItemState,
  ListState,
  OptimisticEdit,
  VarState,
} from "./binding_types.ts";

const CLIENT: InjectionKey<BindableClient> = Symbol("socksync client");

/**
 * A Vue plugin that makes a client available to every component of the app.
 *
 * @example
 * ```ts
 * import { socksync } from "./vue.ts";
 * import { connect } from "../mod.ts";
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
 * import { connect } from "../mod.ts";
 * import { provideClient } from "./vue.ts";
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
 * import { useClient } from "./vue.ts";
 * const Status = defineComponent(() => {
 *   const client = useClient();
 *   return () => h("span", client ? "ok" : "none");
 * });
 * ```
 */
export function useClient(): BindableClient {
  const client = inject(CLIENT, null);
  if (!client) {
    throw new Error(
      "socksync/vue: no client here: install it with app.use(socksync(client)) or provideClient(client)",
    );
  }
  return client;
}

/** Runs `stop` when the current component or effect scope ends. */
function onEnd(stop: () => void): void {
  if (getCurrentScope()) onScopeDispose(stop);
}

/**
 * Follows a snapshot source into a shallow reactive object: every change
 * replaces all its fields at once (one render per change). When `key` (a
 * reactive getter) changes, the old source is closed before the new one
 * opens, since the client may hand back a shared source for the same name.
 * The returned ref holds the source followed now.
 */
function follow<S extends object, M extends { subscribe(l: (s: S) => void): () => void }>(
  state: S,
  key: () => string,
  open: () => M,
  close: (mirror: M) => void,
): ShallowRef<M | undefined> {
  const current = shallowRef<M>();
  let stop: (() => void) | undefined;
  const end = () => {
    stop?.();
    if (current.value) close(current.value);
    stop = current.value = undefined;
  };
  watch(key, () => {
    end();
    const next = open();
    current.value = next;
    // A snapshot without an error clears the last one.
    stop = next.subscribe((snapshot) => Object.assign(state, { error: undefined }, snapshot));
  }, { immediate: true });
  onEnd(end);
  return current;
}

/**
 * The live value of a server var, as a reactive `{ value, ready, error }`.
 * `name` may be a ref or a getter.
 *
 * @example
 * ```ts
 * import { defineComponent, h } from "vue";
 * import { useVar } from "./vue.ts";
 * const Counter = defineComponent(() => {
 *   const counter = useVar<number>("counter");
 *   return () => h("output", String(counter.value ?? "–"));
 * });
 * ```
 */
export function useVar<T = unknown>(name: MaybeRefOrGetter<string>): Readonly<VarState<T>> {
  const client = useClient();
  const state = shallowReactive<VarState<T>>({ value: undefined, ready: false, error: undefined });
  // A var mirror is the client's, shared by name: unsubscribing is enough.
  follow(
    state as VarState<unknown>,
    () => toValue(name),
    () => client.var(toValue(name)),
    () => {},
  );
  return state;
}

/**
 * Options of {@linkcode useList}: each may be a ref or a getter.
 *
 * @example
 * ```ts
 * import { ref } from "vue";
 * import type { UseListOptions } from "./vue.ts";
 * const room = ref("general");
 * const options: UseListOptions = { pageSize: 20, params: () => ({ room: room.value }) };
 * ```
 */
export interface UseListOptions {
  /** The zero-based page to show; a change moves the view. */
  page?: MaybeRefOrGetter<number | undefined>;
  /** The page size; a change moves the view (to `page`, or page 0). */
  pageSize?: MaybeRefOrGetter<number | undefined>;
  /** The list's params; a change opens another view. */
  params?: MaybeRefOrGetter<Record<string, unknown> | undefined>;
}

/**
 * A live page of a list and the way to move it.
 *
 * @example
 * ```ts
 * import type { ListHandle } from "./vue.ts";
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
 * A live page of a server list, as a reactive `{ items, total, page,
 * pageSize, pageCount, ready, error, setPage }`.
 *
 * @example
 * ```ts
 * import { defineComponent, h } from "vue";
 * import { useList } from "./vue.ts";
 * const Todos = defineComponent(() => {
 *   const todos = useList<{ text: string }>("todos", { pageSize: 10 });
 *   return () => h("ul", todos.items.map((t) => h("li", { key: t.id }, t.value.text)));
 * });
 * ```
 */
export function useList<T = unknown>(
  name: MaybeRefOrGetter<string>,
  options: UseListOptions = {},
): Readonly<ListHandle<T>> {
  const client = useClient();
  const state = shallowReactive<ListHandle<T>>({
    ...(EMPTY_LIST as ListState<T>),
    error: undefined,
    setPage: (page: number) => view.value?.setPage(page),
  });
  // The client shares a list's view between everyone who opens it: the name
  // and params pick the view (a getter that builds new params each time does
  // not reopen it), the page and page size move it.
  const view = follow(
    state as ListState<unknown>,
    () => listKey(toValue(name), undefined, toValue(options.params)),
    () =>
      client.list(toValue(name), {
        page: toValue(options.page) ?? 0,
        pageSize: toValue(options.pageSize),
        params: toValue(options.params),
      }),
    (closing) => closing.close(),
  );
  watch(
    () => [view.value, toValue(options.page), toValue(options.pageSize)] as const,
    ([current, page, pageSize]) => {
      if (!current) return;
      const now = current.getSnapshot();
      if (pageSize !== undefined && now.pageSize !== pageSize) current.setPage(page ?? 0, pageSize);
      else if (page !== undefined && now.page !== page) current.setPage(page);
    },
    { immediate: true },
  );
  return state;
}

/**
 * A live list item, as a reactive `{ value, exists, ready, error }`. `list`
 * and `id` may be refs or getters.
 *
 * @example
 * ```ts
 * import { defineComponent, h } from "vue";
 * import { useItem } from "./vue.ts";
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
  const client = useClient();
  const state = shallowReactive<ItemState<T>>({
    ...(EMPTY_ITEM as ItemState<T>),
    error: undefined,
  });
  follow(
    state as ItemState<unknown>,
    () => JSON.stringify([toValue(list), toValue(id)]),
    () => client.item(toValue(list), toValue(id)),
    (m) => m.close(),
  );
  return state;
}

/**
 * A function that calls a server function: `call(args, { optimistic })`.
 *
 * @example
 * ```ts
 * import { defineComponent, h } from "vue";
 * import { useCall } from "./vue.ts";
 * const Add = defineComponent(() => {
 *   const add = useCall<{ text: string }, { id: string }>("add_todo");
 *   return () => h("button", { onClick: () => add({ text: "milk" }) }, "Add milk");
 * });
 * ```
 */
export function useCall<A = unknown, R = unknown>(
  name: MaybeRefOrGetter<string>,
): (args?: A, options?: CallChange) => Promise<R> {
  const client = useClient();
  return (args?: A, options?: CallChange) =>
    client.call(toValue(name), args, options) as Promise<R>;
}
