/**
 * A SockSync client for browsers, Deno, Bun and Node: one WebSocket to a
 * server, mirrors of its vars and list pages that survive reconnects, and
 * calls to its functions. Runtime-neutral: it only needs a WebSocket class
 * (the global one, or `ws` on Node 20).
 *
 * @module
 */
import type * as v from "valibot";
import { backoffDelay } from "./backoff.ts";
import type {
  CallName,
  CallRest,
  ClientCallOptions,
  ClientErrorInfo,
  ClientOptions,
  DisconnectInfo,
  KeyOnlyName,
  ListOpenOptions,
  ListRest,
  WebSocketConstructor,
  WebSocketLike,
} from "./types.ts";
import { type ClientMirror, ClientMirrors } from "./mirrors.ts";
import { OTHER, SockSyncError } from "../errors.ts";
import { type ConsumerLimits, type Limits, timerDelay } from "../peer/limits.ts";
import { CLOSE_IDLE } from "../protocol/connection.ts";
import type {
  AnyName,
  ApiShape,
  FunctionName,
  ItemOf,
  ListName,
  ResultOf,
  UntypedApi,
  VarName,
} from "../protocol/api.ts";
import { ItemMirror } from "./item_mirror.ts";
import { checkPage, ListView } from "./list_view.ts";
import { Listeners } from "../listeners.ts";
import { type ListMirror, type ListViewOptions, VarMirror } from "./mirror.ts";
import { MirrorBase } from "./mirror_base.ts";
import { itemKey, mirrorKey } from "../protocol/mirror_keys.ts";
import type { OptimisticChange } from "./optimistic.ts";
import { ConnectionClosed, type ErrorAbout } from "../peer/consumer.ts";
import type { ConsumerMirror } from "../peer/mirrored.ts";
import type { Peer } from "../peer/peer.ts";
import { CLIENT_SIDE } from "../peer/parts.ts";
import { type ClientPeer, type ClientSide, consumerSide } from "../peer/consumer_peer.ts";
import { type ConnectionState, ConnectionStateSource } from "./state.ts";
import { nanoid } from "nanoid";
import type { ClientAuth } from "./auth.ts";

export type {
  CallRest,
  ClientCallOptions,
  ClientErrorInfo,
  ClientOptions,
  DisconnectInfo,
  ListOpenOptions,
  ListRest,
  WebSocketConstructor,
  WebSocketLike,
} from "./types.ts";
export { ListView } from "./list_view.ts";
export { type ConnectionState, ConnectionStateSource, type ConnectionStatus } from "./state.ts";
export { ItemMirror } from "./item_mirror.ts";

/** @internal */
type Mirror = ClientMirror;

/**
 * A connection to a SockSync server that reconnects by itself. Create it
 * with {@linkcode connect}; its type argument, the server's API type (see
 * `ApiOf`), types every name, value, argument and result.
 *
 * @example
 * ```ts
 * import { connect } from "./client.ts";
 * const client = connect("ws://127.0.0.1:8080/ws/socksync");
 * const counter = client.var<number>("counter");
 * counter.subscribe(({ value }) => console.log("counter", value));
 * await client.call("increment", { by: 2 });
 * client.close();
 * ```
 */
export class Client<A extends ApiShape = UntypedApi> {
  /** The server's WebSocket URL. */
  readonly url: string;
  readonly #options: ClientOptions;
  readonly #WebSocket: WebSocketConstructor;
  readonly #mirrors = new ClientMirrors(() => this.#peer);
  readonly #connectListeners = new Listeners<[]>();
  /** Calls waiting for a connection: `close()` wakes them, so they reject at once. */
  readonly #waiting = new Set<() => void>();
  readonly #disconnectListeners = new Listeners<[DisconnectInfo]>();
  readonly #errorListeners = new Listeners<[SockSyncError, ClientErrorInfo]>();
  // Its connections' limits and peers: a hub's, or a consumer's without one.
  readonly #side: ClientSide;
  #socket: WebSocketLike | undefined;
  // The peer of the open connection, once ready for mirrors and calls.
  #peer: ClientPeer | undefined;
  // The peer of the connection since its socket opened (with `auth`: authenticating before ready).
  #conn: ClientPeer | undefined;
  readonly #auth: ClientAuth | undefined;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  readonly #state = new ConnectionStateSource();
  /** Presented on every connection: the server knows a reconnect as the same client. */
  readonly #session = nanoid();

