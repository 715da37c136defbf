/**
 * The compare-and-set retry loop of a store's `update`
 * (stores/common/conflict_retry.ts).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { isSockSyncError } from "../src/errors.ts";
import { CONFLICT, retryOnConflict, UPDATE_ATTEMPTS } from "../stores/common/conflict_retry.ts";

describe("retryOnConflict", () => {
  test("retries until an attempt does not conflict", async () => {
    const attempts: number[] = [];
    const result = await retryOnConflict("var n", (n) => {
      attempts.push(n);
      return Promise.resolve(n < 4 ? CONFLICT : "stored");
    });
    assert.equal(result, "stored");
    assert.deepEqual(attempts, [1, 2, 3, 4]);
  });

  test("gives up with code 8 after UPDATE_ATTEMPTS conflicts", async () => {
    let attempts = 0;
    await assert.rejects(
      retryOnConflict("item x", () => (attempts++, Promise.resolve(CONFLICT))),
      (error: unknown) =>
        isSockSyncError(error) && error.code === 8 &&
        error.message === "item x changed too often to update",
    );
    assert.equal(attempts, UPDATE_ATTEMPTS);
  });

  test("an attempt that throws ends it with that error", async () => {
    let attempts = 0;
    await assert.rejects(
      retryOnConflict("var n", () => {
        attempts++;
        throw new Error("refused");
      }),
      /refused/,
    );
    assert.equal(attempts, 1);
  });
});
