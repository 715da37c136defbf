/**
 * A function this side provides: an args schema and a handler.
 *
 * @module
 */
import type * as v from "valibot";
import type { CallContext } from "../peer/provided.ts";

/**
 * A function a side provides. Throw a `SockSyncError` from the handler to
 * choose the error code the caller gets; anything else becomes code 8.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import type { LocalFunction } from "./local_function.ts";
 * const echo: LocalFunction<unknown> = { handler: (args) => args };
 * const add: LocalFunction<{ a: number; b: number }> = {
 *   args: v.object({ a: v.number(), b: v.number() }),
 *   handler: ({ a, b }) => a + b,
 * };
 * ```
 */
export interface LocalFunction<A = unknown, R = unknown, C = unknown> {
  /** Validates the call's `args` (code 6 when they fail); absent: any args are passed through. */
  args?: v.GenericSchema<unknown, A>;
  /** Computes the return value. */
  handler(args: A, call: CallContext<C>): R | Promise<R>;
}
