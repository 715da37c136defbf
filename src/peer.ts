/**
 * One end of a SockSync connection. Peers are symmetric: the same class
 * serves a server's connection and a client, providing the groups of its
 * {@linkcode Registry} and mirroring groups the other side provides.
 *
 * @module
 */
import { nanoid } from "nanoid";
import * as v from "valibot";
import { ErrorCode, type ErrorCodeValue, isSockSyncError, SockSyncError } from "./errors.ts";
import { type Conflating, Outbox } from "./backpressure.ts";
import {
  exceedsDepth,
  fitsBytes,
  type Limits,
  PEER_LIMITS,
  resolveLimits,
  TokenBucket,
} from "./limits.ts";
import type { LocalFunction } from "./local_function.ts";
import type { LocalList } from "./local_list.ts";
import type { LocalVar } from "./local_var.ts";
import type { ListMirror, MirrorFrame, VarMirror } from "./mirror.ts";
import { decodeFrame, errorFrame, type Message, type MessageWithFunc } from "./protocol.ts";
import { OPEN, type SocketLike } from "./socket.ts";

/**
 * What {@linkcode Registry.authorize} is asked about: `subscribe`, `get`
 * and `call` requests to what this side provides, and `set` for any frame
 * that changes one of this side's mirrors (`set`, `set_all`, `set_count`,
 * `insert`, `delete`).
 *
 * @example
 * ```ts
 * import type { AccessRequest } from "./peer.ts";
 * const request: AccessRequest = { action: "subscribe", type: "list", name: "todos" };
 * ```
 */
export interface AccessRequest {
  /** What the other side wants to do. */
  action: "subscribe" | "get" | "set" | "call";
  /** The group's type. */
  type: "var" | "list" | "function";
  /** The group's name, as sent (it may name nothing). */
  name: string;
  /** The list item's id or the call's id, when the frame has one. */
  id?: string;
}

/**
 * The name of the var the idle probe asks for. No application declares it,
 * so every conforming peer answers the probe with an error frame, which
 * proves it is alive; that answer is swallowed.
 *
 * @example
 * ```ts
 * import { PROBE_NAME } from "./peer.ts";
 * const isProbe = (frame: { name?: string }) => frame.name === PROBE_NAME;
 * ```
 */
export const PROBE_NAME = "socksync:probe";

/** Close codes a peer uses; a runtime that refuses one gets it plus 3000 (1009 → 4009). */
const CLOSE = {
  tooLarge: 1009,
  policy: 1008,
  tryAgainLater: 1013,
  idle: 4000,
} as const;

/**
 * The groups a side provides, as a peer looks them up by name. A `Hub`
 * is one; a peer without a registry provides nothing.
 *
 * @example
 * ```ts
 * import type { Registry } from "./peer.ts";
 * const empty: Registry = { vars: new Map(), lists: new Map(), functions: new Map() };
 * ```
 */
export interface Registry {
  /** Vars by name. */
  readonly vars: ReadonlyMap<string, LocalVar<unknown>>;
  /** Lists by name. */
  readonly lists: ReadonlyMap<string, LocalList<unknown>>;
  /** Functions by name. */
  readonly functions: ReadonlyMap<string, LocalFunction<unknown>>;
  /** Told about failures with no caller to tell, such as a handler's unexpected throw. */
  onError?(
    error: unknown,
    info: { peer: Peer<unknown>; message?: Message },
  ): void;
  /**
   * Whether this connection may do this. Must answer synchronously (so
   * frames keep their order): load what it needs into the context first.
   * A refusal, a throw or anything but `true` is answered with error 1
   * "not subscribed", checked before the name is looked up, so a refusal
   * does not reveal whether the name exists.
   */
  authorize?(context: unknown, request: AccessRequest): boolean;
}

