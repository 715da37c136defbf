/**
 * Serves a Hono app on Deno with `Deno.serve` and `hono/deno`'s WebSocket
 * upgrade. Loaded by `serve()` only when running on Deno.
 *
 * @module
 */
import type { Hono } from "hono";
import { upgradeWebSocket } from "hono/deno";
import type { Adapter, Listener } from "../serve.ts";

/** How long open WebSockets get to finish their close handshake. */
const CLOSE_GRACE_MS = 2000;

/**
 * The Deno adapter for `app`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createAdapter } from "./deno.ts";
 * const app = new Hono().get("/", (c) => c.text("hi"));
 * const listener = await createAdapter(app).listen({ port: 0, hostname: "127.0.0.1" });
 * await listener.close();
 * ```
 */
// deno-lint-ignore no-explicit-any
export function createAdapter(app: Hono<any>): Adapter {
  return {
    runtime: "deno",
    upgradeWebSocket,
    listen({ port, hostname }) {
      return new Promise<Listener>((resolve) => {
        const server: Deno.HttpServer = Deno.serve({
          port,
          hostname,
          onListen: (address) => {
            resolve({
              port: address.port,
              close: () => shutdown(server),
            });
          },
        }, app.fetch);
      });
    },
  };
}

/** Deno cannot force a shutdown: past the grace, stop waiting for it. */
async function shutdown(server: Deno.HttpServer): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    server.shutdown(),
    new Promise((resolve) => timer = setTimeout(resolve, CLOSE_GRACE_MS)),
  ]);
  clearTimeout(timer);
}
