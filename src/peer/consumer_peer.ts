/**
 * The peer of a client without a hub, which provides nothing: what `Peer`
 * does with an empty registry, without carrying the provider, the shared
 * idle sweep and the conflation of pushes, none of which such a peer runs. Every frame the other side sends is answered as a peer with no
 * registry answers it, and every limit of the connection still holds.
 *
 * @module
 */
import { ErrorCode, SockSyncError } from "../errors.ts";
import { CLOSE } from "../protocol/connection.ts";
import type { MessageWithFunc } from "../protocol/schemas.ts";
import type { PeerHost } from "./host.ts";
import { IdleTimer } from "./idle_timer.ts";
import { timerDelay } from "./limits.ts";
import type { OutboxPart, ProviderPart } from "./parts.ts";
import { type CoreOptions, PeerCore } from "./peer_core.ts";

/**
 * The provider of a peer that provides nothing: every request for a var,
 * list or function gets the answer an empty registry gives; what it still
 * keeps is the count of the functions the other side accepts calls to
 * (`maxSubscriptions`).
 */
class NoProvider implements ProviderPart {
  readonly #host: PeerHost;
  #held: Set<string> | undefined;

  constructor(host: PeerHost) {
    this.#host = host;
  }

  get(message: MessageWithFunc<"get">): never {
    throw noSuch(message.type);
  }

  subscribe(message: { type: "var" | "list" }): never {
    throw noSuch(message.type);
  }

  unsubscribe(message: { type: "var" | "list" }): never {
    throw noSuch(message.type);
  }

  unsubscribeAll(): void {
    this.#held?.clear();
  }

  call(): never {
    throw new SockSyncError(ErrorCode.InvalidFunc, "not subscribed");
  }

  claim(key: string): void {
    const held = this.#held ??= new Set();
    if (held.has(key)) return;
    if (held.size >= this.#host.limits.maxSubscriptions) {
      throw new SockSyncError(ErrorCode.Other, "too many subscriptions");
    }
    held.add(key);
  }

  release(key: string): void {
    this.#held?.delete(key);
  }

  allowed(): boolean {
    return true;
  }

  recheck(): void {}

  detach(): void {
    this.unsubscribeAll();
  }

  acceptCalls(...names: string[]): void {
    if (names.length > 0) {
      throw new SockSyncError(ErrorCode.InvalidName, `no function named ${names[0]}`);
    }
  }

  refuseCalls(): void {}
}

function noSuch(type: string): SockSyncError {
  return new SockSyncError(ErrorCode.InvalidName, `no ${type} with this name`);
}

/**
 * The outbox of a peer that pushes nothing: past `maxBufferedBytes` it
 * closes the connection (1013), and it never conflates (nothing is pushed).
 */
class DirectOutbox implements OutboxPart {
  readonly #host: PeerHost;
  #closed = false;
  readonly congested = false;

  constructor(host: PeerHost) {
    this.#host = host;
  }

  check(buffered: number): void {
    if (this.#closed || buffered <= this.#host.limits.maxBufferedBytes) return;
    this.#closed = true;
    this.#host.close(CLOSE.tryAgainLater, "slow consumer: too much queued");
  }

  defer(_owner: object, _key: string, flush: () => void): void {
    // Never congested, so never asked; sent at once if it were.
    flush();
  }

  close(): void {
    this.#closed = true;
  }
}

/**
 * The peer of a client that provides nothing: the core with a heartbeat
 * timer of its own, an outbox without conflation, no provider and no
 * session (it takes no authentication calls).
 *
 * @internal
 */
export class ConsumerPeer<C = unknown> extends PeerCore<C> {
  #timer: IdleTimer | undefined;

  /** @param options the socket, the context and the limits (a registry is not served) */
  constructor(options: CoreOptions<C>) {
    super(options);
    const timeout = this.limits.idleTimeout;
    if (timerDelay(timeout) !== undefined) this.#timer = new IdleTimer(this, timeout);
  }

  /** Answers as an empty registry does. */
  protected provide(): ProviderPart {
    return new NoProvider(this);
  }

  /** Closes past `maxBufferedBytes`. */
  protected newOutbox(): OutboxPart {
    return new DirectOutbox(this);
  }

  /** None: a client without a hub takes no authentication calls. */
  protected newSession(): undefined {
    return undefined;
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
