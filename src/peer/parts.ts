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
 * The key of a registry's method told when one of its peers detached (a hub
 * forgets it there rather than through an `onDetach` listener, which would
 * take one of the peer's fields).
 */
export const FORGET: unique symbol = Symbol("socksync.forget");

/**
 * The key of a `Hub`'s method that makes the side of a client given it as
 * its `hub` option: the limits of its connections (over `CLIENT_LIMITS`) and
 * the peer that provides the hub on each, so that a client without one
 * carries neither the provider nor the defaults and checks only a providing
 * side needs.
 */
export const CLIENT_SIDE: unique symbol = Symbol("socksync.clientSide");
