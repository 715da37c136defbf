/**
 * How `socksync/vue`'s composables follow a client's mirrors: each change's
 * whole snapshot goes into a shallow reactive object at once, and the
 * subscription ends with the component (or effect scope) that made it.
 *
 * @module
 */
import {
  getCurrentScope,
  type MaybeRefOrGetter,
  onScopeDispose,
  shallowReactive,
  type ShallowRef,
  shallowRef,
  toValue,
  watch,
} from "vue";
import {
  type BindableClient,
  type CallChange,
  type ConnectionState,
  EMPTY_ITEM,
  EMPTY_LIST,
  type ItemState,
  listKey,
  type ListState,
  type VarState,
} from "../contract.ts";
import type { ListHandle, UseListOptions } from "./types.ts";

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
 * Follows a var of `client` into a reactive `{ value, ready, error }` until
 * the current component or effect scope ends: what `useVar` returns, typed
 * or not.
 */
export function varOf(client: BindableClient, name: MaybeRefOrGetter<string>): VarState<unknown> {
  const state = shallowReactive<VarState<unknown>>({
    value: undefined,
    ready: false,
    status: "loading",
    error: undefined,
  });
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
 * Follows a page of a list of `client` into a reactive `{ items, total, page,
 * pageSize, pageCount, ready, error, setPage }`: what `useList` returns.
 */
export function listOf(
  client: BindableClient,
  name: MaybeRefOrGetter<string>,
  options: UseListOptions<unknown> = {},
): ListHandle<unknown> {
  const params = () => toValue(options.params) as Record<string, unknown> | undefined;
  const state = shallowReactive<ListHandle<unknown>>({
    ...EMPTY_LIST,
    error: undefined,
    setPage: (page: number) => view.value?.setPage(page),
  });
  // The client shares a list's view between everyone who opens it: the name
  // and params pick the view (a getter that builds new params each time does
  // not reopen it), the page and page size move it.
  const view = follow(
    state as ListState<unknown>,
    () => listKey(toValue(name), undefined, params()),
    () =>
      client.list(toValue(name), {
        page: toValue(options.page) ?? 0,
        pageSize: toValue(options.pageSize),
        params: params(),
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
 * Follows one item of a list of `client` into a reactive `{ value, exists,
 * ready, error }`: what `useItem` returns.
 */
export function itemOf(
  client: BindableClient,
  list: MaybeRefOrGetter<string>,
  id: MaybeRefOrGetter<string>,
): ItemState<unknown> {
  const state = shallowReactive<ItemState<unknown>>({ ...EMPTY_ITEM, error: undefined });
  follow(
    state as ItemState<unknown>,
    () => JSON.stringify([toValue(list), toValue(id)]),
    () => client.item(toValue(list), toValue(id)),
    (m) => m.close(),
  );
  return state;
}

/**
 * A function that calls a server function through `client`: what `useCall`
 * returns.
 */
export function callOf(
  client: BindableClient,
  name: MaybeRefOrGetter<string>,
): (args?: unknown, options?: CallChange) => Promise<unknown> {
  return (args?: unknown, options?: CallChange) => client.call(toValue(name), args, options);
}

/**
 * Follows the connection's state of `client` into a reactive `{ status,
 * attempt, nextAttempt, lastDisconnect }` until the current component or
 * effect scope ends: what `useConnection` returns.
 */
export function connectionOf(client: BindableClient): Readonly<ConnectionState> {
  const state = shallowReactive<ConnectionState>({ ...client.connection.getSnapshot() });
  // Fields a state leaves out (nextAttempt) are cleared, not kept from the one before.
  const stop = client.connection.subscribe((snapshot) =>
    Object.assign(state, { nextAttempt: undefined, lastDisconnect: undefined }, snapshot)
  );
  onEnd(stop);
  return state;
}
