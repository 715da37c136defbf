/**
 * Topics for `ws` sockets (Node, and Deno through `node:http`): the same
 * text frame (or frames) to every socket of a topic, framed once and written
 * as one buffer per socket, instead of `ws.send` framing and converting the
 * text again for each socket, and writing each frame on its own. How a
 * socket writes that buffer is its class's {@linkcode TopicSocket.writeFramed}
 * (Deno's is cheaper, see `deno_socket.ts`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { WebSocket } from "ws";
import type { Topics } from "../../peer/socket.ts";

/** Queued bytes past which a socket counts as backed up and leaves its topics. */
const BACKED_UP_BYTES = 256 * 1024;

/** The parts of `ws`'s internals a pre-framed write needs. */
export interface WsInternals {
  _socket?: {
    write(data: Uint8Array): boolean;
    writableLength: number;
    writableCorked: number;
    destroy(): void;
  };
  _sender?: { _state: number; _queue: unknown[] };
}

const topics = new Map<string, Set<TopicSocket>>();

/** A text frame as the server sends it (unmasked, final). */
export function frame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const head = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const buffer = Buffer.allocUnsafe(head + length);
  buffer[0] = 0x81;
  if (head === 2) buffer[1] = length;
  else if (head === 4) {
    buffer[1] = 126;
    buffer.writeUInt16BE(length, 2);
  } else {
    buffer[1] = 127;
    buffer.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    buffer.writeUInt32BE(length >>> 0, 6);
  }
  buffer.write(text, head, "utf8");
  return buffer;
}

/**
 * Every `ws` socket's topics (topic names are unique per group, so one
 * registry serves every server of the process).
 */
export const wsTopics: Topics = {
  backedUpBytes: BACKED_UP_BYTES,
  publish(topic: string, text: string): boolean {
    return publishFramed(topic, [text]);
  },
  publishAll(topic: string, texts: readonly string[]): boolean {
    return publishFramed(topic, texts);
  },
};

/** Writes `texts`, framed once into one buffer, to each socket of `topic`: one write each. */
function publishFramed(topic: string, texts: readonly string[]): boolean {
  const sockets = topics.get(topic);
  if (!sockets) return true;
  let framed: Buffer | undefined;
  let clear = true;
  for (const ws of sockets) {
    if (ws.readyState !== 1) continue;
    const queued = ws.writeFramed(
      framed ??= texts.length === 1 ? frame(texts[0]) : Buffer.concat(texts.map(frame)),
    );
    if (queued < 0) {
      for (const text of texts) ws.send(text);
      clear = false;
    } else if (queued > BACKED_UP_BYTES) clear = false;
  }
  return clear;
}

/**
 * The `ws` socket class the adapter's server makes: a `ws` WebSocket that
 * can join topics. Methods on the prototype, so nothing per connection.
 */
export class TopicSocket extends WebSocket {
  /** The topics this socket can join. */
  get topics(): Topics {
    return wsTopics;
  }
  /** Joins `topic`. */
  subscribe(topic: string): void {
    let sockets = topics.get(topic);
    if (!sockets) topics.set(topic, sockets = new Set());
    sockets.add(this);
  }
  /**
   * Writes an already framed buffer to an open socket, in order with what
   * `ws` sent before, and returns the bytes queued after it; `-1` (nothing
   * written) while `ws` itself still holds frames: the caller sends through
   * `ws` then. With nothing queued in `ws` itself, a raw write keeps the
   * frame order.
   */
  writeFramed(framed: Buffer): number {
    const { _socket: socket, _sender: sender } = this as unknown as WsInternals;
    if (!socket || !sender || sender._state !== 0 || sender._queue.length !== 0) return -1;
    socket.write(framed);
    return socket.writableLength;
  }
  /** Leaves `topic`. */
  unsubscribe(topic: string): void {
    const sockets = topics.get(topic);
    if (!sockets?.delete(this)) return;
    if (sockets.size === 0) topics.delete(topic);
  }
}
