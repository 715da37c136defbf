/**
 * The peer of a client without a hub, which provides nothing: what `Peer`
 * does with an empty registry, written for that case alone so that a browser
 * bundle carries no provider, shared idle sweep, conflation, session,
 * metrics, registry hooks or message rate limit, none of which such a peer
 * runs. Every frame the other side sends is answered as a peer with no
 * registry answers it, and every limit it takes still holds
 * (tests/consumer_peer_test.ts holds the two to the same frames and closes).
 *
 * @module
 */
import { INVALID_JSON, INVALID_NAME, OTHER, SockSyncError } from "../errors.ts";
import {
  CLOSE_IDLE,
  CLOSE_TOO_LARGE,
  CLOSE_TRY_AGAIN_LATER,
  OPEN,
  PROBE_NAME,
} from "../protocol/connection.ts";
import { decodeFrame, type ErrorFrame, errorFrame } from "../protocol/decode.ts";
import { encodeGet } from "../protocol/encode.ts";
import type { Message } from "../protocol/schemas.ts";
import { type CallOptions, Consumer, type ErrorAbout, notSubscribed } from "./consumer.ts";
import { idleClock } from "./idle.ts";
import { IdleTimer, type TimedMember } from "./idle_timer.ts";
import {
  type ConsumerLimits,
  exceedsDepth,
  fitsBytes,
  type Limits,
  resolveConsumerLimits,
  timerDelay,
} from "./limits.ts";
import type { PeerCore } from "./peer_core.ts";
import { closeSocket, failureReply } from "./route.ts";
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
 * What a client's connections are made of: their limits, and the peer of
 * each socket (a hub's, or a `ConsumerPeer` without a hub).
 *
 * @internal
 */
export interface ClientSide {
  /** The limits of every connection of the client. */
  readonly limits: Readonly<ConsumerLimits & Partial<Limits>>;
  /** The peer of a socket that opened. */
  peer(socket: SocketLike): ClientPeer;
}

/**
 * The peer of a client that provides nothing: the consumer (its base), a
 * frame guard and a heartbeat timer of its own, and the answers of an empty
 * registry; past `maxBufferedBytes` queued it closes (1013), and it never
 * conflates (it pushes nothing). Its guard holds the frame cap (1009) and
 * the nesting depth (error 7) as the server's `FrameGuard` does; it has no
 * message rate limit (a client without a hub takes none: see
 * `resolveConsumerLimits`).
 *
 * @internal
 */
export class ConsumerPeer extends Consumer implements TimedMember {
  /** The connection. */
  readonly socket: SocketLike;
  /** The limits this connection runs under. */
  readonly limits: Readonly<ConsumerLimits>;
  /** See {@linkcode TimedMember}; read by the heartbeat timer when it wakes. @internal */
  idleLast: number = idleClock();
  readonly #timer: IdleTimer | undefined;
  readonly #detachListeners = new Set<(peer: ConsumerPeer) => void>();
  #session: string | undefined;
  #closedWith: { code: number; reason: string } | undefined;
  #detached = false;

  /** @param options the socket and the connection's limits (see `resolveConsumerLimits`) */
  constructor(options: { socket: SocketLike; limits: Readonly<ConsumerLimits> }) {
    const limits = options.limits;
    super({ limits, send: (text) => this.sendText(text), allowed: () => true });
    this.socket = options.socket;
    this.limits = limits;
    const timeout = limits.idleTimeout;
    if (timerDelay(timeout) !== undefined) this.#timer = new IdleTimer(this, timeout);
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
      this.close(CLOSE_TRY_AGAIN_LATER, "slow consumer: too much queued");
    }
  }

  /** Closes the connection with a code and reason, and detaches this peer. */
  close(code: number, reason: string): void {
    if (this.#closedWith) return;
    this.#closedWith = { code, reason };
    closeSocket(this.socket, code, reason);
    this.detach();
  }

  /** Half the idle timeout passed in silence: asks for a sign of life. @internal */
  probe(): void {
    // Sends nothing once detached or closed.
    this.sendText(encodeGet("var", PROBE_NAME));
  }

  /** The idle timeout passed in silence: closes with 4000. @internal */
  expire(): void {
    if (!this.#detached) this.close(CLOSE_IDLE, "idle timeout");
  }

  /**
   * Handles one incoming frame; never throws (see `PeerCore.receive`). The
   * frame is checked before it is parsed as `FrameGuard.admit` checks it:
   * past `maxFrameBytes` the connection closes with 1009; nested deeper
   * than `maxDepth` it is answered with error 7, echoing its `type`, `name`
   * and `id` (an error frame is never answered). Unlike the server's guard,
   * which finds those fields without parsing, it reads them with `JSON.parse`:
   * a deep frame that is not JSON as well is answered without them.
   */
  receive(data: unknown): undefined {
    if (this.#detached || this.#closedWith) return;
    // The timer reads `idleLast` when it wakes: nothing is rescheduled per frame.
    this.idleLast = idleClock();
    const { maxFrameBytes, maxDepth } = this.limits;
    if (
      typeof data === "string"
        ? !fitsBytes(data, maxFrameBytes)
        // ArrayBuffer and its views, Blob: a binary frame, refused unread (error 7) if it fits.
        : ((data as { byteLength?: number })?.byteLength ?? (data as Blob)?.size ?? 0) >
          maxFrameBytes
    ) {
      this.close(CLOSE_TOO_LARGE, "frame too large");
      return;
    }
    let reply: ErrorFrame | undefined;
    if (typeof data === "string" && exceedsDepth(data, maxDepth)) {
      // Parsed only to read the fields it echoes; nothing recursive walks the result. Text that is
      // not JSON (or too deep for the engine's parser, which then throws) is answered without
      // them, where the server's field peek may still find some.
      let refused: { func?: unknown; type?: unknown; name?: unknown; id?: unknown } | undefined;
      try {
        refused = JSON.parse(data);
      } catch {
        // Answered without them.
      }
      // Its `type`, `name` and `id` when strings, as the server's guard echoes: not its `params`.
      if (refused?.func !== "error") {
        const { type, name, id } = refused ?? {};
        reply = errorFrame(INVALID_JSON, "too deeply nested", { type, name, id });
      }
    } else {
      const decoded = decodeFrame(data);
      if (!decoded.ok) reply = decoded.reply;
      else {
        try {
          this.#route(decoded.message);
        } catch (error) {
          reply = failureReply(error, decoded.message);
        }
      }
    }
    // An error frame's fields are in the order `encodeError` writes them.
    if (reply) this.sendText(JSON.stringify(reply));
  }

  /** Answers as an empty registry does; this side's calls and mirrors go to the consumer. */
  #route(message: Message): void {
    const func = message.func;
    if (func === "return") return this.handleReturn(message);
    if (func === "error") return this.handleError(message);
    if (func === "unsubscribe_all") return this.remoteRefuses();
    if (func === "call") throw notSubscribed();
    if (func === "subscribe" || func === "unsubscribe" || func === "get") {
      if (message.type !== "function") {
        // The other side's session, taken from its first probe (of its frames only a var `get`
        // carries one); the probe is answered as always.
        if (message.name === PROBE_NAME) {
          this.#session ??= (message as { session?: string }).session;
        }
        throw new SockSyncError(INVALID_NAME, `no ${message.type} with this name`);
      }
      const name = message.name;
      if (func === "unsubscribe") return this.remoteRefuses(name);
      // The functions the other side accepts calls to count among its subscriptions.
      if (!this.canCall(name) && this.remoteFunctionCount >= this.limits.maxSubscriptions) {
        throw new SockSyncError(OTHER, "too many subscriptions");
      }
      return this.remoteAccepts(name);
    }
    this.apply(message);
  }

  /** Calls `listener` (with this peer) once this peer is detached; returns the remover. */
  onDetach(listener: (peer: ConsumerPeer) => void): () => void {
    this.#detachListeners.add(listener);
    return () => this.#detachListeners.delete(listener);
  }

  /** Accepts no calls: it provides no function (`Peer.acceptCalls` with an empty registry). */
  acceptCalls(...names: string[]): void {
    if (names.length > 0) {
      throw new SockSyncError(INVALID_NAME, `no function named ${names[0]}`);
    }
  }

  /** Accepts no calls anyway. */
  refuseCalls(..._names: string[]): void {}

  /** Forgets the connection: stops the heartbeat, rejects pending calls, tells the listeners. */
  override detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#timer?.remove(this);
    super.detach();
    for (const listener of [...this.#detachListeners]) {
      try {
        listener(this);
      } catch {
        // As a peer without a registry: nobody to tell.
      }
    }
  }
}

/**
 * The side of a client without a hub: the limits it applies (`given` over
 * `CONSUMER_LIMITS`, see `resolveConsumerLimits`) and a {@linkcode ConsumerPeer}
 * on each socket.
 *
 * @internal
 */
export function consumerSide(given: Partial<Limits> | undefined): ClientSide {
  const limits = resolveConsumerLimits(given);
  return { limits, peer: (socket) => new ConsumerPeer({ socket, limits }) };
}
