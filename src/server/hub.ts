/**
 * The hub: where an application declares the vars, lists and functions it
 * provides, once, and connects every socket to them.
 *
 * @module
 */
import type * as v from "valibot";
import type { LocalFunction } from "./local_function.ts";
import { CLIENT_LIMITS, DEFAULT_LIMITS, type Limits, resolveLimits } from "../peer/limits.ts";
import { type ListOptions, LocalList } from "./local_list.ts";
import { LocalVar, type VarFeedHold, type VarOptions } from "./local_var.ts";
import { ParamList, type ParamListOptions } from "./param_list.ts";
import { Presence, type PresenceOptions } from "./presence.ts";
import { CallMemory, type CallMemoryOptions } from "./call_memory.ts";
import type { CallLedger } from "../peer/call_ledger.ts";
import { type AccessRequest, Peer, type Registry } from "../peer/peer.ts";
import { CLIENT_SIDE, FORGET } from "../peer/parts.ts";
import type { ClientSide } from "../peer/consumer_peer.ts";
import { REGISTRY } from "../peer/host.ts";
import type { SocketLike } from "../peer/socket.ts";
import { Metrics } from "../peer/metrics.ts";
import { timedStore } from "./timed_store.ts";
import { PeerList } from "./peer_list.ts";
import type { ListSource, VarStore } from "../store.ts";
import type { DeclaredFunction, DeclaredList, DeclaredParamList, DeclaredVar } from "./api_of.ts";
import { type AuthOptions, type ConnectionMatch, Revocations } from "./auth.ts";
import { encodeSubscribe } from "../protocol/encode.ts";
import { AUTH_NAME } from "../protocol/auth.ts";
import type { Authenticated } from "../peer/session.ts";

/**
 * Options of a {@linkcode Hub}.
 *
 * @example
 * ```ts
 * import { MemoryVarStore } from "../../stores/memory/mod.ts";
 * import type { HubOptions } from "./hub.ts";
 * const options: HubOptions<{ user: string }> = {
 *   vars: new MemoryVarStore(),
 *   limits: { messageRate: 50, maxSubscriptions: 200, callTimeout: 10_000 },
 *   authorize: (context, { action, name }) => action !== "call" || name !== "admin" || context.user === "root",
 * };
 * ```
 */
export interface HubOptions<C = unknown> extends AuthOptions<C> {
  /** Where var values persist. Default: memory only. */
  vars?: VarStore;
  /**
   * Per-connection limits (and `maxConnections` per server), among them
   * `callTimeout`, the default timeout of calls this side makes; those not
   * given keep the defaults of {@linkcode DEFAULT_LIMITS}.
   */
  limits?: Partial<Limits>;
  /**
   * Whether a connection may `subscribe`, `get`, `call`, or `set` (any frame
   * changing a mirror of this side). Gets the connection's context (what the
   * route's `context` option built, for example from the app's auth
   * middleware). Synchronous, so frames keep their order. A refusal (or a
   * throw, reported to `onError`) is answered with error 1 "not subscribed".
   * It is checked before the name is looked up, so a refused connection gets
   * error 1 whether or not the name exists (an allowed request for an
   * unknown var or list gets error 3). An `unsubscribe` from something not
   * subscribed is asked as `subscribe`. Default: everything is allowed.
   */
  authorize?: (context: C, request: AccessRequest) => boolean;
  /**
   * How long and how many answers of calls are remembered, so that a call
   * sent again after a reconnect is applied once (see {@linkcode CallMemory}),
   * and the shared store that remembers them across instances:
   * `{ store: store.calls }` with a Redis or PostgreSQL store.
   */
  callMemory?: CallMemoryOptions;
  /**
   * Told about unexpected failures (a handler's throw, a store error while
   * pushing a change). The other side only ever sees a short safe message.
   * Default: `console.error`.
   */
  onError?: (
    error: unknown,
    info: { peer?: Peer<unknown>; message?: unknown },
  ) => void;
  /**
   * Counts and times connections, frames, calls, slow consumers, store
   * operations and feed lag into {@linkcode Hub.metrics}, for an exporter
   * such as `socksync/prometheus` (`true`: a new {@linkcode Metrics}).
   * Default: off, and then nothing is counted.
   */
  metrics?: boolean | Metrics;
}

