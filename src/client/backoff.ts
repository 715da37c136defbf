/**
 * Reconnect delays: exponential backoff with jitter, so clients that lost the
 * same server do not all come back in the same instant.
 *
 * @module
 */

/**
 * Bounds of the reconnect delay, in milliseconds.
 *
 * @example
 * ```ts
 * import type { BackoffOptions } from "./backoff.ts";
 * const fast: BackoffOptions = { minDelay: 50, maxDelay: 1000 };
 * ```
 */
export interface BackoffOptions {
  /** The delay before the first retry (default 250). */
  minDelay?: number;
  /** The longest delay (default 10000). */
  maxDelay?: number;
}

/**
 * Options of {@linkcode backoffDelay}.
 */
export interface BackoffDelayOptions extends BackoffOptions {
  /** How many retries failed before this one (0 for the first). */
  attempt: number;
  /** A source of numbers in [0, 1) (default `Math.random`). */
  random?: () => number;
}

/**
 * The delay before retry number `attempt`: `minDelay · 2^attempt`, capped at
 * `maxDelay`, of which a random half is taken away ("equal jitter": never
 * below half the step, so retries still slow down).
 */
export function backoffDelay(options: BackoffDelayOptions): number {
  const min = Math.max(0, options.minDelay ?? 250);
  const max = Math.max(min, options.maxDelay ?? 10_000);
  // Cap the exponent: 2 ** 1100 is Infinity and Infinity · 0 is NaN.
  const step = Math.min(max, min * 2 ** Math.min(options.attempt, 52));
  // Between half the step and the step (never above `max`, as the step is not).
  return Math.round(Math.max(min, step / 2 + (step / 2) * (1 - (options.random ?? Math.random)())));
}
