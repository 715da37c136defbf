/**
 * Serves a Hono app on Deno. Loaded by `serve()` only when running on Deno.
 *
 * Deno serves through its `node:http` layer and the `ws` WebSocket server
 * (the Node adapter), not `Deno.serve` with `Deno.upgradeWebSocket`, for two
 * reasons the native socket gives no way around:
 *
 * - A server-side Deno WebSocket that called `close()` treats the next data
 *   frame still arriving from the client as the end of the connection: it
 *   fires `close` with code 0 and drops the TCP connection at once, while the
 *   client's frames sit unread in the kernel. The kernel then resets the
 *   connection instead of ending it, which discards the replies and the close
 *   frame still on their way: a client that was still sending saw 1006 where
 *   the server closed with 1008 or 1009. `ws` keeps reading (and discarding)
 *   until the client's close frame arrives, then ends the connection.
 * - `Deno.upgradeWebSocket` has no frame-size option: a frame is buffered
 *   whole (up to 64 MiB) before the application sees it. `ws` refuses a frame
 *   from its header.
 *
 * (Deno 2.9's `Deno.upgradeWebSocket` can take over a `node:http` upgrade's
 * socket, but has no frame-size option either.) What the `node:net` path
 * costs on writes, {@linkcode DenoTopicSocket} saves: it writes frames to
 * the TCP handle without the stream layer.
 *
 * @module
 */
import type { Hono } from "hono";
import { createAdapter as createNodeAdapter } from "./node.ts";
import type { Adapter } from "./shared.ts";
import { DenoTopicSocket } from "./deno_socket.ts";

/**
 * The Deno adapter for `app`.
 */
// deno-lint-ignore no-explicit-any
export function createAdapter(app: Hono<any>): Adapter {
  return createNodeAdapter(app, "deno", DenoTopicSocket);
}