/**
 * Options of {@linkcode Hub.connect}.
 *
 * @example
 * ```ts
 * import type { ConnectOptions } from "./hub.ts";
 * const options: ConnectOptions<{ user: string }> = { context: { user: "ada" } };
 * ```
 */
export interface ConnectOptions<C> {
  /** The application's context of this connection, passed to every handler. */
  context?: C;
  /**
   * When this context's identity expires (ms since the epoch); default: what
   * the hub's `expiresAt` option says of it.
   */
  expiresAt?: number;
  /**
   * Limits of this connection only, over the hub's: for example a hub that
   * connects out to a server it trusts (`{ messageRate: Infinity }`).
   */
  limits?: Partial<Limits>;
}

/**
 * A list's options, its item type taken from its schema. The source must
 * hold items of that type; an untyped source (`ListSource<unknown>`, such as
 * `new MemoryListSource()` or `store.list(name)` without a type argument) is
 * taken as holding them.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { MemoryListSource } from "../../stores/memory/mod.ts";
 * import type { TypedListOptions } from "./hub.ts";
 * const Todo = v.object({ text: v.string() });
 * const options: TypedListOptions<typeof Todo, unknown> = {
 *   source: new MemoryListSource(),
 *   schema: Todo,
 * };
 * ```
 */
export type TypedListOptions<S extends v.GenericSchema, U> =
  & Omit<ListOptions<v.InferOutput<S>>, "source" | "schema" | "metrics">
  & { schema: S; source: ListSource<U> & SourceFits<U, v.InferOutput<S>> };

/**
 * A parameterized list's options in {@linkcode Hub.list}: the params schema
 * `P`, the factory of each query's source (given the parsed params and the
 * connection's context), an optional per-context query `key` (per-user
 * queries), an optional item schema and the page size limit. See
 * {@linkcode ParamListOptions}.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { MemoryListSource } from "../../stores/memory/mod.ts";
 * import type { HubParamListOptions } from "./hub.ts";
 * const Room = v.object({ room: v.pipe(v.string(), v.minLength(1)) });
 * const options: HubParamListOptions<typeof Room, string, { user: string }> = {
 *   params: Room,
 *   source: ({ room }) => new MemoryListSource<string>(),
 *   key: (_params, context) => context.user,
 *   maxPageSize: 50,
 * };
 * ```
 */
export type HubParamListOptions<P extends v.GenericSchema, T, C> =
  & Omit<ParamListOptions<v.InferOutput<P>, T, C>, "params" | "onError" | "budget" | "metrics">
  & { params: P };

/**
 * `unknown` when a source of `U` may back a list of `T`, else `never`.
 *
 * @internal
 */
type SourceFits<U, T> = unknown extends U ? unknown
  : [U] extends [T] ? [T] extends [U] ? unknown : never
  : never;

/**
 * Declares what this side provides and connects sockets to it.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { Hub } from "./hub.ts";
 * import { MemoryListSource } from "../../stores/memory/mod.ts";
 * const hub = new Hub();
 * const counter = hub.var("counter", { schema: v.number(), initial: 0 });
 * hub.list("todos", { source: new MemoryListSource(), schema: v.string(), maxPageSize: 50 });
 * hub.function("increment", {
 *   args: v.object({ by: v.optional(v.number(), 1) }),
 *   handler: ({ by }) => counter.update((n) => n + by),
 * });
 * ```
 */
