/**
 * How `socksync/svelte` follows a client's mirrors: a handle opens its
 * mirror while something reads it (an effect in runes mode, through
 * `createSubscriber`, or a store subscriber) and closes it when the last
 * reader goes, so a component's destruction releases what it showed.
 * Every read takes the mirror's current immutable snapshot, so one render
 * never mixes two states of it.
 *
 * @module
 */
import { createSubscriber } from "svelte/reactivity";
import {
  type BindableClient,
  type CallChange,
  EMPTY_ITEM,
  EMPTY_LIST,
  type ItemState,
  type ListOpenOptions,
  type ListState,
  type SnapshotSource,
} from "../contract.ts";
import type { ConnectionHandle, ItemHandle, ListHandle, VarHandle } from "./types.ts";

/**
 * A mirror opened on first use and closed after its last: `current` is
 * reactive when read in an effect, `subscribe` is the store contract.
 */
class Live<S, M extends SnapshotSource<S>> {
  readonly #open: () => M;
  readonly #close: (mirror: M) => void;
  readonly #idle: () => S;
  readonly #track: () => void;
  #mirror: M | undefined;
  #users = 0;

  constructor(open: () => M, close: (mirror: M) => void, idle: () => S) {
    this.#open = open;
    this.#close = close;
    this.#idle = idle;
    this.#track = createSubscriber((update) => {
      // The contract calls at once with the snapshot the reader is about to take.
      let now = true;
      const stop = this.subscribe(() => {
        if (!now) update();
      });
      now = false;
      return stop;
    });
  }

  /** The mirror while open. */
  get mirror(): M | undefined {
    return this.#mirror;
  }

  /** The current snapshot; read in an effect, it opens the mirror and follows it. */
  get current(): S {
    this.#track();
    return this.#mirror ? this.#mirror.getSnapshot() : this.#idle();
  }

  /** Opens the mirror (if closed) and follows it until the returned function is called. */
  subscribe(run: (snapshot: S) => void): () => void {
    if (this.#users++ === 0) this.#mirror = this.#open();
    const mirror = this.#mirror!;
    let off: () => void;
    try {
      off = mirror.subscribe(run);
    } catch (error) {
      this.#release(mirror);
      throw error;
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      off();
      this.#release(mirror);
    };
  }

  #release(mirror: M): void {
    if (--this.#users > 0) return;
    this.#mirror = undefined;
    this.#close(mirror);
  }
}

/**
 * A handle over `live`: a getter per field of its snapshot (reactive when
 * read in an effect), the store contract, and `methods`.
 */
function handle<S extends object, H>(
  // deno-lint-ignore no-explicit-any
  live: Live<S, any>,
  fields: readonly (keyof S & string)[],
  methods: object = {},
): H {
  const target = { ...methods, subscribe: (run: (value: S) => void) => live.subscribe(run) };
  for (const field of fields) {
    Object.defineProperty(target, field, { enumerable: true, get: () => live.current[field] });
  }
  return target as H;
}

type View = ReturnType<BindableClient["list"]>;

/**
 * Moves a view to the page and page size asked for, if it shows others (a
 * new page size starts again on page 0 unless a page is asked for).
 */
function movePage(view: View, page: number | undefined, pageSize: number | undefined): void {
  const now = view.getSnapshot();
  if (pageSize !== undefined && now.pageSize !== pageSize) view.setPage(page ?? 0, pageSize);
  else if (page !== undefined && now.page !== page) view.setPage(page);
}

/**
 * A live var of `client`: what `useVar` returns, typed or not.
 */
export function varOf(client: BindableClient, name: string): VarHandle<unknown> {
  // The client's var mirror is shared by name: unsubscribing is enough.
  const mirror = client.var(name);
  const live = new Live(() => mirror, () => {}, () => mirror.getSnapshot());
  return handle(live, ["value", "ready", "status", "error"]);
}

/**
 * A live page of a list of `client`: what `useList` returns.
 */
export function listOf(
  client: BindableClient,
  name: string,
  options: ListOpenOptions = {},
): ListHandle<unknown> {
  // The client shares a list's view between everyone who opens it: the name
  // and params pick the view, the page and page size move it. Both are kept
  // for the next opening (the view is closed while nothing reads it).
  let { page, pageSize } = options;
  const live = new Live<ListState<unknown>, View>(
    () => {
      const view = client.list(name, { page: page ?? 0, pageSize, params: options.params });
      movePage(view, page, pageSize);
      return view;
    },
    (view) => view.close(),
    () => EMPTY_LIST,
  );
  const setPage = (next: number, size?: number) => {
    page = next;
    pageSize = size ?? pageSize;
    live.mirror?.setPage(next, size);
  };
  return handle(
    live,
    ["items", "total", "page", "pageSize", "pageCount", "ready", "status", "error"],
    { setPage },
  );
}

/**
 * A live item of a list of `client`: what `useItem` returns.
 */
export function itemOf(client: BindableClient, list: string, id: string): ItemHandle<unknown> {
  const live = new Live<ItemState<unknown>, ReturnType<BindableClient["item"]>>(
    () => client.item(list, id),
    (mirror) => mirror.close(),
    () => EMPTY_ITEM,
  );
  return handle(live, ["value", "exists", "ready", "status", "error"]);
}

/**
 * The connection state of `client` (`client.connection`): what
 * `useConnection` returns.
 */
export function connectionOf(client: BindableClient): ConnectionHandle {
  // The client's one state source: unsubscribing is enough.
  const source = client.connection;
  const live = new Live(() => source, () => {}, () => source.getSnapshot());
  return handle(live, ["status", "attempt", "nextAttempt", "lastDisconnect"]);
}

/**
 * A function that calls a server function through `client`: what `useCall`
 * returns.
 */
export function callOf(
  client: BindableClient,
  name: string,
): (args?: unknown, options?: CallChange) => Promise<unknown> {
  return (args?: unknown, options?: CallChange) => client.call(name, args, options);
}
