/**
 * The change fan-out of a list: each change the source reports becomes
 * frames, encoded once per window (and once for an item's watchers), sent to
 * the subscribers that have not seen it yet. A change finds the windows and
 * watchers it touches without scanning subscribers.
 *
 * @module
 */
import {
  encodeDelete,
  encodeInsert,
  encodeItemSet,
  encodeSetAll,
  encodeSetCount,
  type ListParams,
  withMore,
} from "../../protocol/encode.ts";
import type { ItemSubscriptions } from "./list_items.ts";
import {
  classify,
  endTopic,
  type ListWindow,
  type ListWindows,
  planShift,
  sendNewer,
  sendWindow,
} from "./list_windows.ts";
import type { Subscriber } from "../../peer/socket.ts";
import type { ListChange, ListPage, ListSource } from "../../store.ts";

/** Newer than every version a store reports: forces a re-read. */
const ALWAYS = Number.MAX_SAFE_INTEGER;

/**
 * A page as a view gets it: `page` is the page read, clamped to the last one
 * (page 0 when the list is empty).
 */
export type ViewRead<T> = ListPage<T> & { page: number };

/**
 * Reads a view's page, clamped to the last page (page 0 when empty).
 */
export async function readView<T>(
  source: ListSource<T>,
  view: { page: number; size: number },
): Promise<ViewRead<T>> {
  let { page } = view;
  const { size } = view;
  let read = await source.page(page * size, size);
  // A second try covers a list that shrank between the two reads.
  for (let tries = 0; tries < 3; tries++) {
    const last = read.total === 0 ? 0 : Math.ceil(read.total / size) - 1;
    if (page <= last) break;
    page = last;
    read = await source.page(page * size, size);
  }
  if (!read.stored) return { ...read, page };
  // (Not a spread: a store that hands out stored JSON may build its items
  // only when they are read, and its stored texts end once they are.)
  const stored = read;
  return {
    get items() {
      return stored.items;
    },
    get stored() {
      return stored.stored;
    },
    total: read.total,
    version: read.version,
    page,
  };
}

/**
 * What the fan-out works on: the list's bookkeeping, and how to put off a
 * change for a congested subscriber (true when it did).
 */
export interface FanoutOptions<T> {
  /** The list's name on the wire. */
  name: string;
  /** Where the items live. */
  source: ListSource<T>;
  /** No window is larger. */
  maxPageSize: number;
  /** The views. */
  windows: ListWindows;
  /** The item subscriptions. */
  items: ItemSubscriptions;
  /** Leaves one re-read of this subscriber's view for when it drains. */
  deferView: (subscriber: Subscriber) => boolean;
  /** Leaves one re-read of this item for when the subscriber drains. */
  deferItem: (subscriber: Subscriber, id: string) => boolean;
  /** The params every frame of this list carries (one query of a parameterized list). */
  params?: ListParams;
}

/**
 * Turns a list's changes into frames for its subscribers. Changes must be
 * applied one at a time, in the order the source reported them.
 */
export class ListFanout<T> {
  readonly #o: FanoutOptions<T>;

  /** @param options the list's bookkeeping and deferral */
  constructor(options: FanoutOptions<T>) {
    this.#o = options;
  }

