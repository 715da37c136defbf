/**
 * A list this side provides: an ordered, paged {@linkcode ListSource} whose
 * subscribers each watch one page (a "view") or single items, kept exact after
 * every change (invariant 8 of PROTOCOL.md).
 *
 * @module
 */
import * as v from "valibot";
import { isCongested } from "./backpressure.ts";
import { ErrorCode, SockSyncError } from "./errors.ts";
import type { Subscriber } from "./socket.ts";
import type { ListChange, ListItem, ListPage, ListSource } from "./store.ts";

/**
 * How to declare a list.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { MemoryListSource } from "../stores/memory.ts";
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
}

/**
 * Subscribers that watch the same page at the same page size share a window:
 * a change is classified and encoded once per window, not once per subscriber.
 * Each subscriber remembers the list version its mirror reflects, so a change
 * it already got through a fresher `set_all` is not applied twice.
 */
interface Window {
  readonly key: string;
  page: number;
  readonly size: number;
  offset: number;
  readonly peers: Map<Subscriber, number>;
}

type Action = "count" | "frame" | "shift" | "refresh";

/** Newer than every version a store reports: forces a re-read. */
const ALWAYS = Number.MAX_SAFE_INTEGER;

/**
 * A list provided by this side.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { MemoryListSource } from "../stores/memory.ts";
 * import { LocalList } from "./local_list.ts";
 * const todos = new LocalList("todos", { source: new MemoryListSource(), schema: v.string() });
 * const { id } = await todos.insert(0, "milk");
 * ```
 */
export class LocalList<T = unknown> {
  /** The list's name on the wire. */
  readonly name: string;
  /** Where the items live. */
  readonly source: ListSource<T>;
  /** The schema every item value passes. */
  readonly schema: v.GenericSchema<unknown, T>;
  /** The largest page size a subscriber gets. */
  readonly maxPageSize: number;
  // Sorted by offset (then size) so a change at an index finds its windows by binary search.
  readonly #windows: Window[] = [];
  readonly #windowByKey = new Map<string, Window>();
  readonly #windowOf = new Map<Subscriber, Window>();
  readonly #itemSubscribers = new Map<string, Map<Subscriber, number>>();
  // The reverse index, so dropping a subscriber touches only its own items.
  readonly #itemsOf = new Map<Subscriber, Set<string>>();
  readonly #onError: (error: unknown) => void;
  readonly #stopFeed: () => void;
  #queue: Promise<unknown> = Promise.resolve();
  #updates: Promise<unknown> = Promise.resolve();

