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
  ClientErrorInfo,
  ClientOptions,
  DisconnectInfo,
  WebSocketConstructor,
  WebSocketLike,
} from "./client_options.ts";
import { ErrorCode, SockSyncError } from "./errors.ts";
import { type Limits, PEER_LIMITS, resolveLimits, timerDelay } from "./limits.ts";
import { checkPage, ListView } from "./list_view.ts";
import { Listeners } from "./listeners.ts";
import { type ListMirror, type ListViewOptions, VarMirror } from "./mirror.ts";
import { mirrorKey } from "./params.ts";
import { type CallOptions, type ErrorAbout, Peer } from "./peer.ts";

export type {
  ClientErrorInfo,
  ClientOptions,
  DisconnectInfo,
  WebSocketConstructor,
  WebSocketLike,
} from "./client_options.ts";
export { ListView } from "./list_view.ts";

type Mirror = VarMirror<unknown> | ListMirror<unknown>;

/**
 * A connection to a SockSync server that reconnects by itself. Create it
 * with {@linkcode connect}.
 *
 * @example
 * ```ts
 * import { connect } from "./client.ts";
 * const client = connect("ws://127.0.0.1:8080/ws/socksync");
 * const counter = client.var<number>("counter");
 * counter.onChange(() => console.log("counter", counter.value));
 * await client.call("increment", { by: 2 });
 * client.close();
 * ```
 */
