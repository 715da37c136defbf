/**
 * List cases, the model: random inserts, sets, deletes and lookups checked
 * step by step against a plain array.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type ListKit, random } from "./kit.ts";

/**
 * Registers the model case.
 */
export function modelCases(kit: ListKit): void {
  kit.check("matches an array model over random operations", async (source) => {
    const next = random(0x5eed);
    const model: { id: string; value: unknown }[] = [];
    for (let step = 0; step < kit.modelOperations; step++) {
      const roll = next();
      const at = Math.floor(next() * (model.length + 1));
      if (roll < 0.55 || model.length === 0) {
        const id = next() < 0.3 ? `m${step}` : undefined;
        const item = await source.insert(at, { step }, id);
        if (id) assert.equal(item.id, id);
        model.splice(at, 0, { id: item.id, value: { step } });
      } else if (roll < 0.75) {
        const target = model[Math.min(at, model.length - 1)];
        await source.set(target.id, [step]);
        target.value = [step];
      } else if (roll < 0.95) {
        const index = Math.min(at, model.length - 1);
        await source.delete(model[index].id);
        model.splice(index, 1);
      } else {
        const index = Math.min(at, model.length - 1);
        assert.equal(await source.indexOf(model[index].id), index);
      }
    }
    assert.deepEqual((await source.page(0, model.length + 5)).items, model);
    for (let i = 0; i < 10; i++) {
      const offset = Math.floor(next() * (model.length + 2));
      const limit = Math.floor(next() * 8);
      const page = await source.page(offset, limit);
      assert.deepEqual(page.items, model.slice(offset, offset + limit));
    }
    for (const [i, item] of model.entries()) {
      if (i % 7 === 0) assert.equal(await source.indexOf(item.id), i);
    }
  });
}
