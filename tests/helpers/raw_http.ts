/**
 * Raw HTTP/1.1 requests over a TCP socket, for answers a `fetch` would hide
 * or refuse to send (upgrade requests, exact headers, HEAD).
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import { connect } from "node:net";

/** The headers of a WebSocket upgrade request. */
export const UPGRADE = [
  "Upgrade: websocket",
  "Connection: Upgrade",
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
  "Sec-WebSocket-Version: 13",
];

/** An HTTP answer: its status, headers by lower-case name (but `date`) and body. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * The answer to a raw HTTP request (`GET` unless `method`), read whole; a 101 and the answer to
 * HEAD end at their head.
 */
export function answer(
  port: number,
  target: string,
  lines: string[],
  method = "GET",
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no whole answer within 5 s: ${JSON.stringify(text)}`));
    }, 5000);
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return;
      const [first, ...rest] = text.slice(0, end).split("\r\n");
      const status = Number(first.split(" ")[1]);
      const headers: Record<string, string> = {};
      for (const line of rest) {
        const at = line.indexOf(":");
        const name = line.slice(0, at).toLowerCase();
        // Differs from one answer to the next.
        if (name !== "date") headers[name] = line.slice(at + 1).trim();
      }
      const length = status === 101 || method === "HEAD" ? 0 : Number(headers["content-length"]);
      if (text.length - end - 4 < length) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status, headers, body: text.slice(end + 4, end + 4 + length) });
    });
    socket.write(
      [`${method} ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, ...lines].join("\r\n") +
        "\r\n\r\n",
    );
  });
}
