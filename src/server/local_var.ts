/**
 * A var this side provides: one JSON value, validated by a schema, pushed to
 * every subscriber on each change.
 *
 * @module
 */
import * as v from "valibot";
import { isCongested } from "../peer/backpressure.ts";
import { encodeVarSet } from "../protocol/encode.ts";
import { ErrorCode, SockSyncError } from "../errors.ts";
import { TopicGroup } from "./fanout/topic_group.ts";
import type { Subscriber } from "../peer/socket.ts";
import type { ProvidedVar } from "../peer/provided.ts";
import type { VarStore } from "../store.ts";

/**
 * How to declare a var.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import type { VarOptions } from "./local_var.ts";
 * const options: VarOptions<number> = { schema: v.number(), initial: 0 };
 * ```
 */
export interface VarOptions<T> {
  /** Every value must pass it, from the application or from a store. */
  schema: v.GenericSchema<unknown, T>;
  /** The value before anything was stored. */
  initial: T;
}

/**
 * A hold on a var store's change feed, from whoever listens to it (the hub):
 * `run` counts the times the feed started, so a var knows whether it kept
 * listening since its value was last read; `release` ends the hold.
 *
 * @internal
 */
export interface VarFeedHold {
  /** Which run of the feed this hold is in: a new number each time the feed starts again. */
  run: number;
  /** Ends the hold (once); the feed stops after the last one. */
  release: () => void;
}

/**
 * A var provided by this side. Reads are served from memory; writes go to the
 * var store first, then reach every subscriber as one encoded `set` frame.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { LocalVar } from "./local_var.ts";
 * const counter = new LocalVar("counter", { schema: v.number(), initial: 0 });
 * await counter.update((n) => n + 1); // 1
 * ```
 */
export class LocalVar<T = unknown> implements ProvidedVar {
  /** The var's name on the wire. */
  readonly name: string;
  /** The schema every value passes. */
  readonly schema: v.GenericSchema<unknown, T>;
  readonly #store: VarStore | undefined;
  readonly #subscribers = new Set<Subscriber>();
  // Subscribers the runtime reaches with one call (Bun's topics); not in #subscribers.
  readonly #topic = new TopicGroup();
  readonly #initial: T;
  #value: T;
  #queue: Promise<unknown>;
  // A re-read queued for changes reported by other processes, not started yet.
  #pendingReceive: Promise<void> | undefined;
  #holdFeed: (() => VarFeedHold) | undefined;
  // Held while this var has subscribers.
  #hold: VarFeedHold | undefined;
  // The feed run during which the value was last read from the store.
  #freshIn = -1;

  /**
   * The var `name`, kept in `store`.
   *
   * @param name the var's name on the wire
   * @param options schema and initial value
   * @param store where the value persists; memory only when absent
   */
  constructor(name: string, options: VarOptions<T>, store?: VarStore) {
    this.name = name;
    this.schema = options.schema;
    this.#initial = options.initial;
    this.#value = options.initial;
    this.#store = store;
    this.#queue = store ? this.#load(store) : Promise.resolve();
  }

