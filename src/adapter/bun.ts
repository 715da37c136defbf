/**
 * Serves a Hono app on Bun with `Bun.serve` and `hono/bun`'s WebSocket
 * upgrade. Loaded by `serve()` only when running on Bun.
 *
 * @module
 */
/// <reference types="bun-types" />
import type { Hono } from "hono";
import { createBunWebSocket } from "hono/bun";
import { type Adapter, closeWithGrace, frameCap } from "./shared.ts";

/** Bun's largest `maxPayloadLength`: what "no cap" becomes. */
const BUN_MAX_PAYLOAD = 0xffff_ffff;

/**
 * The Bun adapter for `app`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createAdapter } from "./bun.ts";
 * const app = new Hono().get("/", (c) => c.text("hi"));
 * const listener = await createAdapter(app).listen({ port: 0, hostname: "127.0.0.1" });
 * await listener.close();
 * ```
 */
// deno-lint-ignore no-explicit-any
export function createAdapter(app: Hono<any>): Adapter {
  const { upgradeWebSocket, websocket } = createBunWebSocket();
  return {
    runtime: "bun",
    upgradeWebSocket,
    listen({ port, hostname, maxPayload }) {
      // `hono/bun` finds the server to upgrade with in `c.env`: Bun passes it
      // as fetch's second argument. Past `backpressureLimit` Bun drops frames
      // silently, so it stays above the peer's own slow-consumer cap (8 MiB).
      const server = Bun.serve({
        port,
        hostname,
        fetch: app.fetch,
        websocket: {
          ...websocket,
          backpressureLimit: 64 * 1024 * 1024,
          // Bun refuses a longer frame from its header, with 1009. Its own default (16 MiB)
          // gives way to ours; 0 would refuse every non-empty frame, so "no cap" is its maximum.
          maxPayloadLength: Math.min(frameCap(maxPayload) ?? BUN_MAX_PAYLOAD, BUN_MAX_PAYLOAD),
        },
      });
      return Promise.resolve({
        port: server.port ?? port,
        async close() {
          // stop() stops accepting and waits for open connections; stop(true)
          // ends those left after the grace.
          await closeWithGrace(server.stop());
          await server.stop(true);
        },
      });
    },
  };
}
