/**
 * The SockSync wire protocol: a valibot schema for every message, and the
 * message types inferred from those schemas (the one place the format of an
 * incoming frame is written). `decode.ts` validates frames with them;
 * `encode.ts` writes every outgoing frame.
 *
 * @module
 */
import * as v from "valibot";

// Each schema carries its exact valibot type: the published .d.ts needs an
// explicit type on everything the message types are inferred from, and the
// compiler checks each field's kind against the schema it describes (a func,
// type or field too many it does not see: tests/message_schemas_test.ts pins them).
type Lit<T extends string> = v.GenericSchema<T>;
type Str = v.GenericSchema<string>;
type Opt<S extends v.GenericSchema> = v.OptionalSchema<S, undefined>;
type Obj<E extends v.ObjectEntries> = v.ObjectSchema<E, undefined>;
type Int = v.GenericSchema<number>;
type Any = v.GenericSchema<unknown>;

/** A literal `func` or `type` (which `decodeObject` has already matched to pick the schema). */
function literal<T extends string>(value: T): Lit<T> {
  return v.custom<T>((input) => input === value);
}
const Text: Str = v.custom<string>((input) => typeof input === "string");
// Numbers, session ids and "present" are plain predicates under `v.custom`: the same checks as
// a pipe of number, safeInteger and minValue (or regex, nonOptional), with fewer valibot schema
// kinds in a browser bundle (each kind is code every client carries).
const Count: Int = v.custom<number>((input) => Number.isSafeInteger(input) && input as number >= 0);
const PageSize: Int = v.custom<number>((input) =>
  Number.isSafeInteger(input) && input as number >= 1
);
/** JSON has no `undefined`, so "not undefined" means "present". */
const Present: Any = v.custom<unknown>((input) => input !== undefined);
type Unknown = v.GenericSchema<unknown>;
// Anything but `undefined` is present, so this takes any value or none.
const Anything: Opt<Unknown> = v.optional(Present);
type Bool = v.GenericSchema<boolean>;
const Flag: Opt<Bool> = v.optional(v.custom<boolean>((input) => typeof input === "boolean"));
type ParamsObject = v.GenericSchema<Record<string, unknown>>;
/** A list view's params: any JSON object (the list's own schema checks it further). */
const Params: Opt<ParamsObject> = v.optional(
  v.custom<Record<string, unknown>>((input) =>
    typeof input === "object" && input !== null && !Array.isArray(input)
  ),
);

/**
 * A client session id (our extension, on the probe): 16–64 characters of
 * `A-Z a-z 0-9 _ -`, chosen once per client and sent on every connection.
 */
const SessionId: v.GenericSchema<string> = v.custom<string>((input) =>
  typeof input === "string" && /^[\w-]{16,64}$/.test(input)
);

/**
 * The type of each message schema, for the annotation of `MessageSchemas` (the
 * compiler checks the fields of each schema in the table against its type).
 *
 * @internal
 */
