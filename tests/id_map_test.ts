import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { idHash, IdMap } from "../stores/common/id_map.ts";

type Entry = { id: string; n: number };

// Long ids that differ only in the middle share their hash (idHash reads the
// length and the first and last 32 characters): every one after the first
// goes to the map of clashes.
const clashing = (i: number) => `${"a".repeat(40)}${i}${"b".repeat(40)}`;

// Numbers below `n` from a fixed seed: the same sequence on every run.
function seeded(seed: number): (n: number) => number {
  return (n) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
}

describe("IdMap", () => {
  test("ids with the same hash are kept apart", () => {
    const ids = [0, 1, 2, 3].map(clashing);
    assert.equal(new Set(ids.map(idHash)).size, 1);
    const map = new IdMap<Entry>();
    ids.forEach((id, n) => map.set({ id, n }));
    map.set({ id: "short", n: 9 });
    assert.equal(map.size, 5);
    ids.forEach((id, n) => assert.equal(map.get(id)?.n, n));
    // The one held under the hash goes; the clashes stay found.
    assert.equal(map.delete(ids[0]), true);
    assert.equal(map.get(ids[0]), undefined);
    assert.equal(map.has(ids[0]), false);
    assert.deepEqual([1, 2, 3].map((n) => map.get(ids[n])?.n), [1, 2, 3]);
    assert.equal(map.size, 4);
    // A clash goes, then comes back, and replaces itself in place.
    assert.equal(map.delete(ids[2]), true);
    assert.equal(map.delete(ids[2]), false);
    map.set({ id: ids[2], n: 20 });
    map.set({ id: ids[2], n: 21 });
    map.set({ id: ids[1], n: 11 });
    assert.equal(map.get(ids[2])?.n, 21);
    assert.equal(map.get(ids[1])?.n, 11);
    assert.equal(map.size, 4);
    assert.equal(map.get(clashing(7)), undefined);
    assert.equal(map.delete(clashing(7)), false);
  });

  test("remove takes out the entry given, held under the hash or among the clashes", () => {
    const entries = [0, 1, 2].map((n) => ({ id: clashing(n), n }));
    const map = new IdMap<Entry>();
    for (const entry of entries) map.set(entry);
    map.remove(entries[1]);
    assert.equal(map.get(entries[1].id), undefined);
    assert.equal(map.get(entries[0].id), entries[0]);
    map.remove(entries[0]);
    assert.equal(map.get(entries[0].id), undefined);
    assert.equal(map.get(entries[2].id), entries[2]);
    map.remove(entries[2]);
    assert.equal(map.size, 0);
  });

  test("matches a Map under random changes, clashes included", () => {
    const map = new IdMap<Entry>();
    const model = new Map<string, Entry>();
    const next = seeded(11);
    // A few hundred ids, a quarter of them sharing one hash.
    const id = (i: number) => (i % 4 === 0 ? clashing(i) : `id-${i}`);
    for (let step = 0; step < 20_000; step++) {
      const key = id(next(400));
      if (next(3) === 0) {
        assert.equal(map.delete(key), model.delete(key));
      } else {
        const entry = { id: key, n: step };
        map.set(entry);
        model.set(key, entry);
      }
      if (step % 500 === 0) {
        assert.equal(map.size, model.size);
        for (let i = 0; i < 400; i++) assert.equal(map.get(id(i)), model.get(id(i)));
      }
    }
  });
  test("50,000 ids sharing one hash stay within a bound that a cost per clash breaks", () => {
    // Ids that only differ in the middle, as long URLs or paths may: 50,000 of them are a
    // few hundred ms in all at most, where a table that probed through ids sharing a hash
    // took tens of seconds (each one compared against every one before it).
    const map = new IdMap<Entry>();
    const count = 50_000;
    const start = performance.now();
    for (let i = 0; i < count; i++) map.set({ id: clashing(i), n: i });
    for (let i = 0; i < count; i++) assert.equal(map.get(clashing(i))?.n, i);
    for (let i = 0; i < count; i += 2) assert.equal(map.delete(clashing(i)), true);
    assert.equal(map.size, count / 2);
    for (let i = 1; i < count; i += 2) assert.equal(map.get(clashing(i))?.n, i);
    // A generous bound that only a cost growing with the number of clashes breaks.
    const ms = performance.now() - start;
    assert.ok(ms < 5_000, `${count} clashing ids took ${Math.round(ms)} ms`);
  });

  test("matches a Map while it grows to thousands of entries and empties again", () => {
    const map = new IdMap<Entry>();
    const model = new Map<string, Entry>();
    const next = seeded(7);
    const id = (i: number) => (i % 50 === 0 ? clashing(i) : `item-${i}`);
    const check = () => {
      assert.equal(map.size, model.size);
      for (let i = 0; i < 6000; i += 7) assert.equal(map.get(id(i)), model.get(id(i)));
      for (const [key, entry] of model) assert.equal(map.get(key), entry);
    };
    for (let i = 0; i < 6000; i++) {
      const entry = { id: id(i), n: i };
      map.set(entry);
      model.set(entry.id, entry);
    }
    check();
    // Out in a random order, by id and by entry, with some put back.
    const order = [...model.keys()];
    for (let i = order.length - 1; i > 0; i--) {
      const j = next(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    order.forEach((key, i) => {
      if (i % 2 === 0) assert.equal(map.delete(key), model.delete(key));
      else {
        map.remove(model.get(key)!);
        model.delete(key);
      }
      if (i % 5 === 0) {
        const back = { id: key, n: -i };
        map.set(back);
        model.set(key, back);
      }
      if (i % 1000 === 0) check();
    });
    check();
    for (const key of [...model.keys()]) assert.equal(map.delete(key), model.delete(key));
    assert.equal(map.size, 0);
    for (let i = 0; i < 6000; i += 7) assert.equal(map.get(id(i)), undefined);
  });

  test("an id that is not a string finds nothing, as on a Map", () => {
    const map = new IdMap<{ id: string }>();
    map.set({ id: "5" });
    for (const odd of [undefined, null, 5, {}]) {
      const id = odd as unknown as string;
      assert.equal(map.get(id), undefined);
      assert.equal(map.has(id), false);
      assert.equal(map.delete(id), false);
    }
    assert.equal(map.size, 1);
  });
});
