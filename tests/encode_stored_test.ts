import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeSetAll } from "../src/protocol/encode.ts";

test("encodeSetAll: a page's stored JSON texts go into the frame as the items would", () => {
  const items = [
    { id: 'q"uote\u0000', value: { text: "line\nbreak", list: [1, null, "ü"] } },
    { id: "🎉", value: "x" },
    { id: "n", value: null },
  ];
  const stored = {
    ids: items.map((item) => item.id),
    json: items.map((item) => JSON.stringify(item.value)),
  };
  for (const params of [undefined, { room: "a" }]) {
    const fields = { name: "todos", params, page: 2, pageSize: 3, total: 9 };
    // Byte for byte: the texts are what JSON.stringify made of the values.
    assert.equal(
      encodeSetAll({ ...fields, items: [], stored }),
      encodeSetAll({ ...fields, items }),
    );
    assert.equal(
      encodeSetAll({ ...fields, items: [], stored: { ids: [], json: [] } }),
      encodeSetAll({ ...fields, items: [] }),
    );
  }
  // Stored texts written some other way are put in as they are.
  const spaced = encodeSetAll({
    name: "l",
    page: 0,
    pageSize: 1,
    total: 1,
    items: [],
    stored: { ids: ["a"], json: ['{ "b" : 1 }'] },
  });
  assert.deepEqual(JSON.parse(spaced).items, [{ id: "a", value: { b: 1 } }]);
});
