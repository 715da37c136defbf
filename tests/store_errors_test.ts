/** The errors every store fails with (stores/common/store_errors.ts). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { isSockSyncError } from "../src/errors.ts";
import { storeClosed, storeError } from "../stores/common/store_errors.ts";

describe("store errors", () => {
  test("are code 8", () => {
    const error = storeError(new Error("disk full"));
    assert.ok(isSockSyncError(error));
    assert.equal(error.code, 8);
    assert.equal(error.message, "store unavailable: disk full");
    assert.equal(storeClosed().code, 8);
  });
});
