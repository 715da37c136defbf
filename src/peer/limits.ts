/**
 * Per-connection limits: their options and documented defaults, the token
 * bucket behind the message rate limit, and the JSON nesting scan that runs
 * before a frame is parsed.
 *
 * @module
 */

/**
 * Every limit a {@linkcode Hub} applies to each connection (and `serve()` to
 * the server). All are optional in the options; see
 * {@linkcode DEFAULT_LIMITS} for the defaults. `Infinity` turns a limit off;
 * for the two timers, `callTimeout` and `idleTimeout`, so does `0`.
 * `drainPollInterval` is not a limit: it must be a finite number above 0.
 *
 * @example
 * ```ts
 * import type { Limits } from "./limits.ts";
 * const strict: Partial<Limits> = { maxFrameBytes: 64 * 1024, messageRate: 20 };
 * ```
 */
export interface Limits {
  /** Largest incoming frame in bytes (UTF-8). Beyond it the connection closes with 1009. */
  maxFrameBytes: number;
  /** Deepest nesting of arrays and objects in an incoming frame. Beyond it: error 7, the frame is dropped. */
  maxDepth: number;
  /**
   * Subscriptions the other side may hold on one connection: vars, list
   * views, list items and functions it accepts calls to. Beyond it: error 8.
   */
  maxSubscriptions: number;
  /**
   * Distinct live queries (a parameterized list with one params) the other
   * side may hold open on one connection, through views and item
   * subscriptions alike. Each query open costs the server about 10 KB
   * before its rows. Beyond it: error 8 `too many live queries`.
   */
  maxLiveQueries: number;
  /**
   * Live queries open on the whole hub, over all its connections and
   * parameterized lists (a query shared by many connections counts once).
   * Beyond it a subscribe that would open one more gets error 8
   * `server busy: too many live queries`.
   */
  maxHubLiveQueries: number;
  /** Calls this side may have waiting for an answer on one connection. Beyond it `call()` rejects with code 8. */
  maxPendingCalls: number;
  /** Function handlers running at once for one connection. Beyond it: error 8 (the call is not queued). */
  maxConcurrentCalls: number;
  /**
   * Milliseconds before an outgoing call rejects with code 8, unless the call
   * gives its own `timeout`. `0` or `Infinity`: calls wait for their answer.
   */
  callTimeout: number;
  /** Frames per second a connection may send on average (the token bucket's refill rate). */
  messageRate: number;
  /** Frames a connection may send in one burst (the token bucket's size). */
  messageBurst: number;
  /**
   * Frames refused by the rate limit (each answered with error 8) before the
   * connection closes with 1008. The count restarts once the bucket is at
   * least half full again, so only a sender that keeps exceeding the rate is
   * closed.
   */
  maxRateStrikes: number;
  /**
   * The heartbeat: milliseconds without any incoming frame after which the
   * connection counts as dead and closes with 4000 ("idle timeout"). After
   * half of it in silence the peer sends a probe that every conforming peer
   * answers, so a live but quiet peer stays connected and a dead one (a
   * half-open TCP connection that never errors) is noticed within this time.
   * Default 15,000 on a hub, 10,000 on a client ({@linkcode CLIENT_LIMITS}).
   * `0` or `Infinity`: no heartbeat (no timer, no probe).
   */
  idleTimeout: number;
  /**
   * Bytes queued on the socket (`bufferedAmount`) above which the connection
   * counts as congested: var changes are conflated to the latest value and
   * list views collapse into one `set_all`, sent once it drains.
   */
  congestionBytes: number;
  /** Bytes queued on the socket beyond which a slow consumer is closed with 1013. */
  maxBufferedBytes: number;
  /** Milliseconds between checks of `bufferedAmount` while congested (there is no drain event). */
  drainPollInterval: number;
  /** Open WebSocket connections per server; beyond it upgrades are refused with 503. */
  maxConnections: number;
}

/**
 * The defaults a {@linkcode Hub} applies.
 *
 * @example
 * ```ts
 * import { DEFAULT_LIMITS } from "./limits.ts";
 * console.log(DEFAULT_LIMITS.maxFrameBytes); // 1048576
 * ```
 */
