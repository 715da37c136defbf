/**
 * `socksync/react`: React 18 and 19 hooks over a SockSync client. Make them
 * once from the typed client with {@linkcode createHooks}, then read vars,
 * list pages and items with `useVar`, `useList` and `useItem`, and call
 * functions with `useCall`: their names, params, args and results are typed
 * from the server's declarations. Every hook reads through
 * `useSyncExternalStore` from immutable snapshots, so a render never mixes
 * two states of a mirror (no tearing), and its subscription ends when the
 * component unmounts. The client of a {@linkcode SockSyncProvider} takes
 * precedence over the one given to `createHooks`; the untyped hooks exported
 * directly read only the provider's.
 *
 * React is an optional peer dependency: install `react` to use this entry
 * point.
 *
 * @example
 * ```ts
 * import { createElement as h } from "react";
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
 * function Counter() {
 *   const counter = useVar("counter"); // counter.value: number | undefined
 *   const increment = useCall("increment");
 *   return h("button", { onClick: () => increment() }, `${counter.value ?? "–"} +1`);
 * }
 * const app = h(Counter);
 * ```
 *
 * @module
 */
import {
  createContext,
  createElement,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
} from "react";
import {
  type BindableClient,
  type CallChange,
  type ConnectionState,
  EMPTY_ITEM,
  EMPTY_LIST,
  type ItemState,
  listKey,
  type ListOpenOptions,
  type ListState,
  type SnapshotSource,
  type VarState,
} from "../contract.ts";
import type { ApiShape, UntypedApi } from "../../protocol/api.ts";
import type { Client } from "../../client/client.ts";
import type { ListHook, ReactHooks } from "./types.ts";

export type { ListHook, ReactHooks } from "./types.ts";
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

const ClientContext = createContext<BindableClient | null>(null);

/**
 * Props of {@linkcode SockSyncProvider}.
 *
 * @example
 * ```ts
 * import { connect } from "../../../mod.ts";
 * import type { SockSyncProviderProps } from "./mod.ts";
 * const props: SockSyncProviderProps = { client: connect("ws://127.0.0.1:8080/ws/socksync") };
 * ```
 */
export interface SockSyncProviderProps {
  /** The client the hooks below use. */
  client: BindableClient;
  /** The app. */
  children?: ReactNode;
}

/**
 * Makes a client available to the hooks of every component inside it.
 *
 * @example
 * ```ts
 * import { createElement as h } from "react";
 * import { connect } from "../../../mod.ts";
 * import { SockSyncProvider } from "./mod.ts";
 * const client = connect("ws://127.0.0.1:8080/ws/socksync");
 * const app = h(SockSyncProvider, { client }, h("p", null, "hello"));
 * ```
 */
export function SockSyncProvider(props: SockSyncProviderProps): ReactNode {
  return createElement(ClientContext.Provider, { value: props.client }, props.children);
}

/**
 * The client of the nearest {@linkcode SockSyncProvider}; throws when there is none.
 *
 * @example
 * ```ts
 * import { useClient } from "./mod.ts";
 * function Status() {
 *   const client = useClient();
 *   return client ? "ok" : "no client";
 * }
 * ```
 */
export function useClient(): BindableClient {
  return useInstalled();
}

/** The provider's client, else `fallback`; throws when there is neither. */
function useInstalled(fallback?: BindableClient): BindableClient {
  const client = useContext(ClientContext) ?? fallback;
  if (!client) {
    throw new Error(
      "socksync/react: no client here: make the hooks with createHooks(client), or wrap the app in <SockSyncProvider client={client}>",
    );
  }
  return client;
}

const NEVER_SUBSCRIBED = () => () => {};

/** Reads a snapshot source (or a constant while there is none) through useSyncExternalStore. */
function useSnapshot<S>(source: SnapshotSource<S> | undefined, empty: S): S {
  const subscribe = useMemo(
    () =>
      source
        // The source calls at once with its current snapshot; React compares and skips it.
        ? (onChange: () => void) => source.subscribe(() => onChange())
        : NEVER_SUBSCRIBED,
    [source],
  );
  const read = source ? () => source.getSnapshot() : () => empty;
  return useSyncExternalStore(subscribe, read, read);
}

