/**
 * SockSync: live vars, paged lists and calls in both directions over
 * WebSockets, on Deno, Bun and Node.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { Hub } from "socksync";
 * const hub = new Hub();
 * const counter = hub.var("counter", { schema: v.number(), initial: 0 });
 * await counter.set(1);
 * ```
 *
 * The wire format itself (decoding, encoding, the message types) is in
 * `socksync/protocol`, for those who build or test a peer of their own; one
 * connection's machinery (`Peer`, the socket contract, a bare peer's limits)
 * is in `socksync/peer`, for those who carry the protocol over a transport
 * of their own.
 *
 * @module
 */
export { ErrorCode, type ErrorCodeValue, isSockSyncError, SockSyncError } from "./src/errors.ts";
export {
  type ConnectOptions,
  Hub,
  type HubOptions,
  type HubParamListOptions,
  type TypedListOptions,
} from "./src/server/hub.ts";
export type { ParamListOptions } from "./src/server/param_list.ts";
export type { Presence, PresenceOptions } from "./src/server/presence.ts";
export type { LocalFunction } from "./src/server/local_function.ts";
export type { CallContext } from "./src/peer/provided.ts";
export { type ListOptions, LocalList } from "./src/server/local_list.ts";
export { LocalVar, type VarOptions } from "./src/server/local_var.ts";
export {
  ListMirror,
  type ListSnapshot,
  type ListViewOptions,
  type SnapshotItem,
  VarMirror,
  type VarSnapshot,
} from "./src/client/mirror.ts";
export { ItemMirror, type ItemSnapshot } from "./src/client/item_mirror.ts";
export type {
  ApiShape,
  ArgsOf,
  FunctionName,
  ItemOf,
  ListName,
  ParamsOf,
  ResultOf,
  UntypedApi,
  VarName,
} from "./src/protocol/api.ts";
export type {
  ApiOf,
  DeclaredFunction,
  DeclaredList,
  DeclaredParamList,
  DeclaredVar,
} from "./src/server/api_of.ts";
export {
  type OptimisticCalls,
  optimisticCalls,
  type OptimisticChange,
} from "./src/client/optimistic.ts";
export type { AccessRequest } from "./src/peer/peer.ts";
export { CLIENT_LIMITS, DEFAULT_LIMITS, type Limits } from "./src/peer/limits.ts";
export type { CallMemoryOptions } from "./src/server/call_memory.ts";
export {
  Client,
  type ClientCallOptions,
  type ClientErrorInfo,
  type ClientOptions,
  connect,
  type ConnectionState,
  type ConnectionStateSource,
  type ConnectionStatus,
  type DisconnectInfo,
  type ListOpenOptions,
  ListView,
  type WebSocketConstructor,
  type WebSocketLike,
} from "./src/client/client.ts";
export type { BackoffOptions } from "./src/client/backoff.ts";
export { type AuthOption, type SocketAuth, socketAuth } from "./src/client/auth.ts";
export type {
  Authenticated,
  AuthOptions,
  ConnectionMatch,
  RevocationBus,
} from "./src/server/auth.ts";
export type {
  CallStore,
  ListChange,
  ListItem,
  ListListener,
  ListPage,
  ListSource,
  PresenceStore,
  Store,
  VarListener,
  VarStore,
} from "./src/store.ts";