export const DEFAULT_LIMITS: Readonly<Limits> = /* @__PURE__ */ Object.freeze({
  maxFrameBytes: 1024 * 1024,
  maxDepth: 32,
  maxSubscriptions: 1_000,
  // 100 queries of ~10 KB: about 1 MB per connection before rows.
  maxLiveQueries: 100,
  // About 100 MB of open queries before their rows, however many connections ask.
  maxHubLiveQueries: 10_000,
  maxPendingCalls: 1_000,
  maxConcurrentCalls: 32,
  callTimeout: 30_000,
  messageRate: 100,
  messageBurst: 500,
  maxRateStrikes: 500,
  idleTimeout: 15_000,
  congestionBytes: 1024 * 1024,
  // Below Bun's default backpressure limit (16 MiB), where Bun starts dropping frames.
  maxBufferedBytes: 8 * 1024 * 1024,
  drainPollInterval: 25,
  maxConnections: 10_000,
});

/**
 * The limits a client without a hub applies: its peer provides nothing, so
 * of every limit only those on what it receives (frame size, nesting depth,
 * the functions the other side accepts calls to), on its own calls, its
 * heartbeat and its send queue hold. A client without a hub refuses the
 * others (`resolveConsumerLimits`).
 */
export type ConsumerLimits = Pick<
  Limits,
  | "maxFrameBytes"
  | "maxDepth"
  | "maxSubscriptions"
  | "maxPendingCalls"
  | "callTimeout"
  | "idleTimeout"
  | "maxBufferedBytes"
>;

/**
 * {@linkcode CLIENT_LIMITS} as a client without a hub takes them: a browser
 * bundle of the client carries only these.
 *
 * @internal
 */
export const CONSUMER_LIMITS: Readonly<ConsumerLimits> = Object.freeze({
  maxFrameBytes: 64 * 1024 * 1024,
  maxDepth: 256,
  maxSubscriptions: Infinity,
  maxPendingCalls: Infinity,
  callTimeout: 30_000,
  idleTimeout: 10_000,
  maxBufferedBytes: Infinity,
});

/**
 * The defaults of a client's connection: {@linkcode PEER_LIMITS} with the
 * heartbeat on, so a dead connection is noticed within 10 s (a probe after
 * 5 s of silence, closed after 10 s) and the client reconnects. A client
 * with a `hub` takes its `limits` over all of these; one without takes only
 * the seven it applies (`maxFrameBytes`, `maxDepth`, `maxSubscriptions`,
 * `maxPendingCalls`, `callTimeout`, `idleTimeout`, `maxBufferedBytes`) and
 * refuses the others with a `RangeError`, so give it those, not a spread of
 * this object.
 *
 * @example
 * ```ts
 * import { CLIENT_LIMITS } from "./limits.ts";
 * console.log(CLIENT_LIMITS.idleTimeout); // 10000
 * ```
 */
export const CLIENT_LIMITS: Readonly<Limits> = /* @__PURE__ */ trustingLimits(10_000);

/**
 * The defaults of a bare {@linkcode Peer} (a client's, or one built without a
 * hub): it trusts the side it connected to, so only the limits that protect
 * memory apply, and it has no heartbeat ({@linkcode CLIENT_LIMITS} without it).
 *
 * @example
 * ```ts
 * import { PEER_LIMITS } from "./limits.ts";
 * console.log(PEER_LIMITS.messageRate); // Infinity
 * ```
 */
export const PEER_LIMITS: Readonly<Limits> = /* @__PURE__ */ trustingLimits(0);

