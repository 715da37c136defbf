/**
 * What a hub counts and times about its connections, when asked to
 * (`new Hub({ metrics: true })`): plain numbers and fixed-bucket histograms,
 * read by an exporter (`socksync/prometheus`) or the admin page when they
 * look. Counting is a field increment on the hot paths; a hub without
 * metrics pays one `undefined` check there.
 *
 * Labels only ever come from bounded sets: declared names, error and close
 * codes, store class names. Never params or ids.
 *
 * @module
 */
import { ErrorCode, isSockSyncError } from "../errors.ts";

/**
 * Bucket bounds in seconds, Prometheus style (each bucket counts the
 * observations up to its bound), for call and store durations and feed lag.
 *
 * @example
 * ```ts
 * import { DURATION_BUCKETS } from "./metrics.ts";
 * console.log(DURATION_BUCKETS[0]); // 0.0005
 * ```
 */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
]);

/**
 * A histogram over fixed bounds: `counts[i]` observations fell in
 * `(bounds[i-1], bounds[i]]`, the last slot holds those past every bound.
 *
 * @example
 * ```ts
 * import { Histogram } from "./metrics.ts";
 * const h = new Histogram();
 * h.observe(0.003);
 * console.log(h.count, h.sum); // 1 0.003
 * ```
 */
export class Histogram {
  /** The upper bounds, ascending, in seconds. */
  readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); one more slot than bounds, for `+Inf`. */
  readonly counts: number[];
  /** The sum of every observation. */
  sum = 0;
  /** How many observations. */
  count = 0;

  /**
   * An empty histogram over these bounds.
   *
   * @param bounds the upper bounds, ascending (default {@linkcode DURATION_BUCKETS})
   */
  constructor(bounds: readonly number[] = DURATION_BUCKETS) {
    this.bounds = bounds;
    this.counts = new Array(bounds.length + 1).fill(0);
  }

  /** Records one observation (seconds). */
  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

/**
 * What slow-consumer handling did: a member found backed up `left_topic`
 * (Bun's one-to-many send), a change `conflated` (held back for a congested
 * socket, only its latest state sent later), a connection `closed` (past
 * the hard cap of queued bytes).
 *
 * @example
 * ```ts
 * import type { SlowConsumerAction } from "./metrics.ts";
 * const action: SlowConsumerAction = "conflated";
 * ```
 */
export type SlowConsumerAction = "left_topic" | "conflated" | "closed";

/**
 * The kinds of subscription counted by `socksync_subscriptions{type}`.
 *
 * @example
 * ```ts
 * import type { SubscriptionType } from "./metrics.ts";
 * const type: SubscriptionType = "item";
 * ```
 */
export type SubscriptionType = "var" | "list" | "item";

/**
 * Counters, gauges and histograms of one hub. Read them at any time; the
 * hub and its connections update them.
 *
 * @example
 * ```ts
 * import { Metrics } from "./metrics.ts";
 * const metrics = new Metrics();
 * metrics.opened();
 * metrics.sent('{"func":"set"}');
 * console.log(metrics.connections, metrics.framesSent, metrics.bytesSent); // 1 1 14
 * ```
 */
export class Metrics {
  /** Open connections now. */
  connections = 0;
  /** Connections opened so far (refused ones too: they are closed with 1013). */
  connectionsOpened = 0;
  /** Connections closed, by close code (1005 when the close frame had none). */
  readonly connectionsClosed: Map<number, number> = new Map();
  /** Subscriptions held now, by type. */
  readonly subscriptions: Record<SubscriptionType, number> = { var: 0, list: 0, item: 0 };
  /** Frames received. */
  framesReceived = 0;
  /** Frames sent (a frame published to a topic counts once per member). */
  framesSent = 0;
  /** UTF-8 bytes of the frames sent. */
  bytesSent = 0;
  /** Error frames sent, by error code. */
  readonly errorsSent: Map<number, number> = new Map();
  /** Calls answered, by function, then by outcome (`ok` or the error code). */
  readonly calls: Map<string, Map<string, number>> = new Map();
  /** Call durations, by function. */
  readonly callDurations: Map<string, Histogram> = new Map();
  /** What slow-consumer handling did, by action. */
  readonly slowConsumer: Record<SlowConsumerAction, number> = {
    left_topic: 0,
    conflated: 0,
    closed: 0,
  };
  /** Store operation durations, by store (its class name), then by operation. */
  readonly storeOperations: Map<string, Map<string, Histogram>> = new Map();
  /** From a store's change feed reporting a change to its frames sent. */
  readonly feedLag: Histogram = new Histogram();
  // Fan-out hands the same text to every subscriber: its byte length is computed once.
  #lastText = "";
  #lastBytes = 0;

