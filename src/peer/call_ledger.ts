/**
 * Calls applied at most once: the contract of what remembers their answers
 * (the server's `CallMemory`), and how a peer runs a call marked `once`
 * through it. A call marked `once` carries an id that is a unique key
 * (SockSync's client sends a 21-character nanoid and sends the same call
 * again, with the same id, after a reconnect); the first run's answer frame
 * answers every repeat, also one that arrives while the first still runs.
 *
 * @module
 */
import { encodeError, encodeReturn } from "../protocol/encode.ts";
import { ErrorCode, isSockSyncError } from "../errors.ts";
import type { MessageWithFunc } from "../protocol/schemas.ts";

/**
 * Remembers the answers of calls marked `once`, by key.
 *
 * @example
 * ```ts
 * import type { CallLedger } from "./call_ledger.ts";
 * const answers = new Map<string, Promise<string>>();
 * const ledger: CallLedger = {
 *   once(key, run) {
 *     let answer = answers.get(key);
 *     if (!answer) answers.set(key, answer = run());
 *     return answer;
 *   },
 * };
 * ```
 */
export interface CallLedger {
  /**
   * Resolves the answer frame of call `key`: `run()`'s if this is its first
   * run, else the first run's (waiting for it if it still runs). Rejects when
   * it can tell neither (then the call was not run).
   */
  once(key: string, run: () => Promise<string>): Promise<string>;
}

/**
 * The key of a call in a {@linkcode CallLedger}: its function's name and its id.
 */
export function callKey(message: MessageWithFunc<"call">): string {
  return `${message.name}\n${message.id}`;
}

/**
 * Runs a handler and turns its outcome into the answer frame: a `return`, or
 * the error frame of its failure (an unexpected one is reported and answered
 * as 8 `internal error`), so that a failure is remembered like a result.
 */
export async function answerFrame(
  message: MessageWithFunc<"call">,
  handler: () => unknown,
  report: (error: unknown) => void,
): Promise<string> {
  try {
    return encodeReturn(message.name, { id: message.id, value: await handler() });
  } catch (error) {
    // As every failed frame is answered (`failureFrame`): internals never reach the wire.
    const known = isSockSyncError(error);
    if (!known) report(error);
    return encodeError({
      code: known ? error.code : ErrorCode.Other,
      message: known ? error.message : "internal error",
      type: "function",
      name: message.name,
      id: message.id,
    });
  }
}
