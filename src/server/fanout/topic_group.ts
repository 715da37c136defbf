/**
 * A topic group: subscribers that get the same frames (a var's subscribers,
 * or those of one list window that are in step), reached through the
 * runtime's own topics (Bun's `publish`) with one publish per frame rather
 * than one send per subscriber. Members are subscribers whose socket offers
 * {@linkcode Topics}; the others stay with the var's or window's own loop. A
 * member whose socket backs up leaves the topic, so the slow-consumer rules
 * (conflation, the hard cap) apply to it as to any other subscriber.
 *
 * @module
 */
import { isCongested } from "../../peer/backpressure.ts";
import type { GroupSocket, Subscriber, TopicLinks, Topics } from "../../peer/socket.ts";
import { OPEN } from "../../protocol/connection.ts";
import { type Metrics, metricsOf } from "../../peer/metrics.ts";

let serial = 0;

/** Characters published through each host's topics so far, by any topic group. */
const published = new WeakMap<Topics, { total: number }>();

/** One host (a server's topics) as one topic group sees it. */
interface Host {
  /** Members on this host. */
  count: number;
  /** The host's published total when this group last read its members' queues. */
  checkedAt: number;
  /** Where frames published on this host are counted (its hub's metrics), if anywhere. */
  metrics: Metrics | undefined;
}

/**
 * The members of one topic: a var's subscribers, or the subscribers of one
 * list window that want the same frames.
 */
export class TopicGroup {
  readonly #topic = `socksync.${++serial}`;
  // Members whose socket's links (`Topics.linked`) are free when they join are linked through
  // them, the others kept in a Set, not a Map to each member's socket (found again through
  // `memberSocket`): an entry per subscribed connection, and a Map's entry is the larger.
  #head: Subscriber | undefined;
  #tail: Subscriber | undefined;
  #linked = 0;
  readonly #members = new Set<Subscriber>();
  // Sockets of several servers can be members: one publish per server.
  readonly #hosts = new Map<Topics, Host>();
  // Members that left backed up, still subscribed: they come back once their queue drained.
  readonly #away = new Map<Subscriber, GroupSocket>();

  /** How many members there are. */
  get size(): number {
    return this.#linked + this.#members.size;
  }

  /** Whether `subscriber` is a member. */
  has(subscriber: Subscriber): boolean {
    const socket = (subscriber as { socket?: Partial<TopicLinks> }).socket;
    return socket?.topicOwner === this || this.#members.has(subscriber);
  }

