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
import { CLOSE } from "../protocol/connection.ts";
import { type PeerHost, REPORT } from "./host.ts";
import type { Subscriber } from "./socket.ts";

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
 * The sending side of one connection: writes frames, watches
 * `bufferedAmount`, and holds deferred flushes while congested.
 */
export class Outbox {
  // The peer: its socket, limits, close and error report (no closure per connection).
  readonly #host: PeerHost;
  // Keyed by the group object, then by a string the group chooses: never a plain object.
  // Created when a socket first congests: most never do.
  #deferredMap: Map<object, Map<string, () => void>> | undefined;
  #congested = false;
  // Reading bufferedAmount costs a call into the runtime per frame; while the queue is far below
  // the threshold it is read only every 16 frames or every congestionBytes/8 characters sent.
  #sinceCheck = 0;
  #charsSinceCheck = 0;
  #lastBuffered = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #overflowed = false;
  #closed = false;

  get #deferred(): Map<object, Map<string, () => void>> {
    return this.#deferredMap ??= new Map();
  }

  /** @param host the peer: its socket and limits, closed on overflow, told about errors */
  constructor(host: PeerHost) {
    this.#host = host;
  }

  /** Whether the socket is congested: pushes are being deferred. */
  get congested(): boolean {
    return this.#congested;
  }

  /** Writes a frame if the socket is open, then checks the socket's queue. */
  send(text: string, open: boolean): void {
    if (this.#closed || !open) return;
    try {
      this.#host.socket.send(text);
    } catch (error) {
      // A socket closing under us; its close event detaches the peer.
      this.#host[REPORT](error);
      return;
    }
    const sample = this.#host.limits.congestionBytes / 8;
    this.#charsSinceCheck += text.length;
    if (
      ++this.#sinceCheck < 16 && this.#charsSinceCheck < sample && this.#lastBuffered < sample
    ) return;
    this.#sinceCheck = 0;
    this.#charsSinceCheck = 0;
    this.#check();
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
    this.#deferredMap?.clear();
    this.#stopPolling();
  }

  #buffered(): number {
    const amount = this.#host.socket.bufferedAmount;
    return typeof amount === "number" && Number.isFinite(amount) ? amount : 0;
  }

  #check(): void {
    const buffered = this.#lastBuffered = this.#buffered();
    if (buffered > this.#host.limits.maxBufferedBytes) {
      if (!this.#overflowed) {
        this.#overflowed = true;
        this.#host.metrics?.slow("closed");
        this.#host.close(CLOSE.tryAgainLater, "slow consumer: too much queued");
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
    const buffered = this.#buffered();
    if (buffered > this.#host.limits.maxBufferedBytes) return this.#check();
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
