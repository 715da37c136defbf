/**
 * List cases, values: unicode, NUL characters and odd ids, 1 MB values, and
 * copies handed out instead of the store's own objects.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ListItem } from "../store.ts";
import { LARGE, type ListKit, UNICODE, values } from "./kit.ts";

/**
 * Registers the value cases.
 */
export function valueCases(kit: ListKit): void {
  kit.check("stores unicode, NUL characters and odd ids", async (source) => {
    const ids = ["🎉", "مرحبا", "a\u0000b", "with space", "x:y/z", "\u202E"];
    for (const [i, value] of UNICODE.entries()) {
      await source.insert(i, value, ids[i]);
    }
    assert.deepEqual(await values(source), UNICODE);
    for (const [i, id] of ids.entries()) {
      assert.deepEqual(await source.get(id), { id, value: UNICODE[i] });
      assert.equal(await source.indexOf(id), i);
    }
    await source.set("a\u0000b", "\u0000\u0000");
    assert.deepEqual(await source.get("a\u0000b"), { id: "a\u0000b", value: "\u0000\u0000" });
    await source.delete("🎉");
    assert.equal(await source.indexOf("مرحبا"), 0);
  });

  kit.check("stores 1 MB values", async (source) => {
    const item = await source.insert(0, LARGE);
    await source.insert(1, { text: LARGE, n: 1 });
    assert.equal((await source.get(item.id))?.value, LARGE);
    const page = await source.page(0, 2);
    assert.equal(page.items[0].value, LARGE);
    assert.deepEqual(page.items[1].value, { text: LARGE, n: 1 });
    await source.set(item.id, LARGE + "!");
    assert.equal((await source.get(item.id))?.value, LARGE + "!");
  });

  kit.check("hands out copies, not its own objects", async (source) => {
    const value = { list: [1, 2], nested: { a: "b" } };
    const item = await source.insert(0, value) as ListItem<typeof value>;
    value.list.push(3);
    item.value.list.push(4);
    const got = (await source.get(item.id)) as ListItem<typeof value>;
    got.value.nested.a = "changed";
    const paged = (await source.page(0, 1)).items[0] as ListItem<typeof value>;
    paged.value.list.length = 0;
    assert.deepEqual((await source.get(item.id))?.value, { list: [1, 2], nested: { a: "b" } });
  });
}
