/**
 * The consumer: the half of a peer that uses what the other side provides.
 * It makes this side's calls and settles them on `return` or `error`, keeps
 * this side's mirrors subscribed and fed, and hands every other error frame
 * to the application.
 *
 * @module
 */
import { nanoid } from "nanoid";
import { encodeCall, encodeGet } from "../protocol/encode.ts";
import { type ErrorCodeValue, INVALID_FUNC, INVALID_ID, OTHER, SockSyncError } from "../errors.ts";
import { type ConsumerLimits, timerDelay } from "./limits.ts";
import { itemKey, mirrorKey } from "../protocol/mirror_keys.ts";
import type { MessageWithFunc, MirrorFrame } from "../protocol/schemas.ts";
import type { ConsumerMirror, MirroredList } from "./mirrored.ts";
import { PROBE_NAME } from "../protocol/connection.ts";
import { didYouMean } from "../protocol/closest_name.ts";

/**
 * Options of a call.
 *
 * @example
 * ```ts
 * import type { CallOptions } from "./consumer.ts";
 * const options: CallOptions = { timeout: 5_000 };
 * ```
 */
export interface CallOptions {
  /**
   * Milliseconds before the call rejects with code 8, counted from `call()`.
   * Default: the `callTimeout` limit. `0` or `Infinity`: no timeout.
   */
  timeout?: number;
}

/**
 * Options of a call as a peer sends it: besides its timeout, the id to send
 * it with and whether the callee should apply it at most once (`once`: the
 * id is a unique key, and the same call sent again with it, after a
 * reconnect, gets the first answer instead of running again).
 *
 * @example
 * ```ts
 * import type { PeerCallOptions } from "./consumer.ts";
 * const options: PeerCallOptions = { id: "V1StGXR8_Z5jdHi6B-myT", once: true, timeout: 5_000 };
 * ```
 */
export interface PeerCallOptions extends CallOptions {
  /** The call's id (default: a new nanoid). */
  id?: string;
  /** Ask the callee to apply it at most once (see above). */
  once?: boolean;
}

/**
 * The rejection of a pending call whose connection closed: code 8
 * `connection closed`. `sent` tells whether its frame went out, so whether
 * the other side may have run it.
 *
 * @example
 * ```ts
 * import { ConnectionClosed } from "./consumer.ts";
 * const mayHaveRun = (error: unknown) => error instanceof ConnectionClosed && error.sent;
 * ```
 */
export class ConnectionClosed extends SockSyncError {
  /** Whether the call's frame was sent before the connection closed. */
  readonly sent: boolean;

  /**
   * The rejection of one pending call.
   *
   * @param sent whether the call's frame was sent
   */
  constructor(sent: boolean) {
    super(OTHER, "connection closed");
    this.sent = sent;
  }
}

/**
 * What an error frame was about: the `type`, `name` and `id` it echoes.
 *
 * @example
 * ```ts
 * import type { ErrorAbout } from "./consumer.ts";
 * const about: ErrorAbout = { type: "list", name: "todos" };
 * ```
 */
export interface ErrorAbout {
  /** The `type` of the request the error answers. */
  type?: string;
  /** The `name` of the request the error answers. */
  name?: string;
  /** The `id` of the request the error answers. */
  id?: string;
  /** The `params` of the list request the error answers. */
  params?: Readonly<Record<string, unknown>>;
}

/**
 * Options of a {@linkcode Consumer}.
 */
export interface ConsumerOptions {
  /** The limits of the connection (`maxPendingCalls`, `callTimeout`). */
  limits: Readonly<Pick<ConsumerLimits, "maxPendingCalls" | "callTimeout">>;
  /** Sends one encoded frame. */
  send(text: string): void;
  /** Whether the other side may change this mirror (the `set` access check). */
  allowed(frame: MirrorFrame): boolean;
}

interface PendingCall {
  readonly name: string;
  readonly frame: string;
  resolve(value: unknown): void;
  reject(error: SockSyncError): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  sent: boolean;
}

type Mirror = ConsumerMirror;
/** Told each error frame that answers no call, with the mirror it is about, if any. */
type ErrorListener = (error: SockSyncError, about: ErrorAbout, mirror?: Mirror) => void;

/**
 * This side's calls and mirrors on one connection.
 */
