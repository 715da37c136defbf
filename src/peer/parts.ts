/**
 * What the core of a peer (src/peer/peer_core.ts) calls on the parts its
 * `Peer` makes (the provider and backpressure), and the keys by which a hub
 * makes and forgets its peers.
 *
 * @module
 */
import type { Outbox } from "./backpressure.ts";
import type { Provider } from "./provider.ts";

/**
 * What the core calls on a peer's outbox (made when the socket's queue is first found long).
 *
 * @internal
 */
export type OutboxPart = Pick<Outbox, "check" | "defer" | "close" | "congested">;

/**
 * What the core calls on a peer's provider.
 *
 * @internal
 */
export type ProviderPart = Pick<
  Provider,
  | "get"
  | "subscribe"
  | "unsubscribe"
  | "unsubscribeAll"
  | "call"
  | "claim"
  | "release"
  | "allowed"
  | "recheck"
  | "detach"
  | "acceptCalls"
  | "refuseCalls"
>;

/**
 * The key of a `Hub`'s method that makes a peer providing it: a client given
 * a hub builds its peer with it, so that a client without one never imports
 * the provider.
 */
export const MAKE_PEER: unique symbol = Symbol("socksync.makePeer");

/**
 * The key of a registry's method told when one of its peers detached (a hub
 * forgets it there rather than through an `onDetach` listener, which would
 * take one of the peer's fields).
 */
export const FORGET: unique symbol = Symbol("socksync.forget");

/**
 * The key of a `Hub`'s method that resolves the limits of a client given it
 * as its `hub` option (over `CLIENT_LIMITS`), so that a client without one
 * carries neither those defaults nor the checks only a providing side needs.
 */
export const CLIENT_LIMITS_OF: unique symbol = Symbol("socksync.clientLimits");
