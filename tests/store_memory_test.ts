import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { listSourceConformance, varStoreConformance } from "../src/testing/mod.ts";
import { MemoryListSource, memoryStore, MemoryVarStore } from "../stores/memory/mod.ts";
import { CountedTree } from "../stores/common/counted_tree.ts";

listSourceConformance("MemoryListSource", () => new MemoryListSource());
varStoreConformance("MemoryVarStore", () => new MemoryVarStore());
listSourceConformance(
  "memoryStore().list",
  (() => {
    const store = memoryStore();
    let n = 0;
    return () => store.list(`list-${n++}`);
  })(),
);

describe("MemoryListSource tree", () => {
  test("matches an array model across many splits and merges", async () => {
    const source = new MemoryListSource<number>();
    const model: string[] = [];
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    try {
      // Grow to a few thousand items (three tree levels), then shrink to a few.
      for (let step = 0; step < 12_000; step++) {
        const growing = step < 7_000 ? 0.8 : 0.15;
        const at = Math.floor(next() * (model.length + 1));
        if (next() < growing || model.length === 0) {
          const item = await source.insert(at, step);
          model.splice(at, 0, item.id);
        } else {
          const index = Math.min(at, model.length - 1);
          await source.delete(model[index]);
          model.splice(index, 1);
        }
        if (step % 997 === 0) {
          const page = await source.page(0, model.length);
          assert.deepEqual(page.items.map((item) => item.id), model);
          for (let i = 0; i < model.length; i += 37) {
            assert.equal(await source.indexOf(model[i]), i);
          }
        }
      }
      assert.equal(await source.count(), model.length);
      const offset = Math.floor(model.length / 3);
      const page = await source.page(offset, 150);
      assert.deepEqual(
        page.items.map((item) => item.id),
        model.slice(offset, offset + 150),
      );
      for (const id of [...model]) await source.delete(id);
      assert.equal(await source.count(), 0);
      await source.insert(0, 1, "again");
      assert.deepEqual((await source.page(0, 5)).items, [{
        id: "again",
        value: 1,
      }]);
    } finally {
      await source.close();
    }
  });

  test("a bulk-loaded tree (CountedTree.from) stays right under changes", () => {
    for (const size of [0, 1, 47, 48, 49, 3_000, 40_000]) {
      const model = Array.from({ length: size }, (_, i) => `e${i}`);
      const tree = CountedTree.from(model.map((id) => ({ id, value: id, leaf: null })));
      let seed = size + 7;
      const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
      const check = () => {
        assert.equal(tree.size, model.length);
        assert.deepEqual([...tree.from(0)].map((entry) => entry.id), model);
        const step = Math.max(1, Math.floor(model.length / 50));
        for (let i = 0; i < model.length; i += step) {
          assert.equal(tree.at(i)?.id, model[i]);
          assert.equal(tree.indexOf(tree.byId.get(model[i])!), i);
        }
      };
      check();
      for (let step = 0; step < 3_000; step++) {
        const at = Math.floor(next() * (model.length + 1));
        if (next() < 0.5 || model.length === 0) {
          tree.insert(at, { id: `n${step}`, value: "", leaf: null });
          model.splice(at, 0, `n${step}`);
        } else {
          const index = Math.min(at, model.length - 1);
          tree.remove(tree.byId.get(model[index])!);
          model.splice(index, 1);
        }
      }
      check();
      // Empty it from the front: every merge path runs.
      for (const id of model.splice(0)) tree.remove(tree.byId.get(id)!);
      check();
    }
  });

  test("memoryStore gives the same list object for the same name", async () => {
    const store = memoryStore();
    try {
      assert.equal(store.kind, "memory");
      assert.equal(store.list("a"), store.list("a"));
      assert.notEqual(store.list("a"), store.list("b"));
      await store.vars.set("x", 1);
      assert.equal(await store.vars.get("x"), 1);
    } finally {
      await store.close();
    }
  });
});
