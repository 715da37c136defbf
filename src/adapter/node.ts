/**
 * Serves a Hono app with `node:http` (through `@hono/node-server`) and the
 * `ws` WebSocket server (through `@hono/node-ws`). Loaded by `serve()` on
 * Node, and on Deno too (see `deno.ts` for why).
 *
 * @module
 */
import { serve } from "@hono/node-server";
import { createNodeWebSocket } from "@hono/node-ws";
import type { Hono } from "hono";
import type { Server } from "node:http";
import { type Adapter, closeWithGrace, frameCap, type Listener, type Runtime } from "./shared.ts";

/**
 * The Node adapter for `app`. `runtime` is what it reports (Deno serves
 * through it as well).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createAdapter } from "./node.ts";
 * const app = new Hono().get("/", (c) => c.text("hi"));
 * const listener = await createAdapter(app).listen({ port: 0, hostname: "127.0.0.1" });
 * await listener.close();
 * ```
 */
// deno-lint-ignore no-explicit-any
export function createAdapter(app: Hono<any>, runtime: Runtime = "node"): Adapter {
  const { upgradeWebSocket, injectWebSocket, wss } = createNodeWebSocket({
    app,
  });
  return {
    runtime,
    upgradeWebSocket,
    listen({ port, hostname, maxPayload }) {
      // `ws` checks a frame's announced length in its header, before buffering the payload,
      // and closes with 1009. Its own default (100 MiB) gives way to ours; 0 means no cap.
      wss.options.maxPayload = frameCap(maxPayload) ?? 0;
      return new Promise<Listener>((resolve, reject) => {
        const server = serve(
          { fetch: app.fetch, port, hostname },
          (info) => {
            server.off("error", reject);
            resolve({ port: info.port, close: () => stop(server as Server) });
          },
        );
        server.once("error", reject);
        injectWebSocket(server);
      });
    },
  };

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
