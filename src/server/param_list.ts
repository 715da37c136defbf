/**
 * A parameterized list: one name, many queries. Each distinct params object
 * (after its schema) is one query, with its own source, made by the
 * application's factory on the first view and closed when its last view or
 * item subscription leaves, and its own {@linkcode LocalList}, whose frames
 * all carry the params.
 *
 * @module
 */
import * as v from "valibot";
import { ErrorCode, isSockSyncError, SockSyncError } from "../errors.ts";
import { LocalList } from "./local_list.ts";
import type { Metrics } from "../peer/metrics.ts";
import { type Params, paramsKey, parseParams } from "../protocol/params.ts";
import type { ListSource } from "../store.ts";
import type { ProvidedParamList } from "../peer/provided.ts";
import type { Subscriber } from "../peer/socket.ts";
import { Listeners } from "../listeners.ts";

/**
 * How to declare a parameterized list.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { MemoryListSource } from "../../stores/memory/mod.ts";
 * import type { ParamListOptions } from "./param_list.ts";
 * const options: ParamListOptions<{ room: string }, string, unknown> = {
 *   params: v.object({ room: v.string() }),
 *   source: () => new MemoryListSource<string>(),
 *   maxPageSize: 50,
 * };
 * ```
 */
export interface ParamListOptions<P, T, C> {
  /**
   * The params' schema. Subscribers must send params (code 5 otherwise); a
   * value failing it, or a key a `v.object` does not declare, is refused with
   * code 6 naming the key.
   */
  params: v.GenericSchema<unknown, P>;
  /**
   * Makes the source of one query: called once per distinct query (see
   * `key`), when its first view opens; the source is closed (`close()`) when
   * its last view and item subscription leave.
   */
  source: (params: P, context: C) => ListSource<T>;
  /**
   * What besides the params tells queries apart, from the connection's
   * context: for a per-user query (`owner = :user`), return the user, so
   * that two users with the same params get two queries. Default: queries
   * are shared by every connection with the same params.
   */
  key?: (params: P, context: C) => string;
  /** Validates item values the source holds; default: any value. */
  schema?: v.GenericSchema<unknown, T>;
  /** The largest page a subscriber gets, and the page size when it asks for none. Default 100. */
  maxPageSize?: number;
  /** Told about failures with no caller to tell. */
  onError?: (error: unknown) => void;
  /**
   * The count of open queries this list shares with others, and its bound
   * (a hub passes its `maxHubLiveQueries`): a subscribe that would open a
   * query beyond it gets error 8 `server busy: too many live queries`.
   */
  budget?: { open: number; readonly max: number };
  /** Where each query's feed lag is recorded (see `Hub`'s `metrics`). */
  metrics?: Metrics;
}

/**
 * Told when a subscriber's view of one query opens (`open: true`) or ends.
 */
export type ViewListener<P> = (subscriber: Subscriber, params: P, open: boolean) => void;

/**
 * One query of a {@linkcode ParamList}, held by a subscription: `release`
 * once, when that subscription ends.
 */
export interface QueryHandle {
  /** The query's list, whose frames carry its params. */
  readonly list: LocalList<unknown>;
  /** Ends this hold on the query; the last one closes it. */
  release(): void;
  /** Whether a connection with this context gets this same query. */
  fits(context: unknown): boolean;
}

interface Query {
  readonly list: LocalList<unknown>;
  readonly source: ListSource<unknown>;
  holds: number;
}

/**
 * A list whose subscribers each name a query with params.
 *
 * @internal
 */
export class ParamList<P = unknown, T = unknown> implements ProvidedParamList {
  /** The list's name on the wire. */
  readonly name: string;
  /** The largest page size a subscriber gets. */
  readonly maxPageSize: number;
  readonly #options: ParamListOptions<P, T, unknown>;
  readonly #queries = new Map<string, Query>();
  readonly #onError: (error: unknown) => void;
  readonly #budget: { open: number; readonly max: number };
  readonly #views = new Listeners<[Subscriber, P, boolean]>();

  /**
   * @param name the list's name on the wire
   * @param options params schema, source factory, query key, item schema and page size limit
   */
  constructor(name: string, options: ParamListOptions<P, T, never>) {
    this.name = name;
    this.#options = options as ParamListOptions<P, T, unknown>;
    this.maxPageSize = options.maxPageSize ?? 100;
    if (!Number.isSafeInteger(this.maxPageSize) || this.maxPageSize < 1) {
      throw new RangeError("maxPageSize must be a positive integer");
    }
    this.#onError = options.onError ?? ((error) => console.error(error));
    this.#budget = options.budget ?? { open: 0, max: Infinity };
  }