  /** Every member (linked ones first); one may leave while this runs. */
  *#each(): Generator<Subscriber> {
    let member = this.#head;
    while (member !== undefined) {
      const next = linksOf(member).topicNext;
      yield member;
      member = next;
    }
    yield* this.#members;
  }

  /** Makes `subscriber` a member if its socket offers topics and is not congested. */
  join(subscriber: Subscriber): boolean {
    const socket = topicSocket(subscriber);
    if (!socket || isCongested(subscriber)) return false;
    // Once: a second entry (its links and the Set) would count it twice.
    if (this.has(subscriber)) return true;
    socket.subscribe(this.#topic);
    if (socket.topics.linked && linksOf(subscriber).topicOwner === undefined) {
      this.#link(subscriber);
    } else this.#members.add(subscriber);
    const host = this.#hosts.get(socket.topics);
    if (host) host.count++;
    else {
      const total = published.get(socket.topics)?.total ?? 0;
      this.#hosts.set(socket.topics, {
        count: 1,
        checkedAt: total,
        metrics: metricsOf(subscriber),
      });
    }
    return true;
  }

  /**
   * Makes `subscriber` a member like {@linkcode join}, unless it left backed
   * up and its queue has not drained to a quarter of the threshold yet (or
   * the slow-consumer rules still hold it back). For callers that send to
   * the ones that left themselves and decide when each may come back.
   */
  admit(subscriber: Subscriber): boolean {
    const away = this.#away.get(subscriber);
    if (away) {
      if (!this.#drained(subscriber, away)) return false;
      this.#away.delete(subscriber);
    }
    return this.join(subscriber);
  }

  /** Ends the group: every member leaves the topic; resolves who the members were. */
  clear(): Subscriber[] {
    const members = [...this.#each()];
    this.#away.clear();
    for (const subscriber of members) this.#drop(subscriber);
    return members;
  }

  /**
   * Removes a member, and forgets a subscriber that left backed up (it
   * unsubscribed: it must not come back); `false` when `subscriber` was no
   * member.
   */
  leave(subscriber: Subscriber): boolean {
    this.#away.delete(subscriber);
    return this.#drop(subscriber);
  }

  #drop(subscriber: Subscriber): boolean {
    const socket = (subscriber as { socket?: GroupSocket & Partial<TopicLinks> }).socket;
    if (socket?.topicOwner === this) this.#unlink(subscriber);
    else if (!this.#members.delete(subscriber)) return false;
    // A member's socket is a group socket: it joined through `topicSocket`.
    const host = this.#hosts.get(socket!.topics);
    if (host && --host.count === 0) this.#hosts.delete(socket!.topics);
    try {
      socket!.unsubscribe(this.#topic);
    } catch {
      // A closed socket left every topic already.
    }
    return true;
  }

  /** Appends a member to the list linked through the sockets. */
  #link(subscriber: Subscriber): void {
    const links = linksOf(subscriber);
    const tail = this.#tail;
    links.topicOwner = this;
    links.topicPrev = tail;
    links.topicNext = undefined;
    if (tail !== undefined) linksOf(tail).topicNext = subscriber;
    else this.#head = subscriber;
    this.#tail = subscriber;
    this.#linked++;
  }

  #unlink(subscriber: Subscriber): void {
    const links = linksOf(subscriber);
    const { topicPrev: prev, topicNext: next } = links;
    if (prev !== undefined) linksOf(prev).topicNext = next;
    else this.#head = next;
    if (next !== undefined) linksOf(next).topicPrev = prev;
    else this.#tail = prev;
    links.topicOwner = links.topicPrev = links.topicNext = undefined;
    this.#linked--;
  }

  /**
   * Sends `text` (or several frames, in order) to every member. Returns the
   * members found backed up (`left`: they got all of it, left the topic, and
   * are the caller's to send to from now) and those that left earlier and
   * drained since (`back`: the caller sent them this frame; they are members
   * again from the next one). With `readmit` false nobody comes back here
   * (see {@linkcode admit}).
   */
  publish(text: string | readonly string[], readmit = true): Moved {
    let backedUp = false;
    for (const [topics, host] of this.#hosts) {
      if (!publishOn(topics, this.#topic, text)) backedUp = true;
      host.metrics?.published(text, host.count);
      const every = topics.checkEvery;
      if (every === undefined) continue;
      let sent = published.get(topics);
      if (!sent) published.set(topics, sent = { total: 0 });
      sent.total += lengthOf(text);
      // Reading every member's queue costs a native call each: once per `checkEvery`
      // characters, not per frame, keeps it a small share of the sends themselves.
      if (sent.total - host.checkedAt >= every) {
        host.checkedAt = sent.total;
        backedUp = true;
      }
    }
    const back = readmit && this.#away.size > 0 ? this.#readmit() : NOBODY;
    if (!backedUp) return back.length > 0 ? { left: NOBODY, back } : NONE;
    // Only when the runtime reports a backed-up socket, or cannot and it is time: find it.
    const left: Subscriber[] = [];
    // Plain loops (no generator): this reads every member's queue.
    for (let member = this.#head; member !== undefined; member = linksOf(member).topicNext) {
      if (isBackedUp(member)) left.push(member);
    }
    for (const subscriber of this.#members) if (isBackedUp(subscriber)) left.push(subscriber);
    for (const subscriber of left) {
      metricsOf(subscriber)?.slow("left_topic");
      this.#away.set(subscriber, memberSocket(subscriber));
      this.#drop(subscriber);
    }
    return { left, back };
  }

  /**
   * Members that left backed up and whose queue is down to a quarter of the
   * threshold (not at the threshold itself, so a socket hovering there does
   * not leave and come back on every check), and not held back by the
   * slow-consumer rules: they join again. Called after the publish, so the
   * frame the caller sent them is not published to them too.
   */
  #readmit(): Subscriber[] {
    const back: Subscriber[] = [];
    for (const [subscriber, socket] of this.#away) {
      if (!this.#drained(subscriber, socket)) continue;
      this.#away.delete(subscriber);
      if (this.join(subscriber)) back.push(subscriber);
    }
    return back;
  }

  #drained(subscriber: Subscriber, socket: GroupSocket): boolean {
    return socket.readyState === OPEN &&
      (socket.bufferedAmount ?? 0) <= (socket.topics.backedUpBytes ?? 0) / 4 &&
      !isCongested(subscriber);
  }
}

/**
 * What a {@linkcode TopicGroup.publish} moved between the topic and the
 * caller's own sends.
 */
export interface Moved {
  /** Members found backed up: the caller sends to them from now. */
  readonly left: readonly Subscriber[];
  /** Former members that drained: the topic reaches them from the next frame. */
  readonly back: readonly Subscriber[];
}

/**
 * The subscriber's socket if it can join topics (a peer whose socket offers
 * the runtime's topics), else `undefined`.
 */
export function topicSocket(subscriber: Subscriber): GroupSocket | undefined {
  const socket = (subscriber as { socket?: Partial<GroupSocket> }).socket;
  return socket?.topics && typeof socket.subscribe === "function"
    ? socket as GroupSocket
    : undefined;
}

/** Whether a member's queue is past its topics' threshold. */
function isBackedUp(subscriber: Subscriber): boolean {
  const socket = memberSocket(subscriber);
  return (socket.bufferedAmount ?? 0) > (socket.topics.backedUpBytes ?? 0);
}

/** The links on a member's socket (its topics are `linked`). */
function linksOf(subscriber: Subscriber): TopicLinks {
  return (subscriber as unknown as { socket: TopicLinks }).socket;
}

/** The socket of a member: {@linkcode topicSocket} found it when it joined. */
function memberSocket(subscriber: Subscriber): GroupSocket {
  return (subscriber as unknown as { socket: GroupSocket }).socket;
}

/** One publish of one frame or several; `false` when some socket is backed up. */
function publishOn(topics: Topics, topic: string, text: string | readonly string[]): boolean {
  if (typeof text === "string") return topics.publish(topic, text);
  if (topics.publishAll) return topics.publishAll(topic, text);
  let clear = true;
  for (const one of text) if (!topics.publish(topic, one)) clear = false;
  return clear;
}

function lengthOf(text: string | readonly string[]): number {
  if (typeof text === "string") return text.length;
  let length = 0;
  for (const one of text) length += one.length;
  return length;
}

const NOBODY: readonly Subscriber[] = Object.freeze([]);
const NONE: Moved = Object.freeze({ left: NOBODY, back: NOBODY });
