/**
 * Where each incoming message goes: to the provider (what this side
 * provides) or to the consumer (this side's calls and mirrors), and the error
 * frame that answers a message whose handling failed.
 *
 * @module
 */
import { type ErrorFrame, errorFrame } from "../protocol/decode.ts";
import { isSockSyncError, OTHER } from "../errors.ts";
import type { Message } from "../protocol/schemas.ts";
import type { Consumer } from "./consumer.ts";
import { subscriptionKey } from "./list_access.ts";
import type { ProviderPart } from "./parts.ts";

/**
 * Hands a validated message to the part of the peer that handles it; returns
 * what the handler returns (a promise when it goes on asynchronously). The
 * consumer is asked for only when a message is for it: a server's peer
 * rarely needs one, and creates it on first use.
 */
export function route(
  message: Message,
  provider: ProviderPart,
  consumer: () => Consumer,
): Promise<void> | void {
  switch (message.func) {
    case "get":
      return provider.get(message);
    case "subscribe":
      if (message.type !== "function") return provider.subscribe(message);
      // The other side accepts calls: a subscription of its, counted as such.
      provider.claim(subscriptionKey("function", message.name));
      return consumer().remoteAccepts(message.name);
    case "unsubscribe":
      if (message.type !== "function") return provider.unsubscribe(message);
      provider.release(subscriptionKey("function", message.name));
      return consumer().remoteRefuses(message.name);
    case "unsubscribe_all":
      consumer().remoteRefuses();
      return provider.unsubscribeAll();
    case "call":
      return provider.call(message);
    case "return":
      return consumer().handleReturn(message);
    case "error":
      return consumer().handleError(message);
    default:
      return consumer().apply(message);
  }
}

/**
 * The error frame that answers a message whose handling failed, echoing its
 * `type`, `name`, `id` and `params`: a `SockSyncError`'s code and message, or
 * 8 `internal error` for anything else (`unexpected`, to be reported), so
 * that internals never reach the wire.
 */
export function failureFrame(
  error: unknown,
  message: Message,
): { frame: string; unexpected: boolean } {
  return {
    frame: JSON.stringify(failureReply(error, message)),
    unexpected: !isSockSyncError(error),
  };
}

/**
 * {@linkcode failureFrame}'s frame, not yet encoded: what a client's peer,
 * which reports nothing, sends (as it sends the replies of `decodeFrame`).
 * A validated message's `type`, `name` and `id` are strings and its `params`
 * an object, so `errorFrame` echoes each one it has.
 */
export function failureReply(error: unknown, message: Message): ErrorFrame {
  // Every message but `unsubscribe_all` has some of the fields echoed.
  return isSockSyncError(error)
    ? errorFrame(error.code, error.message, message as { type?: string })
    : errorFrame(OTHER, "internal error", message as { type?: string });
}

/**
 * Closes a socket with a code and reason; a runtime that refuses a code below
 * 3000 gets the code plus 3000 (1009 → 4009), and a socket already gone is
 * left alone.
 */
export function closeSocket(
  socket: { close(code?: number, reason?: string): void },
  code: number,
  reason: string,
): void {
  try {
    socket.close(code, reason);
  } catch {
    try {
      socket.close(code < 3000 ? code + 3000 : 4000, reason);
    } catch {
      // A socket that is already gone needs no closing.
    }
  }
}
