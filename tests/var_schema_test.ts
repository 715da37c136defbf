/**
 * A var mirror given a schema checks every value the server sends with it:
 * a value that fails is refused (error 6, the mirror keeps its value), one
 * that passes is stored as the schema outputs it (transforms applied).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { ErrorCode, isSockSyncError, VarMirror } from "../mod.ts";

const set = (value: unknown) => ({ func: "set", type: "var", name: "n", value }) as const;

test("a var mirror's schema refuses values that fail it and stores what it outputs", () => {
  const mirror = new VarMirror("n", v.pipe(v.string(), v.transform((s) => s.length)));
  mirror.apply(set("abc"));
  assert.equal(mirror.getSnapshot().value, 3);
  assert.throws(() => mirror.apply(set(42)), (error) => {
    assert.ok(isSockSyncError(error));
    assert.deepEqual([error.code, error.message], [
      ErrorCode.InvalidArguments,
      "invalid value for var n",
    ]);
    return true;
  });
  assert.equal(mirror.getSnapshot().value, 3);
});
