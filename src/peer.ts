/**
 * One end of a SockSync connection. Peers are symmetric: the same class
 * serves a server's connection and a client, providing the groups of its
 * {@linkcode Registry} and mirroring groups the other side provides.
 *
 * @module
 */
import { nanoid } from "nanoid";
import * as v from "valibot";
import {
  ErrorCode,
  type ErrorCodeValue,
  isSockSyncError,
  SockSyncError,
} from "./errors.ts";
import type { LocalFunction } from "./local_function.ts";
import type { LocalList } from "./local_list.ts";
import type { LocalVar } from "./local_var.ts";
import type { ListMirror, MirrorFrame, VarMirror } from "./mirror.ts";
import {
  decodeFrame,
  errorFrame,
  type Message,
  type MessageWithFunc,
} from "./protocol.ts";
import { OPEN, type SocketLike, type Subscriber } from "./socket.ts";

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
  /** Default timeout of outgoing calls in milliseconds. Default 30,000. */
  callTimeout?: number;
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
export class Peer<C = unknown> implements Subscriber {
  /** The connection. */
  readonly socket: SocketLike;
  /** The application's context of this connection. */
  readonly context: C;
  readonly #registry: Registry | undefined;
  readonly #callTimeout: number;
  // Every key below comes from the wire, so only Maps and Sets hold them.
  readonly #vars = new Set<LocalVar<unknown>>();
  readonly #lists = new Set<LocalList<unknown>>();
  readonly #accepting = new Set<string>();
  readonly #remoteFunctions = new Set<string>();
  readonly #mirrors = new Map<string, Mirror>();
  readonly #pending = new Map<string, PendingCall>();
  readonly #errorListeners = new Set<(error: SockSyncError) => void>();
  #detached = false;

  /** @param options the socket, the groups this side provides, and the context */
  constructor(options: PeerOptions<C>) {
    this.socket = options.socket;
    this.context = options.context as C;
    this.#registry = options.registry;
    this.#callTimeout = options.callTimeout ?? 30_000;
  }

  /** Whether {@linkcode Peer.detach} has run. */
  get detached(): boolean {
    return this.#detached;
  }

  /** Sends one encoded frame if the socket is open. */
  sendText(text: string): void {
    if (this.socket.readyState === OPEN) this.socket.send(text);
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
   * error frame, a failing handler with error 8.
   */
  receive(data: unknown): void {
    if (this.#detached) return;
    const decoded = decodeFrame(data);
    if (!decoded.ok) {
      if (decoded.reply) this.#send(decoded.reply);
      return;
    }
    const message = decoded.message;
    try {
      const done = this.#dispatch(message);
      if (done) done.catch((error) => this.#reportFailure(error, message));
    } catch (error) {
      this.#reportFailure(error, message);
    }
  }

  #reportFailure(error: unknown, message: Message): void {
    if (isSockSyncError(error)) {
      return this.#fail(error.code, error.message, message);
    }
    this.#registry?.onError?.(error, { peer: this as Peer<unknown>, message });
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
    if (message.type === "var") {
      const local = this.#localVar(message.name);
      if (!local.has(this)) throw notSubscribed();
      return local.sendTo(this);
    }
    const list = this.#localList(message.name);
    if (message.id !== undefined) {
      if (!list.hasView(this) && !list.hasItem(this, message.id)) {
        throw notSubscribed();
      }
      return list.sendItem(this, message.id);
    }
    if (!list.hasView(this)) throw notSubscribed();
    return list.view(this, message.page ?? 0, message.page_size);
  }

  #subscribe(message: MessageWithFunc<"subscribe">): Promise<void> | void {
    if (message.type === "function") {
      this.#remoteFunctions.add(message.name);
      for (const call of this.#pending.values()) {
        if (!call.sent && call.name === message.name) {
          call.sent = true;
          this.sendText(call.frame);
        }
      }
      return;
    }
    if (message.type === "var") {
      const local = this.#localVar(message.name);
      this.#vars.add(local);
      return local.subscribe(this);
    }
    const list = this.#localList(message.name);
    this.#lists.add(list);
    if (message.id !== undefined) return list.subscribeItem(this, message.id);
    return list.view(this, message.page ?? 0, message.page_size);
  }

  #unsubscribe(message: MessageWithFunc<"unsubscribe">): Promise<void> | void {
    if (message.type === "function") {
      this.#remoteFunctions.delete(message.name);
      return;
    }
    if (message.type === "var") {
      return this.#localVar(message.name).unsubscribe(this);
    }
    const list = this.#localList(message.name);
    if (message.id !== undefined) return list.unsubscribeItem(this, message.id);
    return list.unsubscribe(this);
  }

  #unsubscribeAll(): void {
    this.#remoteFunctions.clear();
    this.#dropSubscriptions();
  }

  #dropSubscriptions(): void {
    for (const local of this.#vars) local.unsubscribe(this);
    for (const list of this.#lists) list.drop(this);
    this.#vars.clear();
    this.#lists.clear();
  }

  async #handleCall(message: MessageWithFunc<"call">): Promise<void> {
    const fn = this.#accepting.has(message.name)
      ? this.#registry?.functions.get(message.name)
      : undefined;
    if (!fn) throw notSubscribed();
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
    const code =
      (message.error_code >= 1 && message.error_code <= 8
        ? message.error_code
        : ErrorCode.Other) as ErrorCodeValue;
    const error = new SockSyncError(
      code,
      message.message ?? "error from the other side",
    );
    const call = message.id === undefined
      ? undefined
      : this.#pending.get(message.id);
    if (call && (message.type === undefined || message.type === "function")) {
      this.#settle(message.id!);
      call.reject(error);
      return;
    }
    for (const listener of this.#errorListeners) listener(error);
  }

  #applyToMirror(message: MirrorFrame): void {
    const mirror = this.#mirrors.get(`${message.type}:${message.name}`);
    if (!mirror) throw notSubscribed();
    mirror.apply(message);
  }

  /**
   * Lets the other side call these functions of the registry (the protocol's
   * `subscribe` to a function). Without names: every function of the registry.
   */
  acceptCalls(...names: string[]): void {
    const list = names.length > 0
      ? names
      : [...(this.#registry?.functions.keys() ?? [])];
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
    this.#dropSubscriptions();
    this.#accepting.clear();
    this.#remoteFunctions.clear();
    const closed = new SockSyncError(ErrorCode.Other, "connection closed");
    for (const [id, call] of [...this.#pending]) {
      this.#settle(id);
      call.reject(closed);
    }
  }
}

function notSubscribed(): SockSyncError {
  // Code 1 whether or not the name exists, so a refusal reveals nothing.
  return new SockSyncError(ErrorCode.InvalidFunc, "not subscribed");
}
