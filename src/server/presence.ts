/**
 * Presence: who is here. For each scope (one params object, such as a room)
 * a live list of the connections present, oldest arrival first, each with a
 * small state of its own that its schema validates. The list is an ordinary
 * parameterized list ({@linkcode ParamList}): subscribers page it, count it,
 * watch single members, and `authorize` applies to it as to any list. Its
 * items live in a {@linkcode PresenceStore}: in memory for one process, on
 * Redis or PostgreSQL for members listed across instances (leased, so that a
 * dead instance's members go away).
 *
 * A connection joins explicitly ({@linkcode Presence.join}) or while it views
 * another parameterized list with the same params (`joinWith`), and leaves
 * when it leaves explicitly, closes that view, or disconnects.
 *
 * @module
 */
import * as v from "valibot";
import { ErrorCode, SockSyncError } from "../errors.ts";
import { paramsKey } from "../protocol/params.ts";
import type { ListSource, PresenceStore } from "../store.ts";
import { ParamList } from "./param_list.ts";
import type { Subscriber } from "../peer/socket.ts";

/**
 * How to declare a presence list (see {@linkcode Presence}).
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { MemoryPresenceStore } from "../../stores/memory/mod.ts";
 * import type { PresenceOptions } from "./presence.ts";
 * const options: PresenceOptions<{ room: string }, { name: string }, unknown> = {
 *   params: v.object({ room: v.string() }),
 *   state: v.object({ name: v.string() }),
 *   initial: { name: "anon" },
 *   store: new MemoryPresenceStore(),
 *   joinWith: "messages",
 * };
 * ```
 */
export interface PresenceOptions<P, S, C> {
  /** The scope's params (a room…): subscribers of the list send them, as for any parameterized list. */
  params: v.GenericSchema<unknown, P>;
  /** Every member's state passes it (on join and on every update). */
  state: v.GenericSchema<unknown, S>;
  /** A member's state when it joins without one: a value, or made from the connection's context. */
  initial: S | ((context: C) => S);
  /** Where members are kept: `store.presence()` of the app's store, or a `MemoryPresenceStore`. */
  store: PresenceStore;
  /**
   * The name of a parameterized list declared before: a connection is
   * present in a scope while it views that list (any page) with params that
   * pass `params` (extra keys are kept out of the scope).
   */
  joinWith?: string;
  /** The largest page a subscriber of the list gets. Default 100. */
  maxPageSize?: number;
  /** Told about failures with no caller to tell (a store down while a view opens). */
  onError?: (error: unknown) => void;
}

/**
 * What presence needs of a connection: the peer's own object (its `context`, its detach).
 *
 * @internal
 */
export type Member = Subscriber & {
  readonly context?: unknown;
  /** The client's session (the same on each of its connections), when it presented one. */
  readonly session?: string;
  readonly detached?: boolean;
  // Any: a Peer<C> passes itself, whatever its C.
  // deno-lint-ignore no-explicit-any
  onDetach?(listener: (peer: any) => void): () => void;
};

interface Membership<S> {
  readonly scope: string;
  state: S;
  /**
   * Open views of the `joinWith` list: a count, not a flag, because a view's close and the
   * next view's open can come from two instances of the query (one closing, one opening)
   * whose tasks are not ordered with each other.
   */
  views: number;
  explicit: boolean;
}

/**
 * A presence list declared on a hub with `hub.presence(name, options)`.
 * `list` is the parameterized list its subscribers see (declare the app's
 * API with it); items are `{ id, value: state }`, ids made by the store.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { Hub } from "./hub.ts";
 * import { MemoryPresenceStore, MemoryListSource } from "../../stores/memory/mod.ts";
 * const hub = new Hub();
 * hub.list("messages", {
 *   params: v.object({ room: v.string() }),
 *   source: () => new MemoryListSource(),
 * });
 * const members = hub.presence("room_members", {
 *   params: v.object({ room: v.string() }),
 *   state: v.object({ name: v.string(), typing: v.boolean() }),
 *   initial: { name: "anon", typing: false },
 *   store: new MemoryPresenceStore(),
 *   joinWith: "messages",
 * });
 * hub.function("set_name", {
 *   args: v.object({ room: v.string(), name: v.string() }),
 *   handler: ({ room, name }, { peer }) => members.update(peer, { room }, { name }),
 * });
 * ```
 */
export class Presence<P = unknown, S = unknown, C = unknown> {
  /** The list's name on the wire. */
  readonly name: string;
  /** The list subscribers see: one query per scope. */
  readonly list: ParamList<P, S>;
  readonly #options: PresenceOptions<P, S, C>;
  readonly #store: PresenceStore;
  readonly #onError: (error: unknown) => void;
  /** Each connection's memberships, by scope. */
  readonly #members = new Map<Member, Map<string, Membership<S>>>();
  /** Each connection's member key (the store's name of it in every scope), without a session. */
  readonly #keys = new WeakMap<Member, string>();
  /** A session's member key, shared by its connections here (a reconnect takes its entries over). */
  readonly #sessions = new Map<string, { key: string; peers: Set<Member> }>();
  /** The connection that holds each (scope, key) entry now: only it may remove it. */
  readonly #owners = new Map<string, Member>();
  #nextKey = 0;
  /** The store operations of one member of one scope run one after another. */
  readonly #tails = new Map<string, Promise<void>>();
  readonly #detached = (peer: Member): void => this.#leaveAll(peer);

