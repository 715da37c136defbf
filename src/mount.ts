/**
 * Mounts a {@linkcode Hub} on a Hono app: one route, any runtime. The runtime
 * is chosen by the `upgradeWebSocket` helper passed in (`hono/deno`,
 * `hono/bun` or `@hono/node-ws`), so this file stays runtime-neutral.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import type { UpgradeWebSocket, WSContext } from "hono/ws";
import type { Hub } from "./hub.ts";
import type { Peer } from "./peer.ts";
import { guarded, type GuardOptions } from "./guard.ts";

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
   * Origin allow-list and connection cap, checked before the upgrade: a
   * refused request gets 403 or 503 and no WebSocket is ever created.
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
 * import { Hub } from "../mod.ts";
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
      const drop = () => {
        if (!peer || !socket) return;
        const gone = peer;
        peer = undefined;
        gone.detach();
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
        onClose: drop,
        onError: drop,
      };
    }),
  );
}

/** The socket shape a peer writes to, over Hono's per-runtime WSContext. */
function socketOf(ws: WSContext) {
  return {
    send: (text: string) => ws.send(text),
    close: (code?: number, reason?: string) => ws.close(code, reason),
    // Bun's WSContext keeps the state it had when made; the raw socket knows.
    get readyState() {
      const raw = ws.raw as { readyState?: unknown } | undefined;
      return typeof raw?.readyState === "number" ? raw.readyState : ws.readyState;
    },
    get bufferedAmount() {
      return bufferedAmountOf(ws.raw);
    },
  };
}

/** Deno and `ws` expose `bufferedAmount`; Bun's ServerWebSocket a method. */
function bufferedAmountOf(raw: unknown): number {
  if (raw === null || typeof raw !== "object") return 0;
  const socket = raw as {
    bufferedAmount?: unknown;
    getBufferedAmount?: () => number;
  };
  if (typeof socket.bufferedAmount === "number") return socket.bufferedAmount;
  if (typeof socket.getBufferedAmount === "function") {
    return socket.getBufferedAmount();
  }
  return 0;
}
