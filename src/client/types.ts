/**
 * The types of the client's surface: the WebSocket it is built with, its
 * options, what its error and disconnect listeners get, and the rest
 * arguments of its typed `list` and `call`.
 *
 * @module
 */
import type { BackoffOptions } from "./backoff.ts";
import type { SockSyncError } from "../errors.ts";
import type { Limits } from "../peer/limits.ts";
import type { ItemMirror } from "./item_mirror.ts";
import type { ListMirror, VarMirror } from "./mirror.ts";
import type { ErrorAbout, Registry } from "../peer/peer.ts";
import type { CallOptions } from "../peer/consumer.ts";
import type {
  ApiShape,
  ArgsOf,
  FunctionName,
  ListName,
  ParamsOf,
  UntypedApi,
} from "../protocol/api.ts";
import type { ListViewOptions } from "./mirror.ts";
import type { OptimisticCalls, OptimisticChange } from "./optimistic.ts";
import type { AuthOption, SocketAuth } from "./auth.ts";

/**
 * The part of a WebSocket the client uses: the Web-standard API, which
 * browsers, Deno, Bun and the `ws` package all provide.
 *
 * @example
 * ```ts
 * import type { WebSocketLike } from "./types.ts";
 * const open = (socket: WebSocketLike) => socket.readyState === 1;
 * ```
 */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Bytes queued but not yet sent. */
  readonly bufferedAmount: number;
  /** Sends one text frame. */
  send(data: string): void;
  /** Starts the close handshake. */
  close(code?: number, reason?: string): void;
  // Handler properties rather than addEventListener: every implementation has
  // them with compatible types. Their events differ, hence `any`.
  /** Called when the socket opened. */
  // deno-lint-ignore no-explicit-any
  onopen: ((event: any) => void) | null;
  /** Called when a frame arrived. */
  // deno-lint-ignore no-explicit-any
  onmessage: ((event: any) => void) | null;
  /** Called when the socket closed. */
  // deno-lint-ignore no-explicit-any
  onclose: ((event: any) => void) | null;
  /** Called when the socket failed. */
  // deno-lint-ignore no-explicit-any
  onerror: ((event: any) => void) | null;
}

/**
 * A WebSocket class: `globalThis.WebSocket`, or `WebSocket` from `ws`.
 *
 * @example
 * ```ts
 * import type { WebSocketConstructor } from "./types.ts";
 * const Impl: WebSocketConstructor = globalThis.WebSocket;
 * ```
 */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * Options of `connect`.
 *
 * @example
 * ```ts
 * import type { ClientOptions } from "./types.ts";
 * const options: ClientOptions = {
 *   reconnect: { minDelay: 100, maxDelay: 5000 },
 *   limits: { callTimeout: 10_000 },
 *   onError: (error, { name }) => console.warn(name, error.message),
 * };
 * ```
 */
export interface ClientOptions {
  /** The WebSocket class (default `globalThis.WebSocket`; on Node 20 pass `ws`). */
  WebSocket?: WebSocketConstructor;
  /**
   * What this side provides to the server (a `Hub`): its vars and lists can
   * be subscribed to, and every one of its functions is accepted for calls.
   * The hub makes the connection's peer, so a client without one carries no
   * provider; a registry that is not a `Hub` is refused with a `TypeError`.
   */
  hub?: Registry;
  /**
   * Credentials to authenticate with over the socket (a bearer token, say),
   * or a function returning them (async allowed), asked before every connect
   * and ahead of the expiry the server gives, to refresh without dropping
   * any mirror. Credentials the server refused or whose connection it closed
   * with 4001 are never sent again: a function is asked again (with the
   * reconnect delays), a fixed value leaves the client disconnected.
   * `undefined` (or a function returning it): the upgrade's own credentials
   * only, such as a same-origin session cookie. Needs `socketAuth` beside
   * it (a `TypeError` without).
   */
  auth?: AuthOption;
  /**
   * Lets the client authenticate over the socket with `auth`: pass
   * `socketAuth`, imported from `socksync`. A client without it carries none
   * of that code.
   */
  socketAuth?: SocketAuth;
  /**
   * Lets calls take an `optimistic` change (see `ClientCallOptions`): pass
   * `optimisticCalls`, imported from `socksync`. Without it a call with
   * `optimistic` rejects with a `TypeError`, unsent, and the client carries
   * none of that code.
   */
  optimisticCalls?: OptimisticCalls;
  /** Reconnect delays, or `false` to stay disconnected after a drop. */
  reconnect?: BackoffOptions | false;
  /**
   * Limits of the connection, over `CLIENT_LIMITS`: for example
   * `callTimeout`, the default timeout of calls in milliseconds (30,000), and
   * `idleTimeout`, the heartbeat (10,000: a connection silent that long is
   * dead, closed and reconnected; a probe goes out after half of it; `0`: off).
   * A client without a `hub` applies `maxFrameBytes`, `maxDepth`,
   * `maxSubscriptions`, `maxPendingCalls`, `callTimeout`, `idleTimeout` and
   * `maxBufferedBytes`, and throws a `RangeError` for any other (the message
   * rate, the live queries, concurrent calls, conflation and connections
   * limit what a hub receives and provides); with a `hub` it takes them all.
   */
  limits?: Partial<Limits>;
  /** Called after every (re)connect, once every mirror was subscribed again. */
  onConnect?: () => void;
  /** Called after every drop of an open connection. */
  onDisconnect?: (info: DisconnectInfo) => void;
  /**
   * Called with every error the server sends about this side's requests that
   * answers no call (an unknown var or list, a refused subscribe, an invalid
   * page, …). The mirror it is about also shows it as `mirror.error`.
   * Default: `console.error`.
   */
  onError?: (error: SockSyncError, info: ClientErrorInfo) => void;
}

