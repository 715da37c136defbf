/**
 * List cases, values: unicode, NUL characters and odd ids, 1 MB values,
 * copies handed out instead of the store's own objects, and a page's stored
 * JSON texts (`ListPage.stored`) when the store hands them out.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ListItem, ListPage } from "../store.ts";
import { LARGE, type ListKit, UNICODE, values } from "./kit.ts";

type Stored = ListPage<unknown>["stored"];

// The items a client reads from the hub's `set_all` frame for a page: the
// stored texts when there are any (the hub sends them as they are; that its
// frame equals one made from the items is tests/encode_stored_test.ts's), else
// the items as JSON.
function sent(fields: { items: readonly ListItem[]; stored?: Stored }): unknown {
  const stored = fields.stored;
  if (!stored) return JSON.parse(JSON.stringify(fields.items));
  return stored.ids.map((id, i) => ({ id, value: JSON.parse(stored.json[i]) }));
}

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
    // A page's ids come from the store's file or server, not from its memory.
    assert.deepEqual((await source.page(0, ids.length)).items.map((item) => item.id), ids);
    assert.deepEqual((await source.page(2, 1)).items, [{ id: "a\u0000b", value: UNICODE[2] }]);
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

  kit.check(
    "a page's stored JSON, when handed out, is its items at the time of the read",
    async (source) => {
      const ids = ["🎉", "a\u0000b", 'q"uote', "x\\y", "\u202E", "n", "o", "p", "z"];
      const written = [...UNICODE.slice(0, 8), { nested: { list: [1, "2", null] } }];
      for (const [i, value] of written.entries()) await source.insert(i, value, ids[i]);
      for (const [offset, limit] of [[0, 20], [2, 3], [8, 5], [20, 5]]) {
        const page = await source.page(offset, limit);
        const stored = page.stored;
        if (stored) {
          // Not enumerable: a page still equals a plain { items, total, version }.
          assert.ok(!Object.keys(page).includes("stored"));
          assert.equal(stored.ids.length, stored.json.length);
          // The hub's frame from the texts is the frame from the items (read second here).
          const fromStored = sent({ items: [], stored });
          assert.deepEqual(stored.ids, page.items.map((item) => item.id));
          assert.deepEqual(
            stored.json.map((text) => JSON.parse(text)),
            page.items.map((item) => item.value),
          );
          assert.deepEqual(fromStored, sent({ items: page.items }));
        }
        assert.deepEqual(
          page.items,
          ids.slice(offset, offset + limit).map((id, i) => ({ id, value: written[offset + i] })),
        );
      }
      // Items read after a later write are still those of the read.
      const before = await source.page(0, 2);
      await source.set(ids[0], "changed");
      await source.delete(ids[1]);
      assert.deepEqual(before.items, [{ id: ids[0], value: written[0] }, {
        id: ids[1],
        value: written[1],
      }]);
      assert.deepEqual(before, { items: before.items, total: 9, version: before.version });
    },
  );

  kit.check(
    "a page's items changed in place go out as changed (stored texts end once items are read)",
    async (source) => {
      type User = { name: string; secret?: string };
      await source.insert(0, { name: "ann", secret: "s3cr3t" });
      await source.insert(1, { name: "bob", secret: "hunter2" });
      // A source over this one that hides a field, in place, in the page it returns.
      const redacted = await source.page(0, 10) as ListPage<User>;
      for (const item of redacted.items) delete item.value.secret;
      assert.equal(redacted.stored, undefined);
      assert.deepEqual(sent(redacted), [
        { id: redacted.items[0].id, value: { name: "ann" } },
        { id: redacted.items[1].id, value: { name: "bob" } },
      ]);
      // Items replaced as a whole, likewise.
      const replaced = await source.page(0, 10) as ListPage<User>;
      const ids = replaced.items.map((item) => item.id);
      (replaced as { items: ListItem<User>[] }).items = [{ id: ids[0], value: { name: "ann" } }];
      assert.equal(replaced.stored, undefined);
      assert.deepEqual(sent(replaced), [{ id: ids[0], value: { name: "ann" } }]);
      // A page nobody read the items of still describes them (the stored texts, if any).
      const untouched = await source.page(0, 10);
      assert.deepEqual(sent(untouched), [
        { id: ids[0], value: { name: "ann", secret: "s3cr3t" } },
        { id: ids[1], value: { name: "bob", secret: "hunter2" } },
      ]);
    },
  );

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
