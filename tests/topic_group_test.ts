/**
 * TopicGroup on its own, over an in-memory implementation of the runtime's
 * topics (what Bun's `publish` and `ws`'s pre-framed writes offer): members
 * get each publish once, non-members nothing; a member whose queue passes the
 * runtime's threshold leaves with the frame that found it so, and comes back
 * only once drained to a quarter of it, from the publish after the one that
 * found it drained; one that unsubscribed while away never comes back; a
 * runtime that cannot report a backed-up socket has its queues read every
 * `checkEvery` characters. Each case runs twice: members kept in the group's
 * Set, and (`Topics.linked`, as on Bun) linked through their sockets, where a
 * socket's one set of links goes to its first group and any other group
 * keeps it in its Set.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { TopicGroup } from "../src/server/fanout/topic_group.ts";
import type { GroupSocket, Subscriber, TopicLinks, Topics } from "../src/peer/socket.ts";
import { OPEN } from "../src/protocol/connection.ts";

/** The runtime's topics in memory: a socket's queue grows while it is paused. */
class MemoryTopics implements Topics {
  readonly backedUpBytes = 100;
  readonly checkEvery: number | undefined;
  /** Whether `publish` reports a backed-up socket (Bun does; `ws` cannot, so it relies on `checkEvery`). */
  readonly reports: boolean;
  readonly linked: boolean;
  readonly subscribed = new Map<string, Set<MemorySocket>>();
  publishes = 0;

  constructor(options: { reports?: boolean; checkEvery?: number; linked?: boolean } = {}) {
    this.reports = options.reports ?? true;
    this.linked = options.linked ?? false;
    this.checkEvery = options.checkEvery;
  }

  publish(topic: string, text: string): boolean {
    this.publishes++;
    let clear = true;
    for (const socket of this.subscribed.get(topic) ?? []) {
      socket.send(text);
      if (socket.bufferedAmount > this.backedUpBytes) clear = false;
    }
    return clear || !this.reports;
  }
}

class MemorySocket implements GroupSocket, TopicLinks {
  topicOwner: object | undefined = undefined;
  topicPrev: Subscriber | undefined = undefined;
  topicNext: Subscriber | undefined = undefined;
  readyState = OPEN;
  bufferedAmount = 0;
  paused = false;
  readonly received: string[] = [];
  constructor(readonly topics: MemoryTopics) {}
  send(text: string): void {
    this.received.push(text);
    if (this.paused) this.bufferedAmount += text.length;
  }
  close(): void {
    this.readyState = 3;
  }
  subscribe(topic: string): void {
    let set = this.topics.subscribed.get(topic);
    if (!set) this.topics.subscribed.set(topic, set = new Set());
    set.add(this);
  }
  unsubscribe(topic: string): void {
    this.topics.subscribed.get(topic)?.delete(this);
  }
  /** Reads everything queued. */
  drain(): void {
    this.bufferedAmount = 0;
    this.paused = false;
  }
}

/** A subscriber on a socket, as the peer is: its own sends go through the same socket. */
function member(topics: MemoryTopics): Subscriber & { socket: MemorySocket } {
  const socket = new MemorySocket(topics);
  return { socket, sendText: (text) => socket.send(text) };
}

const BIG = "x".repeat(150);

