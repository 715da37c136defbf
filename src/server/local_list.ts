/**
 * A list this side provides: an ordered, paged {@linkcode ListSource} whose
 * subscribers each watch one page (a "view") or single items, kept exact after
 * every change (invariant 8 of PROTOCOL.md). Who watches what is kept in
 * `list_windows.ts` (views) and `list_items.ts` (items); `list_fanout.ts`
 * turns each change of the source into frames, encoded once per window, one
 * change at a time on this list's queue.
 *
 * @module
 */
import * as v from "valibot";
import { isCongested } from "../peer/backpressure.ts";
import { encodeItemSet, encodeSetAll, type ListParams } from "../protocol/encode.ts";
import { ErrorCode, SockSyncError } from "../errors.ts";
import { ItemSubscriptions } from "./fanout/list_items.ts";
import { ListFanout, readView } from "./fanout/list_fanout.ts";
import { SourceFeed } from "./fanout/source_feed.ts";
import { ListWindows } from "./fanout/list_windows.ts";
import type { Metrics } from "../peer/metrics.ts";
import type { Subscriber } from "../peer/socket.ts";
import type { ProvidedList } from "../peer/provided.ts";
import type { ListItem, ListSource } from "../store.ts";

/**
 * How to declare a list.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { MemoryListSource } from "../../stores/memory/mod.ts";
 * import type { ListOptions } from "./local_list.ts";
 * const options: ListOptions<string> = { source: new MemoryListSource(), schema: v.string(), maxPageSize: 50 };
 * ```
 */
export interface ListOptions<T> {
  /** Where the items live. */
  source: ListSource<T>;
  /** Every item value must pass it before it reaches the source. */
  schema: v.GenericSchema<unknown, T>;
  /** The largest page a subscriber gets, and the page size when it asks for none. Default 100. */
  maxPageSize?: number;
  /** Told about failures that have no caller to reject, such as a store read while pushing a change. */
  onError?: (error: unknown) => void;
  /**
   * The params every frame of this list carries: set on the list of one
   * query of a parameterized list (see `ParamList`), absent otherwise.
   */
  params?: ListParams;
  /** Where the time from a feed's change to its frames sent is recorded (see `Hub`'s `metrics`). */
  metrics?: Metrics;
  /**
   * Told when a subscriber's view opens (`true`, after its `set_all` was
   * sent) and when it ends (`false`: unsubscribed or gone), for example to
   * make the subscriber present somewhere while it watches this list.
   */
  onView?: (subscriber: Subscriber, open: boolean) => void;
}

/**
 * A list provided by this side.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { MemoryListSource } from "../../stores/memory/mod.ts";
 * import { LocalList } from "./local_list.ts";
 * const todos = new LocalList("todos", { source: new MemoryListSource(), schema: v.string() });
 * const { id } = await todos.insert(0, "milk");
 * ```
 */
export class LocalList<T = unknown> implements ProvidedList {
  /** The list's name on the wire. */
  readonly name: string;
  /** Where the items live. */
  readonly source: ListSource<T>;
  /** The schema every item value passes. */
  readonly schema: v.GenericSchema<unknown, T>;
  /** The largest page size a subscriber gets. */
  readonly maxPageSize: number;
  /** The params its frames carry (one query of a parameterized list), else `undefined`. */
  readonly params: ListParams;
  readonly #windows = new ListWindows();
  readonly #items = new ItemSubscriptions();
  readonly #onError: (error: unknown) => void;
  readonly #onView: ((subscriber: Subscriber, open: boolean) => void) | undefined;
  // Listens to the source only while a view or an item subscription is open.
  readonly #feed: SourceFeed;
  #queue: Promise<unknown> = Promise.resolve();
  #updates: Promise<unknown> = Promise.resolve();

  /**
   * The list `name` over its source.
   *
   * @param name the list's name on the wire
   * @param options source, schema and page size limit
   */
  constructor(name: string, options: ListOptions<T>) {
    this.name = name;
    this.source = options.source;
    this.schema = options.schema;
    this.maxPageSize = options.maxPageSize ?? 100;
    this.params = options.params;
    if (!Number.isSafeInteger(this.maxPageSize) || this.maxPageSize < 1) {
      throw new RangeError("maxPageSize must be a positive integer");
    }
    this.#onError = options.onError ?? ((error) => console.error(error));
    this.#onView = options.onView;
    const fanout = new ListFanout({
      name,
      source: this.source,
      maxPageSize: this.maxPageSize,
      windows: this.#windows,
      items: this.#items,
      deferView: (subscriber) => this.#deferView(subscriber),
      deferItem: (subscriber, id) => this.#deferItem(subscriber, id),
      params: this.params,
    });
    this.#feed = new SourceFeed(() =>
      this.source.subscribe((change) => {
        const done = this.#serial(() => fanout.apply(change));
        options.metrics?.timeFeed(done);
        done.catch(this.#onError);
      })
    );
  }

