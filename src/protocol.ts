/**
 * The SockSync wire protocol: a valibot schema for every message, the types
 * inferred from them, and {@linkcode decodeFrame}, which turns one incoming
 * text frame into a validated message or the error frame that answers it.
 *
 * @module
 */
import * as v from "valibot";
import { ErrorCode, type ErrorCodeValue } from "./errors.ts";

const Name = v.string();
const ItemId = v.string();
const Count = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const PageSize = v.pipe(v.number(), v.safeInteger(), v.minValue(1));
/** JSON has no `undefined`, so "not undefined" means "present". */
const Present = v.nonOptional(v.unknown());

/** A `get` of a var: answered with `set`. */
export interface GetVarMessage {
  func: "get";
  type: "var";
  name: string;
}
/** A `get` of a list page (moves the view) or, with `id`, of one item. */
export interface GetListMessage {
  func: "get";
  type: "list";
  name: string;
  page?: number;
  page_size?: number;
  id?: string;
}
/** A var's value. */
export interface SetVarMessage {
  func: "set";
  type: "var";
  name: string;
  value: unknown;
}
/** A list item's value. */
export interface SetListMessage {
  func: "set";
  type: "list";
  name: string;
  id: string;
  value: unknown;
}
/** A whole page of a list. */
export interface SetAllMessage {
  func: "set_all";
  type: "list";
  name: string;
  page: number;
  page_size?: number;
  total_item_count: number;
  items: { id: string; value: unknown }[];
}
/** A list's item count. */
export interface SetCountMessage {
  func: "set_count";
  type: "list";
  name: string;
  total_item_count: number;
}
/** An item inserted at `index` of the whole list. */
export interface InsertMessage {
  func: "insert";
  type: "list";
  name: string;
  index: number;
  id: string;
  value: unknown;
}
/** An item deleted. */
export interface DeleteMessage {
  func: "delete";
  type: "list";
  name: string;
  id: string;
}
/** A function call; `id` matches the `return` or `error`. */
export interface CallMessage {
  func: "call";
  type: "function";
  name: string;
  id: string;
  args?: unknown;
}
/** A function's result. */
export interface ReturnMessage {
  func: "return";
  type: "function";
  name: string;
  id: string;
  value?: unknown;
}
/** A subscription: to a var, a list view (optionally on a page), a list item, or a function. */
export type SubscribeMessage =
  | { func: "subscribe"; type: "var"; name: string }
  | {
    func: "subscribe";
    type: "list";
    name: string;
    id?: string;
    page?: number;
    page_size?: number;
  }
  | { func: "subscribe"; type: "function"; name: string };
/** The end of a subscription (`id` only for a list item). */
export interface UnsubscribeMessage {
  func: "unsubscribe";
  type: "var" | "list" | "function";
  name: string;
  id?: string;
}
/** The end of every subscription the sender made. */
export interface UnsubscribeAllMessage {
  func: "unsubscribe_all";
}
/** An error, as received (an error this side sends is an {@linkcode ErrorFrame}). */
export interface ErrorMessage {
  func: "error";
  error_code: number;
  message?: string;
  type?: string;
  name?: string;
  id?: string;
}

/**
 * Every message by its `func`.
 *
 * @example
 * ```ts
 * import type { MessageMap } from "./protocol.ts";
 * const call: MessageMap["call"] = { func: "call", type: "function", name: "echo", id: "1" };
 * ```
 */
export interface MessageMap {
  get: GetVarMessage | GetListMessage;
  set: SetVarMessage | SetListMessage;
  set_all: SetAllMessage;
  set_count: SetCountMessage;
  insert: InsertMessage;
  delete: DeleteMessage;
  call: CallMessage;
  return: ReturnMessage;
  subscribe: SubscribeMessage;
  unsubscribe: UnsubscribeMessage;
  unsubscribe_all: UnsubscribeAllMessage;
  error: ErrorMessage;
}

/**
 * Any valid SockSync message, discriminated by `func` (and `type`).
 *
 * @example
 * ```ts
 * import type { Message } from "./protocol.ts";
 * const m: Message = { func: "subscribe", type: "var", name: "counter" };
 * ```
 */
export type Message = MessageMap[keyof MessageMap];

/**
 * The message with a given `func`.
 *
 * @example
 * ```ts
 * import type { MessageWithFunc } from "./protocol.ts";
 * const call: MessageWithFunc<"call"> = { func: "call", type: "function", name: "echo", id: "1" };
 * ```
 */
