/**
 * The scan that finds a rate-limited frame's id without parsing it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { peekFields } from "../src/peer/frame_guard.ts";

test("peekFields finds the top-level func, type, name and id without parsing", () => {
  assert.deepEqual(
    peekFields(
      '{"args":{"id":"x","name":"y"},"func":"call","type":"function","name":"f","id":"i"}',
    ),
    { func: "call", type: "function", name: "f", id: "i" },
  );
  assert.deepEqual(peekFields(' {"id":"a\\"b","args":["}",{"id":1}]}'), { id: 'a"b' });
  assert.deepEqual(peekFields('{"id":7,"name":"n"}'), { name: "n" });
  assert.deepEqual(peekFields('[{"id":"x"}]'), {});
  assert.deepEqual(peekFields("not json"), {});
});