/** Reads the connection's state; the untyped `useConnection` and the typed one share it. */
function useConnectionOf(client: BindableClient): ConnectionState {
  return useSnapshot(client.connection, client.connection.getSnapshot());
}

/** Reads a var; the untyped `useVar` and the typed one share it. */
function useVarOf(client: BindableClient, name: string): VarState<unknown> {
  const mirror = useMemo(() => client.var(name), [client, name]);
  return useSnapshot(mirror, mirror.getSnapshot());
}

/** Reads a page of a list; the untyped `useList` and the typed one share it. */
function useListOf(
  client: BindableClient,
  name: string,
  options: ListOpenOptions = {},
): ListHook<unknown> {
  // The client shares a list's view between everyone who opens it: the name
  // and params pick the view, the page and page size move it.
  const key = listKey(name, undefined, options.params);
  const [view, setView] = useState<ReturnType<BindableClient["list"]>>();
  // Opened in an effect, not during render: a render may be thrown away, an
  // effect's cleanup always runs (StrictMode's double run included).
  useEffect(() => {
    const opened = client.list(name, {
      page: options.page ?? 0,
      pageSize: options.pageSize,
      params: options.params,
    });
    setView(opened);
    return () => {
      opened.close();
      setView((current) => current === opened ? undefined : current);
    };
  }, [client, key]);
  const { page: wantedPage, pageSize: wantedSize } = options;
  useEffect(() => {
    if (view) movePage(view, wantedPage, wantedSize);
  }, [view, wantedPage, wantedSize]);
  const state = useSnapshot<ListState<unknown>>(view, EMPTY_LIST);
  const setPage = useCallback((page: number) => view?.setPage(page), [view]);
  return useMemo(() => ({ ...state, setPage }), [state, setPage]);
}

/**
 * Moves a view to the page and page size asked for, if it shows others (a
 * new page size starts again on page 0 unless a page is asked for).
 */
function movePage(
  view: ReturnType<BindableClient["list"]>,
  page: number | undefined,
  pageSize: number | undefined,
): void {
  const now = view.getSnapshot();
  if (pageSize !== undefined && now.pageSize !== pageSize) view.setPage(page ?? 0, pageSize);
  else if (page !== undefined && now.page !== page) view.setPage(page);
}

/** Reads a list item; the untyped `useItem` and the typed one share it. */
function useItemOf(client: BindableClient, list: string, id: string): ItemState<unknown> {
  const [mirror, setMirror] = useState<ReturnType<BindableClient["item"]>>();
  useEffect(() => {
    const opened = client.item(list, id);
    setMirror(opened);
    return () => {
      opened.close();
      setMirror((current) => current === opened ? undefined : current);
    };
  }, [client, list, id]);
  return useSnapshot<ItemState<unknown>>(mirror, EMPTY_ITEM);
}

/** Calls a server function; the untyped `useCall` and the typed one share it. */
function useCallOf(client: BindableClient, name: string) {
  return useCallback(
    (args?: unknown, options?: CallChange) => client.call(name, args, options),
    [client, name],
  );
}

/**
 * The hooks typed from a client's API: `useVar`, `useList`, `useItem` and
 * `useCall` check every name, params, args and result against the server's
 * declarations, with no type arguments to write. They read the client of the
 * nearest {@linkcode SockSyncProvider} if there is one, else `client`;
 * without `client`, name the API instead: `createHooks<Api>()`.
 *
 * @example
 * ```ts
 * import { createElement as h } from "react";
 * import { connect } from "../../../mod.ts";
 * import { createHooks } from "./mod.ts";
 * type Api = {
 *   vars: {};
 *   lists: { todos: { item: { text: string }; params: undefined } };
 *   functions: { add_todo: { args: { text: string }; result: { id: string } } };
 * };
 * const { useCall, useList } = createHooks(connect<Api>("ws://127.0.0.1:8080/ws/socksync"));
 * function Todos() {
 *   const todos = useList("todos", { pageSize: 10 });
 *   const add = useCall("add_todo");
 *   return h("section", null, [
 *     h("button", { key: "add", onClick: () => add({ text: "milk" }) }, "Add milk"),
 *     h("ul", { key: "list" }, todos.items.map((t) => h("li", { key: t.id }, t.value.text))),
 *   ]);
 * }
 * ```
 */