// The limits of a side that trusts the other: only those that protect memory. A function rather
// than a spread of one into the other, so that a bundle using neither drops both.
function trustingLimits(idleTimeout: number): Readonly<Limits> {
  return Object.freeze({
    maxFrameBytes: 64 * 1024 * 1024,
    maxDepth: 256,
    maxSubscriptions: Infinity,
    maxLiveQueries: Infinity,
    maxHubLiveQueries: Infinity,
    maxPendingCalls: Infinity,
    maxConcurrentCalls: Infinity,
    callTimeout: 30_000,
    messageRate: Infinity,
    messageBurst: Infinity,
    maxRateStrikes: Infinity,
    idleTimeout,
    congestionBytes: 1024 * 1024,
    maxBufferedBytes: Infinity,
    drainPollInterval: 25,
    maxConnections: Infinity,
  });
}

/**
 * Fills in the limits not given, from `defaults`, and checks the given ones.
 */
export function resolveLimits(
  given: Partial<Limits> | undefined,
  defaults: Readonly<Limits>,
): Limits {
  const limits: Limits = { ...defaults };
  for (const key of Object.keys(defaults) as (keyof Limits)[]) {
    const value = given?.[key];
    if (value === undefined) continue;
    checkLimit(key, value);
    if (key === "drainPollInterval" && !(value > 0 && value < Infinity)) {
      throw new RangeError("socksync: drainPollInterval must be a finite number > 0");
    }
    limits[key] = value;
  }
  return limits;
}

/**
 * The limits of a client without a hub: over {@linkcode CONSUMER_LIMITS}, the
 * given ones checked. One it would not apply is refused (a `RangeError`
 * naming it) rather than ignored. (A client with a hub takes its limits over
 * {@linkcode CLIENT_LIMITS} from the hub, so that one without a hub does not
 * carry them.)
 */
export function resolveConsumerLimits(
  given: Partial<Limits> | undefined,
): Readonly<ConsumerLimits> {
  const limits: ConsumerLimits = { ...CONSUMER_LIMITS };
  for (const key in given) {
    const value = given[key as keyof Limits];
    if (value === undefined) continue;
    if (!(key in limits)) {
      // Names the ones it takes: the key may be a typo as well as a hub's limit.
      throw new RangeError(
        `socksync: a client without a hub takes no limit ${key} (it takes ${
          Object.keys(limits).join(", ")
        }; the others need the hub option)`,
      );
    }
    checkLimit(key, value);
    limits[key as keyof ConsumerLimits] = value;
  }
  return Object.freeze(limits);
}

function checkLimit(key: string, value: unknown): asserts value is number {
  // NaN is not >= 0 either.
  if (typeof value !== "number" || !(value >= 0)) {
    throw new RangeError(`socksync: limit ${key} must be a number >= 0`);
  }
}

/** The longest delay timers take: a longer one fires at once on every runtime. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * The delay to give `setTimeout` for a timer setting in milliseconds, or
 * `undefined` when the setting turns the timer off (`0` or `Infinity`). Delays
 * past what timers take (about 24.8 days) are capped, since runtimes fire a
 * longer one at once.
 */
export function timerDelay(ms: number): number | undefined {
  return ms > 0 && ms < Infinity ? Math.min(ms, MAX_TIMER_DELAY) : undefined;
}

/**
 * Whether the JSON text nests arrays and objects deeper than `max`. Scans the
 * text before `JSON.parse`, so a deeply nested frame never becomes a deep
 * object (which would overflow the stack of recursive code such as
 * `JSON.stringify` or a schema). Brackets inside strings do not count.
 */
export function exceedsDepth(text: string, max: number): boolean {
  if (max === Infinity) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/**
 * Whether a text frame fits in `max` bytes of UTF-8, without encoding it
 * (and without walking it when its length alone decides).
 */
export function fitsBytes(text: string, max: number): boolean {
  // Each UTF-16 code unit is 1 to 3 bytes of UTF-8 (a surrogate pair is 4).
  if (text.length > max) return false;
  if (text.length * 3 <= max) return true;
  let bytes = 0;
  for (let i = 0; i < text.length && bytes <= max; i++) {
    const c = text.charCodeAt(i);
    // A high surrogate (0xd800–0xdbff, 0x36 above bit 10) and the low one after it: 4 bytes.
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c >> 10 === 0x36 ? (i++, 4) : 3;
  }
  return bytes <= max;
}
