/**
 * Error codes of the SockSync protocol and the error class that carries one.
 *
 * @module
 */

// The codes one by one, as constants a bundler writes in as numbers where they are used: code
// that a browser client carries names a code this way (a read of `ErrorCode` stays a property
// read, and keeps the whole object in the bundle).
/** Code 1: unknown `func`, or a modifying request about what the receiver has not subscribed to. */
export const INVALID_FUNC = 1;
/** Code 2: unknown `type`, or a `type` the `func` does not take. */
export const INVALID_TYPE = 2;
/** Code 3: a `name` this side does not provide. */
export const INVALID_NAME = 3;
/** Code 4: an unknown list item id, or a `return` that matches no pending call. */
export const INVALID_ID = 4;
/** Code 5: a required field is missing. */
export const MISSING_FIELD = 5;
/** Code 6: a value, page, page size, index or argument that fails its schema. */
export const INVALID_ARGUMENTS = 6;
/** Code 7: the frame is not one JSON object in a text frame. */
export const INVALID_JSON = 7;
/** Code 8: anything else (handler or store failures, limits, timeouts). */
export const OTHER = 8;

/**
 * The protocol's error codes, 1–8, by name.
 *
 * @example
 * ```ts
 * import { ErrorCode } from "./errors.ts";
 * const frame = { func: "error", error_code: ErrorCode.InvalidId, message: "unknown id" };
 * ```
 */
export const ErrorCode: {
  /** Unknown `func`, or a modifying request about something the receiver has not subscribed to. */
  readonly InvalidFunc: 1;
  /** Unknown `type`, or a `type` the `func` does not take. */
  readonly InvalidType: 2;
  /** A `name` this side does not provide. */
  readonly InvalidName: 3;
  /** An unknown list item id, or a `return` that matches no pending call. */
  readonly InvalidId: 4;
  /** A required field is missing. */
  readonly MissingField: 5;
  /** A value, page, page size, index or argument that fails its schema. */
  readonly InvalidArguments: 6;
  /** The frame is not one JSON object in a text frame. */
  readonly InvalidJson: 7;
  /** Anything else: handler or store failures, limits, timeouts. */
  readonly Other: 8;
} = {
  InvalidFunc: INVALID_FUNC,
  InvalidType: INVALID_TYPE,
  InvalidName: INVALID_NAME,
  InvalidId: INVALID_ID,
  MissingField: MISSING_FIELD,
  InvalidArguments: INVALID_ARGUMENTS,
  InvalidJson: INVALID_JSON,
  Other: OTHER,
};

/**
 * One of the protocol's error codes.
 *
 * @example
 * ```ts
 * import type { ErrorCodeValue } from "./errors.ts";
 * const code: ErrorCodeValue = 4;
 * ```
 */
export type ErrorCodeValue = typeof ErrorCode[keyof typeof ErrorCode];

/**
 * An error that maps to a protocol error code. Handlers and stores throw it to
 * choose the code the other side sees; any other thrown value becomes code 8
 * with a generic message, so internals never leak to the wire.
 *
 * @example
 * ```ts
 * import { ErrorCode, SockSyncError } from "./errors.ts";
 * throw new SockSyncError(ErrorCode.InvalidId, "no todo with id abc");
 * ```
 */
export class SockSyncError extends Error {
  /** The protocol error code sent to the other side. */
  readonly code: ErrorCodeValue;

  /**
   * An error with its protocol code and a message safe to show the other side.
   *
   * @param code the protocol error code
   * @param message a short message that is safe to show to the other side
   */
  constructor(code: ErrorCodeValue, message: string) {
    super(message);
    this.name = "SockSyncError";
    this.code = code;
  }
}

/**
 * Whether a value is a {@linkcode SockSyncError} (also across copies of the module).
 *
 * @example
 * ```ts
 * import { isSockSyncError, SockSyncError } from "./errors.ts";
 * isSockSyncError(new SockSyncError(8, "x")); // true
 * ```
 */
export function isSockSyncError(error: unknown): error is SockSyncError {
  return error instanceof SockSyncError ||
    (error instanceof Error && error.name === "SockSyncError" &&
      typeof (error as SockSyncError).code === "number");
}