interface Typed {
  GetVar: Obj<{
    func: Lit<"get">;
    type: Lit<"var">;
    name: Str;
    session: Opt<typeof SessionId>;
  }>;
  GetList: Obj<{
    func: Lit<"get">;
    type: Lit<"list">;
    name: Str;
    params: Opt<ParamsObject>;
    page: Opt<Int>;
    page_size: Opt<Int>;
    id: Opt<Str>;
    more: Opt<Bool>;
  }>;
  SetVar: Obj<{ func: Lit<"set">; type: Lit<"var">; name: Str; value: Any }>;
  SetList: Obj<{
    func: Lit<"set">;
    type: Lit<"list">;
    name: Str;
    params: Opt<ParamsObject>;
    id: Str;
    value: Any;
  }>;
  SetAll: Obj<{
    func: Lit<"set_all">;
    type: Lit<"list">;
    name: Str;
    params: Opt<ParamsObject>;
    page: Int;
    page_size: Opt<Int>;
    total_item_count: Int;
    items: v.ArraySchema<Obj<{ id: Str; value: Any }>, undefined>;
  }>;
  SetCount: Obj<{
    func: Lit<"set_count">;
    type: Lit<"list">;
    name: Str;
    params: Opt<ParamsObject>;
    total_item_count: Int;
  }>;
  Insert: Obj<{
    func: Lit<"insert">;
    type: Lit<"list">;
    name: Str;
    params: Opt<ParamsObject>;
    index: Int;
    id: Str;
    value: Any;
  }>;
  Delete: Obj<{
    func: Lit<"delete">;
    type: Lit<"list">;
    name: Str;
    params: Opt<ParamsObject>;
    id: Str;
  }>;
  Call: Obj<{
    func: Lit<"call">;
    type: Lit<"function">;
    name: Str;
    id: Str;
    args: Opt<Unknown>;
    once: Opt<Bool>;
  }>;
  Return: Obj<{
    func: Lit<"return">;
    type: Lit<"function">;
    name: Str;
    id: Str;
    value: Opt<Unknown>;
  }>;
  SubscribeVar: Obj<{ func: Lit<"subscribe">; type: Lit<"var">; name: Str }>;
  SubscribeList: Obj<{
    func: Lit<"subscribe">;
    type: Lit<"list">;
    name: Str;
    params: Opt<ParamsObject>;
    id: Opt<Str>;
    page: Opt<Int>;
    page_size: Opt<Int>;
    more: Opt<Bool>;
  }>;
  SubscribeFunction: Obj<{ func: Lit<"subscribe">; type: Lit<"function">; name: Str }>;
  UnsubscribeVar: Obj<{ func: Lit<"unsubscribe">; type: Lit<"var">; name: Str }>;
  UnsubscribeList: Obj<{
    func: Lit<"unsubscribe">;
    type: Lit<"list">;
    name: Str;
    params: Opt<ParamsObject>;
    id: Opt<Str>;
  }>;
  UnsubscribeFunction: Obj<{ func: Lit<"unsubscribe">; type: Lit<"function">; name: Str }>;
  UnsubscribeAll: Obj<{ func: Lit<"unsubscribe_all"> }>;
  ErrorSchema: Obj<{
    func: Lit<"error">;
    error_code: Int;
    message: Opt<Str>;
    type: Opt<Str>;
    name: Opt<Str>;
    id: Opt<Str>;
    params: Opt<ParamsObject>;
  }>;
}

/** Our extension: `more: true` on a frame says more frames of the same change follow. */
type More = { more: Opt<Bool> };
/** @internal */
type Chained<S> = S extends Obj<infer E> ? Obj<E & More> : never;

/**
 * Typed frames by `func` and then `type`, each as the entries after its head.
 *
 * @internal
 */
type Entries = Record<string, Record<string, v.ObjectEntries>>;
/**
 * The schemas `frames` builds from a table of entries: a frame's head (its `func`, `type`
 * and `name`, first on the wire) and then its entries.
 *
 * @internal
 */
type Framed<T extends Entries> = {
  [F in keyof T]: {
    [K in keyof T[F]]: Obj<{ func: Lit<F & string>; type: Lit<K & string>; name: Str } & T[F][K]>;
  };
};
/**
 * Puts in each place of `table` the schema of its frame: its `func` and `type` (the keys it is
 * found by) and `name`, then its entries. The literals come from the keys, so a browser bundle
 * carries each one once.
 */
function frames<T extends Entries>(table: T): Framed<T> {
  const built: Record<string, Record<string, unknown>> = table;
  for (const func in table) {
    for (const type in table[func]) {
      built[func][type] = v.object({
        func: literal(func),
        type: literal(type),
        name: Text,
        ...table[func][type],
      });
    }
  }
  return built as Framed<T>;
}

/**
 * Schemas of every message, by `func` and then by `type` (`""` for messages
 * without a type).
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { MessageSchemas } from "./schemas.ts";
 * const message = v.parse(MessageSchemas.get.var, { func: "get", type: "var", name: "counter" });
 * ```
 */