  /**
   * A client of the server at `url`; `connect()` makes one and opens it.
   *
   * @param url the server's WebSocket URL
   * @param options see {@linkcode ClientOptions}
   */
  constructor(url: string, options: ClientOptions = {}) {
    this.url = url;
    this.#options = options;
    const Impl = options.WebSocket ??
      (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Impl) {
      throw new TypeError(
        "no global WebSocket here: pass one, e.g. connect(url, { WebSocket }) with WebSocket from the ws package",
      );
    }
    this.#WebSocket = Impl;
    const hub = options.hub as Partial<Providing> | undefined;
    if (hub && typeof hub[CLIENT_SIDE] !== "function") {
      throw new TypeError("socksync: the hub option takes a Hub");
    }
    this.#side = hub
      ? (hub as Providing)[CLIENT_SIDE](options.limits)
      : consumerSide(options.limits);
    this.#errorListeners.add(options.onError);
    this.#connectListeners.add(options.onConnect);
    this.#disconnectListeners.add(options.onDisconnect);
    if (options.auth !== undefined) {
      if (!options.socketAuth) {
        throw new TypeError(
          "socksync: the auth option needs socketAuth from socksync: connect(url, { auth, socketAuth })",
        );
      }
      this.#auth = options.socketAuth.start(options.auth, this.#emitError);
    }
    this.#open();
  }

  /** Whether the connection is open right now. */
  get connected(): boolean {
    return this.#peer !== undefined;
  }

  /**
   * The connection's state now: `connecting`, `open`, `reconnecting` (with
   * `nextAttempt` while waiting) or `closed`, and `lastDisconnect`.
   */
  get state(): ConnectionState {
    return this.#state.getSnapshot();
  }

  /**
   * The connection's state as a snapshot source: `subscribe(listener)` calls
   * the listener now and after every change (what `useConnection` follows).
   *
   * @example
   * ```ts
   * import { connect } from "./client.ts";
   * const client = connect("ws://127.0.0.1:8080/ws/socksync");
   * client.connection.subscribe(({ status, nextAttempt, lastDisconnect }) => {
   *   const wait = nextAttempt ? ` in ${Math.ceil((nextAttempt - Date.now()) / 1000)} s` : "";
   *   console.log(status + wait, lastDisconnect?.reason ?? "");
   * });
   * ```
   */
  get connection(): ConnectionStateSource {
    return this.#state;
  }

  /**
   * The peer of the open connection, for what the client does not wrap. A
   * client given a hub gets its `Peer`; one that provides nothing gets a peer
   * without the providing side's members (its context, session expiry and
   * send conflation), so those are not in the type; its `limits` are the
   * seven such a client applies, the others only with a hub.
   */
  get peer():
    | (
      & Omit<
        Peer,
        "context" | "expiresAt" | "updateContext" | "recheck" | "congested" | "defer" | "limits"
      >
      & {
        readonly limits: Readonly<
          & Partial<Limits>
          & Pick<
            Limits,
            | "maxFrameBytes"
            | "maxDepth"
            | "maxSubscriptions"
            | "maxPendingCalls"
            | "callTimeout"
            | "idleTimeout"
            | "maxBufferedBytes"
          >
        >;
      }
    )
    | undefined {
    return this.#peer as ConnectionPeer | undefined;
  }

