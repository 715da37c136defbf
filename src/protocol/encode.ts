/**
 * Builds every outgoing frame, so that the wire format is written in one
 * place. Each function returns the frame's JSON text: a change is encoded once
 * and the same string goes to every subscriber it touches.
 *
 * Field order is fixed (func, type, name, then the rest) so that frames stay
 * byte-identical whichever module builds them. A `params` of `undefined` is
 * left out by `JSON.stringify`, so unparameterized lists look exactly as the
 * original protocol has them.
 *
 * @module
 */

import type { ErrorCodeValue } from "../errors.ts";
import { errorFrame } from "./decode.ts";

/** A list view's params, echoed on every frame sent for that view. */
export type ListParams = Readonly<Record<string, unknown>> | undefined;

/**
 * The fields of a list `set_all` frame.
 *
 * @example
 * ```ts
 * import type { SetAllFields } from "./encode.ts";
 * const fields: SetAllFields = { name: "todos", page: 0, pageSize: 10, total: 0, items: [] };
 * ```
 */
export interface SetAllFields {
  /** The list's name. */
  name: string;
  /** The page the items are from. */
  page: number;
  /** The view's page size. */
  pageSize: number;
  /** The list's total item count. */
  total: number;
  /** The page's items, in order (not read when `stored` is given). */
  items: ReadonlyArray<{ id: string; value: unknown }>;
  /**
   * The same items as ids and JSON texts of their values, when the store
   * handed them out so: the texts go into the frame as they are.
   */
  stored?: { readonly ids: readonly string[]; readonly json: readonly string[] };
  /** The view's params, when the list takes them. */
  params?: ListParams;
}

/**
 * Encodes a list `set_all` frame.
 *
 * @example
 * ```ts
 * import { encodeSetAll } from "./encode.ts";
 * encodeSetAll({ name: "todos", page: 0, pageSize: 10, total: 1, items: [{ id: "a", value: 1 }] });
 * ```
 */
export function encodeSetAll(fields: SetAllFields): string {
  const stored = fields.stored;
  const frame = JSON.stringify({
    func: "set_all",
    type: "list",
    name: fields.name,
    params: fields.params,
    page: fields.page,
    page_size: fields.pageSize,
    total_item_count: fields.total,
    items: stored ? [] : fields.items,
  });
  if (!stored || stored.ids.length === 0) return frame;
  // The frame ends with its items, `[]}`: the stored texts go in as they are.
  const { ids, json } = stored;
  let items = "";
  for (let i = 0; i < ids.length; i++) {
    items += `${i === 0 ? "" : ","}{"id":${JSON.stringify(ids[i])},"value":${json[i]}}`;
  }
  return `${frame.slice(0, -2)}${items}]}`;
}

/**
 * The fields of a list `insert` frame.
 *
 * @example
 * ```ts
 * import type { InsertFields } from "./encode.ts";
 * const fields: InsertFields = { name: "todos", index: 0, id: "a", value: 1 };
 * ```
 */
export interface InsertFields {
  /** The list's name. */
  name: string;
  /** The index in the whole list the item now has. */
  index: number;
  /** The item's id. */
  id: string;
  /** The item's value. */
  value: unknown;
  /** The view's params, when the list takes them. */
  params?: ListParams;
}

/**
 * Encodes a list `insert` frame.
 *
 * @example
 * ```ts
 * import { encodeInsert } from "./encode.ts";
 * encodeInsert({ name: "todos", index: 0, id: "a", value: { text: "milk" } });
 * ```
 */
export function encodeInsert(fields: InsertFields): string {
  return JSON.stringify({
    func: "insert",
    type: "list",
    name: fields.name,
    params: fields.params,
    index: fields.index,
    id: fields.id,
    value: fields.value,
  });
}

/**
 * Encodes a list item's `set` frame (a new value for one item).
 *
 * @example
 * ```ts
 * import { encodeItemSet } from "./encode.ts";
 * encodeItemSet("todos", { id: "a", value: { done: true } });
 * ```
 */
export function encodeItemSet(
  name: string,
  item: { id: string; value: unknown; params?: ListParams },
): string {
  return JSON.stringify({
    func: "set",
    type: "list",
    name,
    params: item.params,
    id: item.id,
    value: item.value,
  });
}

/**
 * Encodes a list `delete` frame.
 *
 * @example
 * ```ts
 * import { encodeDelete } from "./encode.ts";
 * encodeDelete("todos", "a");
 * ```
 */
export function encodeDelete(name: string, id: string, params?: ListParams): string {
  return JSON.stringify({ func: "delete", type: "list", name, params, id });
}

/**
 * Encodes a list `set_count` frame.
 *
 * @example
 * ```ts
 * import { encodeSetCount } from "./encode.ts";
 * encodeSetCount("todos", 3);
 * ```
 */
export function encodeSetCount(name: string, total: number, params?: ListParams): string {
  return JSON.stringify({
    func: "set_count",
    type: "list",
    name,
    params,
    total_item_count: total,
  });
}

/**
 * Encodes a var `set` frame.
 *
 * @example
 * ```ts
 * import { encodeVarSet } from "./encode.ts";
 * encodeVarSet("counter", 1);
 * ```
 */
export function encodeVarSet(name: string, value: unknown): string {
  return JSON.stringify({ func: "set", type: "var", name, value });
}