export const MessageSchemas: {
  readonly get: { readonly var: Typed["GetVar"]; readonly list: Typed["GetList"] };
  readonly set: {
    readonly var: Chained<Typed["SetVar"]>;
    readonly list: Chained<Typed["SetList"]>;
  };
  readonly set_all: { readonly list: Chained<Typed["SetAll"]> };
  readonly set_count: { readonly list: Chained<Typed["SetCount"]> };
  readonly insert: { readonly list: Chained<Typed["Insert"]> };
  readonly delete: { readonly list: Chained<Typed["Delete"]> };
  readonly call: { readonly function: Typed["Call"] };
  readonly return: { readonly function: Typed["Return"] };
  readonly subscribe: {
    readonly var: Typed["SubscribeVar"];
    readonly list: Typed["SubscribeList"];
    readonly function: Typed["SubscribeFunction"];
  };
  readonly unsubscribe: {
    readonly var: Typed["UnsubscribeVar"];
    readonly list: Typed["UnsubscribeList"];
    readonly function: Typed["UnsubscribeFunction"];
  };
  readonly unsubscribe_all: { readonly "": Typed["UnsubscribeAll"] };
  readonly error: { readonly "": Typed["ErrorSchema"] };
} = {
  ...frames({
    get: {
      // Our extension: the sender's session, on its first probe (see PROTOCOL.md, "Sessions").
      var: { session: v.optional(SessionId) },
      list: {
        params: Params,
        page: v.optional(Count),
        page_size: v.optional(PageSize),
        id: v.optional(Text),
        // Our extension: the sender wants change markers (`more`) on this connection's list frames.
        more: Flag,
      },
    },
    // A frame that changes a mirror ends with `more` (our extension; see `More`).
    set: {
      var: { value: Present, more: Flag },
      list: { params: Params, id: Text, value: Present, more: Flag },
    },
    set_all: {
      list: {
        params: Params,
        page: Count,
        page_size: v.optional(PageSize),
        total_item_count: Count,
        items: v.array(v.object({ id: Text, value: Present })),
        more: Flag,
      },
    },
    set_count: {
      list: { params: Params, total_item_count: Count, more: Flag },
    },
    insert: {
      list: { params: Params, index: Count, id: Text, value: Present, more: Flag },
    },
    delete: {
      list: { params: Params, id: Text, more: Flag },
    },
    call: {
      function: {
        id: Text,
        args: Anything,
        // Our extension: the id is a unique key; the callee applies the call at most once.
        once: Flag,
      },
    },
    return: {
      function: { id: Text, value: Anything },
    },
    subscribe: {
      var: {},
      list: {
        params: Params,
        id: v.optional(Text),
        // Our extension: a subscriber may open its view on any page at once.
        page: v.optional(Count),
        page_size: v.optional(PageSize),
        // Our extension: the sender wants change markers (`more`) on this connection's list frames.
        more: Flag,
      },
      function: {},
    },
    unsubscribe: {
      var: {},
      list: { params: Params, id: v.optional(Text) },
      function: {},
    },
  }),
  unsubscribe_all: { "": v.object({ func: literal("unsubscribe_all") }) },
  error: {
    "": v.object({
      func: literal("error"),
      error_code: v.custom<number>(Number.isInteger),
      message: v.optional(Text),
      type: v.optional(Text),
      name: v.optional(Text),
      id: v.optional(Text),
      params: Params,
    }),
  },
};

/** @internal */
type Schemas = typeof MessageSchemas;
/** @internal */
type OutputOf<S> = S extends v.GenericSchema ? v.InferOutput<S> : never;

/**
 * Every message by its `func`, as its schemas output it.
 *
 * @example
 * ```ts
 * import type { MessageMap } from "./schemas.ts";
 * const call: MessageMap["call"] = { func: "call", type: "function", name: "echo", id: "1" };
 * ```
 */
export type MessageMap = {
  [F in keyof Schemas]: OutputOf<Schemas[F][keyof Schemas[F]]>;
};

/**
 * Any valid SockSync message, discriminated by `func` (and `type`).
 *
 * @example
 * ```ts
 * import type { Message } from "./schemas.ts";
 * const m: Message = { func: "subscribe", type: "var", name: "counter" };
 * ```
 */
export type Message = MessageMap[keyof MessageMap];

/**
 * The message with a given `func`.
 *
 * @example
 * ```ts
 * import type { MessageWithFunc } from "./schemas.ts";
 * const call: MessageWithFunc<"call"> = { func: "call", type: "function", name: "echo", id: "1" };
 * ```
 */
export type MessageWithFunc<F extends keyof MessageMap> = MessageMap[F];

/**
 * A frame that changes a mirror, already validated by the protocol schemas.
 * `more: true` says that more frames of the same change follow.
 *
 * @internal
 */
export type MirrorFrame =
  | MessageWithFunc<"set">
  | MessageWithFunc<"set_all">
  | MessageWithFunc<"set_count">
  | MessageWithFunc<"insert">
  | MessageWithFunc<"delete">;