  /**
   * The mirror of a var the server provides, subscribed now and after every
   * reconnect. The same name gives the same mirror. An untyped client may
   * give the value type, and a schema that checks incoming values.
   */
  var<T = unknown>(name: AnyName<A>, schema?: v.GenericSchema<unknown, T>): VarMirror<T>;
  /** The mirror of a var a typed client declared, with its value type. */
  var<N extends VarName<A>>(name: N): VarMirror<A["vars"][N]>;
  // deno-lint-ignore no-explicit-any
  var(name: string, schema?: v.GenericSchema): VarMirror<any> {
    return this.#mirrors.keep(mirrorKey("var", name), () => new VarMirror<unknown>(name, schema));
  }

  /**
   * A view of one page of a list the server provides, subscribed now and
   * after every reconnect (on the page it was showing). The same name (and
   * the same `params`, for a parameterized list) gives the same view, until
   * every opener closed it; other params give another view of the same list,
   * each matched by its params. Throws a `RangeError` when `page` is not an
   * integer >= 0 or `pageSize` not an integer >= 1.
   */
  list<T = unknown>(
    name: AnyName<A>,
    options?: ListOpenOptions<A["lists"][string]["params"]>,
  ): ListView<T>;
  /** A view of a list a typed client declared, with its item and params types. */
  list<N extends ListName<A>>(name: N, ...options: ListRest<A, N>): ListView<ItemOf<A, N>>;
  // deno-lint-ignore no-explicit-any
  list(name: string, options: ListViewOptions = {}): ListView<any> {
    checkPage(options.page, options.pageSize);
    return this.#mirrors.keep(
      mirrorKey("list", name, options.params),
      () => new ListView(name, options, this.#mirrors),
    );
  }

  /**
   * The mirror of one item of a list the server provides (a list `subscribe`
   * with its id), subscribed now and after every reconnect. The same list
   * and id give the same mirror, until every opener closed it.
   */
  item<T = unknown>(list: AnyName<A>, id: string): ItemMirror<T>;
  /** The mirror of one item of a list a typed client declared, with its item type. */
  item<N extends ListName<A>>(list: N, id: string): ItemMirror<ItemOf<A, N>>;
  // deno-lint-ignore no-explicit-any
  item(list: string, id: string): ItemMirror<any> {
    return this.#mirrors.keep(itemKey(list, id), () => new ItemMirror(list, id, this.#mirrors));
  }

  /** Moves a list view to another page (and optionally page size). */
  getPage(view: ListMirror<unknown>, page: number, pageSize?: number): void {
    this.#mirrors.getPage(view, page, pageSize);
  }

  /** Stops mirroring a var, list or item at once, however many opened it. */
  release(mirror: Mirror): void {
    this.#mirrors.release(mirror);
  }

