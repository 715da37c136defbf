/**
 * What the stores share (stores/common/shared.ts): the listener set, the store
 * errors and the compare-and-set retry loop of `update`.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { isSockSyncError } from "../src/errors.ts";
import {
  CONFLICT,
  Listeners,
  retryOnConflict,
  storeClosed,
  storeError,
  UPDATE_ATTEMPTS,
} from "../stores/common/shared.ts";

describe("stores/shared", () => {
  test("Listeners: in order, over a copy, each subscription stopped on its own", () => {
    const listeners = new Listeners<[number]>();
    const heard: string[] = [];
    const a = (n: number) => heard.push(`a${n}`);
    const stopA = listeners.add(a);
    const stopAgain = listeners.add(a);
    // Unsubscribing while being called changes nothing this round.
    const stopB = listeners.add((n) => (heard.push(`b${n}`), stopA()));
    listeners.emit(1);
    assert.deepEqual(heard, ["a1", "a1", "b1"]);
    assert.equal(listeners.size, 2);
    listeners.emit(2);
    assert.deepEqual(heard.slice(3), ["a2", "b2"]);
    stopA(); // a second call is harmless
    stopAgain();
    stopB();
    assert.equal(listeners.size, 0);
    listeners.add(a);
    listeners.clear();
    listeners.emit(3);
    assert.equal(heard.length, 5);
  });

  test("store errors are code 8", () => {
    const error = storeError(new Error("disk full"));
    assert.ok(isSockSyncError(error));
    assert.equal(error.code, 8);
    assert.equal(error.message, "store unavailable: disk full");
    assert.equal(storeClosed().code, 8);
  });

  test("retryOnConflict: retries until an attempt does not conflict", async () => {
    const attempts: number[] = [];
    const result = await retryOnConflict("var n", (n) => {
      attempts.push(n);
      return Promise.resolve(n < 4 ? CONFLICT : "stored");
    });
    assert.equal(result, "stored");
    assert.deepEqual(attempts, [1, 2, 3, 4]);
  });

  test("retryOnConflict: gives up with code 8 after UPDATE_ATTEMPTS conflicts", async () => {
    let attempts = 0;
    await assert.rejects(
      retryOnConflict("item x", () => (attempts++, Promise.resolve(CONFLICT))),
      (error: unknown) =>
        isSockSyncError(error) && error.code === 8 &&
        error.message === "item x changed too often to update",
    );
    assert.equal(attempts, UPDATE_ATTEMPTS);
  });

  test("retryOnConflict: an attempt that throws ends it with that error", async () => {
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