  /** Sends one change to every subscriber it concerns; resolves once all were sent. */
  async apply(change: ListChange<T>): Promise<void> {
    if (change.op === "reset") return await this.#refreshAll();
    if (change.op === "set") return this.#applySet(change);
    const { name, windows, items, deferView: deferred, params } = this.#o;
    const { version } = change;
    const countText = encodeSetCount(name, change.total, params);
    const itemText = change.op === "insert"
      ? encodeInsert({ name, index: change.index, id: change.id, value: change.value, params })
      : encodeDelete(name, change.id, params);
    const watchers = change.op === "delete" ? items.watchers(change.id) : undefined;
    if (watchers) {
      // Not deferred: the item's subscriptions end here, so a later re-read would send nothing.
      sendNewer(watchers, { texts: [itemText], version });
      items.forget(change.id);
    }
    const counted = { texts: [countText], version, deferred };
    // Marked `more`: a view's mirror tells its listeners once, after the set_count.
    const framed = {
      texts: [itemText, countText],
      marked: [withMore(itemText), countText],
      version,
      deferred,
    };
    // Every view's total changes, so every window is visited; the classification is O(1) each.
    const reads: Promise<() => void>[] = [];
    for (const window of windows.all) {
      const action = classify(window, change);
      if (action === "shift") reads.push(this.#shift(window, change, countText));
      else if (action === "refresh") reads.push(this.#refresh(window, version));
      else sendWindow(window, action === "frame" ? framed : counted);
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
    window: ListWindow,
    change: ListChange<T> & { op: "insert" | "delete" },
    countText: string,
  ): Promise<() => void> {
    const { name, source, deferView: deferred, params } = this.#o;
    const { leaving, entering } = planShift(window, change);
    const [left, came] = await Promise.all([
      typeof leaving === "number" ? source.page(leaving, 1) : undefined,
      entering === undefined ? undefined : source.page(entering, 1),
    ]);
    // (The leaving item's id from the stored texts when there are any: its
    // value is not needed, and reading `items` would parse the page's values.)
    const length = (read: ListPage<T>) => read.stored?.ids.length ?? read.items.length;
    const fresh = (read: ListPage<T> | undefined) =>
      read === undefined || (read.version === change.version && length(read) === 1);
    if (!fresh(left) || !fresh(came)) return await this.#refresh(window, change.version);
    const texts: string[] = [];
    const leftId = typeof leaving === "string"
      ? leaving
      : left && (left.stored?.ids[0] ?? left.items[0].id);
    if (leftId !== undefined) texts.push(encodeDelete(name, leftId, params));
    const item = came?.items[0] ?? (change.op === "insert" ? change : undefined);
    if (item) {
      const index = came ? entering! : change.index;
      texts.push(encodeInsert({ name, index, id: item.id, value: item.value, params }));
    }
    texts.push(countText);
    const version = change.version;
    const marked = texts.map((text, i) => i < texts.length - 1 ? withMore(text) : text);
    return () => sendWindow(window, { texts, marked, version, deferred });
  }

  #applySet(change: ListChange<T> & { op: "set" }): void {
    const { name, windows, items, maxPageSize, deferView, deferItem, params } = this.#o;
    const { id, version } = change;
    const texts = [encodeItemSet(name, { id, value: change.value, params })];
    const watchers = items.watchers(id);
    if (watchers) sendNewer(watchers, { texts, version, deferred: (s) => deferItem(s, id) });
    const inView = { texts, version, deferred: deferView };
    for (const window of windows.holding(change.index, maxPageSize)) {
      sendWindow(window, inView);
    }
  }

  /**
   * Re-reads a window for the subscribers that have not seen `version` yet;
   * resolves the function that sends them the `set_all` (and moves them to
   * the page read when theirs is gone).
   */
  async #refresh(window: ListWindow, version: number): Promise<() => void> {
    // Members behind get the page like everyone else, through their own sends.
    if (window.topic && window.topic.version < version) endTopic(window);
    let behind = false;
    for (const seen of window.peers.values()) behind ||= seen < version;
    if (!behind) return () => {};
    const { name, source, windows, deferView, params } = this.#o;
    const { size } = window;
    const read = await readView(source, window);
    const text = encodeSetAll({
      name,
      params,
      page: read.page,
      pageSize: size,
      total: read.total,
      ...(read.stored ? { items: [], stored: read.stored } : { items: read.items }),
    });
    return () => {
      for (const [subscriber, seen] of [...window.peers]) {
        if (seen >= version || deferView(subscriber)) continue;
        if (read.page !== window.page) {
          windows.enter(subscriber, { page: read.page, size }, read.version);
        } else {
          window.peers.set(subscriber, read.version);
        }
        subscriber.sendText(text);
      }
    };
  }

  /** After a reset: every view and every watched item is read again. */
  async #refreshAll(): Promise<void> {
    const { name, source, windows, items, params } = this.#o;
    const reads = [...windows.all].map((window) => this.#refresh(window, ALWAYS));
    for (const send of await Promise.all(reads)) send();
    for (const [id, watchers] of items.entries()) {
      // Read the version first (see LocalList.subscribeItem); it may also have restarted from 0.
      const { version } = await source.page(0, 0);
      const item = await source.get(id);
      const text = item
        ? encodeItemSet(name, { id, value: item.value, params })
        : encodeDelete(name, id, params);
      for (const subscriber of watchers.keys()) {
        subscriber.sendText(text);
        watchers.set(subscriber, version);
      }
      if (!item) items.forget(id);
    }
  }
}
