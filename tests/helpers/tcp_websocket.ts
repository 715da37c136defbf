/**
 * A WebSocket client over raw TCP (`node:net`), on Node, Deno and Bun alike:
 * it sends any handshake header (Origin), sees the HTTP status of a refused
 * upgrade, can stop reading, can write a frame header alone, and records the
 * close frame and the text frames received before it.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { connect, type Socket } from "node:net";

/**
 * A raw-TCP WebSocket client.
 *
 * @example
 * ```ts
 * import { TcpWebSocket } from "./tcp_websocket.ts";
 * const client = await TcpWebSocket.open(8080);
 * client.send({ func: "subscribe", type: "var", name: "counter" });
 * await client.until(() => client.texts.length > 0, 5000, "a frame");
 * await client.close();
 * ```
 */
export class TcpWebSocket {
  /** The TCP socket. */
  readonly socket: Socket;
  /** Every text frame received, in order. */
  readonly texts: string[] = [];
  /** The server's close frame, once it came. */
  closeFrame: { code: number; reason: string } | undefined;
  /** Whether the TCP connection ended (FIN) or was reset. */
  readonly ended: Promise<"end" | "reset">;
  #pending: Buffer = Buffer.alloc(0);
  readonly #listeners = new Set<() => void>();
  #reset = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("error", () => this.#reset = true);
    this.ended = new Promise((resolve) => {
      socket.on("close", () => {
        resolve(this.#reset ? "reset" : "end");
        for (const listener of this.#listeners) listener();
      });
    });
  }

  /**
   * Sends the upgrade request with `headers` and resolves the HTTP status:
   * 101 with the open client, anything else with none.
   */
  static handshake(
    port: number,
    headers: Record<string, string> = {},
    path = "/ws/socksync",
  ): Promise<{ status: number; client?: TcpWebSocket }> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      const client = new TcpWebSocket(socket);
      let head = Buffer.alloc(0);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error("no handshake answer within 5 s"));
      }, 5000);
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      const onHead = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        clearTimeout(timer);
        socket.off("data", onHead);
        const status = Number(head.subarray(0, end).toString("latin1").split(" ")[1]);
        if (status !== 101) {
          socket.destroy();
          return resolve({ status });
        }
        socket.on("data", (data: Buffer) => client.#receive(data));
        client.#receive(head.subarray(end + 4));
        resolve({ status, client });
      };
      socket.on("data", onHead);
      const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
      const lines = [
        `GET ${path} HTTP/1.1`,
        // A `host` among `headers` replaces this one (a proxy's view of the request).
        ...(Object.keys(headers).some((name) => name.toLowerCase() === "host")
          ? []
          : [`Host: 127.0.0.1:${port}`]),
        "Upgrade: websocket",
        "Connection: Upgrade",
        `Sec-WebSocket-Key: ${key}`,
        "Sec-WebSocket-Version: 13",
        ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      ];
      socket.write(lines.join("\r\n") + "\r\n\r\n");
    });
  }

  /** Opens a connection (rejects unless the upgrade succeeds). */
  static async open(port: number, headers?: Record<string, string>): Promise<TcpWebSocket> {
    const { status, client } = await TcpWebSocket.handshake(port, headers);
    if (!client) throw new Error(`upgrade refused with ${status}`);
    return client;
  }

  /** The header of a masked client frame announcing `length` payload bytes. */
  static frameHead(opcode: number, length: number): Buffer {
    const mask = [0, 0, 0, 0];
    if (length < 126) return Buffer.from([0x80 | opcode, 0x80 | length, ...mask]);
    if (length < 65536) {
      return Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 255, ...mask]);
    }
    const head = Buffer.alloc(14);
    head[0] = 0x80 | opcode;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(length), 2);
    return head;
  }

  /** Writes one whole frame (the all-zero mask leaves the payload as is). */
  write(opcode: number, payload: Buffer): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(
      Buffer.concat([TcpWebSocket.frameHead(opcode, payload.length), payload]),
    );
  }

  /** Sends an object as JSON, or a string as it is. */
  send(frame: unknown): boolean {
    const text = typeof frame === "string" ? frame : JSON.stringify(frame);
    return this.write(0x1, Buffer.from(text));
  }

  #receive(data: Buffer): void {
    let buffer = this.#pending.length ? Buffer.concat([this.#pending, data]) : data;
    for (;;) {
      if (buffer.length < 2) break;
      const opcode = buffer[0] & 0x0f;
      let length = buffer[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) break;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) break;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffer.length < offset + length) break;
      const payload = buffer.subarray(offset, offset + length);
      buffer = buffer.subarray(offset + length);
      if (opcode === 0x1) this.texts.push(payload.toString("utf8"));
      else if (opcode === 0x8 && !this.closeFrame) {
        this.closeFrame = {
          code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005,
          reason: payload.subarray(2).toString("utf8"),
        };
        this.write(0x8, Buffer.from(payload.subarray(0, 2)));
      } else if (opcode === 0x9) this.write(0xa, Buffer.from(payload));
    }
    this.#pending = Buffer.from(buffer);
    for (const listener of this.#listeners) listener();
  }

  /**
   * Calls `listener` after every chunk read and on close (a `waitUntil` wake);
   * returns the stop.
   */
  readonly onData = (listener: () => void): () => void => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** Waits (bounded) until `done()` holds, re-checking after every chunk read. */
  async until(done: () => boolean, timeout: number, what: string): Promise<void> {
    const deadline = Date.now() + timeout;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
      let stop = () => {};
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        stop = this.onData(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      stop();
    }
  }

  /** Ends the connection and waits until it is closed. */
  async close(): Promise<void> {
    this.socket.resume();
    this.socket.destroy();
    await this.ended;
  }
}
