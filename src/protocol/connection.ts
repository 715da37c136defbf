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

// The close codes a peer uses, one constant each (a bundler writes them in as numbers); a runtime
// that refuses one gets it plus 3000 (1009 → 4009).

/** A frame past `maxFrameBytes`. */
export const CLOSE_TOO_LARGE = 1009;
/** A sender that keeps exceeding the message rate. */
export const CLOSE_POLICY = 1008;
/** A slow consumer: past `maxBufferedBytes` queued. */
export const CLOSE_TRY_AGAIN_LATER = 1013;
/** The heartbeat: nothing heard for `idleTimeout`. */
export const CLOSE_IDLE = 4000;
