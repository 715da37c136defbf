/**
 * The window bookkeeping of a list's views: subscribers that watch the same
 * view share one window, so a change is classified and encoded once per
 * window, never once per subscriber. Windows are kept sorted by offset, so
 * the windows a change at an index touches are found by binary search.
 *
 * Each subscriber remembers the list version its mirror reflects: a change it
 * already got through a fresher `set_all` is not sent twice (see
 * {@linkcode sendNewer}). Subscribers in step whose sockets offer topics are
 * members of the window's {@linkcode WindowTopic} instead, which reaches them
 * with one publish per change (see {@linkcode sendWindow}).
 *
 * One {@linkcode ListWindows} holds the views that share one index space, in
 * which a subscriber has at most one view. Views that differ in something
 * other than page and page size (a list's params, say) would each get their
 * own `ListWindows`, keyed by that something, rather than a longer
 * {@linkcode viewKey}: offsets of different index spaces cannot share one
 * sorted array, and one subscriber may then hold several views of a list.
 *
 * @module
 */
import type { Subscriber } from "../../peer/socket.ts";
import type { ListChange } from "../../store.ts";
import { type WindowChange, WindowTopic } from "./window_topic.ts";

/**
 * What a view asks for within one {@linkcode ListWindows}. A window is shared
 * by the subscribers whose views have the same {@linkcode viewKey}.
 */
export interface ViewSpec {
  /** The page, counted from 0. */
  readonly page: number;
  /** The page size. */
  readonly size: number;
}

/**
 * One window: a view and the subscribers sharing it.
 */
export interface ListWindow extends ViewSpec {
  /** Its {@linkcode viewKey}. */
  readonly key: string;
  /** The index in the whole list of its first item. */
  readonly offset: number;
  /** Each subscriber but the topic's members, with the list version its mirror reflects. */
  readonly peers: Map<Subscriber, number>;
  /** The subscribers in step on the runtime's topics, once one could join. */
  topic?: WindowTopic;
}

/**
 * The key that tells the windows of one {@linkcode ListWindows} apart.
 */
export function viewKey(spec: ViewSpec): string {
  return `${spec.page}:${spec.size}`;
}

/**
 * The windows of one list's views, and which window each subscriber is in.
 */
export class ListWindows {
  // Sorted by offset, then size: a change at an index finds its windows by binary search.
  readonly #sorted: ListWindow[] = [];
  readonly #byKey = new Map<string, ListWindow>();
  readonly #of = new Map<Subscriber, ListWindow>();

  /** Every window, sorted by offset. Do not change the windows while iterating. */
  get all(): readonly ListWindow[] {
    return this.#sorted;
  }

  /** How many subscribers have a view. */
  get size(): number {
    return this.#of.size;
  }

  /** The window this subscriber is in, if any. */
  of(subscriber: Subscriber): ListWindow | undefined {
    return this.#of.get(subscriber);
  }

  /** Whether this subscriber has a view. */
  has(subscriber: Subscriber): boolean {
    return this.#of.has(subscriber);
  }

  /**
   * Puts a subscriber in the window of `spec` (leaving the one it was in), as
   * having seen `version`; resolves that window.
   */
  enter(subscriber: Subscriber, spec: ViewSpec, version: number): ListWindow {
    this.leave(subscriber);
    const key = viewKey(spec);
    let window = this.#byKey.get(key);
    if (!window) {
      const { page, size } = spec;
      // `topic` from the start: every window keeps one shape for the loops over them.
      window = { key, page, size, offset: page * size, peers: new Map(), topic: undefined };
      this.#byKey.set(key, window);
      this.#sorted.splice(this.#firstAt(window.offset, size), 0, window);
    }
    window.peers.set(subscriber, version);
    this.#of.set(subscriber, window);
    return window;
  }

  /** Takes a subscriber out of its window (a no-op without one); an empty window goes. */
  leave(subscriber: Subscriber): void {
    const window = this.#of.get(subscriber);
    if (!window) return;
    this.#of.delete(subscriber);
    window.peers.delete(subscriber);
    window.topic?.leave(subscriber);
    if (window.peers.size > 0 || (window.topic?.size ?? 0) > 0) return;
    this.#byKey.delete(window.key);
    this.#sorted.splice(this.#sorted.indexOf(window, this.#firstAt(window.offset)), 1);
  }

