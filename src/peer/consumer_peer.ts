/**
 * The peer of a client without a hub, which provides nothing: what `Peer`
 * does with an empty registry, written for that case alone so that a browser
 * bundle carries no provider, shared idle sweep, conflation, session,
 * metrics or registry hooks, none of which such a peer runs. Every frame the
 * other side sends is answered as a peer with no registry answers it, and
 * every limit of the connection still holds (tests/consumer_peer_test.ts
 * holds the two to the same frames and closes).
 *
 * @module
 */
import { ErrorCode, SockSyncError } from "../errors.ts";
import { CLOSE, OPEN, PROBE_NAME } from "../protocol/connection.ts";
import { decodeFrame } from "../protocol/decode.ts";
import { encodeError } from "../protocol/encode.ts";
import type { Message } from "../protocol/schemas.ts";
import { type CallOptions, Consumer, type ErrorAbout, type PeerCallOptions } from "./consumer.ts";
import { FrameGuard } from "./frame_guard.ts";
import { IdleTimer } from "./idle_timer.ts";
import { type Limits, timerDelay } from "./limits.ts";
import type { ConsumerMirror, MirroredList } from "./mirrored.ts";
import type { PeerCore } from "./peer_core.ts";
import { closeSocket, failureFrame } from "./route.ts";
import { queuedBytes, type SocketLike } from "./socket.ts";

export type { CallOptions, ErrorAbout };

/**
 * What a client uses of the peer of its connection: a {@linkcode ConsumerPeer},
 * or the `Peer` of the hub it provides.
 *
 * @internal
 */
export type ClientPeer =
  & Pick<
    PeerCore,
    | "acceptCalls"
    | "call"
    | "closedWith"
    | "detach"
    | "detached"
    | "expectFunctions"
    | "getPage"
    | "mirror"
    | "onError"
    | "receive"
    | "refresh"
    | "unmirror"
  >
  & { onDetach(listener: (peer: ClientPeer) => void): () => void };

/**
 * The peer of a client that provides nothing: the frame guard (its base), a
 * heartbeat timer of its own, the consumer, and the answers of an empty
 * registry; past `maxBufferedBytes` queued it closes (1013), and it never
 * conflates (it pushes nothing).
 *
 * @internal
 */
export class ConsumerPeer extends FrameGuard {
  /** The connection. */
  readonly socket: SocketLike;
  readonly #consumer: Consumer;
  readonly #timer: IdleTimer | undefined;
  readonly #detachListeners = new Set<(peer: ConsumerPeer) => void>();
  // Functions the other side accepts calls to: subscriptions of its, held to `maxSubscriptions`.
  readonly #held = new Set<string>();
  #session: string | undefined;
  #closedWith: { code: number; reason: string } | undefined;
  #detached = false;