/**
 * What an error the server sent was about.
 *
 * @example
 * ```ts
 * import type { ClientErrorInfo } from "./types.ts";
 * const info: ClientErrorInfo = { type: "list", name: "todos" };
 * ```
 */
export interface ClientErrorInfo extends ErrorAbout {
  /** This side's mirror the error is about, if any. */
  mirror?: VarMirror<unknown> | ListMirror<unknown> | ItemMirror<unknown>;
}

/**
 * Why a connection ended.
 *
 * @example
 * ```ts
 * import type { DisconnectInfo } from "./types.ts";
 * const info: DisconnectInfo = { code: 1001, reason: "server shutting down" };
 * ```
 */
export interface DisconnectInfo {
  /** The WebSocket close code (1006 when the connection just broke). */
  code: number;
  /**
   * The close reason the other side gave, if any; when the heartbeat found the
   * connection dead (code 4000), `no heartbeat: nothing heard from the server for <ms> ms`.
   */
  reason: string;
}

/**
 * Options of a list view opened by a client: its page, page size and params
 * (required when the list's declared params are).
 *
 * @example
 * ```ts
 * import type { ListOpenOptions } from "./types.ts";
 * const options: ListOpenOptions<{ room: string }> = { page: 0, pageSize: 20, params: { room: "general" } };
 * ```
 */
export type ListOpenOptions<P> =
  & ListViewOptions
  & (undefined extends P ? { params?: P } : { params: P });

/**
 * Options of a client's call: its timeout, and an optimistic change shown
 * while it is pending (see `Client.call`; the client needs the
 * `optimisticCalls` option for it).
 *
 * @example
 * ```ts
 * import type { ClientCallOptions } from "./types.ts";
 * const options: ClientCallOptions = {
 *   timeout: 5_000,
 *   optimistic: (change) => change.remove("todos", "V1StGXR8"),
 * };
 * ```
 */
export interface ClientCallOptions<A extends ApiShape = UntypedApi> extends CallOptions {
  /**
   * Fills in the change to show at once: the mirrors it names show it until
   * the call settles, then what the server sent (on `return`, its real
   * change; on `error`, the change rolled back). Meanwhile those mirrors
   * hold back the frames that arrive, so the server's change replaces the
   * optimistic one in one step, never both shown at once. Needs a client
   * made with `connect(url, { optimisticCalls })`.
   */
  optimistic?: (change: OptimisticChange<A>) => void;
}

/**
 * The options argument of a typed `client.list`: required when the list's
 * params are.
 *
 * @internal
 */
export type ListRest<A extends ApiShape, N extends ListName<A>> = undefined extends ParamsOf<A, N>
  ? [options?: ListOpenOptions<ParamsOf<A, N>>]
  : [options: ListOpenOptions<ParamsOf<A, N>>];

/**
 * The arguments of a typed `client.call` after the name: `args` (optional
 * when the function's args are), then the options.
 *
 * @internal
 */
export type CallRest<A extends ApiShape, N extends FunctionName<A>> = undefined extends ArgsOf<A, N>
  ? [args?: ArgsOf<A, N>, options?: ClientCallOptions<A>]
  : [args: ArgsOf<A, N>, options?: ClientCallOptions<A>];

/**
 * The API keys that are not wire names (see `ApiOf`'s `keys`): what a
 * typed `call` refuses at compile time with a message naming the wire name.
 *
 * @internal
 */
export type KeyOnlyName<A extends ApiShape> = A extends { keys: infer K }
  ? Exclude<keyof K & string, FunctionName<A>>
  : never;

/**
 * The name parameter of a typed `call`: a function's wire name as is; an API
 * key that is not one becomes a message naming the wire name to call.
 *
 * @internal
 */
export type CallName<A extends ApiShape, N extends string> = N extends FunctionName<A> ? N
  : A extends { keys: infer K } ? N extends keyof K ? `${N} is the api key: call "${K[N] & string}"`
    : never
  : never;