  /**
   * Calls a server function, exactly once across reconnects. While
   * disconnected the call waits for the next connection (within its
   * timeout); a call in flight when the connection drops is sent again, with
   * the same id, once reconnected, and the server applies it at most once
   * (a repeat gets the first answer). A call whose timeout passes first
   * rejects with code 8; if it had been sent, the message says its result is
   * unknown (it may have been applied). With `optimistic` (on a client made
   * with the `optimisticCalls` option), the mirrors it names show its change
   * at once; a refused call rolls it back and its error also reaches `onError`.
   *
   * @example
   * ```ts
   * import { connect } from "./client.ts";
   * import { optimisticCalls } from "./optimistic.ts";
   * const client = connect("ws://127.0.0.1:8080/ws/socksync", { optimisticCalls });
   * const todos = client.list<{ text: string; done: boolean }>("todos", { pageSize: 20 });
   * await client.call("add_todo", { text: "milk" }, {
   *   // The row shows at the top now; the server's own row replaces it once the call returns.
   *   optimistic: (change) => change.insert("todos", { value: { text: "milk", done: false } }),
   * });
   * ```
   */
  call<R = unknown>(name: AnyName<A>, args?: unknown, options?: ClientCallOptions<A>): Promise<R>;
  /** Calls a function a typed client declared, with its args and result types. */
  call<N extends FunctionName<A> | KeyOnlyName<A>>(
    name: CallName<A, N>,
    ...rest: N extends FunctionName<A> ? CallRest<A, N> : [args?: unknown]
  ): Promise<N extends FunctionName<A> ? ResultOf<A, N> : never>;
  async call(name: string, args?: unknown, options: ClientCallOptions<A> = {}): Promise<unknown> {
    const drop = options.optimistic ? this.#showOptimistic(options.optimistic) : undefined;
    try {
      const timeout = timerDelay(options.timeout ?? this.#side.limits.callTimeout) ?? Infinity;
      const deadline = Date.now() + timeout;
      // One id for every send of this call: the server applies it once and answers repeats.
      const id = nanoid();
      let sent = false;
      for (;;) {
        if (this.#closed) throw closedCall(name, sent, "client closed");
        const peer = this.#peer ?? await this.#nextConnection(deadline - Date.now());
        if (!peer) {
          // Woken by close() (the loop's start says so), or the connection dropped again by a
          // connect listener with time left: wait on. Else out of time.
          if (this.#closed || Date.now() < deadline) continue;
          throw new SockSyncError(
            OTHER,
            sent
              ? `call to ${name} timed out while disconnected: its result is unknown (it may have been applied)`
              : `call to ${name} timed out: not connected`,
          );
        }
        const left = Math.max(1, deadline - Date.now());
        try {
          return await peer.call(name, args, { timeout: left, id, once: true });
        } catch (error) {
          if (!(error instanceof ConnectionClosed)) throw error;
          sent ||= error.sent;
          // Dropped before its answer: sent again on the next connection, within its timeout.
          if (this.#options.reconnect === false) throw closedCall(name, sent, "connection closed");
        }
      }
    } catch (error) {
      if (drop && error instanceof SockSyncError) {
        this.#emitError(error, { type: "function", name });
      }
      throw error;
    } finally {
      drop?.();
    }
  }

  /**
   * The peer of the next connection, once it is ready; `undefined` if `timeout` ms pass first,
   * `close()` runs, or a connect listener dropped that connection again.
   */
  #nextConnection(timeout: number): Promise<ClientPeer | undefined> {
    return new Promise((resolve) => {
      const done = () => {
        off();
        clearTimeout(timer);
        this.#waiting.delete(done);
        resolve(this.#peer);
      };
      const timer = timeout === Infinity ? undefined : setTimeout(done, Math.max(0, timeout));
      const off = this.#connectListeners.add(done);
      this.#waiting.add(done);
    });
  }

  /** Shows a call's optimistic change, with the `optimisticCalls` option; returns what drops it. */
  #showOptimistic(fill: (change: OptimisticChange<A>) => void): () => void {
    const optimistic = this.#options.optimisticCalls;
    if (!optimistic) {
      throw new TypeError(
        "socksync: a call with `optimistic` needs optimisticCalls from socksync: connect(url, { optimisticCalls })",
      );
    }
    return optimistic.show(this.#mirrors, fill as (change: OptimisticChange) => void);
  }

  /** Calls `listener` after every (re)connect; returns the function that removes it. */
  onConnect(listener: () => void): () => void {
    return this.#connectListeners.add(listener);
  }

  /** Calls `listener` after every drop; returns the function that removes it. */
  onDisconnect(listener: (info: DisconnectInfo) => void): () => void {
    return this.#disconnectListeners.add(listener);
  }

  /**
   * Calls `listener` with every error the server sends about this side's
   * requests (see {@linkcode ClientOptions.onError}); returns the remover.
   */
  onError(listener: (error: SockSyncError, info: ClientErrorInfo) => void): () => void {
    return this.#errorListeners.add(listener);
  }

  /** Resolves once connected (at once if connected now); a closed client never connects. */
  ready(): Promise<void> {
    if (this.#peer) return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.#connectListeners.add(() => {
        off();
        resolve();
      });
    });
  }

  /**
   * Asks the `auth` option for credentials now and authenticates the open
   * connection with them, its mirrors untouched (e.g. right after the user
   * signed in). Resolves whether the server accepted them; `false` also
   * when not connected (the next connect uses them) or without `auth`.
   */
  async authenticate(): Promise<boolean> {
    return await this.#auth?.authenticate(() => this.#peer, this.#side.limits.callTimeout) ?? false;
  }

  /** Closes the connection for good: no reconnect; pending calls reject. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    const socket = this.#socket;
    this.#drop({ code: 1000, reason: "client closed" });
    socket?.close(1000, "client closed");
    for (const wake of this.#waiting) wake();
    if (this.#state.getSnapshot().status !== "closed") {
      this.#state.update({ status: "closed", attempt: this.#attempt });
    }
  }

  #open(): void {
    if (this.#closed) return;
    // With `auth`, credentials first: known stale ones are never sent, and no socket opens for them.
    if (this.#auth) {
      void this.#auth.open(() => this.#closed || this.#connect(), () => this.#schedule());
    } else this.#connect();
  }

  #connect(): void {
    let socket: WebSocketLike;
    try {
      socket = new this.#WebSocket(this.url);
    } catch (error) {
      // A malformed URL will not get better by retrying.
      this.#closed = true;
      throw error;
    }
    this.#socket = socket;
    const state = this.#state.getSnapshot();
    if (state.nextAttempt !== undefined) {
      this.#state.update({ status: state.status, attempt: state.attempt });
    }
    socket.onopen = () => {
      if (this.#socket !== socket) return;
      const peer = this.#side.peer(socket);
      this.#conn = peer;
      peer.onDetach(this.#lost);
      // After the hub's peer accepted calls to its functions, as a side must (see `Peer.expectFunctions`).
      peer.expectFunctions(this.#session);
      peer.onError(this.#emitError);
      const ready = () => this.#conn === peer && this.#ready(peer);
      if (this.#auth) this.#auth.begin(peer, this.#side.limits.callTimeout, ready);
      else ready();
    };
    socket.onmessage = (event: { data: unknown }) => {
      if (this.#socket !== socket) return;
      // Only a server that talks counts as back: one that accepts and drops
      // at once (e.g. while shutting down) keeps the delays growing.
      this.#attempt = 0;
      this.#conn?.receive(event.data);
    };
    socket.onclose = (event: { code?: number; reason?: string }) => {
      if (this.#socket !== socket) return;
      // After 4001 (its identity gone) these credentials are never sent again.
      this.#auth?.closed(event.code);
      // Some runtimes (Deno) report 0 for a connection that broke: no close code was received.
      this.#drop({ code: event.code || 1006, reason: event.reason ?? "" });
      this.#schedule();
    };
    // Errors are always followed by a close event, which does the work.
    socket.onerror = () => {};
  }

  #ready(peer: ClientPeer): void {
    // `open` once usable: with `auth`, after the connection has its identity.
    this.#state.update({ status: "open", attempt: 0 });
    this.#peer = peer;
    this.#mirrors.subscribeAll(peer);
    this.#connectListeners.emit();
  }

  /**
   * The peer closed the connection itself: the heartbeat found it dead (or a
   * limit was hit). Its socket may never report the close (a half-open TCP
   * connection does not finish the close handshake), so it is dropped now.
   */
  readonly #lost = (peer: ClientPeer): void => {
    if (this.#conn !== peer) return;
    const socket = this.#socket;
    const closed = peer.closedWith ?? { code: 1006, reason: "" };
    this.#drop(
      closed.code === CLOSE_IDLE
        ? {
          code: closed.code,
          reason:
            `no heartbeat: nothing heard from the server for ${this.#side.limits.idleTimeout} ms`,
        }
        : closed,
    );
    // `ws` would wait 30 s for the close handshake of a dead connection.
    (socket as { terminate?: () => void } | undefined)?.terminate?.();
    this.#schedule();
  };