/**
 * Encodes a function `call` frame; `args` is left out when `undefined`.
 *
 * @example
 * ```ts
 * import { encodeCall } from "./encode.ts";
 * encodeCall("add_todo", { id: "V1StGXR8", args: { text: "milk" } });
 * ```
 */
export function encodeCall(
  name: string,
  call: { id: string; args?: unknown; once?: boolean },
): string {
  return JSON.stringify({
    func: "call",
    type: "function",
    name,
    id: call.id,
    args: call.args,
    once: call.once || undefined,
  });
}

/**
 * Encodes a function `return` frame; `value` is left out when `undefined`.
 *
 * @example
 * ```ts
 * import { encodeReturn } from "./encode.ts";
 * encodeReturn("add_todo", { id: "V1StGXR8", value: { id: "a" } });
 * ```
 */
export function encodeReturn(name: string, result: { id: string; value?: unknown }): string {
  return JSON.stringify({
    func: "return",
    type: "function",
    name,
    id: result.id,
    value: result.value,
  });
}

/**
 * The fields of an `error` frame; `type`, `name` and `id` echo the request it
 * answers, so the other side can match it.
 *
 * @example
 * ```ts
 * import type { ErrorFields } from "./encode.ts";
 * const fields: ErrorFields = { code: 4, message: "unknown id", type: "list", name: "todos" };
 * ```
 */
export interface ErrorFields {
  /** The error code (1–8). */
  code: ErrorCodeValue;
  /** A short, human-readable message. */
  message: string;
  /** The `type` of the request answered. */
  type?: string;
  /** The `name` of the request answered. */
  name?: string;
  /** The `id` of the request answered. */
  id?: string;
  /** The `params` of the list request answered. */
  params?: ListParams;
}

/**
 * Encodes an `error` frame. It echoes `type`, `name` and `id` only when they
 * are strings and `params` only when it is a plain object: any other value
 * (a list's `null` params, say) would make the frame one the other side's
 * decoder refuses, so the error would never reach the mirror it is about.
 *
 * @example
 * ```ts
 * import { encodeError } from "./encode.ts";
 * encodeError({ code: 3, message: "unknown name", type: "var", name: "countr" });
 * ```
 */
export function encodeError(fields: ErrorFields): string {
  return JSON.stringify(errorFrame(fields.code, fields.message, fields));
}

/**
 * What a `subscribe` or `get` asks for besides the group: a list item's id, or
 * a list view's page and page size.
 *
 * @example
 * ```ts
 * import type { RequestFields } from "./encode.ts";
 * const fields: RequestFields = { page: 2, pageSize: 20 };
 * ```
 */
export interface RequestFields {
  /** The list item's id. */
  id?: string;
  /** The zero-based page of a list view. */
  page?: number;
  /** The page size of a list view. */
  pageSize?: number;
  /** The params of a parameterized list's view. */
  params?: ListParams;
  /** Asks for change markers on list frames (`"more": true`, our extension). */
  more?: boolean;
  /** The client's session id, on the probe that opens a connection (our extension). */
  session?: string;
}

/**
 * Encodes a `subscribe` frame: to a var, a list view (optionally on a page),
 * a list item, or a function (accepting calls to it).
 *
 * @example
 * ```ts
 * import { encodeSubscribe } from "./encode.ts";
 * encodeSubscribe("list", "todos", { page: 1, pageSize: 20 });
 * ```
 */
export function encodeSubscribe(
  type: "var" | "list" | "function",
  name: string,
  fields: RequestFields = {},
): string {
  return request("subscribe", type, name, fields);
}

/**
 * Encodes a `get` frame: a var's value, a list page, or (with `id`) one item.
 *
 * @example
 * ```ts
 * import { encodeGet } from "./encode.ts";
 * encodeGet("var", "counter");
 * ```
 */
export function encodeGet(type: "var" | "list", name: string, fields: RequestFields = {}): string {
  return request("get", type, name, fields);
}

/**
 * Encodes an `unsubscribe` frame (`id` only for a list item).
 *
 * @example
 * ```ts
 * import { encodeUnsubscribe } from "./encode.ts";
 * encodeUnsubscribe("function", "add_todo");
 * ```
 */
export function encodeUnsubscribe(
  type: "var" | "list" | "function",
  name: string,
  id?: string,
): string {
  return JSON.stringify({ func: "unsubscribe", type, name, id });
}

/**
 * Encodes the `unsubscribe` frame of a mirror: of a var, of a list view (with
 * its params, for a parameterized list) or, with `id`, of one list item.
 */
export function encodeMirrorUnsubscribe(
  type: "var" | "list",
  name: string,
  fields: { id?: string; params?: ListParams },
): string {
  return JSON.stringify({ func: "unsubscribe", type, name, params: fields.params, id: fields.id });
}

/**
 * Marks an encoded list frame as followed by more frames of the same change
 * (`"more": true`, last), so that a mirror tells its listeners once, after
 * the change's last frame. A peer following the original protocol ignores
 * the field.
 */
export function withMore(text: string): string {
  return `${text.slice(0, -1)},"more":true}`;
}

function request(func: string, type: string, name: string, fields: RequestFields): string {
  return JSON.stringify({
    func,
    type,
    name,
    params: fields.params,
    id: fields.id,
    page: fields.page,
    page_size: fields.pageSize,
    more: fields.more,
    session: fields.session,
  });
}
