/**
 * Decoding of incoming frames: {@linkcode decodeFrame} turns one text frame
 * into a message validated by the protocol's schemas, or into the error frame
 * that answers it (decisions 1 and 2 of PROTOCOL.md).
 *
 * @module
 */
import type * as v from "valibot";
import {
  type ErrorCodeValue,
  INVALID_ARGUMENTS,
  INVALID_FUNC,
  INVALID_JSON,
  INVALID_TYPE,
  MISSING_FIELD,
} from "../errors.ts";
import { type Message, MessageSchemas } from "./schemas.ts";

/**
 * An error frame as it goes on the wire.
 *
 * @example
 * ```ts
 * import type { ErrorFrame } from "./decode.ts";
 * const e: ErrorFrame = { func: "error", error_code: 4, message: "unknown id", type: "list", name: "todos", id: "x" };
 * ```
 */
export interface ErrorFrame {
  /** Always `"error"`. */
  func: "error";
  /** The error's code (see `ErrorCode`). */
  error_code: ErrorCodeValue;
  /** A short message, safe to show. */
  message: string;
  /** The type (`var`, `list`, `function`) of the request it answers. */
  type?: string;
  /** The name of the request it answers. */
  name?: string;
  /** The id of the request it answers (a call's id, a list item's id). */
  id?: string;
  /** The `params` of the list request it answers. */
  params?: Record<string, unknown>;
}

/**
 * What {@linkcode decodeFrame} returns: the message, or the error frame that
 * answers the frame (`reply` is `undefined` when the frame was an error frame
 * itself, which is never answered).
 *
 * @example
 * ```ts
 * import { decodeFrame } from "./decode.ts";
 * const result = decodeFrame('{"func":"unsubscribe_all"}');
 * if (result.ok) console.log(result.message.func);
 * ```
 */
export type Decoded =
  | { ok: true; message: Message }
  | { ok: false; reply: ErrorFrame | undefined };

/** The fields of a request its error frame echoes when they are strings. */
const ECHOED = ["type", "name", "id"] as const;
/** The fields whose wrong shape has a code of its own, 1 to 4; any other is 6. */
const CODED_FIELDS: readonly string[] = ["func", ...ECHOED];

/**
 * Builds an error frame, echoing the `type`, `name` and `id` of the request it
 * answers when they are strings (and its `params` when an object), so a caller
 * can match it.
 *
 * @example
 * ```ts
 * import { errorFrame } from "./decode.ts";
 * errorFrame(4, "unknown id", { type: "list", name: "todos", id: "x" });
 * ```
 */
export function errorFrame(
  code: ErrorCodeValue,
  message: string,
  request?: { type?: unknown; name?: unknown; id?: unknown; params?: unknown },
): ErrorFrame {
  const frame: ErrorFrame = { func: "error", error_code: code, message };
  if (request) {
    for (const key of ECHOED) {
      const value = request[key];
      if (typeof value === "string") frame[key] = value;
    }
    if (isPlainObject(request.params)) frame.params = request.params;
  }
  return frame;
}

/** A refused frame's answer. */
function refuse(code: ErrorCodeValue, message: string, raw?: Record<string, unknown>): Decoded {
  return { ok: false, reply: errorFrame(code, message, raw) };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Validates one incoming frame (decisions 1 and 2 of PROTOCOL.md): text that
 * is one JSON object, a known `func`, a `type` that `func` takes, and every
 * field valid. Nothing unvalidated leaves this function.
 *
 * @example
 * ```ts
 * import { decodeFrame } from "./decode.ts";
 * const bad = decodeFrame('{"func":"get","type":"var"}');
 * // bad.ok === false, bad.reply.error_code === 5 (missing name)
 * ```
 */
export function decodeFrame(data: unknown): Decoded {
  if (typeof data !== "string") return refuse(INVALID_JSON, "expected a text frame");
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return refuse(INVALID_JSON, "invalid JSON");
  }
  return isPlainObject(raw) ? decodeObject(raw) : refuse(INVALID_JSON, "expected a JSON object");
}

/**
 * Validates an already parsed frame; see {@linkcode decodeFrame}.
 *
 * @example
 * ```ts
 * import { decodeObject } from "./decode.ts";
 * decodeObject({ func: "subscribe", type: "var", name: "counter" }).ok; // true
 * ```
 */
export function decodeObject(raw: Record<string, unknown>): Decoded {
  const func = raw.func;
  if (func === undefined) return refuse(MISSING_FIELD, "missing field: func", raw);
  if (typeof func !== "string" || !Object.hasOwn(MessageSchemas, func)) {
    return refuse(INVALID_FUNC, "unknown func", raw);
  }
  const byType: Readonly<Record<string, v.GenericSchema<unknown, Message>>> =
    MessageSchemas[func as keyof typeof MessageSchemas];
  let schema: v.GenericSchema<unknown, Message> | undefined = byType[""];
  if (!schema) {
    const type = raw.type;
    if (type === undefined) return refuse(MISSING_FIELD, "missing field: type", raw);
    if (typeof type !== "string" || !Object.hasOwn(byType, type)) {
      return refuse(INVALID_TYPE, `func ${func} does not take this type`, raw);
    }
    schema = byType[type];
  }
  // Valibot's Standard Schema entry (what `v.safeParse` runs, without the result it builds).
  const result = schema["~standard"].validate(raw) as v.OutputDataset<
    Message,
    v.BaseIssue<unknown>
  >;
  if (!result.issues) return { ok: true, message: result.value };
  // An error frame that fails validation is still never answered (no error loops).
  if (func === "error") return { ok: false, reply: undefined };
  const issue = result.issues[0];
  const key = issue.path?.[0]?.key;
  const field = typeof key === "string" ? key : "";
  if (issue.input === undefined && issue.path?.length === 1) {
    return refuse(MISSING_FIELD, `missing field: ${field}`, raw);
  }
  return refuse(
    (CODED_FIELDS.indexOf(field) + 1 || INVALID_ARGUMENTS) as ErrorCodeValue,
    `invalid field: ${field}`,
    raw,
  );
}