/**
 * Options of a {@linkcode Peer}.
 *
 * @example
 * ```ts
 * import type { PeerOptions } from "./peer.ts";
 * const options: PeerOptions<{ user: string }> = {
 *   socket: { send() {}, close() {}, readyState: 1 },
 *   context: { user: "ada" },
 * };
 * ```
 */
export interface PeerOptions<C> {
  /** The connection. */
  socket: SocketLike;
  /** The groups this side provides. */
  registry?: Registry;
  /** Whatever the application knows about this connection (user, session, …). */
  context?: C;
  /** Default timeout of outgoing calls in milliseconds. Default: `limits.callTimeout`. */
  callTimeout?: number;
  /**
   * Limits of this connection; those not given come from
   * {@linkcode PEER_LIMITS} (a hub passes its own, see `HubOptions.limits`).
   */
  limits?: Partial<Limits>;
}

/**
 * Options of {@linkcode Peer.call}.
 *
 * @example
 * ```ts
 * import type { CallOptions } from "./peer.ts";
 * const options: CallOptions = { timeout: 5_000 };
 * ```
 */
export interface CallOptions {
  /** Milliseconds before the call rejects with code 8, counted from `call()`. */
  timeout?: number;
}

interface PendingCall {
  readonly name: string;
  readonly frame: string;
  resolve(value: unknown): void;
  reject(error: SockSyncError): void;
  timer: ReturnType<typeof setTimeout>;
  sent: boolean;
}

type Mirror = VarMirror<unknown> | ListMirror<unknown>;

/**
 * One end of a connection: feed it every incoming frame with
 * {@linkcode Peer.receive} and call {@linkcode Peer.detach} once the socket closed.
 *
 * @example
 * ```ts
 * import { Peer, VarMirror } from "../mod.ts";
 * const ws = new WebSocket("ws://127.0.0.1:8080/ws/socksync");
 * const peer = new Peer({ socket: ws });
 * ws.onmessage = (event) => peer.receive(event.data);
 * ws.onclose = () => peer.detach();
 * ws.onopen = () => peer.mirror(new VarMirror("counter"));
 * ```
 */
export class Peer<C = unknown> implements Conflating {
  /** The connection. */
  readonly socket: SocketLike;
  /** The application's context of this connection. */
  readonly context: C;
  /** The limits this connection runs under. */
  readonly limits: Readonly<Limits>;
  readonly #registry: Registry | undefined;
  readonly #callTimeout: number;
  // Every key below comes from the wire, so only Maps and Sets hold them.
  readonly #vars = new Set<LocalVar<unknown>>();
  readonly #lists = new Set<LocalList<unknown>>();
  readonly #accepting = new Set<string>();
  #remoteFunctionSet: Set<string> | undefined;
  // Created on first use: a server's peer rarely mirrors or calls, and every
  // collection costs memory on each of its many idle connections.
  #mirrorMap: Map<string, Mirror> | undefined;
  #pendingMap: Map<string, PendingCall> | undefined;
  #errorListenerSet: Set<(error: SockSyncError) => void> | undefined;
  /** What the other side subscribed to, counted against `maxSubscriptions`. */
  readonly #subscriptions = new Set<string>();
  readonly #bucket: TokenBucket;
  readonly #outbox: Outbox;
  #strikes = 0;
  #running = 0;
  #lastFrameAt = Date.now();
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #closing = false;
  #detached = false;

