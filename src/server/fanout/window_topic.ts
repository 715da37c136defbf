/**
 * The subscribers of one list window that are in step, on the runtime's
 * topics: every change of the window is published once per flavour of its
 * frames (plain, or with change markers) instead of sent to each subscriber.
 *
 * A subscriber joins right after it was sent a change through its own
 * sends, when that change is the one the members reflect too (or there are
 * no members yet); it leaves when its socket backs up (after getting the
 * whole change that found it so; the slow-consumer rules apply from there),
 * when it leaves the window, and when the window is read again. All frames
 * of one change go out in one publish: on `ws`, one write per socket.
 *
 * @module
 */
import { TopicGroup, topicSocket } from "./topic_group.ts";
import type { Subscriber } from "../../peer/socket.ts";

const NOBODY: readonly Subscriber[] = Object.freeze([]);

/**
 * One change's frames for a window: `texts`, and `marked`, the same frames
 * with change markers for subscribers that asked for them.
 */
export interface WindowChange {
  /** The frames, in order. */
  readonly texts: readonly string[];
  /** The same frames with change markers. */
  readonly marked?: readonly string[];
  /** The list version once they are applied. */
  readonly version: number;
  /** Puts off the change for a congested subscriber (true when it did). */
  readonly deferred?: (subscriber: Subscriber) => boolean;
}

/**
 * The topic side of one list window.
 */
export class WindowTopic {
  /** The list version every member's mirror reflects. */
  version = 0;
  #plain: TopicGroup | undefined;
  #marked: TopicGroup | undefined;

  /** How many members there are. */
  get size(): number {
    return (this.#plain?.size ?? 0) + (this.#marked?.size ?? 0);
  }

  /**
   * Makes `subscriber`, whose mirror reflects `version`, a member if the
   * members reflect the same version (or there are none), its socket offers
   * topics, and it is not backed up.
   */
  admit(subscriber: Subscriber, version: number): boolean {
    // Subscribers that can never join (no socket, or one without topics) stop here.
    if (!topicSocket(subscriber)) return false;
    if (version !== this.version && this.size > 0) return false;
    const group = subscriber.marksChanges
      ? this.#marked ??= new TopicGroup()
      : this.#plain ??= new TopicGroup();
    if (!group.admit(subscriber)) return false;
    this.version = version;
    return true;
  }

  /** Whether `subscriber` is a member. */
  has(subscriber: Subscriber): boolean {
    return (this.#plain?.has(subscriber) ?? false) || (this.#marked?.has(subscriber) ?? false);
  }

  /** Removes `subscriber` (a no-op when it is no member). */
  leave(subscriber: Subscriber): void {
    this.#plain?.leave(subscriber);
    this.#marked?.leave(subscriber);
  }

  /**
   * Sends a change newer than the members' version to every member. Resolves
   * the members found backed up: they got all of the change, reflect
   * `change.version` and are no members any more.
   */
  publish(change: WindowChange): readonly Subscriber[] {
    if (this.size === 0 || change.version <= this.version) return NOBODY;
    const left: Subscriber[] = [];
    if (this.#plain?.size) publishTo(this.#plain, change.texts, left);
    if (this.#marked?.size) publishTo(this.#marked, change.marked ?? change.texts, left);
    this.version = change.version;
    return left;
  }

  /** Ends the topic: resolves the members, each still reflecting {@linkcode version}. */
  clear(): Subscriber[] {
    return [...this.#plain?.clear() ?? [], ...this.#marked?.clear() ?? []];
  }
}

/** Publishes `texts` in one go (one write per socket where the runtime can); adds who left to `left`. */
function publishTo(group: TopicGroup, texts: readonly string[], left: Subscriber[]): void {
  // Nobody comes back here: `admit` takes them after a change they got through their own sends.
  const moved = group.publish(texts.length === 1 ? texts[0] : texts, false);
  for (const subscriber of moved.left) left.push(subscriber);
}
