/**
 * Bounded waiting for a condition (no sleeps in assertions: a test waits for
 * what it expects, and fails with a message if it does not come in time).
 *
 * @module
 */

/**
 * Resolves once `check` returns a truthy value (which it resolves to);
 * rejects with `what` after `timeout` ms. Rechecks every few milliseconds.
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
  options: { what?: string; timeout?: number } = {},
): Promise<NonNullable<T>> {
  const timeout = options.timeout ?? 10_000;
  const deadline = Date.now() + timeout;
  let last: unknown;
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
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
