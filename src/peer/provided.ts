/**
 * What a connection needs from the vars, lists, parameterized lists and
 * functions its side provides: the provider serves the other side through
 * these and nothing else, so that one connection knows no server class (the
 * hub's `LocalVar`, `LocalList`, `ParamList` and functions fit them).
 *
 * @module
 */
import type * as v from "valibot";
import type { Subscriber } from "./socket.ts";

/**
 * A var as a connection serves it: its value sent once, or on every change.
 *
 * @internal
 */
export interface ProvidedVar {
  /** Sends the current value to one subscriber (a `get`). */
  sendTo(subscriber: Subscriber): Promise<void>;
  /** Sends the current value and every change after it. */
  subscribe(subscriber: Subscriber): Promise<void>;
  /** Stops sending changes. */
  unsubscribe(subscriber: Subscriber): Promise<void>;
}

/**
 * A list as a connection serves it: one view (a page) per subscriber, and
 * any number of items subscribed on their own.
 *
 * @internal
 */
export interface ProvidedList {
  /** Opens (or moves) the subscriber's view on a page and keeps it current. */
  view(subscriber: Subscriber, page?: number, pageSize?: number): Promise<void>;
  /** Moves the view the subscriber holds to another page (a `get` with a page). */
  moveView(subscriber: Subscriber, page?: number, pageSize?: number): Promise<void>;
  /** Whether the subscriber holds a view. */
  hasView(subscriber: Subscriber): boolean;
  /** Whether the subscriber holds the item, on its own. */
  hasItem(subscriber: Subscriber, id: string): boolean;
  /** Sends one item (a `get` with an id). */
  sendItem(subscriber: Subscriber, id: string): Promise<void>;
  /** Sends one item and every change to it. */
  subscribeItem(subscriber: Subscriber, id: string): Promise<void>;
  /** Closes the subscriber's view. */
  unsubscribe(subscriber: Subscriber): Promise<void>;
  /** Stops sending the item's changes. */
  unsubscribeItem(subscriber: Subscriber, id: string): Promise<void>;
  /** The subscriber asks for change markers from now on. */
  marksChanged(subscriber: Subscriber): void;
  /** Ends the subscriber's view and item subscriptions: its connection is gone. */
  drop(subscriber: Subscriber): Promise<void>;
}

/**
 * One query of a parameterized list, held by one subscription: `release`
 * once, when that subscription ends.
 */
export interface ProvidedQuery {
  /** The query's list, whose frames carry its params. */
  readonly list: ProvidedList;
  /** Ends this hold on the query; the last one closes it. */
  release(): void;
  /**
   * Whether this is still the query a connection with this context gets (a
   * per-user query is not, once the context names another user); absent:
   * always.
   */
  fits?(context: unknown): boolean;
}

/**
 * A list whose subscribers each name a query with params.
 */
export interface ProvidedParamList {
  /** Validates params as sent (code 5 when absent, 6 when invalid) and returns them parsed. */
  parse(raw: unknown): unknown;
  /** Holds the query of these (parsed) params for a connection's context. */
  acquire(params: unknown, context: unknown): ProvidedQuery;
}

/**
 * What a handler gets besides its arguments: the calling peer and the
 * application's context of that connection.
 *
 * @example
 * ```ts
 * import type { CallContext } from "./provided.ts";
 * const whoCalled = (call: CallContext<{ user: string }>) => call.context.user;
 * ```
 */
export interface CallContext<C = unknown> {
  /** The peer that called (for example to call back, or to close it). */
  peer: {
    readonly context: C;
    call(name: string, args?: unknown): Promise<unknown>;
  };
  /** The connection's context. */
  context: C;
}

/**
 * A function as a connection runs it: the schema its args are checked
 * against, and the handler.
 */
export interface ProvidedFunction {
  /** Validates the call's `args` (code 6 when they fail); absent: any args are passed through. */
  args?: v.GenericSchema<unknown, unknown>;
  /** Computes the return value. */
  handler(args: unknown, call: CallContext): unknown;
}
