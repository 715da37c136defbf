/**
 * The list half of the provider: `get`, `subscribe` and `unsubscribe` of
 * list views and items, for plain lists and for the queries of
 * parameterized lists (one view per list and params, each holding its query
 * open while it lasts).
 *
 * @module
 */
import type { Conflating } from "./backpressure.ts";
import { ErrorCode, SockSyncError } from "../errors.ts";
import type { ProvidedList, ProvidedParamList, ProvidedQuery } from "./provided.ts";
import { paramsKey } from "../protocol/params.ts";
import { didYouMean } from "../protocol/closest_name.ts";
import type { MessageWithFunc } from "../protocol/schemas.ts";

/** A list request resolved: the list itself, or one query of a parameterized list. */
type ListTarget =
  | { list: ProvidedList; query?: undefined }
  | { list?: undefined; query: ProvidedParamList; params: unknown; key: string };

/**
 * What {@linkcode ListAccess} needs from the provider: the lists, the
 * connection, and the record of the other side's subscriptions (in frame
 * order, counted against the limit).
 */
export interface ListAccessOptions {
  /** Lists by name. */
  lists?: ReadonlyMap<string, ProvidedList>;
  /** Parameterized lists by name. */
  paramLists?: ReadonlyMap<string, ProvidedParamList>;
  /** The application's context of the connection (handed to query factories). */
  context: unknown;
  /** The subscriber. */
  peer: Conflating;
  /**
   * Whether this connection may subscribe to a list (the provider's
   * `authorize`): only such names are suggested for a misspelt one.
   */
  allowed?(
    request: { type: "list"; name: string; params?: Readonly<Record<string, unknown>> },
  ): boolean;
  /**
   * Distinct queries the connection may hold open (default: no limit);
   * beyond it error 8 `too many live queries`.
   */
  maxLiveQueries?: number;
  /** The other side's subscriptions by key; `claim` throws past the limit. */
  subscriptions: {
    has(key: string): boolean;
    claim(key: string): void;
    delete(key: string): boolean;
  };
}

/**
 * Serves list requests for one connection; see {@linkcode ListAccessOptions}.
 */
export class ListAccess {
  readonly #o: ListAccessOptions;
  // Created on first use, like every collection of a connection.
  #listSet: Set<ProvidedList> | undefined;
  /** The query each subscription to a parameterized list holds, by subscription key. */
  #queryMap: Map<string, ProvidedQuery> | undefined;
  /** The subscriptions holding each distinct query (list name and params), counted. */
  #distinct: Map<string, number> | undefined;

