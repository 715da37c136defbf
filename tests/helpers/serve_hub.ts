/**
 * Test helpers: a server for a hub on the running runtime on a free loopback
 * port, and a WebSocket handshake by hand (to see the HTTP status).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { connect } from "node:net";
import type { Hub } from "../../mod.ts";
import { serve, type Server } from "../../src/serve.ts";
import type { Peer } from "../../src/peer.ts";

/**
 * Serves a hub on a free loopback port of the running runtime.
 *
 * @example
 * ```ts
 * const { server, url } = await serveHub(new Hub());
 * await server.close();
 * ```
 */
export async function serveHub<C>(
  hub: Hub<C>,
  onConnect?: (peer: Peer) => void,
): Promise<{ server: Server; url: string }> {
  const server = await serve({
    hub,
    port: 0,
    hostname: "127.0.0.1",
    onConnect,
  });
  return { server, url: `ws://127.0.0.1:${server.port}/ws/socksync` };
}

/**
 * A WebSocket handshake by hand over TCP, so the test sees the HTTP status
 * and can send any header (Origin, Authorization) on every runtime.
 */
export function handshake(
  port: number,
  headers: Record<string, string>,
  path = "/ws/socksync",
): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no handshake answer within 5 s"));
    }, 5000);
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (!text.includes("\r\n")) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(Number(text.split(" ")[1]));
    });
    const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16)))
      .toString("base64");
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${key}`,
      "Sec-WebSocket-Version: 13",
      ...Object.entries(headers).map(([k, value]) => `${k}: ${value}`),
    ];
    socket.write(lines.join("\r\n") + "\r\n\r\n");
  });
}
