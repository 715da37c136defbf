/**
 * One end of a SockSync connection. Peers are symmetric: the same class
 * serves a server's connection and a client given a hub, providing the
 * groups of its {@linkcode Registry} and mirroring groups the other side
 * provides.
 *
 * A peer is one object: its core (src/peer/peer_core.ts, with the frame
 * guard as its base) plus what this class adds, the provider (what this
 * side provides), backpressure with conflation, the session, and the idle
 * sweep every connection with the same timeout shares.
 *
 * @module
 */
import { Outbox } from "./backpressure.ts";
import { IdleSweep } from "./idle.ts";
import { type Limits, timerDelay } from "./limits.ts";
import type { Message } from "../protocol/schemas.ts";
import type { Metrics } from "./metrics.ts";
import type { SocketLike } from "./socket.ts";
import type { OutboxPart, ProviderPart } from "./parts.ts";
import { PeerCore } from "./peer_core.ts";
import { type Provided, Provider } from "./provider.ts";
import { type Authenticated, Session } from "./session.ts";

export {
  type AccessRequest,
  type CallOptions,
  ConnectionClosed,
  type ErrorAbout,
  type PeerCallOptions,
} from "./peer_core.ts";

/**
 * The groups a side provides, as a peer looks them up by name, and who may
 * use them. A `Hub` is one; a peer without a registry provides nothing.
 *
 * @example
 * ```ts
 * import type { Registry } from "./peer.ts";
 * const empty: Registry = { vars: new Map(), lists: new Map(), functions: new Map() };
 * ```
 */
export interface Registry extends Provided {
  /** Told about failures with no caller to tell, such as a handler's unexpected throw. */
  onError?(error: unknown, info: { peer: Peer<unknown>; message?: Message }): void;
  /**
   * Turns the credentials of a `socksync:auth` call into the connection's
   * new context and expiry (see `HubOptions.authenticate`); without it such
   * calls are refused with error 1.
   */
  authenticate?: (
    credentials: unknown,
    current: unknown,
  ) => Authenticated | undefined | Promise<Authenticated | undefined>;
  /** Where connections count frames, calls and closes; none: nothing is counted. */
  readonly metrics?: Metrics;
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
 *   limits: { callTimeout: 10_000 },
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
  /**
   * Limits of this connection (the timeout of its calls among them); those
   * not given come from `PEER_LIMITS` (a hub passes its own, see
   * `HubOptions.limits`).
   */
  limits?: Partial<Limits>;
  /**
   * When the context's identity expires (milliseconds since the epoch): the
   * connection then closes with 4001 unless a `socksync:auth` call renewed
   * it. Default: never.
   */
  expiresAt?: number;
}

/**
 * One end of a connection: feed it every incoming frame with
 * {@linkcode Peer.receive} and call {@linkcode Peer.detach} once the socket closed.
 *
 * @example
 * ```ts
 * import { VarMirror } from "../../mod.ts";
 * import { Peer } from "./mod.ts";
 * const ws = new WebSocket("ws://127.0.0.1:8080/ws/socksync");
 * const peer = new Peer({ socket: ws });
 * ws.onmessage = (event) => peer.receive(event.data);
 * ws.onclose = () => peer.detach();
 * ws.onopen = () => peer.mirror(new VarMirror("counter"));
 * ```
 */
export class Peer<C = unknown> extends PeerCore<C> {
  // No fields of its own but its hub's list links (src/server/peer_list.ts): the sweep is found
  // again by the timeout, the parts made on demand.
  /** The peer before it in its hub's list. @internal */
  hubPrev: Peer<unknown> | undefined = undefined;
  /** The peer after it in its hub's list. @internal */
  hubNext: Peer<unknown> | undefined = undefined;

  /**
   * One end of a connection over `options.socket`.
   *
   * @param options the socket, the groups this side provides, the context and the limits
   */
  constructor(options: PeerOptions<C>) {
    super(options);
    const timeout = this.limits.idleTimeout;
    if (timerDelay(timeout) !== undefined) IdleSweep.of(timeout).add(this);
  }

  /** The full provider, serving `registry`. @internal */
  protected provide(_registry: Provided | undefined): ProviderPart {
    return new Provider(this);
  }

  /** Backpressure with conflation of pushes. @internal */
  protected newOutbox(): OutboxPart {
    return new Outbox(this);
  }

  /** Expiry and authentication calls. @internal */
  protected newSession(): Session {
    return new Session(this);
  }

  /** See {@linkcode IdleSweep.touch}. @internal */
  protected idleTouch(now: number): void {
    IdleSweep.of(this.limits.idleTimeout).touch(this, now);
  }

  /** Leaves the idle sweep. @internal */
  protected stopGuard(): void {
    if (this.idleList !== 0) IdleSweep.of(this.limits.idleTimeout).remove(this);
  }
}