  /** The number of open queries. */
  get size(): number {
    return this.#queries.size;
  }

  /** How many views and item subscriptions the open queries have, together. */
  get subscriberCount(): number {
    let count = 0;
    for (const query of this.#queries.values()) count += query.list.subscriberCount;
    return count;
  }

  /**
   * The sources of the open queries: for example to tell table bindings to
   * look at a write made through their connection now (`flush()`).
   */
  *sources(): IterableIterator<ListSource<T>> {
    for (const query of this.#queries.values()) yield query.source as ListSource<T>;
  }

  /** Validates params as sent (code 5 when absent, 6 when invalid) and resolves them parsed. */
  parse(raw: unknown): P {
    return parseParams(this.#options.params, raw, this.name);
  }

  /**
   * Holds the query of these (parsed) params for this connection's context,
   * making its source first if it is not open. A factory's failure is
   * thrown as a `SockSyncError` (code 8 unless it threw one).
   */
  acquire(params: P, context: unknown): QueryHandle {
    const key = this.#keyOf(params, context);
    let query = this.#queries.get(key);
    if (!query) {
      if (this.#budget.open >= this.#budget.max) {
        throw new SockSyncError(ErrorCode.Other, "server busy: too many live queries");
      }
      query = this.#open(params, context);
      this.#queries.set(key, query);
      this.#budget.open++;
    }
    query.holds++;
    let held = true;
    const open = query;
    return {
      list: open.list,
      release: () => {
        if (!held) return;
        held = false;
        if (--open.holds > 0) return;
        if (this.#queries.get(key) === open) {
          this.#queries.delete(key);
          this.#budget.open--;
        }
        // After the subscribers' last queued work (their unsubscribes) has run.
        open.list.settled().then(() => {
          open.list.close();
          return open.source.close?.();
        }).catch(this.#onError);
      },
      fits: (next) => {
        try {
          return this.#keyOf(params, next) === key;
        } catch {
          // A key that cannot be made for this context is no query of it.
          return false;
        }
      },
    };
  }

  /**
   * Calls `listener` whenever a subscriber's view of a query opens or ends
   * (see {@linkcode ViewListener}); returns the remover.
   */
  onView(listener: ViewListener<P>): () => void {
    return this.#views.add(listener);
  }

  /**
   * Resolves once the open query of these params (if any) has sent every
   * change it heard so far.
   */
  settled(params: P, context?: unknown): Promise<void> {
    return this.#queries.get(this.#keyOf(params, context))?.list.settled() ?? Promise.resolve();
  }

  /** Closes every query. */
  close(): void {
    for (const query of this.#queries.values()) {
      query.list.close();
      query.source.close?.()?.catch(this.#onError);
    }
    this.#budget.open -= this.#queries.size;
    this.#queries.clear();
  }

  #keyOf(params: P, context: unknown): string {
    const extra = this.#options.key?.(params, context);
    return extra === undefined ? paramsKey(params) : JSON.stringify([paramsKey(params), extra]);
  }

  #open(params: P, context: unknown): Query {
    let source: ListSource<unknown>;
    try {
      source = this.#options.source(params, context) as ListSource<unknown>;
    } catch (error) {
      if (isSockSyncError(error)) throw error;
      this.#onError(error);
      throw new SockSyncError(ErrorCode.Other, `list ${this.name}: the query could not open`);
    }
    try {
      const list = new LocalList<unknown>(this.name, {
        source,
        schema: (this.#options.schema ?? v.unknown()) as v.GenericSchema<unknown, unknown>,
        maxPageSize: this.maxPageSize,
        onError: this.#onError,
        params: params as Params,
        metrics: this.#options.metrics,
        onView: (subscriber, open) => this.#views.emit(subscriber, params, open),
      });
      return { list, source, holds: 0 };
    } catch (error) {
      source.close?.()?.catch(this.#onError);
      if (isSockSyncError(error)) throw error;
      this.#onError(error);
      throw new SockSyncError(ErrorCode.Other, `list ${this.name}: the query could not open`);
    }
  }
}