  get #lists(): Set<ProvidedList> {
    return this.#listSet ??= new Set();
  }

  get #queries(): Map<string, ProvidedQuery> {
    return this.#queryMap ??= new Map();
  }

  /** @param options the lists, the connection and the subscription record */
  constructor(options: ListAccessOptions) {
    this.#o = options;
  }

  /** The list a request names, checking its params (5 missing, 6 invalid or not taken). */
  #target(message: { name: string; params?: unknown }): ListTarget {
    const list = this.#o.lists?.get(message.name);
    if (list) {
      if (message.params !== undefined) {
        throw new SockSyncError(
          ErrorCode.InvalidArguments,
          "invalid field: params (list takes none)",
        );
      }
      return { list };
    }
    const query = this.#o.paramLists?.get(message.name);
    if (!query) throw this.#noList(message);
    const params = query.parse(message.params);
    return { query, params, key: paramsKey(params) };
  }

  /** "no list with this name", with the closest list this connection may use, if any. */
  #noList(message: { name: string; params?: unknown }): SockSyncError {
    const names = [...(this.#o.lists?.keys() ?? []), ...(this.#o.paramLists?.keys() ?? [])];
    const params = message.params as Readonly<Record<string, unknown>> | undefined;
    const hint = didYouMean(
      message.name,
      names,
      (name) => this.#o.allowed?.({ type: "list", name, params }) ?? true,
    );
    return new SockSyncError(ErrorCode.InvalidName, `no list with this name${hint}`);
  }

  /** Holds the query of a subscription (new or again); throws what opening it threw. */
  #hold(
    key: string,
    target: ListTarget & { query: ProvidedParamList },
    name: string,
  ): ProvidedQuery {
    let handle = this.#queries.get(key);
    if (!handle) {
      const query = queryOf(name, target.key);
      const distinct = this.#distinct ??= new Map();
      const holds = distinct.get(query) ?? 0;
      if (holds === 0 && distinct.size >= (this.#o.maxLiveQueries ?? Infinity)) {
        throw new SockSyncError(ErrorCode.Other, "too many live queries");
      }
      handle = target.query.acquire(target.params, this.#o.context);
      this.#queries.set(key, handle);
      distinct.set(query, holds + 1);
    }
    return handle;
  }

  /** Forgets a subscription and hands back the query it held, if any (to release). */
  #forget(key: string): ProvidedQuery | undefined {
    this.#o.subscriptions.delete(key);
    const handle = this.#queries.get(key);
    if (!handle) return undefined;
    this.#queries.delete(key);
    const [, name, , params] = JSON.parse(key) as [string, string, unknown, string];
    const query = queryOf(name, params);
    const holds = (this.#distinct?.get(query) ?? 1) - 1;
    if (holds > 0) this.#distinct?.set(query, holds);
    else this.#distinct?.delete(query);
    return handle;
  }

  /**
   * Whether the subscription with this key still gets the query it holds
   * under the connection's current context (see `ProvidedQuery.fits`).
   */
  fits(key: string): boolean {
    const handle = this.#queryMap?.get(key);
    return handle?.fits === undefined || handle.fits(this.#o.context);
  }

  /** Ends a subscription the other side holds, by its key (a re-check refused it). */
  end(key: string, name: string, id: string | undefined): Promise<void> {
    const peer = this.#o.peer;
    const handle = this.#forget(key);
    const list = handle?.list ?? this.#o.lists?.get(name);
    if (!list) return Promise.resolve();
    const done = id !== undefined ? list.unsubscribeItem(peer, id) : list.unsubscribe(peer);
    handle?.release();
    return done;
  }

  /** Answers a list `get`: a page of a view held, or one item (of a view or item held). */
  get(message: MessageWithFunc<"get"> & { type: "list" }): Promise<void> {
    const peer = this.#o.peer;
    if (message.more) this.#askMarkers();
    const target = this.#target(message);
    const pkey = target.query ? target.key : undefined;
    const viewKey = subscriptionKey("list", message.name, undefined, pkey);
    const viewing = this.#o.subscriptions.has(viewKey);
    if (message.id !== undefined) {
      const itemKey = subscriptionKey("item", message.name, message.id, pkey);
      const watching = this.#o.subscriptions.has(itemKey);
      if (!viewing && !watching) throw notSubscribed();
      const list = target.list ?? (this.#queries.get(viewKey) ?? this.#queries.get(itemKey))?.list;
      if (!list) throw notSubscribed();
      return list.sendItem(peer, message.id);
    }
    if (!viewing) throw notSubscribed();
    const list = target.list ?? this.#queries.get(viewKey)?.list;
    if (!list) throw notSubscribed();
    return list.moveView(peer, message.page ?? 0, message.page_size);
  }

  /** Opens or moves a view, or subscribes to an item. */
  subscribe(message: MessageWithFunc<"subscribe"> & { type: "list" }): Promise<void> {
    const peer = this.#o.peer;
    if (message.more) this.#askMarkers();
    const target = this.#target(message);
    const id = message.id;
    const pkey = target.query ? target.key : undefined;
    const key = subscriptionKey(id === undefined ? "list" : "item", message.name, id, pkey);
    const isNew = !this.#o.subscriptions.has(key);
    this.#o.subscriptions.claim(key);
    let list: ProvidedList;
    if (target.query) {
      try {
        list = this.#hold(key, target, message.name).list;
      } catch (error) {
        this.#forget(key);
        throw error;
      }
    } else {
      list = target.list;
      this.#lists.add(list);
    }
    // A subscription that opened nothing (unknown id, failed read) is not kept: release its slot.
    const undo = (error: unknown) => {
      const kept = id === undefined ? list.hasView(peer) : list.hasItem(peer, id);
      if (isNew && !kept && (id !== undefined || target.query)) this.#forget(key)?.release();
      throw error;
    };
    if (id !== undefined) return list.subscribeItem(peer, id).catch(undo);
    return list.view(peer, message.page ?? 0, message.page_size).catch(undo);
  }

  /**
   * Ends a view or an item subscription; `check` authorizes one the other
   * side does not hold (see `Provider.unsubscribe`).
   */
  unsubscribe(
    message: MessageWithFunc<"unsubscribe"> & { type: "list" },
    check: () => void,
  ): Promise<void> | void {
    const id = message.id;
    const peer = this.#o.peer;
    const kind = id === undefined ? "list" : "item";
    // The key as sent, to find a held subscription before anything is checked.
    const sent = subscriptionKey(kind, message.name, id, paramsKey(message.params) || undefined);
    if (!this.#o.subscriptions.has(sent)) check();
    const target = this.#target(message);
    if (target.list) {
      this.#o.subscriptions.delete(sent);
      if (id !== undefined) return target.list.unsubscribeItem(peer, id);
      return target.list.unsubscribe(peer);
    }
    const handle = this.#forget(subscriptionKey(kind, message.name, id, target.key));
    if (!handle) return;
    const done = id !== undefined
      ? handle.list.unsubscribeItem(peer, id)
      : handle.list.unsubscribe(peer);
    handle.release();
    return done;
  }

  /**
   * The connection asks for change markers from now on, for every view it
   * has: views that got their frames through a topic of unmarked frames
   * leave it (they join one of marked frames with their next change).
   */
  #askMarkers(): void {
    const peer = this.#o.peer;
    if (peer.marksChanges) return;
    peer.marksChanges = true;
    for (const list of this.#listSet ?? []) list.marksChanged(peer);
    for (const handle of this.#queryMap?.values() ?? []) handle.list.marksChanged(peer);
  }

  /** Ends every view and item subscription of the connection. */
  dropAll(): void {
    const peer = this.#o.peer;
    for (const list of this.#listSet ?? []) list.drop(peer);
    for (const handle of this.#queryMap?.values() ?? []) {
      handle.list.drop(peer);
      handle.release();
    }
    this.#queryMap?.clear();
    this.#distinct?.clear();
    this.#listSet?.clear();
  }
}

/**
 * A collision-free key for a subscription: names and ids are arbitrary
 * strings; `params` is the canonical key of a parameterized list's params.
 */
export function subscriptionKey(kind: string, name: string, id?: string, params?: string): string {
  if (params !== undefined) return JSON.stringify([kind, name, id ?? null, params]);
  return JSON.stringify(id === undefined ? [kind, name] : [kind, name, id]);
}

/** The identity of one query of a parameterized list: its name and params key. */
function queryOf(name: string, params: string): string {
  return JSON.stringify([name, params]);
}

function notSubscribed(): SockSyncError {
  return new SockSyncError(ErrorCode.InvalidFunc, "not subscribed");
}