  /**
   * Takes a subscriber off its window's topic (a no-op when it is on none):
   * its window sends to it itself again, from the version the topic reflects.
   */
  offTopic(subscriber: Subscriber): void {
    const window = this.#of.get(subscriber);
    const topic = window?.topic;
    if (!topic) return;
    const member = topic.has(subscriber);
    // Also for one that left backed up: it is among the peers already, and must not come back.
    topic.leave(subscriber);
    if (member) window.peers.set(subscriber, topic.version);
  }

  /**
   * The windows that hold this index; `maxSize` bounds every window's size,
   * so only windows starting less than `maxSize` before it are looked at.
   */
  *holding(index: number, maxSize: number): Generator<ListWindow> {
    for (let i = this.#firstAt(index - maxSize + 1); i < this.#sorted.length; i++) {
      const window = this.#sorted[i];
      if (window.offset > index) return;
      if (index < window.offset + window.size) yield window;
    }
  }

  /** The position in `#sorted` of the first window at or after this offset (and size). */
  #firstAt(offset: number, size = 0): number {
    let low = 0;
    let high = this.#sorted.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const w = this.#sorted[mid];
      if (w.offset < offset || (w.offset === offset && w.size < size)) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

/**
 * What an insert or delete does to a window: `count`, nothing but the count;
 * `frame`, one frame (the item lands inside without pushing another out, or
 * leaves without another sliding in); `shift`, one item crosses each edge
 * (`delete` + `insert`, see {@linkcode planShift}); or `refresh`, a re-read
 * (the window's page is gone and its view moves back).
 */
export function classify(
  window: { readonly offset: number; readonly size: number },
  change: ListChange & { op: "insert" | "delete" },
): "count" | "frame" | "shift" | "refresh" {
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

/**
 * Which items cross a window's edges in a `shift` (positions in the list
 * after the change): `leaving`, the position to read of the item that left
 * (or, for a delete inside the window, the deleted id itself); `entering`,
 * the position to read of the item that came in, when it is not the inserted
 * one.
 */
export function planShift(
  window: { readonly offset: number; readonly size: number },
  change: ListChange & { op: "insert" | "delete" },
): { leaving?: number | string; entering?: number } {
  const start = window.offset;
  const end = start + window.size;
  if (change.op === "insert") {
    const before = change.total - 1;
    return {
      leaving: before >= end ? end : undefined,
      entering: change.index < start ? start : undefined,
    };
  }
  return {
    leaving: change.index < start ? start - 1 : change.id,
    entering: change.total >= end ? end - 1 : undefined,
  };
}

/**
 * Sends `texts` to every subscriber in `peers` that has not seen `version`
 * and is not `deferred`, and records that it has: the one check that keeps a
 * change from reaching a mirror that a fresher `set_all` already holds.
 */
export function sendNewer(
  peers: Map<Subscriber, number>,
  change: {
    texts: readonly string[];
    /** The same frames with change markers, for subscribers that asked for them. */
    marked?: readonly string[];
    version: number;
    deferred?: (subscriber: Subscriber) => boolean;
  },
): void {
  for (const [subscriber, seen] of peers) {
    if (seen >= change.version || change.deferred?.(subscriber)) continue;
    const texts = subscriber.marksChanges && change.marked ? change.marked : change.texts;
    for (const text of texts) subscriber.sendText(text);
    peers.set(subscriber, change.version);
  }
}

/**
 * {@linkcode sendNewer} for a window: the topic's members get the change by
 * one publish, the other subscribers each through their own sends,
 * after which those in step join the topic.
 */
export function sendWindow(window: ListWindow, change: WindowChange): void {
  const { peers, topic } = window;
  if (topic) {
    for (const subscriber of topic.publish(change)) {
      peers.set(subscriber, change.version);
    }
  }
  if (peers.size === 0) return;
  const joining = window.topic ??= new WindowTopic();
  const { version, deferred } = change;
  for (const [subscriber, seen] of peers) {
    if (seen < version) {
      if (deferred?.(subscriber)) continue;
      const texts = subscriber.marksChanges && change.marked ? change.marked : change.texts;
      for (const text of texts) subscriber.sendText(text);
      peers.set(subscriber, version);
    } else if (seen > version) continue;
    // Deleting the entry being visited leaves the iteration intact.
    if (joining.admit(subscriber, version)) peers.delete(subscriber);
  }
}

/**
 * Ends a window's topic before it is read again: its members are ordinary
 * subscribers once more, reflecting the version the topic did.
 */
export function endTopic(window: ListWindow): void {
  const topic = window.topic;
  if (!topic || topic.size === 0) return;
  for (const subscriber of topic.clear()) window.peers.set(subscriber, topic.version);
}
