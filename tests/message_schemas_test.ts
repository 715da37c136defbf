/**
 * The frame schemas of `socksync/protocol`: which `func` takes which `type`,
 * and each frame's fields in the order a peer writes them. The decoder takes
 * exactly these frames; the compiler checks each field's kind against the
 * message types but not a func, type or field too many, so they are pinned here.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { MessageSchemas } from "../src/protocol/mod.ts";

const HEAD = ["func", "type", "name"];

test("every func takes exactly its types, each frame exactly its fields", () => {
  const fields = Object.fromEntries(
    Object.entries(MessageSchemas).map(([func, byType]) => [
      func,
      Object.fromEntries(
        Object.entries(byType as Record<string, v.ObjectSchema<v.ObjectEntries, undefined>>)
          .map(([type, schema]) => [type, Object.keys(schema.entries)]),
      ),
    ]),
  );
  assert.deepEqual(fields, {
    get: {
      var: [...HEAD, "session"],
      list: [...HEAD, "params", "page", "page_size", "id", "more"],
    },
    set: {
      var: [...HEAD, "value", "more"],
      list: [...HEAD, "params", "id", "value", "more"],
    },
    set_all: {
      list: [...HEAD, "params", "page", "page_size", "total_item_count", "items", "more"],
    },
    set_count: { list: [...HEAD, "params", "total_item_count", "more"] },
    insert: { list: [...HEAD, "params", "index", "id", "value", "more"] },
    delete: { list: [...HEAD, "params", "id", "more"] },
    call: { function: [...HEAD, "id", "args", "once"] },
    return: { function: [...HEAD, "id", "value"] },
    subscribe: {
      var: HEAD,
      list: [...HEAD, "params", "id", "page", "page_size", "more"],
      function: HEAD,
    },
    unsubscribe: {
      var: HEAD,
      list: [...HEAD, "params", "id"],
      function: HEAD,
    },
    unsubscribe_all: { "": ["func"] },
    error: { "": ["func", "error_code", "message", "type", "name", "id", "params"] },
  });
});

test("each frame's func and type are checked by its schema, not only by where it is found", () => {
  const frame = { func: "subscribe", type: "var", name: "counter" };
  assert.deepEqual(v.parse(MessageSchemas.subscribe.var, frame), frame);
  assert.equal(v.safeParse(MessageSchemas.subscribe.var, { ...frame, func: "get" }).success, false);
  assert.equal(
    v.safeParse(MessageSchemas.subscribe.var, { ...frame, type: "list" }).success,
    false,
  );
  assert.equal(v.safeParse(MessageSchemas.error[""], { func: "set" }).success, false);
  // A list item of set_all is an object with an id and a value.
  const setAll = {
    func: "set_all",
    type: "list",
    name: "todos",
    page: 0,
    total_item_count: 1,
    items: [{ id: "a", value: 1 }],
  };
  assert.equal(v.safeParse(MessageSchemas.set_all.list, setAll).success, true);
  const badItem = { ...setAll, items: [{ id: 1, value: 1 }] };
  assert.equal(v.safeParse(MessageSchemas.set_all.list, badItem).success, false);
});
