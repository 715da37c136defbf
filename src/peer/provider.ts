/**
 * The provider: the half of a peer that serves what this side provides to
 * the other side. It checks access, answers `get`, `subscribe` and
 * `unsubscribe`, and runs the calls it accepts.
 *
 * @module
 */
import * as v from "valibot";
import type { Conflating } from "./backpressure.ts";
import {
  encodeError,
  encodeReturn,
  encodeSubscribe,
  encodeUnsubscribe,
} from "../protocol/encode.ts";
import { ErrorCode, SockSyncError } from "../errors.ts";
import { declaredKeys, invalidMessage } from "../protocol/invalid.ts";
import { didYouMean } from "../protocol/closest_name.ts";
import type {
  CallContext,
  ProvidedFunction,
  ProvidedList,
  ProvidedParamList,
  ProvidedVar,
} from "./provided.ts";
import type { MessageWithFunc } from "../protocol/schemas.ts";
import { type PeerHost, REGISTRY, REPORT } from "./host.ts";
import { ListAccess, subscriptionKey } from "./list_access.ts";
import { subscriptionType } from "./metrics.ts";
import { everyName, isEveryName, varKey, varKeyOf } from "./shared_keys.ts";
import { answerFrame, callKey, type CallLedger } from "./call_ledger.ts";

export { subscriptionKey } from "./list_access.ts";

/**
 * What {@linkcode Provided.authorize} is asked about: `subscribe`, `get`
 * and `call` requests to what this side provides (an `unsubscribe` from
 * something not subscribed is asked as `subscribe`), and `set` for any frame
 * that changes one of this side's mirrors (`set`, `set_all`, `set_count`,
 * `insert`, `delete`).
 *
 * @example
 * ```ts
 * import type { AccessRequest } from "./provider.ts";
 * const request: AccessRequest = { action: "subscribe", type: "list", name: "todos" };
 * ```
 */
export interface AccessRequest {
  /** What the other side wants to do. */
  action: "subscribe" | "get" | "set" | "call";
  /** The group's type. */
  type: "var" | "list" | "function";
  /** The group's name, as sent (it may name nothing). */
  name: string;
  /** The list item's id or the call's id, when the frame has one. */
  id?: string;
  /**
   * A list request's params, as sent (a JSON object, not yet checked
   * against the list's params schema), when the frame has them.
   */
  params?: Readonly<Record<string, unknown>>;
}

/**
 * The groups a side provides, by name, and who may use them.
 *
 * @internal
 */
export interface Provided {
  /** Vars by name. */
  readonly vars: ReadonlyMap<string, ProvidedVar>;
  /** Lists by name. */
  readonly lists: ReadonlyMap<string, ProvidedList>;
  /** Functions by name. */
  readonly functions: ReadonlyMap<string, ProvidedFunction>;
  /** Parameterized lists by name. */
  readonly paramLists?: ReadonlyMap<string, ProvidedParamList>;
  /**
   * Whether this connection may do this. Must answer synchronously (so
   * frames keep their order): load what it needs into the context first.
   * A refusal, a throw or anything but `true` is answered with error 1
   * "not subscribed", checked before the name is looked up, so a refused
   * connection gets the same answer whether or not the name exists.
   */
  authorize?(context: unknown, request: AccessRequest): boolean;
  /**
   * Remembers the answers of calls marked `once`, so that each is applied
   * at most once (see `CallMemory`). Without it, `once` is ignored.
   */
  readonly calls?: CallLedger;
}

type Request = {
  type: AccessRequest["type"];
  name: string;
  id?: string;
  params?: Readonly<Record<string, unknown>>;
};

/**
 * Serves what this side provides to one connection. Each method throws a
 * `SockSyncError` (or returns a promise that rejects with one) to be answered
 * as an error frame.
 */
export class Provider {
  // The peer (no closure per connection): the subscriber groups push to, also the `peer` a
  // handler gets.
  readonly #peer: PeerHost & Conflating & { readonly [REGISTRY]: Provided | undefined };
  // Every key below comes from the wire, so only Maps and Sets hold them. Each is created on
  // first use: a server holds many connections, most of which subscribe to little.
  // Every field counts: Bun sizes objects in steps (4 fields 48 bytes, 6 fields 64, 8 fields 80,
  // 12 fields 112), and a server holds many idle connections; the registry and the client
  // session are the peer's.
  // Most connections hold one subscription: it is kept here until a second one needs the Map of
  // the rare parts. A var's is the var (its key is `varKeyOf` it, see #onlyKey), any other the key.
  #only: ProvidedVar | string | undefined;
  // Shared with every connection that accepted all functions (`isEveryName`), until this one
  // changes it.
  #accepting: ReadonlySet<string> | undefined;
  // What most connections never use, created with the first of it.
  #rare: ProviderRare | undefined;