  #drop(info: DisconnectInfo): void {
    const peer = this.#peer;
    const conn = this.#conn;
    this.#auth?.stop();
    this.#socket = undefined;
    this.#peer = this.#conn = undefined;
    if (!conn) return;
    conn.detach();
    const status = this.#closed ? "closed" : "reconnecting";
    this.#state.update({ status, attempt: 0, lastDisconnect: info });
    // Only a connection that was ready (onConnect told) is reported as dropped.
    if (peer) this.#disconnectListeners.emit(info);
  }

  // Bound: the peers and the auth option are given it.
  readonly #emitError = (
    error: SockSyncError,
    about: ErrorAbout,
    mirror?: ConsumerMirror,
  ): void => {
    // Only var, list and item mirrors (the client's, or one given to `client.peer.mirror`), as
    // the info's type says: a peer mirrors whatever `client.peer.mirror` was given.
    const info = (mirror instanceof MirrorBase ? { ...about, mirror } : about) as ClientErrorInfo;
    if (this.#errorListeners.size > 0) return this.#errorListeners.emit(error, info);
    console.error(`socksync: ${about.type ?? ""} ${about.name ?? ""}:`, error.message);
  };

  #schedule(): void {
    const reconnect = this.#options.reconnect;
    if (this.#closed) return;
    if (reconnect === false) {
      return this.#state.update({ status: "closed", attempt: this.#attempt });
    }
    const delay = backoffDelay({ ...reconnect, attempt: this.#attempt++ });
    this.#state.update({
      status: "reconnecting",
      attempt: this.#attempt,
      nextAttempt: Date.now() + delay,
    });
    this.#timer = setTimeout(() => this.#open(), delay);
  }
}

