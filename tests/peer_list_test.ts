/**
 * PeerList on its own: the hub's connected peers linked through the peers'
 * own fields, read as a live set (size, has, iteration in connect order,
 * removal from either end or the middle, and while iterating).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type HubLinked, PeerList } from "../src/server/peer_list.ts";

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
  const seen: string[] = [];
  list.forEach((p, same) => {
    assert.equal(p, same);
    seen.push(p.name);
  });
  assert.deepEqual(seen, ["c", "a", "d"]);
  // Each peer leaves as it is handed out (a hub closing every connection).
  for (const p of list) list.delete(p);
  assert.equal(list.size, 0);
  assert.deepEqual(names(list), []);
  list.add(b);
  assert.deepEqual([...list.entries()].map(([k, v]) => [k.name, v.name]), [["b", "b"]]);
  // The set operations, as a Set of the same peers answers them.
  list.add(c);
  const other = new Set([c, d]);
  assert.deepEqual(names(list.union(other)), ["b", "c", "d"]);
  assert.deepEqual(names(list.intersection(other)), ["c"]);
  assert.deepEqual(names(list.difference(other)), ["b"]);
  assert.deepEqual(names(list.symmetricDifference(other)), ["b", "d"]);
  assert.equal(list.isSubsetOf(new Set([a, b, c])), true);
  assert.equal(list.isSubsetOf(other), false);
  assert.equal(list.isSupersetOf(new Set([c])), true);
  assert.equal(list.isSupersetOf(other), false);
  assert.equal(list.isDisjointFrom(new Set([a, d])), true);
  assert.equal(list.isDisjointFrom(other), false);
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
