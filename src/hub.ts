/**
 * The hub: where an application declares the vars, lists and functions it
 * provides, once, and connects every socket to them.
 *
 * @module
 */
import type * as v from "valibot";
import type { LocalFunction } from "./local_function.ts";
import { type ListOptions, LocalList } from "./local_list.ts";
import { LocalVar, type VarOptions } from "./local_var.ts";
import { Peer, type Registry } from "./peer.ts";
import type { SocketLike } from "./socket.ts";
import type { VarStore } from "./store.ts";

/**
 * Options of a {@linkcode Hub}.
 *
 * @example
 * ```ts
 * import { MemoryVarStore } from "../stores/memory.ts";
 * import type { HubOptions } from "./hub.ts";
 * const options: HubOptions = { vars: new MemoryVarStore(), callTimeout: 10_000 };
 * ```
 */
export interface HubOptions {
  /** Where var values persist. Default: memory only. */
  vars?: VarStore;
  /** Default timeout of calls this side makes, in milliseconds. Default 30,000. */
  callTimeout?: number;
  /**
   * Told about unexpected failures (a handler's throw, a store error while
   * pushing a change). The other side only ever sees a short safe message.
   * Default: `console.error`.
   */
  onError?: (
    error: unknown,
    info: { peer?: Peer<unknown>; message?: unknown },
  ) => void;
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
}

/**
 * Declares what this side provides and connects sockets to it.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { Hub } from "./hub.ts";
 * import { MemoryListSource } from "../stores/memory.ts";
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
  readonly #peers = new Set<Peer<C>>();
  readonly #options: HubOptions;
  readonly #stopVarFeed: (() => void) | undefined;

  /** @param options var store, call timeout and error hook */
  constructor(options: HubOptions = {}) {
    this.#options = options;
    this.#stopVarFeed = options.vars?.subscribe?.((name, value) => {
      this.vars.get(name)?.receiveExternal(value).catch((error) =>
        this.onError(error, {})
      );
    });
  }

  /** The connected peers. */
  get peers(): ReadonlySet<Peer<C>> {
    return this.#peers;
  }

  /** Reports an unexpected failure to the `onError` hook. */
  onError(
    error: unknown,
    info: { peer?: Peer<unknown>; message?: unknown },
  ): void {
    if (this.#options.onError) this.#options.onError(error, info);
    else console.error("socksync:", error);
  }

  #claim(name: string): void {
    if (
      this.vars.has(name) || this.lists.has(name) || this.functions.has(name)
    ) {
      throw new Error(`socksync: the name ${name} is already declared`);
    }
  }

  /** Declares a var. */
  var<T>(name: string, options: VarOptions<T>): LocalVar<T> {
    this.#claim(name);
    const local = new LocalVar(name, options, this.#options.vars);
    this.vars.set(name, local as LocalVar<unknown>);
    return local;
  }

  /** Declares a list. */
  list<T>(name: string, options: ListOptions<T>): LocalList<T> {
    this.#claim(name);
    const list = new LocalList(name, {
      onError: (error) => this.onError(error, {}),
      ...options,
    });
    this.lists.set(name, list as LocalList<unknown>);
    return list;
  }

  /** Declares a function. */
  function<S extends v.GenericSchema | undefined, R>(
    name: string,
    fn: {
      args?: S;
      handler(
        args: S extends v.GenericSchema ? v.InferOutput<S> : unknown,
        call: { peer: Peer<C>; context: C },
      ): R | Promise<R>;
    },
  ): void {
    this.#claim(name);
    this.functions.set(name, fn as unknown as LocalFunction<unknown>);
  }

  /** Connects a socket: the returned peer must be fed every frame and detached on close. */
  connect(socket: SocketLike, options: ConnectOptions<C> = {}): Peer<C> {
    const peer = new Peer<C>({
      socket,
      registry: this,
      context: options.context,
      callTimeout: this.#options.callTimeout,
    });
    this.#peers.add(peer);
    const detach = peer.detach.bind(peer);
    peer.detach = () => {
      this.#peers.delete(peer);
      detach();
    };
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
      peer.detach();
    }
    for (const list of this.lists.values()) list.close();
    this.#stopVarFeed?.();
    return Promise.resolve();
  }
}