for (const linked of [false, true]) {
  describe(`TopicGroup, members ${linked ? "linked" : "in a Set"}`, () => {
    test("members get each publish once; plain and congested subscribers do not join", () => {
      const topics = new MemoryTopics({ linked });
      const group = new TopicGroup();
      const [a, b, outsider] = [member(topics), member(topics), member(topics)];
      assert.equal(group.join(a), true);
      assert.equal(group.join(b), true);
      assert.equal(group.join(a), true, "a member joining again stays one member");
      assert.equal(group.join({ sendText() {} }), false, "no socket, no topics");
      const congested = Object.assign(member(topics), { congested: true, defer() {} });
      assert.equal(group.join(congested), false, "the slow-consumer rules hold it back");
      assert.equal(group.size, 2);
      assert.deepEqual(group.publish("one"), { left: [], back: [] });
      assert.deepEqual(group.publish(["two", "three"]), { left: [], back: [] });
      assert.deepEqual(a.socket.received, ["one", "two", "three"]);
      assert.deepEqual(b.socket.received, ["one", "two", "three"]);
      assert.deepEqual(outsider.socket.received, []);
      assert.deepEqual(congested.socket.received, []);
      assert.equal(group.leave(b), true);
      assert.equal(group.leave(b), false, "no member any more");
      group.publish("four");
      assert.deepEqual(b.socket.received, ["one", "two", "three"]);
      assert.deepEqual(group.clear(), [a]);
      assert.equal(group.size, 0);
      group.publish("five");
      assert.deepEqual(a.socket.received.at(-1), "four");
    });

    test("a member that backs up leaves with the frame that found it so; back once drained", () => {
      const topics = new MemoryTopics({ linked });
      const group = new TopicGroup();
      const [fast, slow] = [member(topics), member(topics)];
      group.join(fast);
      group.join(slow);
      slow.socket.paused = true;
      assert.deepEqual(group.publish(BIG), { left: [slow], back: [] }, "over the threshold");
      assert.equal(slow.socket.received.length, 1, "it got the frame that found it backed up");
      assert.equal(group.has(slow), false);
      assert.equal(group.size, 1);
      // Away: the topic no longer reaches it (the caller sends to it, conflating).
      assert.deepEqual(group.publish("a"), { left: [], back: [] });
      assert.deepEqual(slow.socket.received, [BIG]);
      // Drained to more than a quarter of the threshold: not back yet.
      slow.socket.bufferedAmount = topics.backedUpBytes / 4 + 1;
      assert.deepEqual(group.publish("b"), { left: [], back: [] });
      assert.equal(group.has(slow), false);
      // A quarter: back, after this publish (the caller sent it "c" itself).
      slow.socket.drain();
      assert.deepEqual(group.publish("c"), { left: [], back: [slow] });
      assert.deepEqual(slow.socket.received, [BIG], "not published to it: the caller's to send");
      assert.equal(group.has(slow), true);
      group.publish("d");
      assert.deepEqual(slow.socket.received, [BIG, "d"]);
      assert.deepEqual(fast.socket.received, [BIG, "a", "b", "c", "d"]);
    });

    test("with readmit off nobody comes back on publish; admit takes it once drained", () => {
      const topics = new MemoryTopics({ linked });
      const group = new TopicGroup();
      const slow = member(topics);
      group.join(slow);
      slow.socket.paused = true;
      assert.deepEqual(group.publish(BIG, false).left, [slow]);
      assert.equal(group.admit(slow), false, "still backed up");
      slow.socket.drain();
      assert.deepEqual(group.publish("a", false), { left: [], back: [] });
      assert.equal(group.has(slow), false);
      assert.equal(group.admit(slow), true);
      group.publish("b", false);
      assert.deepEqual(slow.socket.received, [BIG, "b"]);
    });

    test("a closed socket, or one held back by the slow-consumer rules, does not come back", () => {
      const topics = new MemoryTopics({ linked });
      const group = new TopicGroup();
      const [closed, held] = [member(topics), member(topics)];
      group.join(closed);
      group.join(held);
      closed.socket.paused = held.socket.paused = true;
      assert.equal(group.publish(BIG).left.length, 2);
      closed.socket.drain();
      closed.socket.close();
      held.socket.drain();
      Object.assign(held, { congested: true, defer() {} });
      assert.deepEqual(group.publish("a"), { left: [], back: [] });
      assert.equal(group.size, 0);
      Object.assign(held, { congested: false });
      assert.deepEqual(group.publish("b").back, [held]);
    });

    test("one that unsubscribed while away never comes back", () => {
      const topics = new MemoryTopics({ linked });
      const group = new TopicGroup();
      const slow = member(topics);
      group.join(slow);
      slow.socket.paused = true;
      group.publish(BIG);
      assert.equal(group.leave(slow), false, "not a member while away");
      slow.socket.drain();
      assert.deepEqual(group.publish("a"), { left: [], back: [] });
      assert.equal(group.has(slow), false);
      assert.deepEqual(slow.socket.received, [BIG]);
    });

    test("a runtime that cannot report backed-up sockets has the queues read every checkEvery", () => {
      const topics = new MemoryTopics({ reports: false, checkEvery: 300, linked });
      const group = new TopicGroup();
      const [fast, slow] = [member(topics), member(topics)];
      group.join(fast);
      group.join(slow);
      slow.socket.paused = true;
      // 150 + 140 characters (the latter as two frames in one publish): under checkEvery, nobody
      // reads the queues yet.
      assert.deepEqual(group.publish(BIG).left, []);
      assert.deepEqual(group.publish(["y".repeat(70), "y".repeat(70)]).left, []);
      assert.equal(group.has(slow), true);
      // Past 300: read, and the slow one (290 queued > 100) leaves; the fast one stays.
      assert.deepEqual(group.publish("z".repeat(20)).left, [slow]);
      assert.equal(group.has(fast), true);
      // The count starts again: a queue past the threshold now is read only 300 characters later.
      fast.socket.paused = true;
      assert.deepEqual(group.publish("w".repeat(120)).left, [], "not read yet");
      assert.deepEqual(group.publish("v".repeat(200)).left, [fast]);
    });

    test("members on two servers: one publish on each", () => {
      const one = new MemoryTopics({ linked });
      const two = new MemoryTopics({ linked });
      const group = new TopicGroup();
      const members = [member(one), member(one), member(two)];
      for (const m of members) group.join(m);
      group.publish("a");
      assert.equal(one.publishes, 1);
      assert.equal(two.publishes, 1);
      for (const m of members) assert.deepEqual(m.socket.received, ["a"]);
      group.leave(members[2]);
      group.publish("b");
      assert.equal(two.publishes, 1, "a server with no member left is not published to");
      assert.deepEqual(members[2].socket.received, ["a"]);
    });

    test("a member of several groups: each keeps it apart, whichever leaves first", () => {
      const topics = new MemoryTopics({ linked });
      const [first, second] = [new TopicGroup(), new TopicGroup()];
      const [a, b, c] = [member(topics), member(topics), member(topics)];
      for (const m of [a, b, c]) first.join(m);
      for (const m of [c, b, a]) second.join(m);
      assert.equal(first.size, 3);
      assert.equal(second.size, 3);
      if (linked) assert.equal(a.socket.topicOwner, first, "the links go to the first group");
      // Out of the first group from the middle: the second still has it, the others stay linked.
      assert.equal(first.leave(b), true);
      assert.equal(first.has(b), false);
      assert.equal(second.has(b), true);
      assert.equal(first.size, 2);
      first.publish("one");
      assert.deepEqual(b.socket.received, []);
      second.publish("two");
      assert.deepEqual(b.socket.received, ["two"]);
      assert.deepEqual(a.socket.received, ["one", "two"]);
      // Free links are taken by the next group it joins.
      const third = new TopicGroup();
      third.join(b);
      if (linked) assert.equal(b.socket.topicOwner, third);
      assert.deepEqual(second.clear(), [c, b, a]);
      assert.equal(second.size, 0);
      assert.equal(third.has(b), true);
      assert.deepEqual(first.clear(), [a, c]);
      for (const m of [a, c]) assert.equal(first.has(m) || second.has(m), false);
      assert.equal(third.leave(b), true);
      assert.equal(third.size, 0);
      // The last one leaves, then another joins: both ends of the list stay right.
      third.join(a);
      third.join(b);
      third.leave(b);
      third.join(c);
      assert.deepEqual(third.clear(), [a, c]);
      if (linked) { for (const m of [a, b, c]) assert.equal(m.socket.topicOwner, undefined); }
    });
  });
}
