/**
 * The frame guard: what a peer checks on every incoming frame before it is
 * parsed (frame size, message rate and strikes, nesting depth), and the idle
 * probe of a connection that stays silent. The close codes it uses are the
 * protocol's (the `CLOSE_` constants of src/protocol/connection.ts).
 *
 * @module
 */
import { encodeError, encodeGet } from "../protocol/encode.ts";
import { ErrorCode, type ErrorCodeValue } from "../errors.ts";
import { exceedsDepth, fitsBytes, type Limits } from "./limits.ts";
import type { Metrics } from "./metrics.ts";
import { idleClock, type IdleMember } from "./idle.ts";
import { CLOSE_IDLE, CLOSE_POLICY, CLOSE_TOO_LARGE, PROBE_NAME } from "../protocol/connection.ts";

/**
 * Checks every incoming frame before it is parsed, and probes and closes a
 * connection that stays silent for `idleTimeout`; what watches for the
 * silence (a server's shared sweep, a client's own timer) is the subclass's.
 * The base of a peer rather than an object beside it: a server keeps many
 * idle connections, and every object per connection is memory a raw
 * WebSocket does not spend.
 *
 * @internal
 */
export abstract class FrameGuard implements IdleMember {
  /** The limits this connection runs under. */
  readonly limits: Readonly<Limits>;
  // The message-rate token bucket, refilled from the time of the previous frame (`idleLast`).
  #tokens: number;
  #strikes = 0;
  /** See {@linkcode IdleMember}; kept by the idle sweep. @internal */
  idleLast: number = idleClock();
  /** See {@linkcode IdleMember}. @internal */
  idlePrev: IdleMember | undefined = undefined;
  /** See {@linkcode IdleMember}. @internal */
  idleNext: IdleMember | undefined = undefined;
  /** See {@linkcode IdleMember}. @internal */
  idleList: 0 | 1 | 2 = 0;

  /** Where refused frames are counted, when the connection's hub keeps metrics. */
  abstract readonly metrics: Metrics | undefined;
  /** Whether the connection is gone: no probe, no close from here. */
  abstract readonly detached: boolean;
  /** Sends one encoded frame. */
  abstract sendText(text: string): void;
  /** Closes the connection with a code and reason. */
  abstract close(code: number, reason: string): void;
  /** A frame arrived at `now` while this connection is watched for silence. */
  protected abstract idleTouch(now: number): void;
  /** Stops watching this connection for silence: it is gone. */
  protected abstract stopGuard(): void;

  /** @param limits the connection's limits */
  constructor(limits: Readonly<Limits>) {
    this.limits = limits;
    this.#tokens = limits.messageBurst;
  }

  /**
   * Whether a frame may be parsed. A refused frame has been answered (error 7
   * or 8) or has closed the connection (1008, 1009).
   */
  protected admit(data: unknown): boolean {
    const now = idleClock();
    // A clock that steps back refills nothing instead of draining the bucket.
    const elapsed = Math.max(0, now - this.idleLast);
    if (this.idleList !== 0) this.idleTouch(now);
    else this.idleLast = now;
    const limits = this.limits;
    const fits = typeof data === "string"
      ? fitsBytes(data, limits.maxFrameBytes)
      : byteLength(data) <= limits.maxFrameBytes;
    if (!fits) {
      this.close(CLOSE_TOO_LARGE, "frame too large");
      return false;
    }
    const rate = limits.messageRate;
    const burst = limits.messageBurst;
    if (burst !== Infinity && rate !== Infinity) {
      const tokens = Math.min(burst, this.#tokens + (elapsed * rate) / 1000);
      if (tokens < 1) {
        this.#tokens = tokens;
        // Refused unparsed: parsing it is part of the cost being limited.
        if (++this.#strikes > limits.maxRateStrikes) {
          this.close(CLOSE_POLICY, "rate limit exceeded");
        } else this.#refuse(data, ErrorCode.Other, "rate limit exceeded");
        return false;
      }
      this.#tokens = tokens - 1;
      if (burst !== 0 && this.#tokens / burst >= 0.5) this.#strikes = 0;
    } else this.#strikes = 0;
    if (typeof data === "string" && exceedsDepth(data, limits.maxDepth)) {
      this.#refuse(data, ErrorCode.InvalidJson, "too deeply nested");
      return false;
    }
    return true;
  }

  /** Half the idle timeout passed in silence: asks for a sign of life. @internal */
  probe(): void {
    if (!this.detached) this.sendText(encodeGet("var", PROBE_NAME));
  }

  /** The idle timeout passed in silence: closes with 4000. @internal */
  expire(): void {
    if (!this.detached) this.close(CLOSE_IDLE, "idle timeout");
  }

  /**
   * Answers a frame refused unparsed (rate, depth). The answer echoes the
   * frame's `type`, `name` and `id`, found by a scan that parses nothing but
   * those strings, so a refused call is answered with its id and its caller
   * need not wait for its timeout. An error frame is never answered.
   */
  #refuse(data: unknown, code: ErrorCodeValue, message: string): void {
    const fields = typeof data === "string" ? peekFields(data) : {};
    if (fields.func === "error") return;
    this.metrics?.errorSent(code);
    this.sendText(encodeError({
      code,
      message,
      type: fields.type,
      name: fields.name,
      id: fields.id,
    }));
  }
}

/** The size of a binary frame, 0 for anything else (it is refused later). */
function byteLength(data: unknown): number {
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  if (typeof Blob === "function" && data instanceof Blob) return data.size;
  return 0;
}

const PEEKED = ["func", "type", "name", "id"] as const;
type Peeked = Partial<Record<typeof PEEKED[number], string>>;

/**
 * The string values of `func`, `type`, `name` and `id` at the top level of a
 * JSON object, without parsing the rest: one pass over the text that skips
 * strings and nested values, and stops once all four are found.
 */
export function peekFields(text: string): Peeked {
  const found: Peeked = {};
  let at = 0;
  while (at < text.length && text.charCodeAt(at) <= 0x20) at++;
  if (text.charCodeAt(at) !== 0x7b) return found;
  let depth = 0;
  let expectKey = false;
  let key: string | undefined;
  let left = PEEKED.length;
  for (let i = at; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let end = i + 1;
      while (end < text.length) {
        const d = text.charCodeAt(end);
        if (d === 0x5c) end += 2;
        else if (d === 0x22) break;
        else end++;
      }
      if (end >= text.length) break;
      if (depth === 1) {
        const value = jsonString(text.slice(i, end + 1));
        if (expectKey) {
          key = value;
          expectKey = false;
        } else if (key !== undefined && value !== undefined) {
          if ((PEEKED as readonly string[]).includes(key)) {
            if (found[key as keyof Peeked] === undefined) left--;
            found[key as keyof Peeked] = value;
            if (left === 0) break;
          }
          key = undefined;
        }
      }
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth === 1) expectKey = true;
      else if (depth === 2) key = undefined;
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c && depth === 1) {
      expectKey = true;
      key = undefined;
    }
  }
  return found;
}

function jsonString(quoted: string): string | undefined {
  if (!quoted.includes("\\")) return quoted.slice(1, -1);
  try {
    return JSON.parse(quoted);
  } catch {
    return undefined;
  }
}
