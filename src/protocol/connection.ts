/**
 * What the protocol fixes about the connection itself rather than its
 * messages: the `readyState` of an open socket, the name the idle probe asks
 * for, and the close codes a peer's limits use.
 *
 * @module
 */

/**
 * The WebSocket `readyState` of an open socket.
 *
 * @example
 * ```ts
 * import { OPEN } from "./connection.ts";
 * const canSend = (socket: { readyState: number }) => socket.readyState === OPEN;
 * ```
 */
export const OPEN = 1;

/**
 * The name of the var the idle probe asks for. No application declares it,
 * so every conforming peer answers the probe with an error frame, which
 * proves it is alive; that answer is swallowed.
 *
 * @example
 * ```ts
 * import { PROBE_NAME } from "./connection.ts";
 * const isProbe = (frame: { name?: string }) => frame.name === PROBE_NAME;
 * ```
 */
export const PROBE_NAME = "socksync:probe";

/**
 * Close codes a peer uses; a runtime that refuses one gets it plus 3000 (1009 → 4009).
 */
export const CLOSE: {
  readonly tooLarge: 1009;
  readonly policy: 1008;
  readonly tryAgainLater: 1013;
  readonly idle: 4000;
} = { tooLarge: 1009, policy: 1008, tryAgainLater: 1013, idle: 4000 };