export type MessageWithFunc<F extends keyof MessageMap> = MessageMap[F];

/**
 * Schemas of every message, by `func` and then by `type` (`""` for messages
 * without a type). Each one's output is the message interface of the same
 * shape below.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { MessageSchemas } from "./protocol.ts";
 * v.parse(MessageSchemas.get.var, { func: "get", type: "var", name: "counter" });
 * ```
 */
export const MessageSchemas: Readonly<
  Record<string, Readonly<Record<string, v.GenericSchema<unknown, Message>>>>
> = {
  get: {
    var: v.object({
      func: v.literal("get"),
      type: v.literal("var"),
      name: Name,
    }),
    list: v.object({
      func: v.literal("get"),
      type: v.literal("list"),
      name: Name,
      page: v.optional(Count),
      page_size: v.optional(PageSize),
      id: v.optional(ItemId),
    }),
  },
  set: {
    var: v.object({
      func: v.literal("set"),
      type: v.literal("var"),
      name: Name,
      value: Present,
    }),
    list: v.object({
      func: v.literal("set"),
      type: v.literal("list"),
      name: Name,
      id: ItemId,
      value: Present,
    }),
  },
  set_all: {
    list: v.object({
      func: v.literal("set_all"),
      type: v.literal("list"),
      name: Name,
      page: Count,
      page_size: v.optional(PageSize),
      total_item_count: Count,
      items: v.array(v.object({ id: ItemId, value: Present })),
    }),
  },
  set_count: {
    list: v.object({
      func: v.literal("set_count"),
      type: v.literal("list"),
      name: Name,
      total_item_count: Count,
    }),
  },
  insert: {
    list: v.object({
      func: v.literal("insert"),
      type: v.literal("list"),
      name: Name,
      index: Count,
      id: ItemId,
      value: Present,
    }),
  },
  delete: {
    list: v.object({
      func: v.literal("delete"),
      type: v.literal("list"),
      name: Name,
      id: ItemId,
    }),
  },
  call: {
    function: v.object({
      func: v.literal("call"),
      type: v.literal("function"),
      name: Name,
      id: ItemId,
      args: v.optional(v.unknown()),
    }),
  },
  return: {
    function: v.object({
      func: v.literal("return"),
      type: v.literal("function"),
      name: Name,
      id: ItemId,
      value: v.optional(v.unknown()),
    }),
  },
  subscribe: {
    var: v.object({
      func: v.literal("subscribe"),
      type: v.literal("var"),
      name: Name,
    }),
    list: v.object({
      func: v.literal("subscribe"),
      type: v.literal("list"),
      name: Name,
      id: v.optional(ItemId),
      // Our extension: a subscriber may open its view on any page at once.
      page: v.optional(Count),
      page_size: v.optional(PageSize),
    }),
    function: v.object({
      func: v.literal("subscribe"),
      type: v.literal("function"),
      name: Name,
    }),
  },
  unsubscribe: {
    var: v.object({
      func: v.literal("unsubscribe"),
      type: v.literal("var"),
      name: Name,
    }),
    list: v.object({
      func: v.literal("unsubscribe"),
      type: v.literal("list"),
      name: Name,
      id: v.optional(ItemId),
    }),
    function: v.object({
      func: v.literal("unsubscribe"),
      type: v.literal("function"),
      name: Name,
    }),
  },
  unsubscribe_all: {
    "": v.object({ func: v.literal("unsubscribe_all") }),
  },
  error: {
    "": v.object({
      func: v.literal("error"),
      error_code: v.pipe(v.number(), v.integer()),
      message: v.optional(v.string()),
      type: v.optional(v.string()),
      name: v.optional(v.string()),
      id: v.optional(v.string()),
    }),
  },
} as const;

/**
 * The `type`s a group can have.
 *
 * @example
 * ```ts
 * import type { GroupType } from "./protocol.ts";
 * const t: GroupType = "list";
 * ```
 */
export type GroupType = "var" | "list" | "function";

/**
 * An error frame as it goes on the wire.
 *
 * @example
 * ```ts
 * import type { ErrorFrame } from "./protocol.ts";
 * const e: ErrorFrame = { func: "error", error_code: 4, message: "unknown id", type: "list", name: "todos", id: "x" };
 * ```
 */
export interface ErrorFrame {
  func: "error";
  error_code: ErrorCodeValue;
  message: string;
  type?: string;
  name?: string;
  id?: string;
}