  /**
   * @param name the list's name on the wire
   * @param options source, schema and page size limit
   */
  constructor(name: string, options: ListOptions<T>) {
    this.name = name;
    this.source = options.source;
    this.schema = options.schema;
    this.maxPageSize = options.maxPageSize ?? 100;
    if (!Number.isSafeInteger(this.maxPageSize) || this.maxPageSize < 1) {
      throw new RangeError("maxPageSize must be a positive integer");
    }
    this.#onError = options.onError ?? ((error) => console.error(error));
    this.#stopFeed = this.source.subscribe((change) => {
      this.#serial(() => this.#apply(change)).catch(this.#onError);
    });
  }

  /** Runs `task` after every earlier task: changes, views and reads keep their order. */
  #serial<R>(task: () => R | Promise<R>): Promise<R> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }

  #parse(value: unknown): T {
    const parsed = v.safeParse(this.schema, value);
    if (!parsed.success) {
      throw new SockSyncError(
        ErrorCode.InvalidArguments,
        `invalid item for list ${this.name}`,
      );
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
    const size = this.pageSize(pageSize);
    return this.#serial(async () => {
      const read = await this.#read(page, size);
      this.#leave(subscriber);
      this.#enter(subscriber, read.page, size, read.version);
      subscriber.sendText(this.#setAllText(read.page, size, read));
    });
  }

  /**
   * Moves an existing view (a `get` with a page) and sends it a `set_all`;
   * does nothing if, by the time earlier queued work ran, the subscriber no
   * longer has a view (so a move can never re-open a dropped view).
   */
  moveView(
    subscriber: Subscriber,
    page = 0,
    pageSize?: number,
  ): Promise<void> {
    const size = this.pageSize(pageSize);
    return this.#serial(async () => {
      if (!this.#windowOf.has(subscriber)) return;
      const read = await this.#read(page, size);
      if (!this.#windowOf.has(subscriber)) return;
      this.#leave(subscriber);
      this.#enter(subscriber, read.page, size, read.version);
      subscriber.sendText(this.#setAllText(read.page, size, read));
    });
  }

  /** Whether this subscriber has a view of the list. */
  hasView(subscriber: Subscriber): boolean {
    return this.#windowOf.has(subscriber);
  }

  /** Whether this subscriber watches this item. */
  hasItem(subscriber: Subscriber, id: string): boolean {
    return this.#itemSubscribers.get(id)?.has(subscriber) ?? false;
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
      const { version } = await this.source.page(0, 0);
      const item = await this.#mustGet(id);
      let subscribers = this.#itemSubscribers.get(id);
      if (!subscribers) this.#itemSubscribers.set(id, subscribers = new Map());
      subscribers.set(subscriber, version);
      let ids = this.#itemsOf.get(subscriber);
      if (!ids) this.#itemsOf.set(subscriber, ids = new Set());
      ids.add(id);
      subscriber.sendText(this.#itemText(item));
    });
  }

  /** Ends a subscriber's view (a no-op without one). */
  unsubscribe(subscriber: Subscriber): Promise<void> {
    return this.#serial(() => this.#leave(subscriber));
  }

  /** Ends a subscriber's subscription to one item (a no-op without one). */
  unsubscribeItem(subscriber: Subscriber, id: string): Promise<void> {
    return this.#serial(() => this.#dropItem(subscriber, id));
  }

  /** Ends every subscription of a subscriber: its view and its items. */
  drop(subscriber: Subscriber): Promise<void> {
    return this.#serial(() => {
      this.#leave(subscriber);
      for (const id of [...(this.#itemsOf.get(subscriber) ?? [])]) {
        this.#dropItem(subscriber, id);
      }
    });
  }

  /** Stops listening to the source's change feed. */
  close(): void {
    this.#stopFeed();
  }

  async #mustGet(id: string): Promise<ListItem<T>> {
    const item = await this.source.get(id);
    if (!item) {
      throw new SockSyncError(
        ErrorCode.InvalidId,
        `no item with this id in ${this.name}`,
      );
    }
    return item;
  }

  #dropItem(subscriber: Subscriber, id: string): void {
    const ids = this.#itemsOf.get(subscriber);
    if (ids?.delete(id) && ids.size === 0) this.#itemsOf.delete(subscriber);
    const subscribers = this.#itemSubscribers.get(id);
    if (!subscribers?.delete(subscriber)) return;
    if (subscribers.size === 0) this.#itemSubscribers.delete(id);
  }

  /** Ends every subscription to a deleted item. */
  #forgetItem(id: string): void {
    for (const subscriber of this.#itemSubscribers.get(id)?.keys() ?? []) {
      const ids = this.#itemsOf.get(subscriber);
      if (ids?.delete(id) && ids.size === 0) this.#itemsOf.delete(subscriber);
    }
    this.#itemSubscribers.delete(id);
  }

  /** Reads a page, clamped to the last page (page 0 when empty). */
  async #read(
    page: number,
    size: number,
  ): Promise<ListPage<T> & { page: number }> {
    let read = await this.source.page(page * size, size);
    // A second try covers a list that shrank between the two reads.
    for (let tries = 0; tries < 3; tries++) {
      const last = read.total === 0 ? 0 : Math.ceil(read.total / size) - 1;
      if (page <= last) break;
      page = last;
      read = await this.source.page(page * size, size);
    }
    return { ...read, page };
  }

  #setAllText(page: number, size: number, read: ListPage<T>): string {
    return JSON.stringify({
      func: "set_all",
      type: "list",
      name: this.name,
      page,
      page_size: size,
      total_item_count: read.total,
      items: read.items,
    });
  }

  #itemText(item: ListItem<T>): string {
    return JSON.stringify({
      func: "set",
      type: "list",
      name: this.name,
      id: item.id,
      value: item.value,
    });
  }

  #enter(
    subscriber: Subscriber,
    page: number,
    size: number,
    version: number,
  ): void {
    const key = `${page}:${size}`;
    let window = this.#windowByKey.get(key);
    if (!window) {
      window = { key, page, size, offset: page * size, peers: new Map() };
      this.#windowByKey.set(key, window);
      this.#windows.splice(this.#firstWindowAt(window.offset, size), 0, window);
    }
    window.peers.set(subscriber, version);
    this.#windowOf.set(subscriber, window);
  }

  #leave(subscriber: Subscriber): void {
    const window = this.#windowOf.get(subscriber);
    if (!window) return;
    this.#windowOf.delete(subscriber);
    window.peers.delete(subscriber);
    if (window.peers.size === 0) {
      this.#windowByKey.delete(window.key);
      this.#windows.splice(
        this.#windows.indexOf(window, this.#firstWindowAt(window.offset)),
        1,
      );
    }
  }

  /** The index of the first window at or after this offset (and size). */
  #firstWindowAt(offset: number, size = 0): number {
    let low = 0;
    let high = this.#windows.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const w = this.#windows[mid];
      if (w.offset < offset || (w.offset === offset && w.size < size)) {
        low = mid + 1;
      } else high = mid;
    }
    return low;
  }

  async #apply(change: ListChange<T>): Promise<void> {
    if (change.op === "reset") return await this.#refreshAll();
    if (change.op === "set") return this.#applySet(change);
    const version = change.version;
    const countText = JSON.stringify({
      func: "set_count",
      type: "list",
      name: this.name,
      total_item_count: change.total,
    });
    let itemText: string;
    if (change.op === "insert") {
      itemText = JSON.stringify({
        func: "insert",
        type: "list",
        name: this.name,
        index: change.index,
        id: change.id,
        value: change.value,
      });
    } else {
      itemText = JSON.stringify({
        func: "delete",
        type: "list",
        name: this.name,
        id: change.id,
      });
      const watchers = this.#itemSubscribers.get(change.id);
      if (watchers) {
        for (const [subscriber, seen] of watchers) {
          if (seen < version) subscriber.sendText(itemText);
        }
        this.#forgetItem(change.id);
      }
    }
    // Every view's total changes, so every window is visited; the classification is O(1) each.
    const reads: Promise<() => void>[] = [];
    for (const window of this.#windows) {
      const action = classify(window, change);
      if (action === "shift") {
        reads.push(this.#shift(window, change, countText));
        continue;
      }
      if (action === "refresh") {
        reads.push(this.#refresh(window, version));
        continue;
      }
      for (const [subscriber, seen] of window.peers) {
        if (seen >= version) continue;
        if (this.#deferView(subscriber)) continue;
        if (action === "frame") subscriber.sendText(itemText);
        subscriber.sendText(countText);
        window.peers.set(subscriber, version);
      }
    }
    // The reads of all windows go out together (one pipeline on a remote store); the frames are
    // sent once all arrived, window by window, each window's peers in the order they joined.
    for (const send of await Promise.all(reads)) send();
  }

  /**
   * The frames for a window that one item enters and one leaves across its
   * edges: `delete` of the item that left, `insert` of the one that came in,
   * then `set_count` — two one-item reads instead of a whole page. Falls back
   * to a `set_all` when the store moved on meanwhile.
   */
  async #shift(
    window: Window,
    change: ListChange<T> & { op: "insert" | "delete" },
    countText: string,
  ): Promise<() => void> {
    const start = window.offset;
    const end = start + window.size;
    const before = change.op === "insert" ? change.total - 1 : change.total + 1;
    // Positions are in the list after the change.
    let leaving: number | string | undefined;
    let entering: number | undefined;
    if (change.op === "insert") {
      if (before >= end) leaving = end;
      entering = change.index < start ? start : undefined;
    } else {
      leaving = change.index < start ? start - 1 : change.id;
      if (change.total >= end) entering = end - 1;
    }
    const [left, came] = await Promise.all([
      typeof leaving === "number" ? this.source.page(leaving, 1) : undefined,
      entering === undefined ? undefined : this.source.page(entering, 1),
    ]);
    const fresh = (read: ListPage<T> | undefined) =>
      read === undefined || (read.version === change.version && read.items.length === 1);
    if (!fresh(left) || !fresh(came)) return await this.#refresh(window, change.version);
    const texts: string[] = [];
    const leftId = typeof leaving === "string" ? leaving : left?.items[0].id;
    if (leftId !== undefined) {
      texts.push(JSON.stringify({ func: "delete", type: "list", name: this.name, id: leftId }));
    }
    const item = came?.items[0] ?? (change.op === "insert" ? change : undefined);
    if (item) {
      texts.push(JSON.stringify({
        func: "insert",
        type: "list",
        name: this.name,
        index: came ? entering : change.index,
        id: item.id,
        value: item.value,
      }));
    }
    texts.push(countText);
    return () => {
      for (const [subscriber, seen] of window.peers) {
        if (seen >= change.version) continue;
        if (this.#deferView(subscriber)) continue;
        for (const text of texts) subscriber.sendText(text);
        window.peers.set(subscriber, change.version);
      }
    };
  }

  #applySet(change: ListChange<T> & { op: "set" }): void {
    const text = JSON.stringify({
      func: "set",
      type: "list",
      name: this.name,
      id: change.id,
      value: change.value,
    });
    const watchers = this.#itemSubscribers.get(change.id);
    if (watchers) {
      this.#sendNewer(
        watchers,
        text,
        change.version,
        (s) => this.#deferItem(s, change.id),
      );
    }
    // Only windows starting within maxPageSize before the index can hold it.
    const from = this.#firstWindowAt(change.index - this.maxPageSize + 1);
    for (let i = from; i < this.#windows.length; i++) {
      const window = this.#windows[i];
      if (window.offset > change.index) break;
      if (change.index < window.offset + window.size) {
        this.#sendNewer(
          window.peers,
          text,
          change.version,
          (s) => this.#deferView(s),
        );
      }
    }
  }

  #sendNewer(
    peers: Map<Subscriber, number>,
    text: string,
    version: number,
    deferred: (subscriber: Subscriber) => boolean,
  ): void {
    for (const [subscriber, seen] of peers) {
      if (seen >= version || deferred(subscriber)) continue;
      subscriber.sendText(text);
      peers.set(subscriber, version);
    }
  }

  /**
   * For a congested subscriber: instead of queueing this change, leave one
   * re-read of its view (a single `set_all`) for when it drains. Its version
   * stays behind, so every later change is deferred the same way.
   */
  #deferView(subscriber: Subscriber): boolean {
    if (!isCongested(subscriber)) return false;
    subscriber.defer(this, "view", () => {
      const window = this.#windowOf.get(subscriber);
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
        if (item && this.hasItem(subscriber, id)) {
          subscriber.sendText(this.#itemText(item));
        }
      }).catch(this.#onError);
    });
    return true;
  }

  /** Re-reads a window for the subscribers that have not seen `version` yet. */
  /**
   * Re-reads a window for the subscribers that have not seen `version` yet;
   * resolves the function that sends them the `set_all`.
   */
  async #refresh(window: Window, version: number): Promise<() => void> {
    if (![...window.peers.values()].some((seen) => seen < version)) return () => {};
    const read = await this.#read(window.page, window.size);
    const text = this.#setAllText(read.page, window.size, read);
    return () => {
      for (const [subscriber, seen] of [...window.peers]) {
        if (seen >= version) continue;
        if (this.#deferView(subscriber)) continue;
        if (read.page !== window.page) {
          this.#leave(subscriber);
          this.#enter(subscriber, read.page, window.size, read.version);
        } else {
          window.peers.set(subscriber, read.version);
        }
        subscriber.sendText(text);
      }
    };
  }

  async #refreshAll(): Promise<void> {
    const reads = [...this.#windows].map((window) => this.#refresh(window, ALWAYS));
    for (const send of await Promise.all(reads)) send();
    for (const [id, watchers] of [...this.#itemSubscribers]) {
      // Read the version first (see subscribeItem); it may also have restarted from 0.
      const { version } = await this.source.page(0, 0);
      const item = await this.source.get(id);
      const text = item
        ? this.#itemText(item)
        : JSON.stringify({ func: "delete", type: "list", name: this.name, id });
      for (const subscriber of watchers.keys()) {
        subscriber.sendText(text);
        watchers.set(subscriber, version);
      }
      if (!item) this.#forgetItem(id);
    }
  }
}

/**
 * What an insert or delete does to a window: nothing but the count; one
 * frame (the item lands inside without pushing another out, or leaves without
 * another sliding in); a shift (one item crosses each edge: `delete` +
 * `insert`); or a re-read (the window's page is gone and it moves back).
 */
function classify(
  window: Window,
  change: ListChange & { op: "insert" | "delete" },
): Action {
  const start = window.offset;
  const end = start + window.size;
  if (change.index >= end) return "count";
  // The last item of a later page left: that page is gone and the view moves back.
  if (change.op === "delete" && change.total <= start && start > 0) return "refresh";
  if (change.index < start) return "shift";
  const before = change.op === "insert" ? change.total - 1 : change.total + 1;
  // Inside the window: one frame unless an item also crosses its far edge.
  return (change.op === "insert" ? before < end : before <= end) ? "frame" : "shift";
}