  /**
   * Runs `task` after every earlier task: changes, views and reads keep their
   * order. After each task, a list left without views and item subscriptions
   * stops listening, so an idle store is not asked for anything.
   */
  #serial<R>(task: () => R | Promise<R>): Promise<R> {
    const run = this.#queue.then(task, task);
    this.#queue = run.then(() => this.#idle(), () => this.#idle()).catch(this.#onError);
    return run;
  }

  #idle(): void {
    if (this.#windows.size === 0 && this.#items.size === 0) this.#feed.stop();
  }

  /** Whether this list listens to its source's change feed (it has views or item subscriptions). */
  get listening(): boolean {
    return this.#feed.listening;
  }

  #parse(value: unknown): T {
    const parsed = v.safeParse(this.schema, value);
    if (!parsed.success) {
      throw new SockSyncError(ErrorCode.InvalidArguments, `invalid item for list ${this.name}`);
    }
    return parsed.output;
  }

  /**
   * Validates and inserts a value at `index` of the whole list; resolves once
   * every subscriber has been sent the change.
   */
  async insert(index: number, value: T, id?: string): Promise<ListItem<T>> {
    const item = await this.source.insert(index, this.#parse(value), id);
    await this.#serial(() => {});
    return item;
  }

  /** Validates and replaces the value of an item; unknown id → code 4. */
  async set(id: string, value: T): Promise<void> {
    await this.source.set(id, this.#parse(value));
    await this.#serial(() => {});
  }

  /**
   * Replaces an item's value with `fn(current)` and resolves the new item;
   * unknown id → code 4, a result that fails the schema → code 6. Atomic
   * across processes when the source has `update` (Redis), else within this
   * process: updates of one list run one at a time.
   */
  async update(id: string, fn: (current: T) => T): Promise<ListItem<T>> {
    const next = (current: T) => this.#parse(fn(current));
    let item: ListItem<T>;
    if (this.source.update) {
      item = await this.source.update(id, next);
    } else {
      const run = this.#updates.then(async () => {
        const value = next((await this.#mustGet(id)).value);
        await this.source.set(id, value);
        return { id, value };
      });
      this.#updates = run.catch(() => {});
      item = await run;
    }
    await this.#serial(() => {});
    return item;
  }

  /** Deletes an item; unknown id → code 4. */
  async delete(id: string): Promise<void> {
    await this.source.delete(id);
    await this.#serial(() => {});
  }

  /** The item with this id, or `undefined`. */
  get(id: string): Promise<ListItem<T> | undefined> {
    return this.source.get(id);
  }

  /** The number of items. */
  count(): Promise<number> {
    return this.source.count();
  }

  /** Caps a requested page size at {@linkcode maxPageSize}. */
  pageSize(requested?: number): number {
    return Math.min(requested ?? this.maxPageSize, this.maxPageSize);
  }

  /**
   * Opens or moves a subscriber's view and sends it a `set_all`. A page past
   * the end is clamped to the last page.
   */
  view(subscriber: Subscriber, page = 0, pageSize?: number): Promise<void> {
    return this.#show(subscriber, { page, size: this.pageSize(pageSize), open: true });
  }

  /**
   * Moves an existing view (a `get` with a page) and sends it a `set_all`;
   * does nothing if, by the time earlier queued work ran, the subscriber no
   * longer has a view (so a move can never re-open a dropped view).
   */
  moveView(subscriber: Subscriber, page = 0, pageSize?: number): Promise<void> {
    return this.#show(subscriber, { page, size: this.pageSize(pageSize), open: false });
  }

  /** How many subscribers have a view, plus how many watch items. */
  get subscriberCount(): number {
    return this.#windows.size + this.#items.size;
  }

  /** Whether this subscriber has a view of the list. */
  hasView(subscriber: Subscriber): boolean {
    return this.#windows.has(subscriber);
  }

  /**
   * How many view subscribers the runtime's topics reach now (see
   * `LocalVar.topicMembers`): an inspection point for tests and monitoring,
   * counted only when read.
   */
  get topicMembers(): number {
    let members = 0;
    for (const window of this.#windows.all) members += window.topic?.size ?? 0;
    return members;
  }

  /** Whether this subscriber watches this item. */
  hasItem(subscriber: Subscriber, id: string): boolean {
    return this.#items.has(subscriber, id);
  }

  /** Sends one item as a `set` (a `get` with an id); unknown id → code 4. */
  sendItem(subscriber: Subscriber, id: string): Promise<void> {
    return this.#serial(async () => {
      subscriber.sendText(this.#itemText(await this.#mustGet(id)));
    });
  }

  /** Subscribes to one item and sends it as a `set`; unknown id → code 4. */
  subscribeItem(subscriber: Subscriber, id: string): Promise<void> {
    return this.#serial(async () => {
      // The version is read first: a change landing between the two reads is sent again, which
      // is harmless because item frames are idempotent, whereas reading it last could skip one.
      this.#feed.listen();
      const { version } = await this.source.page(0, 0);
      const item = await this.#mustGet(id);
      this.#items.add(subscriber, id, version);
      subscriber.sendText(this.#itemText(item));
    });
  }

  /** Ends a subscriber's view (a no-op without one). */
  unsubscribe(subscriber: Subscriber): Promise<void> {
    return this.#serial(() => this.#leave(subscriber));
  }

  #leave(subscriber: Subscriber): void {
    if (!this.#windows.has(subscriber)) return;
    this.#windows.leave(subscriber);
    this.#onView?.(subscriber, false);
  }

  /** Ends a subscriber's subscription to one item (a no-op without one). */
  unsubscribeItem(subscriber: Subscriber, id: string): Promise<void> {
    return this.#serial(() => this.#items.drop(subscriber, id));
  }

  /**
   * The subscriber now asks for change markers: if its view gets frames
   * through the window's topic of unmarked ones, it leaves it at once (a
   * change under way then reaches it through its own sends, marked).
   */
  marksChanged(subscriber: Subscriber): void {
    this.#windows.offTopic(subscriber);
  }

  /** Ends every subscription of a subscriber: its view and its items. */
  drop(subscriber: Subscriber): Promise<void> {
    return this.#serial(() => {
      this.#leave(subscriber);
      this.#items.dropAll(subscriber);
    });
  }

  /** Stops listening to the source's change feed, for good. */
  close(): void {
    this.#feed.close();
  }

  /** Resolves once every task queued so far has run. */
  settled(): Promise<void> {
    return this.#serial(() => {});
  }

  /**
   * The one way a view opens or moves: read the page (clamped), put the
   * subscriber in that page's window and send it the `set_all`. `open: false`
   * only moves a view that still exists when the queued task runs.
   */
  #show(
    subscriber: Subscriber,
    view: { page: number; size: number; open: boolean },
  ): Promise<void> {
    const gone = () => !view.open && !this.#windows.has(subscriber);
    return this.#serial(async () => {
      if (gone()) return;
      this.#feed.listen();
      const { size } = view;
      const read = await readView(this.source, view);
      if (gone()) return;
      const opened = !this.#windows.has(subscriber);
      this.#windows.enter(subscriber, { page: read.page, size }, read.version);
      const { page, total, stored } = read;
      const params = this.params;
      // (Stored JSON texts go out as they are; `items` is then not read.)
      const items = stored ? [] : read.items;
      subscriber.sendText(
        encodeSetAll({ name: this.name, params, page, pageSize: size, total, items, stored }),
      );
      if (opened) this.#onView?.(subscriber, true);
    });
  }

  async #mustGet(id: string): Promise<ListItem<T>> {
    const item = await this.source.get(id);
    if (!item) throw new SockSyncError(ErrorCode.InvalidId, `no item with this id in ${this.name}`);
    return item;
  }

  #itemText(item: ListItem<T>): string {
    return encodeItemSet(this.name, { id: item.id, value: item.value, params: this.params });
  }

  /**
   * For a congested subscriber: instead of queueing this change, leave one
   * re-read of its view (a single `set_all`) for when it drains. Its version
   * stays behind, so every later change is deferred the same way.
   */
  #deferView(subscriber: Subscriber): boolean {
    if (!isCongested(subscriber)) return false;
    subscriber.defer(this, "view", () => {
      const window = this.#windows.of(subscriber);
      if (!window) return;
      this.moveView(subscriber, window.page, window.size).catch(this.#onError);
    });
    return true;
  }

  /** Like {@linkcode #deferView} for one watched item: its latest value once drained. */
  #deferItem(subscriber: Subscriber, id: string): boolean {
    if (!isCongested(subscriber)) return false;
    subscriber.defer(this, `item:${id}`, () => {
      this.#serial(async () => {
        if (!this.hasItem(subscriber, id)) return;
        const item = await this.source.get(id);
        if (item && this.hasItem(subscriber, id)) subscriber.sendText(this.#itemText(item));
      }).catch(this.#onError);
    });
    return true;
  }
}
