/**
 * The core of one end of a SockSync connection: what `Peer`
 * (src/peer/peer.ts) is besides the provider, backpressure, session and
 * idle sweep it makes, one object per connection: the core asks it, through
 * abstract methods, for its provider, outbox and session and to watch it for
 * silence. A client without a hub uses neither: its peer, which provides
 * nothing, is written apart (src/peer/consumer_peer.ts) on the same
 * consumer, with a frame guard of its own (the frame cap and nesting depth,
 * no message rate), so that a browser bundle carries none of this.
 *
 * @module
 */
import type { Conflating } from "./backpressure.ts";
import { encodeError } from "../protocol/encode.ts";
import { ErrorCode, isSockSyncError, SockSyncError } from "../errors.ts";
import { type Limits, PEER_LIMITS, resolveLimits } from "./limits.ts";
import { decodeFrame } from "../protocol/decode.ts";
import type { Message } from "../protocol/schemas.ts";
import type { Metrics } from "./metrics.ts";
import { queuedBytes, type SocketLike } from "./socket.ts";
import { OPEN, PROBE_NAME } from "../protocol/connection.ts";
import { FrameGuard } from "./frame_guard.ts";
import { type PeerHost, REGISTRY, REPORT } from "./host.ts";
import {
  type CallOptions,
  ConnectionClosed,
  Consumer,
  type ErrorAbout,
  type PeerCallOptions,
} from "./consumer.ts";
import type { ConsumerMirror, MirroredList } from "./mirrored.ts";
import type { AccessRequest, Provided } from "./provider.ts";
import { FORGET, type OutboxPart, type ProviderPart } from "./parts.ts";
import { closeSocket, failureFrame, route } from "./route.ts";
import type { Authenticated, Session } from "./session.ts";
import { AUTH_NAME } from "../protocol/auth.ts";

export type { AccessRequest, CallOptions, ErrorAbout, PeerCallOptions };
export { ConnectionClosed };

/**
 * A registry as the core uses it: the public `Registry` (src/peer/peer.ts)
 * with the peer of `onError` seen as the core.
 *
 * @internal
 */
export interface CoreRegistry extends Provided {
  /** Told about failures with no caller to tell. */
  onError?(error: unknown, info: { peer: PeerCore<unknown>; message?: Message }): void;
  /** Turns the credentials of a `socksync:auth` call into the new context and expiry. */
  authenticate?: (
    credentials: unknown,
    current: unknown,
  ) => Authenticated | undefined | Promise<Authenticated | undefined>;
  /** Where connections count frames, calls and closes. */
  readonly metrics?: Metrics;
  /** Told first when one of its peers detached. */
  [FORGET]?(peer: PeerCore<unknown>): void;
}

/**
 * The options of a peer as the core takes them (see `PeerOptions` in
 * src/peer/peer.ts, whose registry is a `Registry`).
 *
 * @internal
 */
export interface CoreOptions<C> {
  /** The connection. */
  socket: SocketLike;
  /** The groups this side provides. */
  registry?: CoreRegistry;
  /** Whatever the application knows about this connection. */
  context?: C;
  /** Limits of this connection; those not given come from {@linkcode PEER_LIMITS}. */
  limits?: Partial<Limits>;
  /** When the context's identity expires (ms since the epoch). Default: never. */
  expiresAt?: number;
}

/** @internal */
type Mirror = ConsumerMirror;
// The peer's own type is left out of its private field, so that `Peer<C>` stays a `Peer<unknown>`.
// deno-lint-ignore no-explicit-any
type DetachListener = (peer: any) => void;

/**
 * What both kinds of peer share: the frame guard (its base), sending,
 * routing, the consumer, the context and detaching. Its subclass says which
 * provider, outbox and session it runs and how it is watched for silence,
 * and adds no object beside itself: a server keeps many idle connections.
 *
 * @internal
 */
export abstract class PeerCore<C = unknown> extends FrameGuard implements Conflating, PeerHost {
  /** The connection. */
  readonly socket: SocketLike;
  readonly #registry: CoreRegistry | undefined;
  // The parts hold this peer rather than closures over it: a server keeps many idle
  // connections, and each closure per connection is memory a raw WebSocket does not spend.
  // Reading the socket's queue costs a call into the runtime per frame: while it is far below
  // the threshold it is read only every 16 frames or every congestionBytes/8 characters sent.
  // What is left until the next read: each frame takes 1/16 and each character 8/congestionBytes.
  #sendBudget = 1;
  readonly #provider: ProviderPart;
  // The parts most connections of a server never use, created with the first of them.
  #rare: RareParts | undefined;
  // A server's peer has one listener (the server's; its hub is told through FORGET): kept in a
  // field, more in a Set.
  #onDetach: DetachListener | undefined;
  #context: C;
  // The client session of the other side's first probe (see `session`).
  #clientSession: string | undefined;
  #detached = false;