  /**
   * Declares the presence list (`hub.presence` calls this).
   *
   * @param name the list's name on the wire
   * @param options params and state schemas, initial state, store, page size
   */
  constructor(name: string, options: PresenceOptions<P, S, C>) {
    this.name = name;
    this.#options = options;
    this.#store = options.store;
    this.#onError = options.onError ?? ((error) => console.error(error));
    this.list = new ParamList<P, S>(name, {
      params: options.params,
      schema: options.state,
      maxPageSize: options.maxPageSize,
      onError: this.#onError,
      // Reading only: the list's writes are joins, updates and leaves.
      source: (params) => this.#store.members<S>(this.scopeOf(params)) as ListSource<S>,
    });
  }

  /** The store's name of the scope of these (parsed) params. */
  scopeOf(params: P): string {
    return JSON.stringify([this.name, paramsKey(params)]);
  }

  /**
   * Makes a connection present while it views `list` with params that pass
   * this presence's `params` (the hub's `joinWith`); returns the remover.
   */
  follow(list: ParamList<unknown, unknown>): () => void {
    return list.onView((subscriber, raw, open) => {
      const parsed = v.safeParse(this.#options.params, raw);
      if (!parsed.success) return;
      const peer = subscriber as Member;
      const done = open
        ? this.#join(peer, parsed.output, "viewing")
        : this.#leave(peer, parsed.output, "viewing");
      done.catch(this.#onError);
    });
  }

  /**
   * Makes `peer` present in the scope of `params` (validated: code 6), with
   * `state` (validated: code 6) or, when it is new, the initial state. A
   * connection already present keeps its place; with `state` it takes it.
   * Resolves once this process's subscribers were sent the change.
   */
  join(peer: Member, params: unknown, state?: S): Promise<void> {
    return this.#join(peer, this.#params(params), "explicit", state);
  }

  /**
   * Ends `peer`'s explicit presence in that scope (it stays while it still
   * views the `joinWith` list there).
   */
  leave(peer: Member, params: unknown): Promise<void> {
    return this.#leave(peer, this.#params(params), "explicit");
  }

  /** Whether `peer` is present in the scope of these params. */
  has(peer: Member, params: unknown): boolean {
    return this.#membership(peer, this.#params(params)) !== undefined;
  }

  /** `peer`'s state in that scope, or `undefined` when it is not there. */
  state(peer: Member, params: unknown): S | undefined {
    return this.#membership(peer, this.#params(params))?.state;
  }

  /**
   * Changes `peer`'s state in that scope: a partial state merged over the
   * current one (an object state), or a function of it. Resolves the new
   * state once this process's subscribers were sent it. Code 1 when the
   * connection is not present there, code 6 when the result fails `state`.
   */
  update(peer: Member, params: unknown, change: Partial<S> | ((current: S) => S)): Promise<S> {
    const parsed = this.#params(params);
    const member = this.#membership(peer, parsed);
    if (!member) {
      return Promise.reject(
        new SockSyncError(ErrorCode.InvalidFunc, `not present in this ${this.name} scope`),
      );
    }
    let next: S;
    try {
      next = this.#state(
        typeof change === "function" ? change(member.state) : { ...member.state, ...change },
      );
    } catch (error) {
      return Promise.reject(error);
    }
    member.state = next;
    const key = this.#keyOf(peer);
    return this.#run(member.scope, key, async () => {
      // Left meanwhile: nothing to update (the leave already ran or is queued behind).
      if (this.#membership(peer, parsed) !== member) return;
      await this.#store.set(member.scope, key, next);
      await this.list.settled(parsed);
    }).then(() => next);
  }

  /** The number of connections of this process present somewhere. */
  get connections(): number {
    return this.#members.size;
  }

  #params(raw: unknown): P {
    const parsed = v.safeParse(this.#options.params, raw);
    if (!parsed.success) {
      throw new SockSyncError(ErrorCode.InvalidArguments, `invalid params for ${this.name}`);
    }
    return parsed.output;
  }

  #state(raw: unknown): S {
    const parsed = v.safeParse(this.#options.state, raw);
    if (!parsed.success) {
      throw new SockSyncError(ErrorCode.InvalidArguments, `invalid state for ${this.name}`);
    }
    return parsed.output;
  }