export class Client {
  /** The server's WebSocket URL. */
  readonly url: string;
  readonly #options: ClientOptions;
  readonly #WebSocket: WebSocketConstructor;
  readonly #mirrors = new Map<string, Mirror>();
  // A view's page is remembered here so a reconnect reopens the page the user
  // last asked for, even when its answer never arrived.
  readonly #wantedPages = new Map<
    ListMirror<unknown>,
    { page: number; size?: number }
  >();
  readonly #connectListeners = new Listeners<[]>();
  readonly #disconnectListeners = new Listeners<[DisconnectInfo]>();
  readonly #errorListeners = new Listeners<[SockSyncError, ClientErrorInfo]>();
  readonly #limits: Readonly<Limits>;
  #socket: WebSocketLike | undefined;
  #peer: Peer | undefined;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /**
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
    this.#limits = Object.freeze(resolveLimits(options.limits, PEER_LIMITS));
    this.#errorListeners.add(options.onError);
    this.#connectListeners.add(options.onConnect);
    this.#disconnectListeners.add(options.onDisconnect);
    this.#open();
  }

  /** Whether the connection is open right now. */
  get connected(): boolean {
    return this.#peer !== undefined;
  }

  /** The peer of the open connection, for what the client does not wrap. */
  get peer(): Peer | undefined {
    return this.#peer;
  }

  /**
   * The mirror of a var the server provides, subscribed now and after every
   * reconnect. The same name gives the same mirror.
   */
  var<T = unknown>(name: string, schema?: v.GenericSchema<unknown, T>): VarMirror<T> {
    const key = `var:${name}`;
    const known = this.#mirrors.get(key);
    if (known) return known as VarMirror<T>;
    const mirror = new VarMirror<T>(name, schema);
    this.#add(key, mirror as VarMirror<unknown>);
    return mirror;
  }

  /**
   * A view of one page of a list the server provides, subscribed now and
   * after every reconnect (on the page it was showing). The same name (and
   * the same `params`, for a parameterized list) gives the same view; other
   * params give another view of the same list, each matched by its params.
   * Throws a `RangeError` when `page` is not an integer >= 0
   * or `pageSize` not an integer >= 1.
   */
  list<T = unknown>(name: string, options: ListViewOptions = {}): ListView<T> {
    checkPage(options.page, options.pageSize);
    const key = mirrorKey("list", name, options.params);
    const known = this.#mirrors.get(key);
    if (known) return known as ListView<T>;
    const view = new ListView<T>(
      name,
      options,
      (target, page, size) => this.getPage(target, page, size),
    );
    this.#add(key, view as ListView<unknown>);
    return view;
  }

  /** Moves a list view to another page (and optionally page size). */
  getPage(view: ListMirror<unknown>, page: number, pageSize?: number): void {
    checkPage(page, pageSize);
    const size = pageSize ?? this.#wantedPages.get(view)?.size ?? view.pageSize;
    this.#wantedPages.set(view, { page, size });
    this.#peer?.getPage(view, page, size);
  }

  /** Stops mirroring a var or list. */
  release(mirror: VarMirror<unknown> | ListMirror<unknown>): void {
    const key = mirrorKey(mirror.type, mirror.name, (mirror as { params?: unknown }).params);
    if (this.#mirrors.get(key) !== mirror) return;
    this.#mirrors.delete(key);
    this.#wantedPages.delete(mirror as ListMirror<unknown>);
    this.#peer?.unmirror(mirror);
  }

  /**
   * Calls a server function. While disconnected the call waits for the next
   * connection (within its timeout); a call in flight when the connection
   * drops rejects with code 8, "connection closed", since it may or may not
   * have run.
   */
  async call<R = unknown>(name: string, args?: unknown, options: CallOptions = {}): Promise<R> {
    const timeout = timerDelay(options.timeout ?? this.#limits.callTimeout) ?? Infinity;
    const started = Date.now();
    const peer = this.#peer ?? await this.#nextConnection(name, timeout);
    const left = Math.max(1, timeout - (Date.now() - started));
    return await peer.call<R>(name, args, { timeout: left });
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

  /** Resolves once connected (at once if connected now). */
  ready(): Promise<void> {
    if (this.#peer) return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.onConnect(() => {
        off();
        resolve();
      });
    });
  }

  /** Closes the connection for good: no reconnect; pending calls reject. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    const socket = this.#socket;
    this.#drop({ code: 1000, reason: "client closed" });
    socket?.close(1000, "client closed");
  }

  #add(key: string, mirror: Mirror): void {
    this.#mirrors.set(key, mirror);
    this.#peer?.mirror(mirror);
  }

  #nextConnection(name: string, timeout: number): Promise<Peer> {
    if (this.#closed) return Promise.reject(new SockSyncError(ErrorCode.Other, "client closed"));
    return new Promise((resolve, reject) => {
      const timer = timeout === Infinity ? undefined : setTimeout(() => {
        off();
        reject(new SockSyncError(ErrorCode.Other, `call to ${name} timed out: not connected`));
      }, timeout);
      const off = this.onConnect(() => {
        off();
        clearTimeout(timer);
        resolve(this.#peer!);
      });
    });
  }

  #open(): void {
    if (this.#closed) return;
    let socket: WebSocketLike;
    try {
      socket = new this.#WebSocket(this.url);
    } catch (error) {
      // A malformed URL will not get better by retrying.
      this.#closed = true;
      throw error;
    }
    this.#socket = socket;
    socket.onopen = () => {
      if (this.#socket !== socket) return;
      const peer = new Peer({ socket, registry: this.#options.hub, limits: this.#limits });
      this.#peer = peer;
      // Before anything else, as a side must (see `Peer.expectFunctions`).
      if (this.#options.hub && this.#options.hub.functions.size > 0) {
        peer.acceptCalls();
      }
      peer.expectFunctions();
      peer.onError((error, about) => this.#emitError(error, about));
      for (const mirror of this.#mirrors.values()) {
        const wanted = this.#wantedPages.get(mirror as ListMirror<unknown>);
        if (wanted && mirror.type === "list") {
          mirror.page = wanted.page;
          if (wanted.size !== undefined) mirror.pageSize = wanted.size;
        }
        peer.mirror(mirror);
      }
      this.#connectListeners.emit();
    };
    socket.onmessage = (event: { data: unknown }) => {
      if (this.#socket !== socket) return;
      // Only a server that talks counts as back: one that accepts and drops
      // at once (e.g. while shutting down) keeps the delays growing.
      this.#attempt = 0;
      this.#peer?.receive(event.data);
    };
    socket.onclose = (event: { code?: number; reason?: string }) => {
      if (this.#socket !== socket) return;
      this.#drop({ code: event.code ?? 1006, reason: event.reason ?? "" });
      this.#schedule();
    };
    // Errors are always followed by a close event, which does the work.
    socket.onerror = () => {};
  }

  #drop(info: DisconnectInfo): void {
    const peer = this.#peer;
    this.#socket = undefined;
    this.#peer = undefined;
    if (!peer) return;
    peer.detach();
    this.#disconnectListeners.emit(info);
  }

  #emitError(error: SockSyncError, about: ErrorAbout): void {
    const mirror = this.#mirrors.get(mirrorKey(about.type, about.name, about.params));
    const info: ClientErrorInfo = mirror ? { ...about, mirror } : about;
    if (this.#errorListeners.size > 0) return this.#errorListeners.emit(error, info);
    console.error(`socksync: ${about.type ?? ""} ${about.name ?? ""}:`, error.message);
  }

  #schedule(): void {
    const reconnect = this.#options.reconnect;
    if (this.#closed || reconnect === false) return;
    const delay = backoffDelay({ ...reconnect, attempt: this.#attempt++ });
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
 * todos.onChange(() => console.log(todos.total, todos.items));
 * ```
 */
export function connect(url: string, options: ClientOptions = {}): Client {
  return new Client(url, options);
}