  /** A connection opened. */
  opened(): void {
    this.connections++;
    this.connectionsOpened++;
  }

  /** A connection closed with this code. */
  closed(code: number): void {
    this.connections--;
    this.connectionsClosed.set(code, (this.connectionsClosed.get(code) ?? 0) + 1);
  }

  /** One frame went out. */
  sent(text: string): void {
    this.framesSent++;
    this.bytesSent += this.#bytes(text);
  }

  /** Frames went out to `members` sockets at once (a runtime's topic). */
  published(text: string | readonly string[], members: number): void {
    if (typeof text === "string") {
      this.framesSent += members;
      this.bytesSent += this.#bytes(text) * members;
      return;
    }
    for (const one of text) this.published(one, members);
  }

  /** An error frame with this code went out (counted as a frame by `sent`). */
  errorSent(code: number): void {
    this.errorsSent.set(code, (this.errorsSent.get(code) ?? 0) + 1);
  }

  /** A subscription of this kind was added (`+1`) or ended (`-1`). */
  subscribed(type: SubscriptionType, delta: 1 | -1): void {
    this.subscriptions[type] += delta;
  }

  /** Slow-consumer handling did this `times` times. */
  slow(action: SlowConsumerAction, times = 1): void {
    this.slowConsumer[action] += times;
  }

  /**
   * Counts and times a call to a declared function: resolves or rejects as
   * `run` does; the outcome is `ok` or the error code it failed with.
   */
  timeCall(name: string, run: Promise<void>): Promise<void> {
    const start = performance.now();
    return run.then(
      () => this.#called(name, "ok", start),
      (error) => {
        this.#called(name, String(isSockSyncError(error) ? error.code : ErrorCode.Other), start);
        throw error;
      },
    );
  }

  /**
   * Times a change from its store's feed until `done` (its frames sent)
   * settles, into {@linkcode Metrics.feedLag}.
   */
  timeFeed(done: Promise<unknown>): void {
    const start = performance.now();
    const observe = () => this.feedLag.observe((performance.now() - start) / 1000);
    done.then(observe, observe);
  }

  /** Records one store operation's duration in seconds. */
  storeOperation(store: string, operation: string, seconds: number): void {
    let byOperation = this.storeOperations.get(store);
    if (!byOperation) this.storeOperations.set(store, byOperation = new Map());
    let histogram = byOperation.get(operation);
    if (!histogram) byOperation.set(operation, histogram = new Histogram());
    histogram.observe(seconds);
  }

  #called(name: string, outcome: string, start: number): void {
    let outcomes = this.calls.get(name);
    if (!outcomes) this.calls.set(name, outcomes = new Map());
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    let histogram = this.callDurations.get(name);
    if (!histogram) this.callDurations.set(name, histogram = new Histogram());
    histogram.observe((performance.now() - start) / 1000);
  }

  #bytes(text: string): number {
    if (text !== this.#lastText) {
      this.#lastText = text;
      this.#lastBytes = utf8Length(text);
    }
    return this.#lastBytes;
  }
}

/**
 * The metrics a subscriber's connection reports to, if it is a peer of a hub
 * with metrics on.
 */
export function metricsOf(subscriber: object): Metrics | undefined {
  const metrics = (subscriber as { metrics?: unknown }).metrics;
  return metrics instanceof Metrics ? metrics : undefined;
}

/**
 * The kind of subscription a subscription key (see `subscriptionKey`) names.
 */
export function subscriptionType(key: string): SubscriptionType {
  const c = key.charCodeAt(2);
  return c === 0x76 ? "var" : c === 0x69 ? "item" : "list";
}

/** UTF-8 length of a string, without encoding it. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      // A surrogate pair: 4 bytes for 2 UTF-16 units.
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}