export class Hub<C = unknown> implements Registry {
  /** Vars by name. */
  readonly vars: Map<string, LocalVar<unknown>> = new Map();
  /** Lists by name. */
  readonly lists: Map<string, LocalList<unknown>> = new Map();
  /** Functions by name. */
  readonly functions: Map<string, LocalFunction<unknown>> = new Map();
  /** Parameterized lists by name. */
  readonly paramLists: Map<string, ParamList<unknown, unknown>> = new Map();
  /** The limits every connection runs under. */
  readonly limits: Readonly<Limits>;
  /** What this hub counts, when the `metrics` option is on. */
  readonly metrics: Metrics | undefined;
  /** The answers of calls marked `once`, remembered so that each runs at most once. */
  readonly calls: CallLedger;
  readonly #peers = new PeerList<Peer<C>>((peer) => peer[REGISTRY] === this);
  readonly #options: HubOptions<C>;
  // The var store, timed when metrics are on.
  readonly #vars: HubOptions<C>["vars"];
  // The var store's feed runs only while some var has subscribers (see #holdVarFeed).
  #stopVarFeed: (() => void) | undefined;
  #varFeedHolds = 0;
  #varFeedRuns = 0;
  #closed = false;
  readonly #queryBudget: { open: number; max: number };
  readonly #revocations: Revocations<C>;