  /**
   * @param peer the connection: its context, limits, subscriber and the
   * groups provided (its `REGISTRY`; none when absent)
   */
  constructor(peer: PeerHost & Conflating & { readonly [REGISTRY]: Provided | undefined }) {
    this.#peer = peer;
  }

  // Read from the peer: a field here would make every provider larger.
  get #registry(): Provided | undefined {
    return this.#peer[REGISTRY];
  }

  get #rareParts(): ProviderRare {
    return this.#rare ??= { subscriptions: undefined, lists: undefined, running: 0 };
  }

  /**
   * What the other side subscribed to, counted against `maxSubscriptions`, once it is more than
   * one; a var's subscription keeps the var, to unsubscribe from it on detach.
   */
  get #subscriptions(): Map<string, ProvidedVar | undefined> | undefined {
    return this.#rare?.subscriptions;
  }

  /** The key of the one subscription kept in `#only`. */
  get #onlyKey(): string | undefined {
    const only = this.#only;
    return typeof only === "object" ? varKeyOf(only) : only;
  }

  /** The var of the one subscription kept in `#only`, if it is a var's. */
  get #onlyVar(): ProvidedVar | undefined {
    const only = this.#only;
    return typeof only === "object" ? only : undefined;
  }

  get #listAccess(): ListAccess {
    const peer = this.#peer;
    const rare = this.#rareParts;
    return rare.lists ??= new ListAccess({
      lists: this.#registry?.lists,
      paramLists: this.#registry?.paramLists,
      // Read when used: the context changes when the connection authenticates again.
      get context() {
        return peer.context;
      },
      peer,
      maxLiveQueries: peer.limits.maxLiveQueries,
      subscriptions: this,
      allowed: (request) => this.allowed("subscribe", request),
    });
  }

  /** Whether the other side holds this subscription (see {@linkcode subscriptionKey}). */
  has(key: string): boolean {
    return this.#subscriptions ? this.#subscriptions.has(key) : this.#onlyKey === key;
  }

  /** Forgets a subscription of the other side; whether it held it. */
  delete(key: string): boolean {
    if (this.#subscriptions) {
      if (!this.#subscriptions.delete(key)) return false;
    } else if (this.#onlyKey !== key) return false;
    else this.#only = undefined;
    this.#peer.metrics?.subscribed(subscriptionType(key), -1);
    return true;
  }

  /** Asks the registry's `authorize` hook; anything but `true` refuses. */
  allowed(action: AccessRequest["action"], message: Request): boolean {
    const registry = this.#registry;
    if (!registry?.authorize) return true;
    const request: AccessRequest = { action, type: message.type, name: message.name };
    if (message.id !== undefined) request.id = message.id;
    if (message.params !== undefined) request.params = message.params;
    try {
      return registry.authorize(this.#peer.context, request) === true;
    } catch (error) {
      this.#peer[REPORT](error);
      return false;
    }
  }

  #check(action: AccessRequest["action"], message: Request): void {
    if (!this.allowed(action, message)) {
      // Checked before the name is looked up: the same answer for any name.
      throw notSubscribed();
    }
  }

  /** Counts a new subscription of the other side; error 8 past the limit. */
  claim(key: string, local?: ProvidedVar): void {
    if (this.has(key)) return;
    const size = this.#subscriptions?.size ?? (this.#onlyKey === undefined ? 0 : 1);
    if (size >= this.#peer.limits.maxSubscriptions) {
      throw new SockSyncError(ErrorCode.Other, "too many subscriptions");
    }
    this.#hold(key, local);
  }

  /** Forgets a subscription of the other side. */
  release(key: string): void {
    this.delete(key);
  }

  /** Records a subscription (known to be counted) and the var it keeps, if any. */
  #hold(key: string, local: ProvidedVar | undefined): void {
    const metrics = this.#peer.metrics;
    if (metrics && !this.has(key)) metrics.subscribed(subscriptionType(key), 1);
    const subscriptions = this.#subscriptions;
    const onlyKey = this.#onlyKey;
    if (subscriptions) subscriptions.set(key, local);
    else if (
      (onlyKey === undefined || onlyKey === key) &&
      (local === undefined || varKeyOf(local) === key)
    ) {
      this.#only = local ?? key;
    } else {
      const held: [string, ProvidedVar | undefined][] = onlyKey === undefined
        ? []
        : [[onlyKey, this.#onlyVar]];
      this.#rareParts.subscriptions = new Map([...held, [key, local]]);
      this.#only = undefined;
    }
  }

  #var(name: string, action: AccessRequest["action"]): ProvidedVar {
    const vars = this.#registry?.vars;
    const found = vars?.get(name);
    if (!found) {
      // Only a name this connection may use is suggested.
      const hint = vars
        ? didYouMean(
          name,
          vars.keys(),
          (other) => this.allowed(action, { type: "var", name: other }),
        )
        : "";
      throw new SockSyncError(ErrorCode.InvalidName, `no var with this name${hint}`);
    }
    return found;
  }

  /** Answers a `get` of a var, a list page or a list item. */
  get(message: MessageWithFunc<"get">): Promise<void> {
    this.#check("get", message);
    const peer = this.#peer;
    // Subscriptions are checked in frame order (this record), not in the
    // groups, whose subscribes and unsubscribes are still queued.
    if (message.type === "var") {
      const local = this.#var(message.name, "get");
      if (!this.has(subscriptionKey("var", message.name))) throw notSubscribed();
      return local.sendTo(peer);
    }
    return this.#listAccess.get(message);
  }

  /** Subscribes the other side to a var, a list view or a list item. */
  subscribe(message: MessageWithFunc<"subscribe"> & { type: "var" | "list" }): Promise<void> {
    this.#check("subscribe", message);
    const peer = this.#peer;
    if (message.type === "var") {
      const local = this.#var(message.name, "subscribe");
      const key = varKey(local, message.name);
      this.claim(key, local);
      // Held again by a subscribe that was already counted (its var unknown to `claim`).
      this.#hold(key, local);
      return local.subscribe(peer);
    }
    return this.#listAccess.subscribe(message);
  }

  /**
   * Ends a subscription. One the other side holds needs no permission; any
   * other is authorized as a `subscribe` first, so that a refused connection
   * cannot tell known names (no answer) from unknown ones (error 3).
   */
  unsubscribe(
    message: MessageWithFunc<"unsubscribe"> & { type: "var" | "list" },
  ): Promise<void> | void {
    if (message.type === "var") {
      const key = subscriptionKey("var", message.name);
      if (!this.has(key)) this.#check("subscribe", message);
      const local = this.#var(message.name, "subscribe");
      this.delete(key);
      return local.unsubscribe(this.#peer);
    }
    return this.#listAccess.unsubscribe(message, () => this.#check("subscribe", message));
  }

  /**
   * Asks `authorize` again, as a `subscribe`, about every subscription the
   * other side holds (the context changed): each one refused now, or whose
   * per-context query is not the one this context gets, ends, and the other
   * side gets error 1 `not subscribed` about it.
   */
  recheck(): void {
    const keys = this.#subscriptions
      ? [...this.#subscriptions.keys()]
      : this.#onlyKey === undefined
      ? []
      : [this.#onlyKey];
    for (const key of keys) {
      const [kind, name, rawId, pkey] = JSON.parse(key) as [string, string, string?, string?];
      if (kind === "function") continue;
      const type = kind === "var" ? "var" : "list";
      const id = rawId ?? undefined;
      const params = pkey ? JSON.parse(pkey) as Record<string, unknown> : undefined;
      const request: Request = { type, name, id, params };
      if (id === undefined) delete request.id;
      if (params === undefined) delete request.params;
      if (this.allowed("subscribe", request) && (type === "var" || this.#listAccess.fits(key))) {
        continue;
      }
      let done: Promise<void>;
      if (type === "var") {
        const local = this.#registry?.vars.get(name);
        this.delete(key);
        done = local ? local.unsubscribe(this.#peer) : Promise.resolve();
      } else done = this.#listAccess.end(key, name, id);
      done.catch((error) => this.#peer[REPORT](error));
      this.#peer.sendText(encodeError({ code: ErrorCode.InvalidFunc, ...request, message: NOT }));
    }
  }

  /** Ends every subscription of the other side. */
  unsubscribeAll(): void {
    const subscriptions = this.#subscriptions;
    const vars = subscriptions ? [...subscriptions.values()] : [this.#onlyVar];
    const metrics = this.#peer.metrics;
    if (metrics) {
      const keys = subscriptions ? subscriptions.keys() : [this.#onlyKey];
      for (const key of keys) if (key !== undefined) metrics.subscribed(subscriptionType(key), -1);
    }
    subscriptions?.clear();
    this.#only = undefined;
    for (const local of vars) local?.unsubscribe(this.#peer);
    this.#rare?.lists?.dropAll();
  }

  /** Runs a call to a function this side accepts calls to, and sends its `return`. */
  call(message: MessageWithFunc<"call">): Promise<void> {
    this.#check("call", message);
    const fn = this.#accepting?.has(message.name)
      ? this.#registry?.functions.get(message.name)
      : undefined;
    if (!fn) throw this.#noFunction(message.name);
    // Refused rather than queued: a queue would grow without bound.
    const rare = this.#rareParts;
    if (rare.running >= this.#peer.limits.maxConcurrentCalls) {
      throw new SockSyncError(ErrorCode.Other, "too many concurrent calls");
    }
    rare.running++;
    const ledger = message.once ? this.#registry?.calls : undefined;
    const done = (ledger ? this.#runOnce(ledger, fn, message) : this.#run(fn, message))
      .finally(() => rare.running--);
    // Only declared names reach here: the label set stays bounded.
    return this.#peer.metrics ? this.#peer.metrics.timeCall(message.name, done) : done;
  }

  /** "not subscribed", with the closest function this connection may call, if any. */
  #noFunction(name: string): SockSyncError {
    const accepting = this.#accepting;
    if (!accepting || this.#registry?.functions.has(name)) return notSubscribed();
    const hint = didYouMean(
      name,
      accepting,
      (other) => this.allowed("call", { type: "function", name: other }),
    );
    return new SockSyncError(ErrorCode.InvalidFunc, `not subscribed${hint}`);
  }

  async #run(fn: ProvidedFunction, message: MessageWithFunc<"call">): Promise<void> {
    const args = this.#args(fn, message);
    const context = this.#peer.context;
    const peer = this.#peer as unknown as CallContext["peer"];
    const value = await fn.handler(args, { peer, context });
    this.#peer.sendText(encodeReturn(message.name, { id: message.id, value }));
  }

  /**
   * Runs a call marked `once` through the ledger: its first run's answer,
   * success or failure, answers every repeat. Arguments that fail the schema
   * are refused before, unremembered: such a call never runs.
   */
  async #runOnce(
    ledger: CallLedger,
    fn: ProvidedFunction,
    message: MessageWithFunc<"call">,
  ): Promise<void> {
    const args = this.#args(fn, message);
    const context = this.#peer.context;
    const peer = this.#peer as unknown as CallContext["peer"];
    const answer = await ledger.once(
      callKey(message),
      () =>
        answerFrame(
          message,
          () => fn.handler(args, { peer, context }),
          (error) => this.#peer[REPORT](error),
        ),
    );
    this.#peer.sendText(answer);
  }

  /** The call's arguments as the function's schema parsed them; code 6 when they fail it. */
  #args(fn: ProvidedFunction, message: MessageWithFunc<"call">): unknown {
    let args: unknown = message.args;
    if (fn.args) {
      const parsed = v.safeParse(fn.args, args);
      if (!parsed.success) {
        throw new SockSyncError(
          ErrorCode.InvalidArguments,
          invalidMessage("arguments", parsed.issues, args, declaredKeys(fn.args)),
        );
      }
      args = parsed.output;
    }
    return args;
  }

  /**
   * Lets the other side call these functions (the protocol's `subscribe` to
   * a function). Without names: every function provided.
   */
  acceptCalls(...names: string[]): void {
    const functions = this.#registry?.functions;
    if (names.length === 0 && functions && this.#accepting === undefined) {
      // The usual connect hook: the same names for every connection, so one set for all.
      this.#accepting = everyName(functions);
      for (const name of this.#accepting) this.#peer.sendText(encodeSubscribe("function", name));
      return;
    }
    const list = names.length > 0 ? names : [...(functions?.keys() ?? [])];
    for (const name of list) {
      if (!functions?.has(name)) {
        throw new SockSyncError(ErrorCode.InvalidName, `no function named ${name}`);
      }
      if (this.#accepting?.has(name)) continue;
      this.#ownAccepting().add(name);
      this.#peer.sendText(encodeSubscribe("function", name));
    }
  }

  /** Stops accepting calls to these functions (the protocol's `unsubscribe`). */
  refuseCalls(...names: string[]): void {
    for (const name of names) {
      if (this.#accepting?.has(name)) {
        this.#ownAccepting().delete(name);
        this.#peer.sendText(encodeUnsubscribe("function", name));
      }
    }
  }

  #ownAccepting(): Set<string> {
    if (this.#accepting === undefined || isEveryName(this.#accepting)) {
      this.#accepting = new Set(this.#accepting);
    }
    return this.#accepting as Set<string>;
  }

  /** Drops every subscription and accepted function: the connection is gone. */
  detach(): void {
    this.unsubscribeAll();
    this.#accepting = undefined;
  }
}

/** The parts of a provider most connections never use. */
interface ProviderRare {
  // Two subscriptions or more (see `#only`).
  subscriptions: Map<string, ProvidedVar | undefined> | undefined;
  // Created on the first list request.
  lists: ListAccess | undefined;
  // Calls running now, against `maxConcurrentCalls`.
  running: number;
}

const NOT = "not subscribed";

function notSubscribed(): SockSyncError {
  return new SockSyncError(ErrorCode.InvalidFunc, NOT);
}