  #initial(peer: Member): S {
    const initial = this.#options.initial;
    return this.#state(
      typeof initial === "function"
        ? (initial as (context: C) => S)(peer.context as C)
        : structuredClone(initial),
    );
  }

  #membership(peer: Member, params: P): Membership<S> | undefined {
    return this.#members.get(peer)?.get(this.scopeOf(params));
  }

  /**
   * The store's name of `peer`: one per session (a counter, never the
   * session itself, which must not reach item ids), else one per connection.
   */
  #keyOf(peer: Member): string {
    const session = peer.session;
    if (session !== undefined) {
      let shared = this.#sessions.get(session);
      if (!shared) {
        this.#sessions.set(
          session,
          shared = { key: (++this.#nextKey).toString(36), peers: new Set() },
        );
      }
      shared.peers.add(peer);
      return shared.key;
    }
    let key = this.#keys.get(peer);
    if (key === undefined) this.#keys.set(peer, key = (++this.#nextKey).toString(36));
    return key;
  }

  /** `peer` is present nowhere any more. */
  #forget(peer: Member): void {
    this.#members.delete(peer);
    const session = peer.session;
    const shared = session === undefined ? undefined : this.#sessions.get(session);
    if (shared?.peers.delete(peer) && shared.peers.size === 0) this.#sessions.delete(session!);
  }

  /** Whether `peer` holds its entry of `scope` (a later connection of its session may have taken it). */
  #release(peer: Member, scope: string, key: string): boolean {
    const slot = JSON.stringify([scope, key]);
    if (this.#owners.get(slot) !== peer) return false;
    this.#owners.delete(slot);
    return true;
  }

  /** Runs `task` after every earlier store operation of this member of this scope. */
  #run(scope: string, key: string, task: () => Promise<void>): Promise<void> {
    const slot = JSON.stringify([scope, key]);
    const run = (this.#tails.get(slot) ?? Promise.resolve()).then(task);
    const tail = run.catch(() => {});
    this.#tails.set(slot, tail);
    tail.then(() => {
      if (this.#tails.get(slot) === tail) this.#tails.delete(slot);
    });
    return run;
  }

  #join(peer: Member, params: P, why: "viewing" | "explicit", state?: S): Promise<void> {
    if (peer.detached) return Promise.resolve();
    let given: S | undefined;
    try {
      given = state === undefined ? undefined : this.#state(state);
    } catch (error) {
      return Promise.reject(error);
    }
    const scope = this.scopeOf(params);
    let scopes = this.#members.get(peer);
    if (!scopes) {
      this.#members.set(peer, scopes = new Map());
      peer.onDetach?.(this.#detached);
    }
    let member = scopes.get(scope);
    const fresh = member === undefined;
    if (!member) {
      try {
        member = { scope, state: given ?? this.#initial(peer), views: 0, explicit: false };
      } catch (error) {
        if (scopes.size === 0) this.#forget(peer);
        return Promise.reject(error);
      }
      scopes.set(scope, member);
    } else if (given !== undefined) member.state = given;
    if (why === "viewing") member.views++;
    else member.explicit = true;
    if (!fresh && given === undefined) return Promise.resolve();
    const key = this.#keyOf(peer);
    if (fresh) {
      // An earlier connection of the same session here: this one takes its entry over.
      const slot = JSON.stringify([scope, key]);
      const before = this.#owners.get(slot);
      if (before !== undefined && before !== peer) {
        const theirs = this.#members.get(before);
        theirs?.delete(scope);
        if (theirs?.size === 0) this.#forget(before);
      }
      this.#owners.set(slot, peer);
    }
    const joined = member;
    return this.#run(scope, key, async () => {
      if (this.#membership(peer, params) !== joined) return;
      await this.#store.join(scope, key, joined.state, peer.session);
      await this.list.settled(params);
    });
  }

  #leave(peer: Member, params: P, why: "viewing" | "explicit"): Promise<void> {
    const scope = this.scopeOf(params);
    const scopes = this.#members.get(peer);
    const member = scopes?.get(scope);
    if (!scopes || !member) return Promise.resolve();
    if (why === "viewing") member.views = Math.max(0, member.views - 1);
    else member.explicit = false;
    if (member.views > 0 || member.explicit) return Promise.resolve();
    scopes.delete(scope);
    const key = this.#keyOf(peer);
    if (scopes.size === 0) this.#forget(peer);
    if (!this.#release(peer, scope, key)) return Promise.resolve();
    return this.#run(scope, key, async () => {
      await this.#store.leave(scope, key);
      await this.list.settled(params);
    });
  }

  /** The connection is gone: it leaves every scope. */
  #leaveAll(peer: Member): void {
    const scopes = this.#members.get(peer);
    if (!scopes) return;
    const key = this.#keyOf(peer);
    this.#forget(peer);
    for (const scope of scopes.keys()) {
      if (!this.#release(peer, scope, key)) continue;
      this.#run(scope, key, () => this.#store.leave(scope, key)).catch(this.#onError);
    }
  }
}
