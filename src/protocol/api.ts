/**
 * The shape of an API as a client sees it: var values, list items and
 * params, function args and results, each by name, and the accessors that
 * read one of them. Neutral: the server derives such a shape from its
 * declarations (`ApiOf` in src/server/api_of.ts), the client takes one as its
 * type argument. Types only.
 *
 * @module
 */
/**
 * The shape of a client's API: var values, list items and params, function
 * args and results, each by name.
 *
 * @example
 * ```ts
 * import type { ApiShape } from "./api.ts";
 * type Api = {
 *   vars: { counter: number };
 *   lists: { todos: { item: { text: string }; params: undefined } };
 *   functions: { increment: { args: { by?: number } | undefined; result: number } };
 * };
 * const ok = (api: Api): ApiShape => api;
 * ```
 */
export interface ApiShape {
  /** Var value types by name. */
  vars: Record<string, unknown>;
  /** List item and params types by name. */
  lists: Record<string, { item: unknown; params: unknown }>;
  /** Function args and result types by name. */
  functions: Record<string, { args: unknown; result: unknown }>;
}

/**
 * The API of a client that knows nothing of its server: any name, `unknown`
 * values. `Client` without a type argument uses it.
 *
 * @example
 * ```ts
 * import type { UntypedApi } from "./api.ts";
 * type Value = UntypedApi["vars"]["anything"]; // unknown
 * ```
 */
export interface UntypedApi extends ApiShape {
  /** Any var, of unknown value. */
  vars: Record<string, unknown>;
  /** Any list, of unknown items and params. */
  lists: Record<string, { item: unknown; params: unknown }>;
  /** Any function, of unknown args and result. */
  functions: Record<string, { args: unknown; result: unknown }>;
}

/**
 * The var names of an API.
 *
 * @example
 * ```ts
 * import type { VarName } from "./api.ts";
 * type Names = VarName<{ vars: { counter: number }; lists: {}; functions: {} }>; // "counter"
 * ```
 */
export type VarName<A extends ApiShape> = keyof A["vars"] & string;

/**
 * The list names of an API.
 *
 * @example
 * ```ts
 * import type { ListName } from "./api.ts";
 * type Names = ListName<{ vars: {}; lists: { todos: { item: string; params: undefined } }; functions: {} }>;
 * ```
 */
export type ListName<A extends ApiShape> = keyof A["lists"] & string;

/**
 * The function names of an API.
 *
 * @example
 * ```ts
 * import type { FunctionName } from "./api.ts";
 * type Names = FunctionName<{ vars: {}; lists: {}; functions: { ping: { args: undefined; result: string } } }>;
 * ```
 */
export type FunctionName<A extends ApiShape> = keyof A["functions"] & string;

/**
 * A list's item value type.
 *
 * @example
 * ```ts
 * import type { ItemOf } from "./api.ts";
 * type Todo = ItemOf<{ vars: {}; lists: { todos: { item: { text: string }; params: undefined } }; functions: {} }, "todos">;
 * ```
 */
export type ItemOf<A extends ApiShape, N extends ListName<A>> = A["lists"][N]["item"];

/**
 * A list's params type (`undefined` when it takes none).
 *
 * @example
 * ```ts
 * import type { ParamsOf } from "./api.ts";
 * type Room = ParamsOf<{ vars: {}; lists: { chat: { item: string; params: { room: string } } }; functions: {} }, "chat">;
 * ```
 */
export type ParamsOf<A extends ApiShape, N extends ListName<A>> = A["lists"][N]["params"];

/**
 * A function's args type.
 *
 * @example
 * ```ts
 * import type { ArgsOf } from "./api.ts";
 * type Args = ArgsOf<{ vars: {}; lists: {}; functions: { add: { args: { text: string }; result: null } } }, "add">;
 * ```
 */
export type ArgsOf<A extends ApiShape, N extends FunctionName<A>> = A["functions"][N]["args"];

/**
 * A function's result type.
 *
 * @example
 * ```ts
 * import type { ResultOf } from "./api.ts";
 * type Result = ResultOf<{ vars: {}; lists: {}; functions: { add: { args: string; result: null } } }, "add">;
 * ```
 */
export type ResultOf<A extends ApiShape, N extends FunctionName<A>> = A["functions"][N]["result"];

/**
 * `string` for an untyped API (any name goes), `never` for a typed one, so
 * that the untyped overloads (explicit type arguments) only exist there.
 *
 * @internal
 */
export type AnyName<A extends ApiShape> = string extends keyof A["vars"] ? string : never;
