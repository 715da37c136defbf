/**
 * The one listener set (src/listeners.ts) of the client, the mirrors and the
 * stores: in order, over a copy, each subscription its own, and a listener
 * that throws is logged without stopping the others.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Listeners } from "../src/listeners.ts";

describe("Listeners", () => {
  test("in order, over a copy, each subscription stopped on its own", () => {
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

  test("adding undefined adds nothing", () => {
    const listeners = new Listeners<[]>();
    listeners.add(undefined)();
    assert.equal(listeners.size, 0);
  });

  test("a listener that throws is logged; the others are still called", () => {
    const listeners = new Listeners<[number]>();
    const heard: number[] = [];
    const boom = new Error("listener failed");
    listeners.add(() => {
      throw boom;
    });
    listeners.add((n) => heard.push(n));
    const logged: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    try {
      listeners.emit(1);
    } finally {
      console.error = original;
    }
    assert.deepEqual(heard, [1]);
    assert.deepEqual(logged, [[boom]]);
  });
});
