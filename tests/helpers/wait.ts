/**
 * Bounded waiting for a condition, the one way tests wait (no sleeps in
 * assertions: a test waits for what it expects, and fails with a message if
 * it does not come in time).
 *
 * @module
 */

/**
 * Options of {@linkcode waitUntil}.
 *
 * @example
 * ```ts
 * import type { WaitOptions } from "./wait.ts";
 * const options: WaitOptions = { what: "the first page", timeout: 5_000 };
 * ```
 */
export interface WaitOptions {
  /** What is awaited, for the timeout's message. */
  what?: string;
  /** Milliseconds before giving up. Default 10,000. */
  timeout?: number;
  /**
   * Subscribes a re-check to events that may make the condition true (a
   * frame arrived, a mirror changed), so it is seen at once rather than at
   * the next poll; returns the unsubscribe function.
   */
  wake?: (recheck: () => void) => () => void;
}

/** Milliseconds between checks when nothing wakes the wait earlier. */
const POLL = 10;

/**
 * Resolves once `check` returns a truthy value (which it resolves to);
 * rejects with `what` after `timeout` ms. Rechecks every few milliseconds,
 * and whenever `wake` calls back.
 *
 * @example
 * ```ts
 * import { waitUntil } from "./wait.ts";
 * let ready = false;
 * setTimeout(() => ready = true, 10);
 * await waitUntil(() => ready, { what: "ready" });
 * ```
 */
export async function waitUntil<T>(
  check: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<NonNullable<T>> {
  const timeout = options.timeout ?? 10_000;
  const deadline = Date.now() + timeout;
  let recheck: (() => void) | undefined;
  const unsubscribe = options.wake?.(() => recheck?.());
  let last: unknown;
  try {
    for (;;) {
      try {
        const value = await check();
        if (value) return value as NonNullable<T>;
      } catch (error) {
        last = error;
      }
      if (Date.now() > deadline) {
        const why = last instanceof Error ? ` (last error: ${last.message})` : "";
        throw new Error(
          `timed out after ${timeout} ms waiting for ${options.what ?? "condition"}${why}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL);
        recheck = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      recheck = undefined;
    }
  } finally {
    unsubscribe?.();
  }
}
