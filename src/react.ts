/**
 * `socksync/react`: React 18 and 19 hooks over a SockSync client. Put the
 * client in a {@linkcode SockSyncProvider} once, then read vars, list pages
 * and items with {@linkcode useVar}, {@linkcode useList} and
 * {@linkcode useItem}, and call functions with {@linkcode useCall}. Every
 * hook reads through `useSyncExternalStore` from immutable snapshots, so a
 * render never mixes two states of a mirror (no tearing), and its
 * subscription ends when the component unmounts.
 *
 * React is an optional peer dependency: install `react` to use this entry
 * point.
 *
 * @example
 * ```ts
 * import { createElement as h } from "react";
 * import { connect } from "../mod.ts";
 * import { SockSyncProvider, useCall, useVar } from "./react.ts";
 *
 * function Counter() {
 *   const counter = useVar<number>("counter");
 *   const increment = useCall("increment");
 *   return h("button", { onClick: () => increment() }, `${counter.value ?? "–"} +1`);
 * }
 * const client = connect("ws://127.0.0.1:8080/ws/socksync");
 * const app = h(SockSyncProvider, { client }, h(Counter));
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
  EMPTY_ITEM,
  EMPTY_LIST,
  type ItemState,
  listKey,
  type ListOpenOptions,
  type ListState,
  type SnapshotSource,
  type VarState,
} from "./binding_types.ts";

export type {
  BindableClient,
  CallChange,
  ItemEntry,
  ItemState,
  ListOpenOptions,
  ListState,
  OptimisticEdit,
  VarState,
} from "./binding_types.ts";

const ClientContext = createContext<BindableClient | null>(null);

/**
 * Props of {@linkcode SockSyncProvider}.
 *
 * @example
 * ```ts
 * import { connect } from "../mod.ts";
 * import type { SockSyncProviderProps } from "./react.ts";
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
 * import { connect } from "../mod.ts";
 * import { SockSyncProvider } from "./react.ts";
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
 * import { useClient } from "./react.ts";
 * function Status() {
 *   const client = useClient();
 *   return client ? "ok" : "no client";
 * }
 * ```
 */
export function useClient(): BindableClient {
  const client = useContext(ClientContext);
  if (!client) {
    throw new Error(
      "socksync/react: no client here: wrap the app in <SockSyncProvider client={client}>",
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

/**
 * The live value of a server var: `{ value, ready, error }`, re-rendered on
 * every change.
 *
 * @example
 * ```ts
 * import { useVar } from "./react.ts";
 * function Counter() {
 *   const counter = useVar<number>("counter");
 *   return counter.ready ? String(counter.value) : "…";
 * }
 * ```
 */
export function useVar<T = unknown>(name: string): VarState<T> {
  const client = useClient();
  const mirror = useMemo(() => client.var(name), [client, name]);
  return useSnapshot(mirror, mirror.getSnapshot()) as VarState<T>;
}

/**
 * A live page of a list and the way to move it.
 *
 * @example
 * ```ts
 * import type { ListHook } from "./react.ts";
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
 * A live page of a server list: `{ items, total, page, pageSize, pageCount,
 * ready, error, setPage }`. A change of `params` opens another view; a
 * change of `page` or `pageSize` moves the open one. The client shares one
 * view per list and params between the components that show it.
 *
 * @example
 * ```ts
 * import { createElement as h } from "react";
 * import { useList } from "./react.ts";
 * function Todos() {
 *   const todos = useList<{ text: string }>("todos", { pageSize: 10 });
 *   return h("ul", null, todos.items.map((t) => h("li", { key: t.id }, t.value.text)));
 * }
 * ```
 */
export function useList<T = unknown>(name: string, options: ListOpenOptions = {}): ListHook<T> {
  const client = useClient();
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
  const state = useSnapshot(view, EMPTY_LIST) as ListState<T>;
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

/**
 * A live list item: `{ value, exists, ready, error }`.
 *
 * @example
 * ```ts
 * import { useItem } from "./react.ts";
 * function Todo(props: { id: string }) {
 *   const todo = useItem<{ text: string }>("todos", props.id);
 *   return todo.exists ? todo.value!.text : "deleted";
 * }
 * ```
 */
export function useItem<T = unknown>(list: string, id: string): ItemState<T> {
  const client = useClient();
  const [mirror, setMirror] = useState<ReturnType<BindableClient["item"]>>();
  useEffect(() => {
    const opened = client.item(list, id);
    setMirror(opened);
    return () => {
      opened.close();
      setMirror((current) => current === opened ? undefined : current);
    };
  }, [client, list, id]);
  return useSnapshot(mirror, EMPTY_ITEM) as ItemState<T>;
}

/**
 * A function that calls a server function: `call(args, { optimistic })`,
 * the same function across renders.
 *
 * @example
 * ```ts
 * import { createElement as h } from "react";
 * import { useCall } from "./react.ts";
 * function Add() {
 *   const add = useCall<{ text: string }, { id: string }>("add_todo");
 *   return h("button", { onClick: () => add({ text: "milk" }) }, "Add milk");
 * }
 * ```
 */
export function useCall<A = unknown, R = unknown>(
  name: string,
): (args?: A, options?: CallChange) => Promise<R> {
  const client = useClient();
  return useCallback(
    (args?: A, options?: CallChange) => client.call(name, args, options) as Promise<R>,
    [client, name],
  );
}
