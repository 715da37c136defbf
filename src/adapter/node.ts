/**
 * Serves a Hono app on Node with `@hono/node-server` and `@hono/node-ws`.
 * Loaded by `serve()` only when running on Node.
 *
 * @module
 */
import { serve } from "@hono/node-server";
import { createNodeWebSocket } from "@hono/node-ws";
import type { Hono } from "hono";
import type { Server } from "node:http";
import type { Adapter, Listener } from "../serve.ts";

/** How long open WebSockets get to finish their close handshake. */
const CLOSE_GRACE_MS = 2000;

/**
 * The Node adapter for `app`.
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
export function createAdapter(app: Hono<any>): Adapter {
  const { upgradeWebSocket, injectWebSocket, wss } = createNodeWebSocket({
    app,
  });
  return {
    runtime: "node",
    upgradeWebSocket,
    listen({ port, hostname, maxPayload }) {
      // `ws` would otherwise buffer frames of up to 100 MiB before the peer can refuse them.
      if (maxPayload !== undefined && Number.isFinite(maxPayload)) {
        wss.options.maxPayload = maxPayload;
      }
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
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(
        open.map((client) => new Promise((resolve) => client.once("close", resolve))),
      ),
      new Promise((resolve) => timer = setTimeout(resolve, CLOSE_GRACE_MS)),
    ]);
    clearTimeout(timer);
    // Sockets that ignored the close handshake must not hold the process open.
    for (const client of wss.clients) client.terminate();
    server.closeAllConnections();
    await stopped;
  }
}
