/**
 * Sending one frame to a whole group through the runtime's own topics
 * (Bun's `publish`), where every member gets the same frame. Members are
 * subscribers whose socket offers {@linkcode Topics}; the others stay with
 * the group's own loop. A member whose socket backs up leaves the topic, so
 * the slow-consumer rules (conflation, the hard cap) apply to it as to any
 * other subscriber.
 *
 * @module
 */
import { isCongested } from "./backpressure.ts";
import type { GroupSocket, Subscriber, Topics } from "./socket.ts";

let serial = 0;

/** Characters published through each host's topics so far, by any group. */
const published = new WeakMap<Topics, { total: number }>();

/** One host (a server's topics) as one group sees it. */
interface Host {
  /** Members on this host. */
  count: number;
  /** The host's published total when this group last read its members' queues. */
  checkedAt: number;
}

/**
 * The topic side of one group (a var's subscribers).
 *
 * @example
 * ```ts
 * import { GroupSend } from "./group_send.ts";
 * const group = new GroupSend();
 * group.join({ sendText() {} }); // false: a plain subscriber has no topics
 * group.publish("frame"); // []
 * ```
 */
export class GroupSend {
  readonly #topic = `socksync.${++serial}`;
  readonly #members = new Map<Subscriber, GroupSocket>();
  // Sockets of several servers can be members: one publish per server.
  readonly #hosts = new Map<Topics, Host>();

  /** How many members there are. */
  get size(): number {
    return this.#members.size;
  }

  /** Whether `subscriber` is a member. */
  has(subscriber: Subscriber): boolean {
    return this.#members.has(subscriber);
  }

  /** Makes `subscriber` a member if its socket offers topics and is not congested. */
  join(subscriber: Subscriber): boolean {
    const socket = (subscriber as { socket?: Partial<GroupSocket> }).socket;
    if (!socket?.topics || typeof socket.subscribe !== "function" || isCongested(subscriber)) {
      return false;
    }
    socket.subscribe(this.#topic);
    this.#members.set(subscriber, socket as GroupSocket);
    const host = this.#hosts.get(socket.topics);
    if (host) host.count++;
    else {
      const total = published.get(socket.topics)?.total ?? 0;
      this.#hosts.set(socket.topics, { count: 1, checkedAt: total });
    }
    return true;
  }

  /** Removes a member; `false` when `subscriber` was none. */
  leave(subscriber: Subscriber): boolean {
    const socket = this.#members.get(subscriber);
    if (!socket) return false;
    this.#members.delete(subscriber);
    const host = this.#hosts.get(socket.topics);
    if (host && --host.count === 0) this.#hosts.delete(socket.topics);
    try {
      socket.unsubscribe(this.#topic);
    } catch {
      // A closed socket left every topic already.
    }
    return true;
  }

  /**
   * Sends `text` to every member. Returns the members found backed up: they
   * got this frame, left the topic, and are the caller's to send to from now.
   */
  publish(text: string): Subscriber[] {
    let backedUp = false;
    for (const [topics, host] of this.#hosts) {
      if (!topics.publish(this.#topic, text)) backedUp = true;
      const every = topics.checkEvery;
      if (every === undefined) continue;
      let sent = published.get(topics);
      if (!sent) published.set(topics, sent = { total: 0 });
      sent.total += text.length;
      // Reading every member's queue costs a native call each: once per `checkEvery`
      // characters, not per frame, keeps it a small share of the sends themselves.
      if (sent.total - host.checkedAt >= every) {
        host.checkedAt = sent.total;
        backedUp = true;
      }
    }
    if (!backedUp) return [];
    // Only when the runtime reports a backed-up socket, or cannot and it is time: find it.
    const slow: Subscriber[] = [];
    for (const [subscriber, socket] of this.#members) {
      if ((socket.bufferedAmount ?? 0) > (socket.topics.backedUpBytes ?? 0)) slow.push(subscriber);
    }
    for (const subscriber of slow) this.leave(subscriber);
    return slow;
  }
}