  /**
   * A hub with nothing provided yet.
   *
   * @param options var store, call timeout, limits, authentication,
   * authorization and error hook
   */
  constructor(options: HubOptions<C> = {}) {
    this.#options = options;
    this.limits = Object.freeze(resolveLimits(options.limits, DEFAULT_LIMITS));
    const metrics = options.metrics;
    this.metrics = metrics instanceof Metrics ? metrics : metrics ? new Metrics() : undefined;
    this.#vars = options.vars && this.metrics
      ? timedStore(options.vars, this.metrics)
      : options.vars;
    this.calls = new CallMemory(options.callMemory);
    this.#queryBudget = { open: 0, max: this.limits.maxHubLiveQueries };
    this.#revocations = new Revocations<C>({
      peers: () => this.#peers,
      sessionKeys: options.sessionKeys,
      bus: options.revocations,
      onError: (error) => this.onError(error, {}),
    });
    // Present only when configured: a peer without it refuses `socksync:auth` calls.
    if (options.authenticate) {
      const authenticate = options.authenticate;
      this.authenticate = (credentials, current) => authenticate(credentials, current as C);
    }
  }

  /**
   * Authenticates a connection's credentials (the `authenticate` option),
   * present only when that option is.
   */
  readonly authenticate?: (
    credentials: unknown,
    current: unknown,
  ) => Authenticated<C> | undefined | Promise<Authenticated<C> | undefined>;

  /**
   * Closes with 4001 `authentication revoked` every connection that matches:
   * by a key of the `sessionKeys` option (here and, through the
   * `revocations` bus, on every instance), or by a predicate on its context
   * (here only). Use it at sign-out, or when a user is removed. Returns how
   * many connections were closed here.
   */
  revoke(match: ConnectionMatch<C>): number {
    return this.#revocations.revoke(match);
  }

  /**
   * Re-checks the live subscriptions of every connection that matches (as in
   * {@linkcode Hub.revoke}) against `authorize`, after a permission change:
   * each one refused now ends with error 1. `update` first gives each
   * matching connection here its new context (`undefined`: revoke it).
   * Returns how many connections were re-checked here.
   */
  recheck(match: ConnectionMatch<C>, update?: (context: C) => C | undefined): number {
    return this.#revocations.recheck(match, update);
  }

  /** Holds the var store's change feed, starting it for the first hold. */
  #holdVarFeed(): VarFeedHold {
    if (this.#varFeedHolds++ === 0 && !this.#closed) {
      this.#varFeedRuns++;
      this.#stopVarFeed = this.#vars?.subscribe?.((name, value) => {
        const done = this.vars.get(name)?.receiveExternal(value);
        if (done === undefined) return;
        this.metrics?.timeFeed(done);
        done.catch((error) => this.onError(error, {}));
      });
    }
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      if (--this.#varFeedHolds > 0) return;
      this.#stopVarFeed?.();
      this.#stopVarFeed = undefined;
    };
    return { run: this.#varFeedRuns, release };
  }

  /**
   * The connected peers, as a new `Set` at each read (the hub keeps them in a
   * list linked through the peers, which costs less per idle connection).
   */
  get peers(): ReadonlySet<Peer<C>> {
    return new Set(this.#peers);
  }

  /** Reports an unexpected failure to the `onError` hook. */
  onError(
    error: unknown,
    info: { peer?: Peer<unknown>; message?: unknown },
  ): void {
    if (this.#options.onError) this.#options.onError(error, info);
    else console.error("socksync:", error);
  }

  /** Asks the `authorize` option (see {@linkcode HubOptions.authorize}). */
  authorize(context: unknown, request: AccessRequest): boolean {
    const authorize = this.#options.authorize;
    return authorize ? authorize(context as C, request) === true : true;
  }

  #claim(name: string): void {
    if (
      this.vars.has(name) || this.lists.has(name) || this.functions.has(name) ||
      this.paramLists.has(name)
    ) {
      throw new Error(`socksync: the name ${name} is already declared`);
    }
  }

  /**
   * Declares a var. Its value type is its schema's output: `initial` must
   * have that type.
   */
  var<N extends string, S extends v.GenericSchema>(
    name: N,
    options: VarOptions<v.InferOutput<S>> & { schema: S },
  ): DeclaredVar<N, v.InferOutput<S>> {
    this.#claim(name);
    const local = new LocalVar<v.InferOutput<S>>(name, options, this.#vars);
    if (this.#vars?.subscribe) local.listenWith(() => this.#holdVarFeed());
    this.vars.set(name, local as LocalVar<unknown>);
    return local as DeclaredVar<N, v.InferOutput<S>>;
  }

  /**
   * Declares a parameterized list: each subscriber sends `params`, checked
   * by the `params` schema, and sees the query `source(params, context)`
   * makes (see {@linkcode ParamListOptions}).
   */
  list<N extends string, P extends v.GenericSchema, T = unknown>(
    name: N,
    options: HubParamListOptions<P, T, C>,
  ): DeclaredParamList<N, T, v.InferInput<P>>;
  /**
   * Declares a list. Its item type is its schema's output: the source must
   * hold items of that type.
   */
  list<N extends string, S extends v.GenericSchema, U = v.InferOutput<S>>(
    name: N,
    options: TypedListOptions<S, U>,
  ): DeclaredList<N, v.InferOutput<S>, undefined>;
  list(
    name: string,
    options:
      | TypedListOptions<v.GenericSchema, unknown>
      | HubParamListOptions<v.GenericSchema, unknown, C>,
  ): LocalList<unknown> | ParamList<unknown, unknown> {
    this.#claim(name);
    if ("params" in options && options.params !== undefined) {
      const metrics = this.metrics;
      const plain = options as ParamListOptions<unknown, unknown, never>;
      const list = new ParamList<unknown, unknown>(name, {
        onError: (error) => this.onError(error, {}),
        ...plain,
        ...(metrics && {
          metrics,
          source: (params, context) => timedStore(plain.source(params, context), metrics),
        }),
        budget: this.#queryBudget,
      });
      this.paramLists.set(name, list);
      return list;
    }
    return this.#plainList(name, options as TypedListOptions<v.GenericSchema, unknown>);
  }

  #plainList<S extends v.GenericSchema, U>(
    name: string,
    options: TypedListOptions<S, U>,
  ): LocalList<v.InferOutput<S>> {
    const list = new LocalList<v.InferOutput<S>>(name, {
      onError: (error) => this.onError(error, {}),
      ...options,
      source:
        (this.metrics ? timedStore(options.source, this.metrics) : options.source) as ListSource<
          v.InferOutput<S>
        >,
      metrics: this.metrics,
    });
    this.lists.set(name, list as LocalList<unknown>);
    return list;
  }

  /**
   * Declares a presence list (see {@linkcode Presence}): a parameterized
   * list `name` of the connections present in each scope, with their state.
   * With `joinWith`, the parameterized list of that name (declared before)
   * makes its viewers present. `presence.list` carries the types for
   * {@linkcode ApiOf}.
   */
  presence<N extends string, P extends v.GenericSchema, S extends v.GenericSchema>(
    name: N,
    options: Omit<PresenceOptions<v.InferOutput<P>, v.InferOutput<S>, C>, "params" | "state"> & {
      params: P;
      state: S;
    },
  ): Presence<v.InferOutput<P>, v.InferOutput<S>, C> & {
    readonly list: DeclaredParamList<N, v.InferOutput<S>, v.InferInput<P>>;
  } {
    this.#claim(name);
    const follow = options.joinWith === undefined
      ? undefined
      : this.paramLists.get(options.joinWith);
    if (options.joinWith !== undefined && !follow) {
      throw new Error(`socksync: no parameterized list ${options.joinWith} to join with`);
    }
    const presence = new Presence<v.InferOutput<P>, v.InferOutput<S>, C>(name, {
      onError: (error) => this.onError(error, {}),
      ...options,
    });
    this.paramLists.set(name, presence.list as ParamList<unknown, unknown>);
    follow && presence.follow(follow);
    return presence as Presence<v.InferOutput<P>, v.InferOutput<S>, C> & {
      readonly list: DeclaredParamList<N, v.InferOutput<S>, v.InferInput<P>>;
    };
  }

  /**
   * Declares a function. The handle it returns only carries the function's
   * name and types, for {@linkcode ApiOf}.
   */
  function<N extends string, S extends v.GenericSchema | undefined, R>(
    name: N,
    fn: {
      args?: S;
      handler(
        args: S extends v.GenericSchema ? v.InferOutput<S> : unknown,
        call: { peer: Peer<C>; context: C },
      ): R | Promise<R>;
    },
  ): DeclaredFunction<N, S extends v.GenericSchema ? v.InferInput<S> : unknown, Awaited<R>> {
    this.#claim(name);
    this.functions.set(name, fn as unknown as LocalFunction<unknown>);
    return { kind: "function", name };
  }

  /** One of this hub's peers detached: it leaves {@linkcode Hub.peers}. @internal */
  [FORGET](peer: Peer<unknown>): void {
    this.#peers.delete(peer as Peer<C>);
  }

  /**
   * The side of a client given this hub as its `hub` option: `given` limits
   * over `CLIENT_LIMITS`, and peers that provide this hub (the client imports
   * no provider of its own).
   *
   * @internal
   */
  [CLIENT_SIDE](given: Partial<Limits> | undefined): ClientSide {
    const limits = Object.freeze(resolveLimits(given, CLIENT_LIMITS));
    return {
      limits,
      peer: (socket) => {
        const peer = new Peer({ socket, registry: this, limits });
        // Before anything else, as a side must (see `Peer.expectFunctions`).
        if (this.functions.size > 0) peer.acceptCalls();
        return peer;
      },
    };
  }

  /**
   * Connects a socket: the returned peer must be fed every frame and detached
   * on close. Past `limits.maxConnections` the socket is closed with 1013
   * (mounting through `socksync()` refuses the upgrade with 503 before that).
   */
  connect(socket: SocketLike, options: ConnectOptions<C> = {}): Peer<C> {
    const expiresAt = options.expiresAt ?? this.#options.expiresAt?.(options.context as C);
    this.metrics?.opened();
    const peer = new Peer<C>({
      socket,
      registry: this,
      context: options.context,
      expiresAt,
      limits: options.limits
        ? Object.freeze(resolveLimits(options.limits, this.limits))
        : this.limits,
    });
    if (this.#peers.size >= this.limits.maxConnections) {
      peer.close(1013, "too many connections");
      return peer;
    }
    // An identity that had already expired closed the connection at once.
    if (peer.detached) return peer;
    this.#peers.add(peer);
    // The client may authenticate over this socket: said with the functions the connect hook
    // accepts (after them, so their order stays), before any frame of the client is read.
    if (this.authenticate) {
      queueMicrotask(() => {
        if (!peer.detached) peer.sendText(encodeSubscribe("function", AUTH_NAME));
      });
    }
    return peer;
  }

  /** Closes every connection with 1001 and stops listening to the stores. */
  close(): Promise<void> {
    for (const peer of [...this.#peers]) {
      try {
        peer.socket.close(1001, "server shutting down");
      } catch {
        // A socket that is already gone needs no closing.
      }
      peer.detach(1001);
    }
    for (const list of this.lists.values()) list.close();
    for (const list of this.paramLists.values()) list.close();
    this.#revocations.close();
    this.#closed = true;
    this.#stopVarFeed?.();
    this.#stopVarFeed = undefined;
    return Promise.resolve();
  }
}