  /**
   * One end of a connection over `options.socket`.
   *
   * @param options the socket, the groups this side provides, the context and the limits
   */
  constructor(options: CoreOptions<C>) {
    // A hub hands every connection its one frozen, complete limits object: share it.
    super(
      Object.isFrozen(options.limits) && isComplete(options.limits)
        ? options.limits as Readonly<Limits>
        : Object.freeze(resolveLimits(options.limits, PEER_LIMITS)),
    );
    this.socket = options.socket;
    this.#context = options.context as C;
    this.#registry = options.registry;
    this.#provider = this.provide(options.registry);
    if (options.expiresAt !== undefined) this.#sessionPart?.expireAt(options.expiresAt);
  }

  /** The provider of this peer, serving `registry` (called once, by the constructor). */
  protected abstract provide(registry: Provided | undefined): ProviderPart;
  /** The outbox of this peer, made when its socket's queue is first found long. */
  protected abstract newOutbox(): OutboxPart;
  /** The session (expiry, authentication calls), made on first use; none: neither is taken. */
  protected abstract newSession(): Session | undefined;

  get #rareParts(): RareParts {
    return this.#rare ??= {
      outbox: undefined,
      session: undefined,
      consumer: undefined,
      detachListeners: undefined,
      closedWith: undefined,
    };
  }

  get #outbox(): OutboxPart {
    const rare = this.#rareParts;
    return rare.outbox ??= this.newOutbox();
  }

  get #session(): Session | undefined {
    return this.#rare?.session;
  }

  get #sessionPart(): Session | undefined {
    const rare = this.#rareParts;
    return rare.session ??= this.newSession();
  }

  /** The groups this side provides (its hub), if any. @internal */
  get [REGISTRY](): CoreRegistry | undefined {
    return this.#registry;
  }

  /** Where this connection's metrics go: its hub's, when the hub keeps them. */
  get metrics(): Metrics | undefined {
    return this.#registry?.metrics;
  }

  /**
   * The application's context of this connection: what the upgrade's
   * `context` built, or the last `socksync:auth` call (see
   * {@linkcode PeerCore.updateContext}).
   */
  get context(): C {
    return this.#context;
  }

  /** When this connection's identity expires (ms since the epoch); `undefined`: never. */
  get expiresAt(): number | undefined {
    return this.#session?.expiresAt;
  }

  /**
   * Replaces this connection's context (a refreshed or changed identity) and
   * when it expires (`undefined`: never), then re-checks every live
   * subscription against it (see {@linkcode PeerCore.recheck}).
   */
  updateContext(context: C, expiresAt?: number): void {
    this.#context = context;
    if (expiresAt !== undefined || this.#session) this.#sessionPart?.expireAt(expiresAt);
    this.recheck();
  }

  /**
   * Asks `authorize` again about every subscription the other side holds
   * (after a permission change): each one refused now ends, and the other
   * side gets error 1 `not subscribed` about it, echoing its `type`, `name`,
   * `id` and `params`. Calls are checked as they come, so none needs this.
   */
  recheck(): void {
    if (!this.#detached) this.#provider.recheck();
  }

  get #consumer(): Consumer {
    const rare = this.#rareParts;
    return rare.consumer ??= new Consumer({
      limits: this.limits,
      send: (text) => this.sendText(text),
      allowed: (frame) => this.#provider.allowed("set", frame),
    });
  }

  /**
   * The client session the other side presented on this connection (the
   * `session` of its first probe; see PROTOCOL.md, "Sessions"), if any. A
   * client keeps one for its lifetime, so it is the same on every
   * reconnect; a random secret the server never sends to anyone.
   */
  get session(): string | undefined {
    return this.#clientSession;
  }

  /** Whether {@linkcode PeerCore.detach} has run. */
  get detached(): boolean {
    return this.#detached;
  }

  /**
   * The code and reason of the close this side started ({@linkcode PeerCore.close}:
   * a limit, or 4000 when the heartbeat found the connection dead), if any.
   */
  get closedWith(): { code: number; reason: string } | undefined {
    return this.#rare?.closedWith;
  }

  /** Whether the socket is congested: changes are conflated until it drains. */
  get congested(): boolean {
    const outbox = this.#rare?.outbox;
    return outbox !== undefined && outbox.congested;
  }

  /** Sends one encoded frame if the socket is open. */
  sendText(text: string): void {
    const open = this.socket.readyState === OPEN && this.#rare?.closedWith === undefined;
    if (open && !this.#detached) this.#write(text);
    if (open && this.metrics !== undefined) this.metrics.sent(text);
  }

  /** Writes a frame, then now and then reads the socket's queue (see backpressure.ts). */
  #write(text: string): void {
    try {
      this.socket.send(text);
    } catch (error) {
      // A socket closing under us; its close event detaches the peer.
      this.#report(error);
      return;
    }
    const limits = this.limits;
    const sample = limits.congestionBytes / 8;
    if ((this.#sendBudget -= 1 / 16 + text.length / sample) > 0) return;
    const buffered = queuedBytes(this.socket);
    // Near the threshold, the queue is read after every frame.
    this.#sendBudget = buffered < sample ? 1 : 0;
    if (buffered > limits.congestionBytes || buffered > limits.maxBufferedBytes) {
      this.#outbox.check(buffered);
    }
  }

  /**
   * Holds back a change for this connection while its socket is congested;
   * see {@linkcode Conflating.defer}. Groups call it, applications need not.
   */
  defer(owner: object, key: string, flush: () => void): void {
    if (this.#detached) return;
    this.metrics?.slow("conflated");
    this.#outbox.defer(owner, key, flush);
  }

  /**
   * Closes the connection with a code and reason, and detaches this peer.
   * Used for the limits (1008, 1009, 1013, 4000); a runtime that refuses a
   * code below 3000 gets the code plus 3000.
   */
  close(code: number, reason: string): void {
    const rare = this.#rareParts;
    if (rare.closedWith !== undefined) return;
    rare.closedWith = { code, reason };
    closeSocket(this.socket, code, reason);
    this.detach(code);
  }

  /**
   * Calls `listener` with every error the other side sent that answers no
   * call (with the `type`, `name` and `id` it echoes, and the mirror it is
   * about, if any); returns the remover.
   */
  onError(
    listener: (error: SockSyncError, about: ErrorAbout, mirror?: ConsumerMirror) => void,
  ): () => void {
    return this.#consumer.onError(listener);
  }

  /** Calls `listener` (with this peer) once this peer is detached; returns the remover. */
  onDetach(listener: (peer: this) => void): () => void {
    // Added once, as to a Set.
    if (this.#onDetach === listener) return this.#remover(listener);
    if (this.#onDetach === undefined) this.#onDetach = listener;
    else {
      const rare = this.#rareParts;
      (rare.detachListeners ??= new Set()).add(listener);
    }
    return this.#remover(listener);
  }

  #remover(listener: DetachListener): () => void {
    return () => {
      if (this.#onDetach === listener) this.#onDetach = undefined;
      else this.#rare?.detachListeners?.delete(listener);
    };
  }

  /**
   * Handles one incoming frame. Never throws: a bad frame is answered with an
   * error frame, a failing handler with error 8. When handling goes on
   * asynchronously (a call, a list read) it returns a promise that resolves
   * once the reply, if any, was sent; it never rejects. Awaiting it is
   * optional.
   */
  receive(data: unknown): Promise<void> | undefined {
    if (this.#detached || this.#rare?.closedWith !== undefined) return undefined;
    if (this.metrics !== undefined) this.metrics.framesReceived++;
    if (!this.admit(data)) return undefined;
    try {
      const decoded = decodeFrame(data);
      if (!decoded.ok) {
        const reply = decoded.reply;
        if (reply) {
          this.metrics?.errorSent(reply.error_code);
          this.sendText(encodeError({ ...reply, code: reply.error_code }));
        }
        return undefined;
      }
      const message = decoded.message;
      // Taken once, before anything else can read it; the probe is then answered as always.
      if (
        message.func === "get" && message.type === "var" && message.session !== undefined &&
        message.name === PROBE_NAME
      ) {
        this.#clientSession ??= message.session;
      }
      try {
        const done = message.func === "call" && message.name === AUTH_NAME
          ? this.#authenticate(message)
          : route(message, this.#provider, () => this.#consumer);
        if (!done) return undefined;
        return done.catch((error) => {
          try {
            this.#answerFailure(error, message);
          } catch (failure) {
            this.#report(failure, message);
          }
        });
      } catch (error) {
        this.#answerFailure(error, message);
        return undefined;
      }
    } catch (error) {
      // Not reached by any known frame; a bug must not take the connection down.
      this.#report(error);
      return undefined;
    }
  }

  #authenticate(message: Message & { func: "call" }): Promise<void> {
    const authenticate = this.#registry?.authenticate;
    // The same answer as a call to a function this side does not accept.
    if (!authenticate) throw new SockSyncError(ErrorCode.InvalidFunc, "not subscribed");
    const session = this.#sessionPart;
    if (!session) throw new SockSyncError(ErrorCode.InvalidFunc, "not subscribed");
    return session.authenticate(message, authenticate);
  }

  /**
   * Tells the registry's `onError` about a failure with no caller to tell
   * (what the peer's parts report through); it must not break the peer either.
   */
  [REPORT](error: unknown): void {
    this.#report(error);
  }

  #report(error: unknown, message?: Message): void {
    try {
      this.#registry?.onError?.(error, { peer: this, message });
    } catch {
      // The error hook failed too: nothing left to tell.
    }
  }

  #answerFailure(error: unknown, message: Message): void {
    const { frame, unexpected } = failureFrame(error, message);
    if (unexpected) this.#report(error, message);
    this.metrics?.errorSent(isSockSyncError(error) ? error.code : ErrorCode.Other);
    this.sendText(frame);
  }

  /**
   * Lets the other side call these functions of the registry (the protocol's
   * `subscribe` to a function). Without names: every function of the registry.
   */
  acceptCalls(...names: string[]): void {
    this.#provider.acceptCalls(...names);
  }

  /** Stops accepting calls to these functions (the protocol's `unsubscribe`). */
  refuseCalls(...names: string[]): void {
    this.#provider.refuseCalls(...names);
  }

  /**
   * Asks the other side for a sign of life (the idle probe). Every side sends
   * its `subscribe`s to functions as soon as it connects, before it reads
   * anything (`acceptCalls` in the connect hook), so once the probe is
   * answered the functions it accepts calls to are known: from then on a call
   * to any other fails with code 1 at once instead of waiting for its
   * timeout. The client does this on every connect, with its `session`.
   *
   * @param session this client's session id, presented to the other side (see {@linkcode PeerCore.session})
   */
  expectFunctions(session?: string): void {
    this.#consumer.expectFunctions(session);
  }

  /** Whether the other side has accepted our calls to this function. */
  canCall(name: string): boolean {
    return this.#consumer.canCall(name);
  }

  /**
   * Calls a function the other side provides. Waits until the other side has
   * accepted calls to it; rejects with a `SockSyncError` on an error reply,
   * on timeout (code 8), when the connection closes (code 8), and (with
   * {@linkcode PeerCore.expectFunctions}) once the other side is known not to
   * provide it (code 1).
   */
  call<R = unknown>(name: string, args?: unknown, options: PeerCallOptions = {}): Promise<R> {
    return this.#consumer.call<R>(name, args, options);
  }

  /** Subscribes a mirror to the var or list the other side provides. */
  mirror(mirror: Mirror): void {
    this.#consumer.mirror(mirror);
  }

  /** Unsubscribes a mirror. */
  unmirror(mirror: Mirror): void {
    this.#consumer.unmirror(mirror);
  }

  /** Asks the provider for the mirror's current value or page again (`get`). */
  refresh(mirror: Mirror): void {
    this.#consumer.refresh(mirror);
  }

  /** Moves a list mirror's view to another page (`get` with page and page size). */
  getPage(mirror: MirroredList, page: number, pageSize?: number): void {
    this.#consumer.getPage(mirror, page, pageSize);
  }

  /**
   * Forgets the connection: drops every subscription the other side made,
   * rejects pending calls and tells the `onDetach` listeners. Call it once
   * the socket closed, with the close frame's code if there was one.
   */
  detach(code?: number): void {
    if (this.#detached) return;
    this.#detached = true;
    this.metrics?.closed(code ?? NO_STATUS);
    this.stopGuard();
    this.#session?.stop();
    this.#rare?.outbox?.close();
    this.#provider.detach();
    this.#rare?.consumer?.detach();
    try {
      this.#registry?.[FORGET]?.(this);
    } catch (error) {
      this.#report(error);
    }
    const listeners = [this.#onDetach, ...(this.#rare?.detachListeners ?? [])];
    for (const listener of listeners) {
      if (listener === undefined) continue;
      try {
        listener(this);
      } catch (error) {
        this.#report(error);
      }
    }
  }
}

/** The parts of a peer most connections of a server never use. */
interface RareParts {
  // Created when the socket's queue is first found past `congestionBytes`.
  outbox: OutboxPart | undefined;
  // Created when the connection's identity expires or is authenticated over the socket.
  session: Session | undefined;
  // Created on first use: a server's peer rarely mirrors or calls.
  consumer: Consumer | undefined;
  // Detach listeners past the first.
  detachListeners: Set<DetachListener> | undefined;
  // Set once this side started closing.
  closedWith: { code: number; reason: string } | undefined;
}

// The close code WebSocket reports for a close frame without one.
const NO_STATUS = 1005;

function isComplete(limits: Partial<Limits> | undefined): limits is Limits {
  return limits !== undefined &&
    (Object.keys(PEER_LIMITS) as (keyof Limits)[]).every((key) => typeof limits[key] === "number");
}
