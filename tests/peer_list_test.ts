/**
 * PeerList on its own: the hub's connected peers linked through the peers'
 * own fields (size, has, iteration in connect order, removal from either
 * end or the middle, and while iterating).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type HubLinked, PeerList } from "../src/server/peer_list.ts";
import { Hub } from "../mod.ts";

interface Item extends HubLinked {
  name: string;
  hub?: string;
}

function item(name: string, hub = "one"): Item {
  return { name, hub, hubPrev: undefined, hubNext: undefined };
}

const ofHub = (hub: string) => (peer: Item) => peer.hub === hub;

const names = (list: Iterable<Item>) => [...list].map((p) => p.name);

test("PeerList keeps its peers in order, whichever leaves", () => {
  const list = new PeerList<Item>(ofHub("one"));
  const [a, b, c, d] = ["a", "b", "c", "d"].map((name) => item(name));
  assert.equal(list.has(a), false, "a fresh peer is in no list");
  for (const p of [a, b, c, d]) list.add(p);
  list.add(b);
  assert.equal(list.size, 4, "added once, as to a Set");
  assert.deepEqual(names(list), ["a", "b", "c", "d"]);
  assert.equal(list.delete(b), true, "from the middle");
  assert.equal(list.delete(b), false);
  assert.equal(list.has(b), false);
  assert.equal(list.delete(a), true, "the first");
  assert.equal(list.delete(d), true, "the last");
  assert.deepEqual(names(list), ["c"]);
  list.add(a);
  list.add(d);
  assert.deepEqual(names(list.values()), ["c", "a", "d"]);
  assert.equal(list.has(c) && list.has(a) && list.has(d), true);
  // Each peer leaves as it is handed out (a hub closing every connection).
  for (const p of list) list.delete(p);
  assert.equal(list.size, 0);
  assert.deepEqual(names(list), []);
  list.add(b);
  assert.deepEqual(names(list), ["b"]);
});

test("PeerList: a peer linked in another hub's list is not in this one", () => {
  const [one, two] = [new PeerList<Item>(ofHub("one")), new PeerList<Item>(ofHub("two"))];
  const [a, b] = [item("a"), item("b")];
  const [x, y] = [item("x", "two"), item("y", "two")];
  for (const p of [a, b]) one.add(p);
  for (const p of [x, y]) two.add(p);
  assert.equal(one.has(y), false, "linked (not first) in the other list");
  assert.equal(one.has(x), false, "first in the other list");
  assert.equal(two.has(b), false);
  assert.equal(one.has(b), true);
  assert.equal(one.delete(y), false);
  assert.deepEqual(names(two), ["x", "y"]);
});

test("hub.peers: a Set of the connected peers, in connect order, at each read", () => {
  const hub = new Hub({ limits: { idleTimeout: 0 } });
  const socket = () => ({ send() {}, close() {}, readyState: 1, bufferedAmount: 0 });
  const [a, b] = [hub.connect(socket()), hub.connect(socket())];
  const peers = hub.peers;
  assert.ok(peers instanceof Set);
  assert.deepEqual([...peers], [a, b]);
  a.close(1000, "done");
  assert.deepEqual([...hub.peers], [b], "a read after a peer left");
  assert.equal(peers.size, 2, "an earlier read is a copy");
  b.close(1000, "done");
  assert.equal(hub.peers.size, 0);
});