/**
 * What {@linkcode decodeFrame} returns: the message, or the error frame that
 * answers the frame (`reply` is `undefined` when the frame was an error frame
 * itself, which is never answered).
 *
 * @example
 * ```ts
 * import { decodeFrame } from "./protocol.ts";
 * const result = decodeFrame('{"func":"unsubscribe_all"}');
 * if (result.ok) console.log(result.message.func);
 * ```
 */
export type Decoded =
  | { ok: true; message: Message }
  | { ok: false; reply: ErrorFrame | undefined };

/**
 * Builds an error frame, echoing the `type`, `name` and `id` of the request it
 * answers when they are strings, so a caller can match it.
 *
 * @example
 * ```ts
 * import { errorFrame } from "./protocol.ts";
 * errorFrame(4, "unknown id", { type: "list", name: "todos", id: "x" });
 * ```
 */
export function errorFrame(
  code: ErrorCodeValue,
  message: string,
  request?: { type?: unknown; name?: unknown; id?: unknown },
): ErrorFrame {
  const frame: ErrorFrame = { func: "error", error_code: code, message };
  if (request) {
    if (typeof request.type === "string") frame.type = request.type;
    if (typeof request.name === "string") frame.name = request.name;
    if (typeof request.id === "string") frame.id = request.id;
  }
  return frame;
}

/** Field → code for a present field of the wrong shape; anything else is 6. */
const codeByField = new Map<string, ErrorCodeValue>([
  ["func", ErrorCode.InvalidFunc],
  ["type", ErrorCode.InvalidType],
  ["name", ErrorCode.InvalidName],
  ["id", ErrorCode.InvalidId],
]);

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
 * import { decodeFrame } from "./protocol.ts";
 * const bad = decodeFrame('{"func":"get","type":"var"}');
 * // bad.ok === false, bad.reply.error_code === 5 (missing name)
 * ```
 */
export function decodeFrame(data: unknown): Decoded {
  if (typeof data !== "string") {
    return {
      ok: false,
      reply: errorFrame(ErrorCode.InvalidJson, "expected a text frame"),
    };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return {
      ok: false,
      reply: errorFrame(ErrorCode.InvalidJson, "invalid JSON"),
    };
  }
  if (!isPlainObject(raw)) {
    return {
      ok: false,
      reply: errorFrame(ErrorCode.InvalidJson, "expected a JSON object"),
    };
  }
  return decodeObject(raw);
}

/**
 * Validates an already parsed frame; see {@linkcode decodeFrame}.
 *
 * @example
 * ```ts
 * import { decodeObject } from "./protocol.ts";
 * decodeObject({ func: "subscribe", type: "var", name: "counter" }).ok; // true
 * ```
 */
export function decodeObject(raw: Record<string, unknown>): Decoded {
  const func = raw.func;
  if (func === undefined) {
    return {
      ok: false,
      reply: errorFrame(ErrorCode.MissingField, "missing field: func", raw),
    };
  }
  if (typeof func !== "string" || !Object.hasOwn(MessageSchemas, func)) {
    return {
      ok: false,
      reply: errorFrame(ErrorCode.InvalidFunc, "unknown func", raw),
    };
  }
  const byType = MessageSchemas[func];
  let schema: v.GenericSchema<unknown, Message> | undefined = byType[""];
  if (!schema) {
    const type = raw.type;
    if (type === undefined) {
      return {
        ok: false,
        reply: errorFrame(ErrorCode.MissingField, "missing field: type", raw),
      };
    }
    if (typeof type !== "string" || !Object.hasOwn(byType, type)) {
      return {
        ok: false,
        reply: errorFrame(
          ErrorCode.InvalidType,
          `func ${func} does not take this type`,
          raw,
        ),
      };
    }
    schema = byType[type];
  }
  const result = v.safeParse(schema, raw);
  if (result.success) return { ok: true, message: result.output };
  // An error frame that fails validation is still never answered (no error loops).
  if (func === "error") return { ok: false, reply: undefined };
  const issue = result.issues[0];
  const key = issue.path?.[0]?.key;
  const field = typeof key === "string" ? key : "";
  if (issue.input === undefined && issue.path?.length === 1) {
    return {
      ok: false,
      reply: errorFrame(ErrorCode.MissingField, `missing field: ${field}`, raw),
    };
  }
  const code = codeByField.get(field) ?? ErrorCode.InvalidArguments;
  return { ok: false, reply: errorFrame(code, `invalid field: ${field}`, raw) };
}
