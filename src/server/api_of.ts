/**
 * The types a client learns from the server's declarations: what
 * `hub.var`, `hub.list` and `hub.function` return carries each name and its
 * value, params, args and result types, and {@linkcode ApiOf} collects them
 * into the API shape that `connect<Api>(url)` takes. Types only: a
 * browser bundle that imports them with `import type` contains no server code.
 *
 * @module
 */
import type { LocalList } from "./local_list.ts";
import type { LocalVar } from "./local_var.ts";
import type { ParamList } from "./param_list.ts";

/**
 * What `hub.var` returns: the var, with its name as a literal type.
 *
 * @example
 * ```ts
 * import type { DeclaredVar } from "./api_of.ts";
 * const counterName = (counter: DeclaredVar<"counter", number>) => counter.name;
 * ```
 */
export type DeclaredVar<N extends string, T> = LocalVar<T> & { readonly name: N };

/**
 * What `hub.list` returns: the list, with its name as a literal type and the
 * type of the params its views take (`undefined` for none).
 *
 * @example
 * ```ts
 * import type { DeclaredList } from "./api_of.ts";
 * type Todos = DeclaredList<"todos", { text: string }, undefined>;
 * ```
 */
export type DeclaredList<N extends string, T, P> = LocalList<T> & {
  readonly name: N;
  /** Never set: it only carries the params type. */
  readonly paramsType?: P;
};

/**
 * What `hub.list` returns for a parameterized list: the list, with its name as
 * a literal type, its item type and the type of the params its views take.
 *
 * @example
 * ```ts
 * import type { DeclaredParamList } from "./api_of.ts";
 * type Messages = DeclaredParamList<"messages", { text: string }, { room: string }>;
 * ```
 */
export type DeclaredParamList<N extends string, T, P> = ParamList<unknown, T> & {
  readonly name: N;
  /** Never set: it only carries the item type. */
  readonly itemType?: T;
  /** Never set: it only carries the params type. */
  readonly paramsType?: P;
};

/**
 * What `hub.function` returns: a handle naming the function and carrying its
 * args type (what the client sends) and result type (what the handler resolves).
 *
 * @example
 * ```ts
 * import type { DeclaredFunction } from "./api_of.ts";
 * type AddTodo = DeclaredFunction<"add_todo", { text: string }, { id: string }>;
 * ```
 */
export interface DeclaredFunction<N extends string, A, R> {
  /** Always `"function"`. */
  readonly kind: "function";
  /** The function's name on the wire. */
  readonly name: N;
  /** Never set: it only carries the args type. */
  readonly argsType?: A;
  /** Never set: it only carries the result type. */
  readonly resultType?: R;
}

/** @internal */
type VarsOf<D> = {
  [
    K in keyof D as D[K] extends LocalList<unknown> ? never
      : D[K] extends DeclaredVar<infer N, unknown> ? N
      : never
  ]: D[K] extends LocalVar<infer T> ? T : never;
};

/** @internal */
type ListsOf<D> = {
  [
    K in keyof D as D[K] extends DeclaredList<infer N, unknown, unknown> ? N
      : D[K] extends DeclaredParamList<infer N, unknown, unknown> ? N
      : never
  ]: D[K] extends DeclaredList<string, infer T, infer P> ? { item: T; params: P }
    : D[K] extends DeclaredParamList<string, infer T, infer P> ? { item: T; params: P }
    : never;
};

/** @internal */
type FunctionsOf<D> = {
  [K in keyof D as D[K] extends DeclaredFunction<infer N, unknown, unknown> ? N : never]:
    D[K] extends DeclaredFunction<string, infer A, infer R> ? { args: A; result: R } : never;
};

/**
 * A function's key in the declarations when it is not its wire name: the
 * client refuses it at compile time with a message naming the wire name.
 *
 * @internal
 */
type KeysOf<D> = {
  [
    K in keyof D as D[K] extends DeclaredFunction<infer N, unknown, unknown>
      ? K extends N ? never : K
      : never
  ]: D[K] extends DeclaredFunction<infer N, unknown, unknown> ? N : never;
};

/**
 * The API type of an object holding what `hub.var`, `hub.list` and
 * `hub.function` returned (keys do not matter: the declared names do).
 * Export it from the server's declarations and `import type` it in the
 * client, which then checks every name, argument and result. A function
 * called by its key where that differs from its wire name (`markShipped`
 * for `mark_shipped`) fails to compile with a message naming the wire name.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { Hub } from "./hub.ts";
 * import type { ApiOf } from "./api_of.ts";
 * import { connect } from "../client/client.ts";
 * import { MemoryListSource } from "../../stores/memory/mod.ts";
 * const hub = new Hub();
 * const counter = hub.var("counter", { schema: v.number(), initial: 0 });
 * const todos = hub.list("todos", { source: new MemoryListSource(), schema: v.object({ text: v.string() }) });
 * const increment = hub.function("increment", {
 *   args: v.object({ by: v.number() }),
 *   handler: ({ by }) => counter.update((n) => n + by),
 * });
 * type Api = ApiOf<{ counter: typeof counter; todos: typeof todos; increment: typeof increment }>;
 * // In the browser: import type { Api } from "./server_api.ts";
 * const client = connect<Api>("ws://127.0.0.1:8080/ws/socksync");
 * const n: number = await client.call("increment", { by: 2 });
 * ```
 */
export type ApiOf<D> = {
  vars: VarsOf<D>;
  lists: ListsOf<D>;
  functions: FunctionsOf<D>;
  /** The keys of functions declared under another key than their wire name, to that name. */
  keys: KeysOf<D>;
};