  /** @param options the socket and the connection's limits (complete: see `resolveLimits`) */
  constructor(options: { socket: SocketLike; limits: Readonly<Limits> }) {
    super(options.limits);
    this.socket = options.socket;
    this.#consumer = new Consumer({
      limits: this.limits,
      send: (text) => this.sendText(text),
      allowed: () => true,
    });
    const timeout = this.limits.idleTimeout;
    if (timerDelay(timeout) !== undefined) this.#timer = new IdleTimer(this, timeout);
  }

  /** None: a client without a hub keeps no metrics. */
  get metrics(): undefined {
    return undefined;
  }

  /** The client session of the other side's first probe, if any (see `PeerCore.session`). */
  get session(): string | undefined {
    return this.#session;
  }

  /** Whether {@linkcode ConsumerPeer.detach} has run. */
  get detached(): boolean {
    return this.#detached;
  }

  /** The code and reason of the close this side started, if any. */
  get closedWith(): { code: number; reason: string } | undefined {
    return this.#closedWith;
  }

  /** Sends one encoded frame if the socket is open; closes with 1013 past `maxBufferedBytes`. */
  sendText(text: string): void {
    if (this.socket.readyState !== OPEN || this.#closedWith || this.#detached) return;
    try {
      this.socket.send(text);
    } catch {
      // A socket closing under us; its close event detaches the peer.
      return;
    }
    if (queuedBytes(this.socket) > this.limits.maxBufferedBytes) {
      this.close(CLOSE.tryAgainLater, "slow consumer: too much queued");
    }
  }

  /** Closes the connection with a code and reason, and detaches this peer. */
  close(code: number, reason: string): void {
    if (this.#closedWith) return;
    this.#closedWith = { code, reason };
    closeSocket(this.socket, code, reason);
    this.detach();
  }

  /** Handles one incoming frame; never throws (see `PeerCore.receive`). */
  receive(data: unknown): undefined {
    if (this.#detached || this.#closedWith || !this.admit(data)) return;
    const decoded = decodeFrame(data);
    if (!decoded.ok) {
      const reply = decoded.reply;
      if (reply) this.sendText(encodeError({ ...reply, code: reply.error_code }));
      return;
    }
    const message = decoded.message;
    try {
      this.#route(message);
    } catch (error) {
      this.sendText(failureFrame(error, message).frame);
    }
  }

  /** Answers as an empty registry does; this side's calls and mirrors go to the consumer. */
  #route(message: Message): void {
    const consumer = this.#consumer;
    const func = message.func;
    if (func === "return") return consumer.handleReturn(message);
    if (func === "error") return consumer.handleError(message);
    if (func === "unsubscribe_all") {
      consumer.remoteRefuses();
      return this.#held.clear();
    }
    if (func === "call") throw new SockSyncError(ErrorCode.InvalidFunc, "not subscribed");
    if (func === "get" && message.type === "var" && message.name === PROBE_NAME) {
      // The other side's session, taken from its first probe; the probe is answered as always.
      this.#session ??= message.session;
    }
    if (func === "subscribe" || func === "unsubscribe" || func === "get") {
      if (message.type !== "function") {
        throw new SockSyncError(ErrorCode.InvalidName, `no ${message.type} with this name`);
      }
      const held = this.#held;
      const name = message.name;
      if (func === "unsubscribe") {
        held.delete(name);
        return consumer.remoteRefuses(name);
      }
      if (!held.has(name) && held.size >= this.limits.maxSubscriptions) {
        throw new SockSyncError(ErrorCode.Other, "too many subscriptions");
      }
      held.add(name);
      return consumer.remoteAccepts(name);
    }
    consumer.apply(message);
  }

  /** Calls `listener` with every error the other side sent that answers no call. */
  onError(listener: (error: SockSyncError, about: ErrorAbout) => void): () => void {
    return this.#consumer.onError(listener);
  }

  /** Calls `listener` (with this peer) once this peer is detached; returns the remover. */
  onDetach(listener: (peer: ConsumerPeer) => void): () => void {
    this.#detachListeners.add(listener);
    return () => this.#detachListeners.delete(listener);
  }

  /** Accepts no calls: it provides no function (`Peer.acceptCalls` with an empty registry). */
  acceptCalls(...names: string[]): void {
    if (names.length > 0) {
      throw new SockSyncError(ErrorCode.InvalidName, `no function named ${names[0]}`);
    }
  }

  /** Accepts no calls anyway. */
  refuseCalls(..._names: string[]): void {}

  /** Asks for a sign of life, presenting `session` (see `PeerCore.expectFunctions`). */
  expectFunctions(session?: string): void {
    this.#consumer.expectFunctions(session);
  }

  /** Whether the other side has accepted our calls to this function. */
  canCall(name: string): boolean {
    return this.#consumer.canCall(name);
  }

  /** Calls a function the other side provides (see `PeerCore.call`). */
  call<R = unknown>(name: string, args?: unknown, options: PeerCallOptions = {}): Promise<R> {
    return this.#consumer.call<R>(name, args, options);
  }

  /** Subscribes a mirror to the var or list the other side provides. */
  mirror(mirror: ConsumerMirror): void {
    this.#consumer.mirror(mirror);
  }

  /** Unsubscribes a mirror. */
  unmirror(mirror: ConsumerMirror): void {
    this.#consumer.unmirror(mirror);
  }

  /** Asks the provider for the mirror's current value or page again (`get`). */
  refresh(mirror: ConsumerMirror): void {
    this.#consumer.refresh(mirror);
  }

  /** Moves a list mirror's view to another page (`get` with page and page size). */
  getPage(mirror: MirroredList, page: number, pageSize?: number): void {
    this.#consumer.getPage(mirror, page, pageSize);
  }

  /** Forgets the connection: stops the heartbeat, rejects pending calls, tells the listeners. */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.stopGuard();
    this.#held.clear();
    this.#consumer.detach();
    for (const listener of [...this.#detachListeners]) {
      try {
        listener(this);
      } catch {
        // As a peer without a registry: nobody to tell.
      }
    }
  }

  /** The timer reads `idleLast` when it wakes: nothing is rescheduled per frame. */
  protected idleTouch(now: number): void {
    this.idleLast = now;
  }

  /** Stops the heartbeat timer. */
  protected stopGuard(): void {
    this.#timer?.remove(this);
  }
}