  async #load(store: VarStore): Promise<void> {
    const stored = await store.get(this.name);
    if (stored === undefined) return;
    const parsed = v.safeParse(this.schema, stored);
    // A stored value that no longer fits the schema (the app changed it) keeps the initial value.
    if (parsed.success) this.#value = parsed.output;
  }

  /** Runs `task` after every earlier task, so reads, writes and subscribes keep their order. */
  #serial<R>(task: () => R | Promise<R>): Promise<R> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** The current value. */
  get(): Promise<T> {
    return this.#serial(() => this.#value);
  }

  /** Validates, stores and broadcasts a new value. */
  set(value: T): Promise<void> {
    return this.#serial(() => this.#write(value));
  }

  /**
   * Replaces the value with `fn(current)` and resolves the new value.
   * Atomic across processes when the store has `update` (two servers on one
   * Redis incrementing at once lose nothing; `fn` may then run more than once,
   * on the newest stored value), else atomic within this process.
   */
  update(fn: (current: T) => T): Promise<T> {
    return this.#serial(async () => {
      const store = this.#store;
      if (!store?.update) {
        const next = fn(this.#value);
        await this.#write(next);
        return this.#value;
      }
      let next = this.#value;
      await store.update(this.name, (stored) => {
        next = this.#check(fn(this.#fromStore(stored)));
        return next;
      });
      this.#publish(next);
      return next;
    });
  }

  async #write(value: T): Promise<void> {
    const checked = this.#check(value);
    await this.#store?.set(this.name, checked);
    this.#publish(checked);
  }

  #check(value: T): T {
    const parsed = v.safeParse(this.schema, value);
    if (!parsed.success) {
      throw new SockSyncError(
        ErrorCode.InvalidArguments,
        `invalid value for var ${this.name}`,
      );
    }
    return parsed.output;
  }

  /** A stored value as this var sees it: absent or no longer valid → the initial value. */
  #fromStore(stored: unknown): T {
    if (stored === undefined) return this.#initial;
    const parsed = v.safeParse(this.schema, stored);
    return parsed.success ? parsed.output : this.#initial;
  }

  /**
   * Takes a change another process made (a var store's change feed). With a
   * store, the value is read from it when this task's turn comes rather than
   * taken from the report: a report can be older than a write of ours or a
   * read that ran before it, and each task reading the store after the one
   * before keeps subscribers seeing values in the order the store applied
   * them. Reports that arrive before that read starts share it. `undefined`
   * (deleted, or gone after a store restart) means the initial value.
   */
  receiveExternal(value: unknown): Promise<void> {
    if (this.#pendingReceive) return this.#pendingReceive;
    const store = this.#store;
    const pending = this.#serial(async () => {
      this.#pendingReceive = undefined;
      if (store) value = await store.get(this.name);
      if (value === undefined) return this.#publish(this.#initial);
      const parsed = v.safeParse(this.schema, value);
      if (parsed.success) this.#publish(parsed.output);
    });
    if (store) this.#pendingReceive = pending;
    return pending;
  }

  #publish(value: T): void {
    this.#value = value;
    if (this.#subscribers.size === 0 && this.#topic.size === 0) return;
    const text = this.frame();
    for (const subscriber of this.#subscribers) {
      // A congested subscriber gets only the latest value, once it drains.
      if (isCongested(subscriber)) {
        subscriber.defer(this, "", () => this.#resend(subscriber));
      } else subscriber.sendText(text);
    }
    // Backed-up members got this frame and leave the topic: the loop above takes them next time.
    // Those that drained since got it from the loop above and are the topic's again.
    const { left, back } = this.#topic.publish(text);
    for (const subscriber of left) this.#subscribers.add(subscriber);
    for (const subscriber of back) this.#subscribers.delete(subscriber);
  }

  #resend(subscriber: Subscriber): void {
    this.#serial(() => {
      if (this.#subscribers.has(subscriber) || this.#topic.has(subscriber)) {
        subscriber.sendText(this.frame());
      }
    });
  }

  /** The encoded `set` frame for the current value. */
  frame(): string {
    return encodeVarSet(this.name, this.#value);
  }

  /**
   * Makes the store's change feed follow this var's subscribers: `hold` is
   * called when the first one arrives and released after the last leaves.
   * The hub calls it for a store with a change feed.
   */
  listenWith(hold: () => VarFeedHold): void {
    this.#holdFeed = hold;
  }

  /** Adds a subscriber and sends it the current value, in order with every write. */
  subscribe(subscriber: Subscriber): Promise<void> {
    return this.#serial(async () => {
      if (this.#subscribers.has(subscriber) || this.#topic.has(subscriber)) {
        subscriber.sendText(this.frame());
        return;
      }
      if (this.subscriberCount === 0) await this.#follow();
      subscriber.sendText(this.frame());
      if (!this.#topic.join(subscriber)) this.#subscribers.add(subscriber);
    });
  }

  /**
   * For the first subscriber: holds the feed, then, unless the feed kept
   * running since the value was last read, reads it again, since other
   * processes may have changed it meanwhile unnoticed. Holding first means
   * no change falls between the read and the feed.
   */
  async #follow(): Promise<void> {
    const store = this.#store;
    if (!store || !this.#holdFeed) return;
    const hold = this.#hold ??= this.#holdFeed();
    if (hold.run === this.#freshIn) return;
    let stored: unknown;
    try {
      stored = await store.get(this.name);
    } catch (error) {
      this.#letGo();
      throw error;
    }
    this.#freshIn = hold.run;
    const parsed = v.safeParse(this.schema, stored);
    if (stored === undefined) this.#value = this.#initial;
    else if (parsed.success) this.#value = parsed.output;
  }

  #letGo(): void {
    if (this.subscriberCount > 0) return;
    this.#hold?.release();
    this.#hold = undefined;
  }

  /** Sends the current value to a subscriber (a `get`), in order with every write. */
  sendTo(subscriber: Subscriber): Promise<void> {
    return this.#serial(() => subscriber.sendText(this.frame()));
  }

  /** Removes a subscriber (a no-op when it was not subscribed), in order with earlier subscribes. */
  unsubscribe(subscriber: Subscriber): Promise<void> {
    return this.#serial(() => {
      // Also for one that left the topic backed up: it must not come back.
      this.#subscribers.delete(subscriber);
      this.#topic.leave(subscriber);
      this.#letGo();
    });
  }

  /** How many subscribers there are. */
  get subscriberCount(): number {
    return this.#subscribers.size + this.#topic.size;
  }

  /**
   * How many subscribers the runtime's topics reach now (Bun's `publish`,
   * pre-framed writes on `ws`; always 0 where the runtime has none): one that
   * backs up leaves them, and comes back once it drained. An inspection
   * point for tests and monitoring; nothing computes it unless it is read.
   */
  get topicMembers(): number {
    return this.#topic.size;
  }
}
