/**
 * Serves a Hono app on Bun with `Bun.serve`. Loaded by `serve()` only when
 * running on Bun.
 *
 * Routes accepted through {@linkcode Adapter.accept} get Bun's own websocket
 * handlers with a small `data` (the opener, then what it returned): nothing
 * of the request or the Hono context stays referenced once the socket is
 * open. Routes made with `upgradeWebSocket` (`hono/bun`) keep working beside
 * them.
 *
 * @module
 */
/// <reference types="bun-types" />
import type { Context, Hono } from "hono";
import { createBunWebSocket } from "hono/bun";
import type { GroupSocket, Subscriber, TopicLinks, Topics } from "../../peer/socket.ts";
import {
  type Adapter,
  closeWithGrace,
  type Connected,
  fetchWithHead,
  frameCap,
  type Opener,
} from "./shared.ts";

type ServerWebSocket<T> = Bun.ServerWebSocket<T>;

/** Bun's largest `maxPayloadLength`: what "no cap" becomes. */
const BUN_MAX_PAYLOAD = 0xffff_ffff;

/**
 * Queued bytes past which a member of a topic counts as backed up and leaves
 * it, well under the slow-consumer threshold (1 MiB by default), so the peer's
 * own conflation takes over long before Bun's `backpressureLimit` drops frames.
 */
const BACKED_UP_BYTES = 64 * 1024;

/**
 * The getters of a {@linkcode BunSocket}, on a class of their own: Bun sizes
 * a new object by the fields its constructor sets plus the getters of its
 * class, so getters beside the fields would make each socket larger.
 */
abstract class BunSocketState {
  abstract ws: ServerWebSocket<BunSocket> | undefined;
  get readyState(): number {
    return this.ws!.readyState;
  }
  get bufferedAmount(): number {
    return this.ws!.getBufferedAmount();
  }
}

/**
 * A Bun socket as the core's socket, and the `data` of a socket accepted
 * through `accept` (which tells it from `hono/bun`'s): Bun reports its queue
 * through a method, not `bufferedAmount`, and offers its server's topics,
 * so a group whose members all get the same frame sends it with one
 * `publish`. One object per connection holds both the socket and what its
 * frames go to: a server keeps many idle connections. Its server's topics
 * are on the prototype of a subclass per server ({@linkcode socketClass}),
 * not in a field of each socket.
 */
abstract class BunSocket extends BunSocketState implements GroupSocket, TopicLinks {
  // Set once the socket opened.
  ws: ServerWebSocket<BunSocket> | undefined;
  // The opener until the socket opens, then what it returned.
  to: Opener | Connected | undefined;
  // The links of its first topic group (Topics.linked): no Set entry per member.
  topicOwner: object | undefined;
  topicPrev: Subscriber | undefined;
  topicNext: Subscriber | undefined;
  /** Its server's topics. */
  abstract readonly topics: Topics;
  constructor(open: Opener) {
    super();
    this.ws = undefined;
    this.to = open;
    this.topicOwner = this.topicPrev = this.topicNext = undefined;
  }
  subscribe(topic: string): void {
    this.ws!.subscribe(topic);
  }
  unsubscribe(topic: string): void {
    this.ws!.unsubscribe(topic);
  }
  send(text: string): void {
    this.ws!.send(text);
  }
  close(code?: number, reason?: string): void {
    this.ws!.close(code, reason);
  }
}

/** The socket class of one server, whose sockets carry its `topics`. */
function socketClass(topics: Topics): new (open: Opener) => BunSocket {
  return class ServerSocket extends BunSocket {
    get topics(): Topics {
      return topics;
    }
  };
}

/** What the socket's frames go to, once it opened. */
function connectedOf(socket: BunSocket): Connected | undefined {
  const to = socket.to;
  return typeof to === "object" ? to : undefined;
}

/**
 * Whether `url`'s path is exactly `path`, read as Hono reads it (from the
 * first `/` after the scheme and host up to `?`), without slicing it out.
 */
function atPath(url: string, path: string): boolean {
  const start = url.indexOf("/", url.indexOf(":") + 4);
  if (start < 0 || !url.startsWith(path, start)) return false;
  const end = start + path.length;
  return end === url.length || url.charCodeAt(end) === 63; // "?"
}

/** What Hono's default error handler answers for `error` (serve()'s Hono app keeps it). */
function errorAnswer(error: unknown): Response {
  if (error instanceof Error && "getResponse" in error && typeof error.getResponse === "function") {
    return error.getResponse() as Response;
  }
  console.error(error);
  return new Response("Internal Server Error", {
    status: 500,
    headers: { "content-type": "text/plain; charset=UTF-8" },
  });
}

