/**
 * Mounts a {@linkcode Hub} on a Hono app: one route, any runtime. The runtime
 * is chosen by the `upgradeWebSocket` helper passed in (`hono/deno`,
 * `hono/bun` or `@hono/node-ws`), so this file stays runtime-neutral.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import type { UpgradeWebSocket, WSContext } from "hono/ws";
import type { Hub } from "../server/hub.ts";
import type { Peer } from "../peer/peer.ts";
import type { SocketLike } from "../peer/socket.ts";
import { guarded, type GuardOptions } from "./upgrade_guard.ts";

/**
 * Options of {@linkcode socksync}.
 *
 * @example
 * ```ts
 * import { upgradeWebSocket } from "hono/deno";
 * import type { SocksyncRouteOptions } from "./mount.ts";
 * const options: SocksyncRouteOptions<{ user: string }> = {
 *   upgradeWebSocket,
 *   context: (c) => ({ user: c.req.query("user") ?? "anonymous" }),
 * };
 * ```
 */
export interface SocksyncRouteOptions<Ctx = unknown> {
  /** Hono's WebSocket upgrade helper of the runtime serving the app. */
  // deno-lint-ignore no-explicit-any
  upgradeWebSocket: UpgradeWebSocket<any, any>;
  /** Builds the per-connection context handed to function handlers. */
  context?: (c: Context) => Ctx | Promise<Ctx>;
  /**
   * Called once per connection, right after it opened (e.g. to
   * `peer.acceptCalls()`); `ws` is Hono's socket, to close it later.
   */
  onConnect?: (peer: Peer, ws: WSContext) => void;
  /**
   * Origin check (same origin by default; `allowedOrigins` allows more) and
   * connection cap, checked before the upgrade: a refused request gets 403
   * or 503 and no WebSocket is ever created.
   */
  guard?: GuardOptions;
  /** Called once per connection, after it closed and its peer was detached. */
  onDisconnect?: (peer: Peer, ws: WSContext) => void;
}

/**
 * The Hono handler that upgrades a request to a WebSocket and connects it to
 * the hub.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { upgradeWebSocket } from "hono/deno";
 * import { Hub } from "../../mod.ts";
 * import { socksync } from "./mount.ts";
 *
 * const hub = new Hub();
 * const app = new Hono();
 * app.get("/ws/socksync", socksync(hub, { upgradeWebSocket, onConnect: (peer) => peer.acceptCalls() }));
 * ```
 */
export function socksync<Ctx>(
  hub: Hub<Ctx>,
  options: SocksyncRouteOptions<Ctx>,
): MiddlewareHandler {
  return guarded(
    hub,
    options.guard ?? {},
    options.upgradeWebSocket(async (c: Context) => {
      const context = options.context ? await options.context(c) : undefined;
      let peer: Peer | undefined;
      // Bun's adapter makes a new WSContext for every event: keep the first.
      let socket: WSContext | undefined;
      // Runtimes may report both an error and a close for one socket.
      const drop = (code?: number) => {
        if (!peer || !socket) return;
        const gone = peer;
        peer = undefined;
        gone.detach(code);
        options.onDisconnect?.(gone, socket);
      };
      return {
        onOpen(_event: Event, ws: WSContext) {
          socket = ws;
          peer = hub.connect(socketOf(ws), { context: context as Ctx });
          options.onConnect?.(peer, ws);
        },
        onMessage(event: MessageEvent, _ws: WSContext) {
          peer?.receive(event.data);
        },
        onClose: (event: CloseEvent) => drop(event.code),
        // No close frame: the connection broke (1006, abnormal closure).
        onError: () => drop(1006),
      };
    }),
  );
}

/**
 * The socket a peer writes to. Node's `ws` and Deno's sockets already are
 * Web-standard sockets, so the peer gets the raw one: no wrapper call per
 * frame and nothing allocated per send. Bun's ServerWebSocket reports its
 * queue through a method, so it gets a small adapter.
 */
function socketOf(ws: WSContext): SocketLike {
  const raw = ws.raw as Partial<SocketLike> & { getBufferedAmount?: () => number } | undefined;
  if (
    raw && typeof raw.send === "function" && typeof raw.close === "function" &&
    typeof raw.readyState === "number" && typeof raw.bufferedAmount === "number"
  ) {
    return raw as SocketLike;
  }
  return new HonoSocket(ws);
}

/** A {@linkcode SocketLike} over Hono's WSContext, for runtimes without a Web-standard raw socket. */
class HonoSocket implements SocketLike {
  readonly #ws: WSContext;
  constructor(ws: WSContext) {
    this.#ws = ws;
  }
  send(text: string): void {
    this.#ws.send(text);
  }
  close(code?: number, reason?: string): void {
    this.#ws.close(code, reason);
  }
  get readyState(): number {
    // Bun's WSContext keeps the state it had when made; the raw socket knows.
    const raw = this.#ws.raw as { readyState?: unknown } | undefined;
    return typeof raw?.readyState === "number" ? raw.readyState : this.#ws.readyState;
  }
  get bufferedAmount(): number {
    const raw = this.#ws.raw as { getBufferedAmount?: () => number } | undefined;
    return typeof raw?.getBufferedAmount === "function" ? raw.getBufferedAmount() : 0;
  }
}
