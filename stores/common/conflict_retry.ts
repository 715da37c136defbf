/**
 * The retry loop of a compare-and-set `update`: try again while another
 * writer got there first, spread apart, up to a bound.
 *
 * @module
 */
import { ErrorCode, SockSyncError } from "../../src/errors.ts";

/**
 * How many times a compare-and-set `update` tries before it gives up.
 */
export const UPDATE_ATTEMPTS = 100;

/**
 * What an attempt of {@linkcode retryOnConflict} returns when another writer
 * got there first.
 */
export const CONFLICT: unique symbol = Symbol("conflict");

/**
 * Runs `attempt` (1, 2, …) until it returns something other than
 * {@linkcode CONFLICT}, at most {@linkcode UPDATE_ATTEMPTS} times; past the
 * second conflict it waits a random few milliseconds first, so writers that
 * keep colliding in lockstep are spread apart. Gives up with code 8,
 * `${what} changed too often to update`.
 */
export async function retryOnConflict<R>(
  what: string,
  attempt: (n: number) => Promise<R | typeof CONFLICT>,
): Promise<R> {
  for (let n = 1;; n++) {
    const outcome = await attempt(n);
    if (outcome !== CONFLICT) return outcome;
    if (n >= UPDATE_ATTEMPTS) {
      throw new SockSyncError(ErrorCode.Other, `${what} changed too often to update`);
    }
    if (n > 2) {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** n, 50)));
    }
  }
}