/**
 * The Bun adapter for `app`.
 */
// deno-lint-ignore no-explicit-any
export function createAdapter(app: Hono<any>): Adapter {
  const { upgradeWebSocket, websocket: hono } = createBunWebSocket();
  // One publish answers for all its sockets at once (-1 as soon as any is behind, however
  // little), so the group reads its members' queues itself, every 16 K characters sent.
  let server: Bun.Server<unknown> | undefined;
  const topics: Topics = {
    backedUpBytes: BACKED_UP_BYTES,
    checkEvery: 16 * 1024,
    linked: true,
    publish(topic, text) {
      server?.publish(topic, text);
      return true;
    },
  };
  const Socket = socketClass(topics);
  // deno-lint-ignore no-explicit-any
  type Any = ServerWebSocket<any>;
  // The route of `acceptAt`, if any.
  let routePath = "";
  let check: ((request: Request) => Response | Opener) | undefined;
  /**
   * Upgrades to the route of `acceptAt` straight from the request, synchronously: no Hono
   * context, promise or closure per upgrade, whose memory Bun's allocator would otherwise keep
   * between each connection's long-lived allocations. Anything else goes to the app.
   */
  const fetch = (request: Request, bun: Bun.Server<unknown>) => {
    if (
      check && request.method === "GET" && atPath(request.url, routePath) &&
      request.headers.get("upgrade")?.toLowerCase() === "websocket"
    ) {
      let checked: Response | Opener;
      try {
        checked = check(request);
      } catch (error) {
        // A guard option that throws: answered as Hono's default error handler answers the
        // route through Hono, without asking the guard again (it may have logged already).
        return errorAnswer(error);
      }
      if (typeof checked !== "function") return checked;
      if (bun.upgrade(request, { data: new Socket(checked) })) return undefined;
    }
    return fetchWithHead(app, request, bun);
  };
  return {
    runtime: "bun",
    upgradeWebSocket,
    accept(c: Context, open: Opener) {
      // Bun passes the server as fetch's second argument, which Hono makes `c.env`.
      const env = c.env as { upgrade?: (req: Request, o: { data: unknown }) => boolean };
      if (typeof env?.upgrade !== "function") return undefined;
      return env.upgrade(c.req.raw, { data: new Socket(open) }) ? new Response(null) : undefined;
    },
    acceptAt(path, checkRequest) {
      routePath = path;
      check = checkRequest;
    },
    owns: (socket) => socket instanceof Socket,
    listen({ port, hostname, maxPayload }) {
      const bun = server = Bun.serve({
        port,
        hostname,
        // Bun takes `undefined` for an upgraded request, which its types leave out.
        fetch: fetch as (
          request: Request,
          bun: Bun.Server<unknown>,
        ) => Response | Promise<Response>,
        websocket: {
          open(ws: Any) {
            const data = ws.data;
            if (!(data instanceof BunSocket)) return hono.open(ws);
            const open = data.to as Opener;
            data.to = undefined;
            data.ws = ws;
            data.to = open(data);
          },
          message(ws: Any, message: string | Buffer) {
            const data = ws.data;
            if (!(data instanceof BunSocket)) return hono.message(ws, message);
            const to = connectedOf(data);
            if (typeof message === "string") to?.receive(message);
            else {
              to?.receive(
                message.buffer.slice(
                  message.byteOffset,
                  message.byteOffset + message.byteLength,
                ) as ArrayBuffer,
              );
            }
          },
          close(ws: Any, code: number, reason: string) {
            const data = ws.data;
            if (!(data instanceof BunSocket)) return hono.close(ws, code, reason);
            const connected = connectedOf(data);
            data.to = undefined;
            connected?.detach(code, reason);
          },
          // Past `backpressureLimit` Bun drops frames silently, so it stays above the
          // peer's own slow-consumer cap (8 MiB).
          backpressureLimit: 64 * 1024 * 1024,
          // Bun refuses a longer frame from its header, with 1009. Its own default (16 MiB)
          // gives way to ours; 0 would refuse every non-empty frame, so "no cap" is its maximum.
          maxPayloadLength: Math.min(frameCap(maxPayload) ?? BUN_MAX_PAYLOAD, BUN_MAX_PAYLOAD),
        },
      });
      return Promise.resolve({
        port: bun.port ?? port,
        async close() {
          // stop() stops accepting and waits for open connections; stop(true)
          // ends those left after the grace.
          await closeWithGrace(bun.stop());
          await bun.stop(true);
        },
      });
    },
  };
}
