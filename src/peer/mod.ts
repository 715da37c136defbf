/**
 * `socksync/peer`: one connection's machinery, for those who carry SockSync
 * over a transport of their own or write a server-side peer by hand.
 * Applications need none of it: `Hub` (with `socksync/hono`) and `connect()`
 * make peers for them.
 *
 * - {@linkcode Peer}: one end of a connection, the same class on both sides,
 *   with its options ({@linkcode PeerOptions}), what it provides
 *   ({@linkcode Registry}) and its calls ({@linkcode CallOptions});
 * - {@linkcode SocketLike}: what a peer needs of a WebSocket, and
 *   {@linkcode Subscriber}, what a var or list fans out to;
 * - {@linkcode PEER_LIMITS}: the limits of a peer made without a hub;
 * - {@linkcode ErrorAbout}: which var, list or call an error frame is about.
 *
 * `Hub.connect(socket)` attaches any {@linkcode SocketLike} to a hub and
 * returns its {@linkcode Peer}.
 *
 * @example
 * ```ts
 * import { Hub } from "../../mod.ts";
 * import type { SocketLike } from "./mod.ts";
 * const sent: string[] = [];
 * const socket: SocketLike = { readyState: 1, bufferedAmount: 0, send: (f) => { sent.push(f); }, close() {} };
 * const hub = new Hub();
 * const peer = hub.connect(socket);
 * peer.acceptCalls();
 * ```
 *
 * @module
 */
export {
  type CallOptions,
  ConnectionClosed,
  type ErrorAbout,
  Peer,
  type PeerCallOptions,
  type PeerOptions,
  type Registry,
} from "./peer.ts";
export type { CallLedger } from "./call_ledger.ts";
export { PEER_LIMITS } from "./limits.ts";
export type { SocketLike, Subscriber } from "./socket.ts";
