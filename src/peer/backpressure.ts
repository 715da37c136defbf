/**
 * Slow consumers. WebSocket has no drain event, so a connection whose
 * `bufferedAmount` grows past a threshold is marked congested and polled
 * until it drains. While congested, groups do not queue every change:
 * they leave one "flush" per subscription (the latest var value, the view's
 * current page), run once the socket drained. Past a hard cap the
 * connection is closed.
 *
 * @module
 */
import { CLOSE_TRY_AGAIN_LATER } from "../protocol/connection.ts";
import { type PeerHost, REPORT } from "./host.ts";
import { queuedBytes, type Subscriber } from "./socket.ts";

export { queuedBytes };

/**
 * A subscriber that can hold back pushed changes while its socket is
 * congested. Groups check {@linkcode isCongested} before pushing.
 *
 * @internal
 */
export interface Conflating extends Subscriber {
  /** Whether pushes should be deferred instead of sent. */
  readonly congested: boolean;
  /**
   * Remembers that `owner` (a group) has something newer for this subscriber
   * under `key`; `flush` sends it once the socket drained. A later defer with
   * the same owner and key replaces the earlier one.
   */
  defer(owner: object, key: string, flush: () => void): void;
}

/**
 * Whether pushes to this subscriber should be deferred right now.
 */
export function isCongested(subscriber: Subscriber): subscriber is Conflating {
  return (subscriber as Partial<Conflating>).congested === true &&
    typeof (subscriber as Partial<Conflating>).defer === "function";
}

/**
 * The slow-consumer state of one connection: created the first time its
 * queue is found past `congestionBytes` (most connections never are, and a
 * server keeps many idle ones), it marks the connection congested, holds
 * the deferred flushes and polls the queue until it drains. The peer
 * writes frames itself and reads the queue every so often (see
 * `Peer.sendText`), handing what it read to {@linkcode Outbox.check}.
 */
export class Outbox {
  // The peer: its socket, limits, close and error report (no closure per connection).
  readonly #host: PeerHost;
  // Keyed by the group object, then by a string the group chooses: never a plain object.
  readonly #deferred = new Map<object, Map<string, () => void>>();
  #congested = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #overflowed = false;
  #closed = false;

  /** @param host the peer: its socket and limits, closed on overflow, told about errors */
  constructor(host: PeerHost) {
    this.#host = host;
  }

  /** Whether the socket is congested: pushes are being deferred. */
  get congested(): boolean {
    return this.#congested;
  }

  /** See {@linkcode Conflating.defer}. */
  defer(owner: object, key: string, flush: () => void): void {
    if (this.#closed) return;
    let byKey = this.#deferred.get(owner);
    if (!byKey) this.#deferred.set(owner, byKey = new Map());
    byKey.set(key, flush);
    this.#startPolling();
  }

  /** Stops polling and drops every deferred flush. */
  close(): void {
    this.#closed = true;
    this.#congested = false;
    this.#deferred.clear();
    this.#stopPolling();
  }

  /**
   * The socket's queue holds `buffered` bytes: past `maxBufferedBytes` the
   * connection closes with 1013, past `congestionBytes` it is congested.
   */
  check(buffered: number): void {
    if (this.#closed) return;
    if (buffered > this.#host.limits.maxBufferedBytes) {
      if (!this.#overflowed) {
        this.#overflowed = true;
        this.#host.metrics?.slow("closed");
        this.#host.close(CLOSE_TRY_AGAIN_LATER, "slow consumer: too much queued");
      }
      return;
    }
    if (!this.#congested && buffered > this.#host.limits.congestionBytes) {
      this.#congested = true;
      this.#startPolling();
    }
  }

  #startPolling(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => this.#poll(), this.#host.limits.drainPollInterval);
  }

  #stopPolling(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #poll(): void {
    const buffered = queuedBytes(this.#host.socket);
    if (buffered > this.#host.limits.maxBufferedBytes) return this.check(buffered);
    // Drained to half the threshold: resume, so a queue hovering at the
    // threshold does not flip between the two states on every frame.
    if (buffered > this.#host.limits.congestionBytes / 2) return;
    this.#congested = false;
    this.#stopPolling();
    const flushes = [...this.#deferred.values()].flatMap((
      m,
    ) => [...m.values()]);
    this.#deferred.clear();
    for (const flush of flushes) {
      try {
        flush();
      } catch (error) {
        this.#host[REPORT](error);
      }
    }
  }
}