export class Consumer {
  readonly #options: ConsumerOptions;
  // Created on first use: a server's peer rarely mirrors or calls, and every
  // collection costs memory on each of its many idle connections.
  #mirrorMap: Map<string, Mirror> | undefined;
  #pendingMap: Map<string, PendingCall> | undefined;
  #remoteFunctionSet: Set<string> | undefined;
  #errorListenerSet: Set<ErrorListener> | undefined;
  /** Set once the other side's accepted functions are known to be complete. */
  #functionsKnown = false;
  #expecting = false;
  #detached = false;

  /** @param options the limits, how to send, and the access check of mirror frames */
  constructor(options: ConsumerOptions) {
    this.#options = options;
  }

  /** Calls `listener` with every error frame that answers no call; returns the remover. */
  onError(listener: ErrorListener): () => void {
    const listeners = this.#errorListenerSet ??= new Set();
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /**
   * Asks the other side for a sign of life (the probe). A side sends its
   * `subscribe`s to functions on connect, before it reads anything, so once
   * the probe is answered the functions it accepts calls to are all known: a
   * call to any other then fails at once with code 1 instead of waiting.
   */
  expectFunctions(session?: string): void {
    this.#expecting = true;
    this.#options.send(encodeGet("var", PROBE_NAME, { session }));
  }

  /** The other side accepts calls to `name`: sends the calls waiting for it. */
  remoteAccepts(name: string): void {
    (this.#remoteFunctionSet ??= new Set()).add(name);
    if (!this.#pendingMap) return;
    for (const call of this.#pendingMap.values()) {
      if (!call.sent && call.name === name) {
        call.sent = true;
        this.#options.send(call.frame);
      }
    }
  }

  /** The other side stopped accepting calls to `name` (or to everything, without one). */
  remoteRefuses(name?: string): void {
    if (name === undefined) this.#remoteFunctionSet?.clear();
    else this.#remoteFunctionSet?.delete(name);
  }

  /** Whether the other side has accepted calls to this function. */
  canCall(name: string): boolean {
    return this.#remoteFunctionSet?.has(name) ?? false;
  }

  /** How many functions the other side accepts calls to. */
  get remoteFunctionCount(): number {
    return this.#remoteFunctionSet?.size ?? 0;
  }

  /** Calls a function the other side provides; see `Peer.call`. */
  call<R = unknown>(name: string, args?: unknown, options: PeerCallOptions = {}): Promise<R> {
    if (this.#detached) return Promise.reject(new ConnectionClosed(false));
    const pending = this.#pendingMap ??= new Map();
    if (pending.size >= this.#options.limits.maxPendingCalls) {
      return Promise.reject(new SockSyncError(OTHER, "too many pending calls"));
    }
    if (this.#functionsKnown && !this.canCall(name)) {
      return Promise.reject(unknownFunction(name, this.#remoteFunctionSet));
    }
    const id = options.id ?? nanoid();
    if (pending.has(id)) {
      return Promise.reject(
        new SockSyncError(INVALID_ID, "a call with this id is pending"),
      );
    }
    const delay = timerDelay(options.timeout ?? this.#options.limits.callTimeout);
    return new Promise<R>((resolve, reject) => {
      const call: PendingCall = {
        name,
        frame: encodeCall(name, { id, args, once: options.once }),
        resolve: resolve as (value: unknown) => void,
        reject,
        sent: false,
        timer: delay === undefined ? undefined : setTimeout(() => {
          this.#settle(id);
          reject(
            new SockSyncError(
              OTHER,
              call.sent
                ? `call to ${name} timed out: its result is unknown`
                : `the other side does not accept calls to ${name}`,
            ),
          );
        }, delay),
      };
      pending.set(id, call);
      if (this.canCall(name)) {
        call.sent = true;
        this.#options.send(call.frame);
      }
    });
  }

  #settle(id: string): PendingCall | undefined {
    const call = this.#pendingMap?.get(id);
    if (!call) return undefined;
    clearTimeout(call.timer);
    this.#pendingMap!.delete(id);
    return call;
  }

  /** Settles the call a `return` answers. */
  handleReturn(message: MessageWithFunc<"return">): void {
    const call = this.#pendingMap?.get(message.id);
    if (call?.name !== message.name) {
      throw new SockSyncError(INVALID_ID, "no pending call with this id");
    }
    this.#settle(message.id)!.resolve(message.value);
  }

  /**
   * Takes an error frame: rejects the call it answers, or marks the mirror it
   * is about and tells the error listeners.
   */
  handleError(message: MessageWithFunc<"error">): void {
    if (message.name === PROBE_NAME && message.id === undefined) {
      // The answer to a probe: a sign of life, never the application's business.
      if (!this.#expecting) return;
      this.#expecting = false;
      this.#functionsKnown = true;
      for (const [id, call] of [...(this.#pendingMap ?? [])]) {
        if (call.sent || this.canCall(call.name)) continue;
        this.#settle(id);
        call.reject(unknownFunction(call.name, this.#remoteFunctionSet));
      }
      return;
    }
    // The fields it echoes: a decoded frame holds only those it had (valibot leaves out the rest).
    const { func: _func, error_code: code, message: text, ...about }: ErrorAbout & {
      func: string;
      error_code: number;
      message?: string;
    } = message;
    const error = new SockSyncError(
      (code >= 1 && code <= 8 ? code : OTHER) as ErrorCodeValue,
      text ?? "error from the other side",
    );
    if (message.id !== undefined && (message.type === undefined || message.type === "function")) {
      const call = this.#settle(message.id);
      if (call) return call.reject(error);
    }
    const item = message.type === "list" && message.id !== undefined
      ? this.#mirrorMap?.get(itemKey(message.name ?? "", message.id))
      : undefined;
    const mirror = item ??
      this.#mirrorMap?.get(mirrorKey(message.type, message.name, message.params));
    mirror?.fail(error);
    for (const listener of this.#errorListenerSet ?? []) listener(error, about, mirror);
  }

  /**
   * Applies a frame that changes one of this side's mirrors: a list item's
   * `set` goes to the item's mirror and to the view; a `delete` marked
   * `more` belongs to a view's change (the item may only have left the
   * page), an unmarked one goes to the item's mirror if there is one.
   */
  apply(frame: MirrorFrame): void {
    const view = this.#mirrorMap?.get(
      mirrorKey(frame.type, frame.name, (frame as { params?: unknown }).params),
    );
    const item = frame.type === "list" && (frame.func === "set" || frame.func === "delete")
      ? this.#mirrorMap?.get(itemKey(frame.name, frame.id))
      : undefined;
    // The lookups change nothing: the access check may come after them.
    if (!this.#options.allowed(frame) || (!view && !item)) throw notSubscribed();
    if (item && !(frame.func === "delete" && (frame as { more?: boolean }).more)) {
      item.apply(frame);
      if (frame.func === "delete") return;
    }
    view?.apply(frame);
  }

  /** Subscribes a mirror to the var, list or item the other side provides. */
  mirror(mirror: Mirror): void {
    (this.#mirrorMap ??= new Map()).set(mirror.key, mirror);
    mirror.ready = false;
    this.#options.send(mirror.subscribeFrame());
  }

  /** Unsubscribes a mirror. */
  unmirror(mirror: Mirror): void {
    if (this.#mirrorMap?.get(mirror.key) !== mirror) return;
    this.#mirrorMap.delete(mirror.key);
    this.#options.send(mirror.unsubscribeFrame());
  }

  /** Asks the provider for a mirror's current value again (`get`). */
  refresh(mirror: Mirror): void {
    // A bare list `get` would move the view to page 0: keep the mirror's page.
    if (mirror.type === "list" && !("id" in mirror)) return this.getPage(mirror, mirror.page);
    // A var's, or an item's with its id.
    this.#options.send(encodeGet(mirror.type, mirror.name, { id: (mirror as { id?: string }).id }));
  }

  /** Moves a list mirror's view to another page (`get` with page and page size). */
  getPage(mirror: MirroredList, page: number, pageSize?: number): void {
    this.#options.send(
      encodeGet("list", mirror.name, {
        page,
        pageSize: pageSize ?? mirror.pageSize,
        params: mirror.params,
      }),
    );
  }

  /** Rejects every pending call: the connection is gone. */
  detach(): void {
    this.#detached = true;
    this.#remoteFunctionSet?.clear();
    for (const [id, call] of [...(this.#pendingMap ?? [])]) {
      this.#settle(id);
      call.reject(new ConnectionClosed(call.sent));
    }
  }
}

/** Error 1 `not subscribed`: a frame about something this side does not mirror, or a call it does not accept. */
export function notSubscribed(): SockSyncError {
  return new SockSyncError(INVALID_FUNC, "not subscribed");
}

function unknownFunction(name: string, known: Iterable<string> = []): SockSyncError {
  return new SockSyncError(
    INVALID_FUNC,
    `unknown function ${name}: the other side provides no function by this name${
      didYouMean(name, known)
    }`,
  );
}
