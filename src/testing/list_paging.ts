/**
 * List cases, paging: order after inserts at any index, pages at the edges,
 * clamped offsets and limits.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ListSource } from "../store.ts";
import { type ListKit, values } from "./kit.ts";

/**
 * Registers the paging cases.
 */
export function pagingCases(kit: ListKit): void {
  kit.check("starts empty", async (source) => {
    assert.equal(await source.count(), 0);
    const page = await source.page(0, 10);
    assert.deepEqual(page.items, []);
    assert.equal(page.total, 0);
    assert.ok(Number.isInteger(page.version) && page.version >= 0);
  });

  kit.check("inserts at the requested index", async (source) => {
    const ids: Record<string, string> = {};
    for (const [index, value] of [[0, "b"], [1, "d"], [0, "a"], [2, "c"], [4, "e"]] as const) {
      const item = await source.insert(index, value);
      assert.equal(item.value, value);
      ids[value] = item.id;
    }
    assert.deepEqual(await values(source), ["a", "b", "c", "d", "e"]);
    assert.equal(await source.count(), 5);
    for (const [i, value] of ["a", "b", "c", "d", "e"].entries()) {
      assert.equal(await source.indexOf(ids[value]), i);
      assert.deepEqual(await source.get(ids[value]), { id: ids[value], value });
    }
  });

  const fiveItems = async (source: ListSource<unknown>) => {
    for (let i = 0; i < 5; i++) await source.insert(i, i);
    return async (offset: number, limit: number) => {
      const result = await source.page(offset, limit);
      assert.equal(result.total, 5);
      return result.items.map((item) => item.value);
    };
  };

  kit.check("pages at the edges", async (source) => {
    const page = await fiveItems(source);
    assert.deepEqual(await page(0, 2), [0, 1]);
    assert.deepEqual(await page(2, 2), [2, 3]);
    assert.deepEqual(await page(4, 2), [4]);
    assert.deepEqual(await page(3, 100), [3, 4]);
    assert.deepEqual(await page(0, 5), [0, 1, 2, 3, 4]);
    assert.deepEqual(await page(5, 2), []);
  });

  kit.check("clamps offsets and limits", async (source) => {
    const page = await fiveItems(source);
    assert.deepEqual(await page(-3, 2), [0, 1]);
    assert.deepEqual(await page(100, 5), []);
    assert.deepEqual(await page(0, 0), []);
    assert.deepEqual(await page(0, -1), []);
    assert.deepEqual(await page(-10, -10), []);
  });
}
