/**
 * The errors every store fails with: the backend could not do it, or the
 * store is closed (both code 8).
 *
 * @module
 */
import { ErrorCode, SockSyncError } from "../../src/errors.ts";

/**
 * The error a store operation fails with when the backend cannot do it:
 * code 8, `store unavailable: …`.
 */
export function storeError(cause: unknown): SockSyncError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new SockSyncError(ErrorCode.Other, `store unavailable: ${message}`);
}

/**
 * The error of an operation on a closed store (code 8).
 */
export function storeClosed(): SockSyncError {
  return new SockSyncError(ErrorCode.Other, "store closed");
}