/**
 * Connects to a SockSync server. The client reconnects with exponential
 * backoff until {@linkcode Client.close} and re-subscribes every mirror.
 *
 * @example
 * ```ts
 * import { connect } from "./client.ts";
 * const client = connect("ws://127.0.0.1:8080/ws/socksync", {
 *   onConnect: () => console.log("connected"),
 * });
 * const todos = client.list<{ text: string; done: boolean }>("todos", { pageSize: 20 });
 * todos.subscribe(({ total, items }) => console.log(total, items));
 * ```
 *
 * With the server's API type (see `ApiOf`), every name, value, argument and
 * result is checked:
 *
 * ```ts
 * import { connect } from "./client.ts";
 * type Api = {
 *   vars: { counter: number };
 *   lists: { todos: { item: { text: string }; params: undefined } };
 *   functions: { increment: { args: { by: number }; result: number } };
 * };
 * const client = connect<Api>("ws://127.0.0.1:8080/ws/socksync");
 * const n: number = await client.call("increment", { by: 1 });
 * const text = client.list("todos").getSnapshot().items[0]?.value.text;
 * ```
 */
export function connect<A extends ApiShape = UntypedApi>(
  url: string,
  options: ClientOptions = {},
): Client<A> {
  return new Client<A>(url, options);
}

/** A `Peer` without what only a providing side has: what {@linkcode Client.peer} is. */
type ConnectionPeer =
  & Omit<
    Peer,
    "context" | "expiresAt" | "updateContext" | "recheck" | "congested" | "defer" | "limits"
  >
  & { readonly limits: Readonly<Partial<Limits> & ConsumerLimits> };

/** A `Hub`: it makes the peer that provides it, so that a client without one carries no provider. */
interface Providing {
  [CLIENT_SIDE](given: Partial<Limits> | undefined): ClientSide;
}

/** The error of a call that cannot go on: whether it ran is unknown once it was sent. */
function closedCall(name: string, sent: boolean, why: string): SockSyncError {
  return new SockSyncError(
    OTHER,
    sent ? `${why}: the result of ${name} is unknown (it may have been applied)` : why,
  );
}