export function createHooks<A extends ApiShape = UntypedApi>(client?: Client<A>): ReactHooks<A> {
  const use = () => useInstalled(client as BindableClient | undefined);
  const hooks: ReactHooks<UntypedApi> = {
    useClient: use as () => Client,
    useVar: (name) => useVarOf(use(), name),
    useList: (name, options) => useListOf(use(), name, options),
    useItem: (list, id) => useItemOf(use(), list, id),
    useCall: (name) => useCallOf(use(), name),
    useConnection: () => useConnectionOf(use()),
  };
  return hooks as unknown as ReactHooks<A>;
}

/**
 * The live value of a server var, `{ value, ready, error }`, from the
 * provider's client, with the value's type written by hand (see
 * {@linkcode createHooks} for types from the server).
 *
 * @example
 * ```ts
 * import { useVar } from "./mod.ts";
 * function Counter() {
 *   const counter = useVar<number>("counter");
 *   return counter.ready ? String(counter.value) : "…";
 * }
 * ```
 */
export function useVar<T = unknown>(name: string): VarState<T> {
  return useVarOf(useClient(), name) as VarState<T>;
}

/**
 * A live page of a server list: `{ items, total, page, pageSize, pageCount,
 * ready, error, setPage }`, from the provider's client, with the item type
 * written by hand. A change of `params` opens another view; a change of
 * `page` or `pageSize` moves the open one. The client shares one view per
 * list and params between the components that show it.
 *
 * @example
 * ```ts
 * import { createElement as h } from "react";
 * import { useList } from "./mod.ts";
 * function Todos() {
 *   const todos = useList<{ text: string }>("todos", { pageSize: 10 });
 *   return h("ul", null, todos.items.map((t) => h("li", { key: t.id }, t.value.text)));
 * }
 * ```
 */
export function useList<T = unknown>(name: string, options?: ListOpenOptions): ListHook<T> {
  return useListOf(useClient(), name, options) as ListHook<T>;
}

/**
 * A live list item, `{ value, exists, ready, error }`, from the provider's
 * client, with the item type written by hand.
 *
 * @example
 * ```ts
 * import { useItem } from "./mod.ts";
 * function Todo(props: { id: string }) {
 *   const todo = useItem<{ text: string }>("todos", props.id);
 *   return todo.exists ? todo.value!.text : "deleted";
 * }
 * ```
 */
export function useItem<T = unknown>(list: string, id: string): ItemState<T> {
  return useItemOf(useClient(), list, id) as ItemState<T>;
}

/**
 * A function that calls a server function through the provider's client:
 * `call(args, { optimistic })` (`optimistic` needs a client made with
 * `connect(url, { optimisticCalls })`), the same function across renders, with args
 * and result types written by hand.
 *
 * @example
 * ```ts
 * import { createElement as h } from "react";
 * import { useCall } from "./mod.ts";
 * function Add() {
 *   const add = useCall<{ text: string }, { id: string }>("add_todo");
 *   return h("button", { onClick: () => add({ text: "milk" }) }, "Add milk");
 * }
 * ```
 */
export function useCall<A = unknown, R = unknown>(
  name: string,
): (args?: A, options?: CallChange) => Promise<R> {
  return useCallOf(useClient(), name) as (args?: A, options?: CallChange) => Promise<R>;
}

/**
 * The connection's state, `{ status, attempt, nextAttempt, lastDisconnect }`,
 * from the provider's client: `connecting`, `open`, `reconnecting` (with the
 * time of the next attempt while it waits) or `closed`. Calls made while not
 * `open` wait for the connection, within their timeout.
 *
 * @example
 * ```ts
 * import { useConnection } from "./mod.ts";
 * function Badge() {
 *   const { status, nextAttempt } = useConnection();
 *   return status === "open" ? "live" : nextAttempt ? "offline, retrying" : status;
 * }
 * ```
 */
export function useConnection(): ConnectionState {
  return useConnectionOf(useClient());
}
