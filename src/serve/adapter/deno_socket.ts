/**
 * The `ws` socket class of the Deno adapter: a {@linkcode TopicSocket} that
 * writes a text frame straight to the native TCP handle under Deno's
 * `node:net` socket (`handle.writeBuffer`, what the stream itself ends in),
 * not through `socket.write`. On Deno the stream layer around that call (a
 * `WriteWrap` with its async id, the `Writable` state machine, the
 * completion callbacks) took a third of a fan-out's CPU time: with it, a
 * fan-out delivered 10–20 % fewer frames per CPU-second than Deno's own
 * `WebSocket.send` loop, without it a little more.
 *
 * The order of frames holds: the handle writes in the order it is called,
 * and a frame goes straight to it only while neither `ws` nor the stream
 * holds anything unwritten; otherwise it takes the usual path, behind them.
 * Bytes written this way and not yet on the wire count in `bufferedAmount`,
 * so slow consumers are still seen. A failed write destroys the socket, as
 * the stream does.
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import process from "node:process";
import { WebSocket } from "ws";
import { frame, TopicSocket, type WsInternals } from "./ws_topics.ts";

/** The native handle under a Deno `node:net` socket (the part written to). */
interface Handle {
  /** Queues `data`; 0, or a negative error code when nothing was queued. */
  writeBuffer(req: WriteRequest, data: Uint8Array): number;
}

/** The part of Deno's `stream_wrap` binding read here. */
interface StreamWrapBinding {
  streamBaseState?: Int32Array;
  kLastWriteWasAsync: number;
}

/** What the handle calls back once a write that had to wait left (or failed). */
interface WriteRequest {
  oncomplete(this: WriteRequest, status: number): void;
  socket: DenoTopicSocket;
  bytes: number;
  /** Kept alive by the request until the write left, as `node:net` does. */
  buffer: Uint8Array;
}

/**
 * Where the handle reports whether its last write had to wait (Node's
 * `streamBaseState`; Deno offers it as `process.binding("stream_wrap")`):
 * a write done at once gets no callback. Without it, no direct writes.
 */
const { streamBaseState: writeState, kLastWriteWasAsync: LAST_WRITE_WAS_ASYNC } = (() => {
  try {
    const binding = (process as unknown as { binding(name: string): StreamWrapBinding })
      .binding("stream_wrap");
    if (binding.streamBaseState instanceof Int32Array && binding.kLastWriteWasAsync >= 0) {
      return binding;
    }
  } catch {
    // No such binding in this Deno: frames take the stream.
  }
  return { streamBaseState: undefined, kLastWriteWasAsync: 0 };
})();

/** The handle class last looked at, and whether its `writeBuffer` is native. */
let seenHandleClass: object | undefined;
let seenNative = false;

/**
 * Whether `handle` writes natively, in call order. Deno's `node:net` before
 * its native handles wrote each buffer in a loop of awaited partial writes,
 * where two writes in flight could interleave: there, frames take the stream.
 */
function nativeWrites(handle: Handle): boolean {
  const handleClass = Object.getPrototypeOf(handle);
  if (handleClass !== seenHandleClass) {
    seenHandleClass = handleClass;
    seenNative = Function.prototype.toString.call(handle.writeBuffer).includes("[native code]");
  }
  return seenNative;
}

/** What the handle calls when a direct write left (`status` 0) or failed. */
let written: (this: WriteRequest, status: number) => void;

/** `ws`'s own `bufferedAmount` (what `ws` and the stream hold). */
const wsBufferedAmount = Object.getOwnPropertyDescriptor(WebSocket.prototype, "bufferedAmount")!
  .get!;

/**
 * A `ws` socket on Deno that writes text frames to the TCP handle directly
 * when nothing is queued before them.
 */
export class DenoTopicSocket extends TopicSocket {
  /** Bytes handed to the handle directly and not reported written yet. */
  #direct = 0;

  /** Bytes queued, in `ws`, in the stream and in the handle. */
  declare readonly bufferedAmount: number;

  static {
    Object.defineProperty(this.prototype, "bufferedAmount", {
      get(this: DenoTopicSocket) {
        return wsBufferedAmount.call(this) + this.#direct;
      },
    });
  }

  /** A text frame, straight to the handle where possible; anything else through `ws`. */
  // deno-lint-ignore no-explicit-any
  override send(data: any, options?: any, cb?: any): void {
    if (
      typeof data === "string" && options === undefined && this.readyState === 1 &&
      this.writeFramed(frame(data)) >= 0
    ) return;
    super.send(data, options, cb);
  }

  override writeFramed(framed: Buffer): number {
    const { _socket: socket, _sender: sender } = this as unknown as WsInternals;
    if (!socket || !sender || sender._state !== 0 || sender._queue.length !== 0) return -1;
    const handle = (socket as { _handle?: Handle | null })._handle;
    if (
      !handle || !writeState || socket.writableLength !== 0 || socket.writableCorked !== 0 ||
      !nativeWrites(handle)
    ) {
      socket.write(framed);
      return socket.writableLength + this.#direct;
    }
    const req: WriteRequest = {
      oncomplete: written,
      socket: this,
      bytes: framed.length,
      buffer: framed,
    };
    if (handle.writeBuffer(req, framed) !== 0) {
      socket.destroy();
      return 0;
    }
    // Written at once (the usual case): no callback comes. Else the rest waits in the handle.
    if (writeState![LAST_WRITE_WAS_ASYNC] !== 0) this.#direct += req.bytes;
    else req.bytes = 0;
    return this.#direct;
  }

  static {
    // One function for every request (no closure per write), inside the class for `#direct`.
    written = function (this: WriteRequest, status: number): void {
      this.socket.#direct -= this.bytes;
      if (status < 0) (this.socket as unknown as WsInternals)._socket?.destroy();
    };
  }
}
