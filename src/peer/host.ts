/**
 * What a peer's parts (guard, outbox, provider) call back into: the peer
 * itself. Each part holds the peer instead of an options object of closures,
 * because a server holds many idle connections and every closure per
 * connection is memory that a raw WebSocket server does not spend.
 *
 * @module
 */
import type { Limits } from "./limits.ts";
import type { Metrics } from "./metrics.ts";
import type { SocketLike } from "./socket.ts";

/**
 * The key of the method a peer's parts report failures through (the
 * registry's `onError`); a symbol, so that it stays out of the peer's API.
 */
export const REPORT: unique symbol = Symbol("socksync.report");

/**
 * The key of a peer's registry as its parts and its hub read it (the
 * provider, rather than keeping it in a field of its own; the hub, to tell
 * its own peers from others'); a symbol, like {@linkcode REPORT}.
 */
export const REGISTRY: unique symbol = Symbol("socksync.registry");

/**
 * The peer as its parts see it.
 *
 * @internal
 */
export interface PeerHost {
  /** The connection. */
  readonly socket: SocketLike;
  /** The application's context of the connection. */
  readonly context: unknown;
  /** The limits of the connection. */
  readonly limits: Readonly<Limits>;
  /** Sends one encoded frame if the connection is open. */
  sendText(text: string): void;
  /** Closes the connection with a code and reason. */
  close(code: number, reason: string): void;
  /** Tells the registry's `onError` about a failure with no caller to tell. */
  [REPORT](error: unknown): void;
  /** Where the connection's metrics go, when its hub keeps them. */
  readonly metrics?: Metrics;
}
