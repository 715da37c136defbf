/**
 * Serves a Hono app with `node:http` (through `@hono/node-server`) and the
 * `ws` WebSocket server in `noServer` mode. Loaded by `serve()` on Node, and
 * on Deno too (see `deno.ts` for why).
 *
 * An upgrade request runs through the Hono app like any other (middleware,
 * guard, route); the route only marks the request as accepted, and the
 * `upgrade` handler then gives the socket to `ws`. An open connection keeps
 * the `ws` socket and what the route's opener returned, nothing else: no
 * request, no Hono context, no closure per connection.
 *
 * @module
 */
import { serve } from "@hono/node-server";
import type { Context, Hono } from "hono";
import { defineWebSocketHelper, type WSContext, type WSEvents } from "hono/ws";
import { Buffer } from "node:buffer";
import { type IncomingMessage, type Server, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import {
  type Adapter,
  closeWithGrace,
  type Connected,
  fetchWithHead,
  frameCap,
  type Listener,
  type Opener,
  type Runtime,
} from "./shared.ts";
import { TopicSocket } from "./ws_topics.ts";

/** Where the route leaves its opener in the upgrade request's `env`. */
const OPENER = Symbol("socksync.opener");
/** Where an open `ws` socket keeps what its frames go to. */
const CONNECTED = Symbol("socksync.connected");

type Env = { incoming: IncomingMessage; outgoing: undefined; [OPENER]?: Opener };
type Tracked = WebSocket & { [CONNECTED]?: Connected };

/**
 * The Node adapter for `app`. `runtime` is what it reports (Deno serves
 * through it as well), `socketClass` the `ws` socket class it makes.
 */
export function createAdapter(
  // deno-lint-ignore no-explicit-any
  app: Hono<any>,
  runtime: Runtime = "node",
  socketClass: typeof TopicSocket = TopicSocket,
): Adapter {
  const wss = new WebSocketServer({ noServer: true, WebSocket: socketClass });
  const accept = (c: Context, open: Opener): Response | undefined => {
    const env = c.env as Partial<Env> | undefined;
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket" || !env?.incoming) return undefined;
    env[OPENER] = open;
    return new Response(null);
  };
  return {
    runtime,
    accept,
    upgradeWebSocket: defineWebSocketHelper((c, events) => {
      const url = new URL(c.req.url);
      return accept(c, (socket) => honoEvents(events, socket as unknown as WebSocket, url));
    }),
    owns: (socket) => wss.clients.has(socket as TopicSocket),
    listen({ port, hostname, maxPayload }) {
      // `ws` checks a frame's announced length in its header, before buffering the payload,
      // and closes with 1009. Its own default (100 MiB) gives way to ours; 0 means no cap.
      wss.options.maxPayload = frameCap(maxPayload) ?? 0;
      return new Promise<Listener>((resolve, reject) => {
        const server = serve(
          { fetch: (request, env) => fetchWithHead(app, request, env), port, hostname },
          (info) => {
            server.off("error", reject);
            resolve({ port: info.port, close: () => stop(server as Server) });
          },
        ) as Server;
        server.once("error", reject);
        server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
          upgrade(request, socket, head).catch(() => socket.destroy());
        });
      });
    },
  };

  async function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const headers = new Headers();
    for (const key in request.headers) {
      const value = request.headers[key];
      if (value) headers.append(key, Array.isArray(value) ? value[0] : value);
    }
    const env: Env = { incoming: request, outgoing: undefined };
    const url = new URL(request.url ?? "/", `http://${request.headers.host ?? "localhost"}`);
    const response = await app.request(url, { headers }, env);
    const open = env[OPENER];
    if (!open) {
      // The refusal's body too ("origin not allowed"), as on the other runtimes; a short one.
      const body = Buffer.from(await response.arrayBuffer()).subarray(0, 4096);
      // Its headers too (`retry-after` of a 503, a middleware's `www-authenticate`), but
      // those of the framing, which this answer sets itself.
      let head = "";
      response.headers.forEach((value, name) => {
        if (!FRAMING.has(name)) head += `${name}: ${value.replace(/[\r\n]/g, "")}\r\n`;
      });
      socket.end(
        Buffer.concat([
          Buffer.from(
            `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ""}\r\n` + head +
              `Connection: close\r\nContent-Length: ${body.length}\r\n\r\n`,
            "latin1",
          ),
          body,
        ]),
      );
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws: Tracked) => {
      ws.on("error", ignore);
      ws.on("message", onMessage);
      ws.on("close", onClose);
      // The opener may send or close at once: the socket is open here.
      ws[CONNECTED] = open(ws as unknown as Parameters<Opener>[0]);
    });
  }

  async function stop(server: Server): Promise<void> {
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    const open = [...wss.clients].filter((client) => client.readyState < 3);
    await closeWithGrace(
      Promise.all(
        open.map((client) => new Promise((resolve) => client.once("close", resolve))),
      ),
    );
    // Sockets that ignored the close handshake must not hold the process open.
    for (const client of wss.clients) client.terminate();
    server.closeAllConnections();
    await stopped;
  }
}

/** Headers of a response's framing, which a raw answer on the socket writes itself. */
const FRAMING = new Set(["connection", "content-length", "transfer-encoding", "keep-alive"]);

// Shared by every socket (`ws` calls them with the socket as `this`): no closure per connection.
function onMessage(this: Tracked, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
  const connected = this[CONNECTED];
  if (!connected) return;
  const buffer = Array.isArray(data) ? Buffer.concat(data) : data;
  if (!isBinary) connected.receive(buffer.toString());
  else if (buffer instanceof ArrayBuffer) connected.receive(buffer);
  else {
    connected.receive(
      buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer,
    );
  }
}

function onClose(this: Tracked, code: number, reason: Buffer): void {
  const connected = this[CONNECTED];
  this[CONNECTED] = undefined;
  connected?.detach(code, reason.toString());
}

function ignore(): void {
  // `ws` reports protocol errors (a frame over the cap, …) and then closes: `close` handles it.
}

/** Hono's events for `upgradeWebSocket` routes, over a `ws` socket. */
// deno-lint-ignore no-explicit-any
function honoEvents(events: WSEvents<any>, ws: WebSocket, url: URL): Connected {
  // deno-lint-ignore no-explicit-any
  const context: WSContext<any> = {
    binaryType: "arraybuffer",
    close: (code?: number, reason?: string) => ws.close(code, reason),
    protocol: ws.protocol,
    raw: ws,
    get readyState() {
      return ws.readyState as 0 | 1 | 2 | 3;
    },
    send: (source: string | ArrayBuffer | Uint8Array) => ws.send(source),
    url,
  } as unknown as WSContext;
  events.onOpen?.(new Event("open"), context);
  return {
    receive(data) {
      events.onMessage?.(new MessageEvent("message", { data }), context);
    },
    detach(code, reason) {
      // Node has no global CloseEvent before 23.
      const event = Object.assign(new Event("close"), { code, reason, wasClean: true });
      events.onClose?.(event as CloseEvent, context);
    },
  };
}