  /** @param options the socket, the groups this side provides, the context and the limits */
  constructor(options: PeerOptions<C>) {
    this.socket = options.socket;
    this.context = options.context as C;
    this.#registry = options.registry;
    // A hub hands every connection its one frozen, complete limits object: share it.
    this.limits = Object.isFrozen(options.limits) && isComplete(options.limits)
      ? options.limits as Readonly<Limits>
      : Object.freeze(resolveLimits(options.limits, PEER_LIMITS));
    this.#callTimeout = options.callTimeout ?? this.limits.callTimeout;
    this.#bucket = new TokenBucket({
      rate: this.limits.messageRate,
      burst: this.limits.messageBurst,
    });
    this.#outbox = new Outbox({
      socket: this.socket,
      congestionBytes: this.limits.congestionBytes,
      maxBufferedBytes: this.limits.maxBufferedBytes,
      pollInterval: this.limits.drainPollInterval,
      onOverflow: () => this.close(CLOSE.tryAgainLater, "slow consumer: too much queued"),
      onError: (error) => this.#report(error),
    });
    if (this.limits.idleTimeout > 0) this.#armIdle(false);
  }

  get #mirrors(): Map<string, Mirror> {
    return this.#mirrorMap ??= new Map();
  }

  get #pending(): Map<string, PendingCall> {
    return this.#pendingMap ??= new Map();
  }

  get #errorListeners(): Set<(error: SockSyncError) => void> {
    return this.#errorListenerSet ??= new Set();
  }

  get #remoteFunctions(): Set<string> {
    return this.#remoteFunctionSet ??= new Set();
  }

  /** Whether {@linkcode Peer.detach} has run. */
  get detached(): boolean {
    return this.#detached;
  }

  /** Whether the socket is congested: changes are conflated until it drains. */
  get congested(): boolean {
    return this.#outbox.congested;
  }

  /** Sends one encoded frame if the socket is open. */
  sendText(text: string): void {
    this.#outbox.send(text, this.socket.readyState === OPEN && !this.#closing);
  }

  /**
   * Holds back a change for this connection while its socket is congested;
   * see {@linkcode Conflating.defer}. Groups call it, applications need not.
   */
  defer(owner: object, key: string, flush: () => void): void {
    this.#outbox.defer(owner, key, flush);
  }

  /**
   * Closes the connection with a code and reason, and detaches this peer.
   * Used for the limits (1008, 1009, 1013, 4000); a runtime that refuses a
   * code below 3000 gets the code plus 3000.
   */
  close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    try {
      this.socket.close(code, reason);
    } catch {
      try {
        this.socket.close(code < 3000 ? code + 3000 : 4000, reason);
      } catch {
        // A socket that is already gone needs no closing.
      }
    }
    this.detach();
  }

  /**
   * Idle timeout: half-way through a silence, send the probe; at its end,
   * close. Only a timestamp is updated per frame; the timer re-arms itself.
   */
  #armIdle(probed: boolean): void {
    const timeout = this.limits.idleTimeout;
    const silentFor = Date.now() - this.#lastFrameAt;
    const due = (probed ? timeout : timeout / 2) - silentFor;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#detached) return;
      const silent = Date.now() - this.#lastFrameAt;
      if (silent >= timeout) return this.close(CLOSE.idle, "idle timeout");
      if (silent >= timeout / 2 && !probed) {
        this.#send({ func: "get", type: "var", name: PROBE_NAME });
        return this.#armIdle(true);
      }
      this.#armIdle(false);
    }, Math.max(due, 1));
  }

  #send(frame: object): void {
    this.sendText(JSON.stringify(frame));
  }

  #fail(code: ErrorCodeValue, message: string, request?: object): void {
    this.#send(errorFrame(code, message, request));
  }

  /** Reports an error the other side sent that answers no call. */
  onError(listener: (error: SockSyncError) => void): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  /**
   * Handles one incoming frame. Never throws: a bad frame is answered with an
   * error frame, a failing handler with error 8. When handling goes on
   * asynchronously (a call, a list read) it returns a promise that resolves
   * once the reply, if any, was sent; it never rejects. Awaiting it is
   * optional.
   */
  receive(data: unknown): Promise<void> | undefined {
    try {
      const done = this.#receive(data);
      return done instanceof Promise ? done : undefined;
    } catch (error) {
      // Not reached by any known frame; a bug must not take the connection down.
      this.#report(error);
      return undefined;
    }
  }

  /** Tells the registry's `onError`, which must not break the peer either. */
  #report(error: unknown, message?: Message): void {
    try {
      this.#registry?.onError?.(error, { peer: this as Peer<unknown>, message });
    } catch {
      // The error hook failed too: nothing left to tell.
    }
  }

  #receive(data: unknown): Promise<void> | void {
    if (this.#detached || this.#closing) return;
    this.#lastFrameAt = Date.now();
    const limits = this.limits;
    if (typeof data === "string") {
      if (!fitsBytes(data, limits.maxFrameBytes)) {
        return this.close(CLOSE.tooLarge, "frame too large");
      }
    } else if (byteLength(data) > limits.maxFrameBytes) {
      return this.close(CLOSE.tooLarge, "frame too large");
    }
    if (!this.#bucket.take()) {
      // Refused unread: parsing it is part of the cost being limited.
      if (++this.#strikes > limits.maxRateStrikes) {
        return this.close(CLOSE.policy, "rate limit exceeded");
      }
      return this.#fail(ErrorCode.Other, "rate limit exceeded");
    }
    if (this.#bucket.level >= 0.5) this.#strikes = 0;
    if (typeof data === "string" && exceedsDepth(data, limits.maxDepth)) {
      return this.#fail(ErrorCode.InvalidJson, "too deeply nested");
    }
    const decoded = decodeFrame(data);
    if (!decoded.ok) {
      if (decoded.reply) this.#send(decoded.reply);
      return;
    }
    const message = decoded.message;
    try {
      const done = this.#dispatch(message);
      if (done) {
        return done.catch((error) => {
          try {
            this.#reportFailure(error, message);
          } catch (failure) {
            this.#report(failure, message);
          }
        });
      }
    } catch (error) {
      this.#reportFailure(error, message);
    }
  }

  /** Asks the registry's `authorize` hook; anything but `true` refuses. */
  #allowed(
    action: AccessRequest["action"],
    message: { type: AccessRequest["type"]; name: string; id?: string },
  ): boolean {
    const authorize = this.#registry?.authorize;
    if (!authorize) return true;
    const request: AccessRequest = {
      action,
      type: message.type,
      name: message.name,
    };
    if (message.id !== undefined) request.id = message.id;
    try {
      return authorize.call(this.#registry, this.context, request) === true;
    } catch (error) {
      this.#report(error);
      return false;
    }
  }

  /** Counts a new subscription of the other side; error 8 past the limit. */
  #claim(key: string): void {
    if (this.#subscriptions.has(key)) return;
    if (this.#subscriptions.size >= this.limits.maxSubscriptions) {
      throw new SockSyncError(ErrorCode.Other, "too many subscriptions");
    }
    this.#subscriptions.add(key);
  }

  #reportFailure(error: unknown, message: Message): void {
    if (isSockSyncError(error)) {
      return this.#fail(error.code, error.message, message);
    }
    this.#report(error, message);
    this.#fail(ErrorCode.Other, "internal error", message);
  }

  #dispatch(message: Message): Promise<void> | void {
    switch (message.func) {
      case "get":
        return this.#get(message);
      case "subscribe":
        return this.#subscribe(message);
      case "unsubscribe":
        return this.#unsubscribe(message);
      case "unsubscribe_all":
        return this.#unsubscribeAll();
      case "call":
        return this.#handleCall(message);
      case "return":
        return this.#handleReturn(message);
      case "error":
        return this.#handleError(message);
      default:
        return this.#applyToMirror(message);
    }
  }

  #localVar(name: string): LocalVar<unknown> {
    const found = this.#registry?.vars.get(name);
    if (!found) {
      throw new SockSyncError(ErrorCode.InvalidName, "no var with this name");
    }
    return found;
  }

  #localList(name: string): LocalList<unknown> {
    const found = this.#registry?.lists.get(name);
    if (!found) {
      throw new SockSyncError(ErrorCode.InvalidName, "no list with this name");
    }
    return found;
  }

  #get(message: MessageWithFunc<"get">): Promise<void> {
    if (!this.#allowed("get", message)) throw notSubscribed();
    // Subscriptions are checked in frame order (this peer's own record), not
    // in the groups, whose subscribes and unsubscribes are still queued.
    if (message.type === "var") {
      const local = this.#localVar(message.name);
      if (!this.#subscriptions.has(subscriptionKey("var", message.name))) {
        throw notSubscribed();
      }
      return local.sendTo(this);
    }
    const list = this.#localList(message.name);
    const viewing = this.#subscriptions.has(
      subscriptionKey("list", message.name),
    );
    if (message.id !== undefined) {
      const watching = this.#subscriptions.has(
        subscriptionKey("item", message.name, message.id),
      );
      if (!viewing && !watching) throw notSubscribed();
      return list.sendItem(this, message.id);
    }
    if (!viewing) throw notSubscribed();
    return list.moveView(this, message.page ?? 0, message.page_size);
  }

  #subscribe(message: MessageWithFunc<"subscribe">): Promise<void> | void {
    if (message.type === "function") {
      this.#claim(subscriptionKey("function", message.name));
      this.#remoteFunctions.add(message.name);
      for (const call of this.#pending.values()) {
        if (!call.sent && call.name === message.name) {
          call.sent = true;
          this.sendText(call.frame);
        }
      }
      return;
    }
    if (!this.#allowed("subscribe", message)) throw notSubscribed();
    if (message.type === "var") {
      const local = this.#localVar(message.name);
      this.#claim(subscriptionKey("var", message.name));
      this.#vars.add(local);
      return local.subscribe(this);
    }
    const list = this.#localList(message.name);
    if (message.id !== undefined) {
      const key = subscriptionKey("item", message.name, message.id);
      const isNew = !this.#subscriptions.has(key);
      this.#claim(key);
      this.#lists.add(list);
      return list.subscribeItem(this, message.id).catch((error) => {
        // An unknown id subscribed nothing: release the slot.
        if (isNew && !list.hasItem(this, message.id!)) {
          this.#subscriptions.delete(key);
        }
        throw error;
      });
    }
    this.#claim(subscriptionKey("list", message.name));
    this.#lists.add(list);
    return list.view(this, message.page ?? 0, message.page_size);
  }

  #unsubscribe(message: MessageWithFunc<"unsubscribe">): Promise<void> | void {
    if (message.type === "function") {
      this.#remoteFunctions.delete(message.name);
      this.#subscriptions.delete(subscriptionKey("function", message.name));
      return;
    }
    if (message.type === "var") {
      const local = this.#localVar(message.name);
      this.#subscriptions.delete(subscriptionKey("var", message.name));
      return local.unsubscribe(this);
    }
    const list = this.#localList(message.name);
    if (message.id !== undefined) {
      this.#subscriptions.delete(
        subscriptionKey("item", message.name, message.id),
      );
      return list.unsubscribeItem(this, message.id);
    }
    this.#subscriptions.delete(subscriptionKey("list", message.name));
    return list.unsubscribe(this);
  }

  #unsubscribeAll(): void {
    this.#remoteFunctions.clear();
    this.#subscriptions.clear();
    this.#dropSubscriptions();
  }

  #dropSubscriptions(): void {
    for (const local of this.#vars) local.unsubscribe(this);
    for (const list of this.#lists) list.drop(this);
    this.#vars.clear();
    this.#lists.clear();
  }

  #handleCall(message: MessageWithFunc<"call">): Promise<void> {
    if (!this.#allowed("call", message)) throw notSubscribed();
    const fn = this.#accepting.has(message.name)
      ? this.#registry?.functions.get(message.name)
      : undefined;
    if (!fn) throw notSubscribed();
    // Refused rather than queued: a queue would grow without bound.
    if (this.#running >= this.limits.maxConcurrentCalls) {
      throw new SockSyncError(ErrorCode.Other, "too many concurrent calls");
    }
    this.#running++;
    return this.#runCall(fn, message).finally(() => this.#running--);
  }

  async #runCall(
    fn: LocalFunction<unknown>,
    message: MessageWithFunc<"call">,
  ): Promise<void> {
    let args: unknown = message.args;
    if (fn.args) {
      const parsed = v.safeParse(fn.args, args);
      if (!parsed.success) {
        const issue = parsed.issues[0];
        const where = issue.path?.map((p) => String(p.key)).join(".");
        throw new SockSyncError(
          ErrorCode.InvalidArguments,
          where ? `invalid argument: ${where}` : "invalid arguments",
        );
      }
      args = parsed.output;
    }
    const value = await fn.handler(args, {
      peer: this as Peer<unknown>,
      context: this.context,
    });
    const frame: Record<string, unknown> = {
      func: "return",
      type: "function",
      name: message.name,
      id: message.id,
    };
    if (value !== undefined) frame.value = value;
    this.#send(frame);
  }

  #handleReturn(message: MessageWithFunc<"return">): void {
    const call = this.#pending.get(message.id);
    if (!call || call.name !== message.name) {
      throw new SockSyncError(
        ErrorCode.InvalidId,
        "no pending call with this id",
      );
    }
    this.#settle(message.id);
    call.resolve(message.value);
  }

  #handleError(message: MessageWithFunc<"error">): void {
    // The answer to our idle probe: it already counted as a sign of life.
    if (message.name === PROBE_NAME && message.id === undefined) return;
    const code =
      (message.error_code >= 1 && message.error_code <= 8
        ? message.error_code
        : ErrorCode.Other) as ErrorCodeValue;
    const error = new SockSyncError(
      code,
      message.message ?? "error from the other side",
    );
    const call = message.id === undefined ? undefined : this.#pending.get(message.id);
    if (call && (message.type === undefined || message.type === "function")) {
      this.#settle(message.id!);
      call.reject(error);
      return;
    }
    for (const listener of this.#errorListeners) listener(error);
  }

  #applyToMirror(message: MirrorFrame): void {
    if (!this.#allowed("set", message)) throw notSubscribed();
    const mirror = this.#mirrors.get(`${message.type}:${message.name}`);
    if (!mirror) throw notSubscribed();
    mirror.apply(message);
  }

  /**
   * Lets the other side call these functions of the registry (the protocol's
   * `subscribe` to a function). Without names: every function of the registry.
   */
  acceptCalls(...names: string[]): void {
    const list = names.length > 0 ? names : [...(this.#registry?.functions.keys() ?? [])];
    for (const name of list) {
      if (!this.#registry?.functions.has(name)) {
        throw new SockSyncError(
          ErrorCode.InvalidName,
          `no function named ${name}`,
        );
      }
      if (this.#accepting.has(name)) continue;
      this.#accepting.add(name);
      this.#send({ func: "subscribe", type: "function", name });
    }
  }

  /** Stops accepting calls to these functions. */
  refuseCalls(...names: string[]): void {
    for (const name of names) {
      if (this.#accepting.delete(name)) {
        this.#send({ func: "unsubscribe", type: "function", name });
      }
    }
  }

  /** Whether the other side has accepted our calls to this function. */
  canCall(name: string): boolean {
    return this.#remoteFunctions.has(name);
  }

  /**
   * Calls a function the other side provides. Waits until the other side has
   * accepted calls to it; rejects with a `SockSyncError` on an error reply,
   * on timeout (code 8) and when the connection closes (code 8).
   */
  call<R = unknown>(
    name: string,
    args?: unknown,
    options: CallOptions = {},
  ): Promise<R> {
    if (this.#detached) {
      return Promise.reject(
        new SockSyncError(ErrorCode.Other, "connection closed"),
      );
    }
    if (this.#pending.size >= this.limits.maxPendingCalls) {
      return Promise.reject(
        new SockSyncError(ErrorCode.Other, "too many pending calls"),
      );
    }
    const id = nanoid();
    const frame: Record<string, unknown> = {
      func: "call",
      type: "function",
      name,
      id,
    };
    if (args !== undefined) frame.args = args;
    const timeout = options.timeout ?? this.#callTimeout;
    return new Promise<R>((resolve, reject) => {
      const call: PendingCall = {
        name,
        frame: JSON.stringify(frame),
        resolve: resolve as (value: unknown) => void,
        reject,
        sent: false,
        timer: setTimeout(() => {
          this.#settle(id);
          reject(
            new SockSyncError(
              ErrorCode.Other,
              call.sent
                ? `call to ${name} timed out`
                : `the other side does not accept calls to ${name}`,
            ),
          );
        }, timeout),
      };
      this.#pending.set(id, call);
      if (this.#remoteFunctions.has(name)) {
        call.sent = true;
        this.sendText(call.frame);
      }
    });
  }

  #settle(id: string): void {
    const call = this.#pending.get(id);
    if (!call) return;
    clearTimeout(call.timer);
    this.#pending.delete(id);
  }

  /** Subscribes a mirror to the var or list the other side provides. */
  mirror(mirror: Mirror): void {
    this.#mirrors.set(`${mirror.type}:${mirror.name}`, mirror);
    mirror.ready = false;
    this.#send(mirror.subscribeFrame());
  }

  /** Unsubscribes a mirror. */
  unmirror(mirror: Mirror): void {
    const key = `${mirror.type}:${mirror.name}`;
    if (this.#mirrors.get(key) !== mirror) return;
    this.#mirrors.delete(key);
    this.#send({ func: "unsubscribe", type: mirror.type, name: mirror.name });
  }

  /** Asks the provider for the current value again (`get`). */
  refresh(mirror: Mirror): void {
    // A bare list `get` would move the view to page 0: keep the mirror's page.
    if (mirror.type === "list") return this.getPage(mirror, mirror.page, mirror.pageSize);
    this.#send({ func: "get", type: mirror.type, name: mirror.name });
  }

  /** Moves a list mirror's view to another page (`get` with page and page size). */
  getPage(mirror: ListMirror<unknown>, page: number, pageSize?: number): void {
    const frame: Record<string, unknown> = {
      func: "get",
      type: "list",
      name: mirror.name,
      page,
    };
    const size = pageSize ?? mirror.pageSize;
    if (size !== undefined) frame.page_size = size;
    this.#send(frame);
  }

  /**
   * Forgets the connection: drops every subscription the other side made and
   * rejects pending calls. Call it once the socket closed.
   */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#outbox.close();
    this.#subscriptions.clear();
    this.#dropSubscriptions();
    this.#accepting.clear();
    this.#remoteFunctionSet?.clear();
    if (!this.#pendingMap?.size) return;
    const closed = new SockSyncError(ErrorCode.Other, "connection closed");
    for (const [id, call] of [...this.#pendingMap]) {
      this.#settle(id);
      call.reject(closed);
    }
  }
}

function isComplete(limits: Partial<Limits> | undefined): limits is Limits {
  return limits !== undefined &&
    (Object.keys(PEER_LIMITS) as (keyof Limits)[]).every((key) => typeof limits[key] === "number");
}

/** A collision-free key: names and ids are arbitrary strings. */
function subscriptionKey(kind: string, name: string, id?: string): string {
  return JSON.stringify(id === undefined ? [kind, name] : [kind, name, id]);
}

/** The size of a binary frame, 0 for anything else (it is refused later). */
function byteLength(data: unknown): number {
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  if (typeof Blob === "function" && data instanceof Blob) return data.size;
  return 0;
}

function notSubscribed(): SockSyncError {
  // Code 1 whether or not the name exists, so a refusal reveals nothing.
  return new SockSyncError(ErrorCode.InvalidFunc, "not subscribed");
}
