/**
 * "Did you mean …": which known name `didYouMean` suggests for a misspelt one
 * (case, `_` and `-` ignored; a transposition is one edit; at most a third of
 * the longer name's length in edits, and always one), and that `allowed`
 * filters the suggestions without changing which close name wins.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { didYouMean } from "../src/protocol/closest_name.ts";

const hint = (name: string) => `; did you mean "${name}"?`;

test("suggests the closest name, ignoring case, _ and -", () => {
  assert.equal(didYouMean("postMessage", ["post_message", "get_messages"]), hint("post_message"));
  assert.equal(didYouMean("order", ["users", "orders"]), hint("orders"));
  assert.equal(didYouMean("nothing_like_it", ["counter", "orders"]), "");
  // The name itself is not a suggestion.
  assert.equal(didYouMean("counter", ["counter"]), "");
});

test("a transposition of two neighbours is one edit", () => {
  // Four characters allow one edit: "tset" is "test" with one swap (two edits without swaps).
  assert.equal(didYouMean("tset", ["test"]), hint("test"));
  assert.equal(didYouMean("tsxt", ["test"]), "");
  assert.equal(didYouMean("cuonter", ["counter"]), hint("counter"));
});

test("the closest wins, the first of equally close ones", () => {
  assert.equal(didYouMean("counter", ["counters_x", "countr", "counte"]), hint("countr"));
  assert.equal(didYouMean("abcdef", ["abcdex", "abcdey"]), hint("abcdex"));
});

test("allowed hides names; the closest allowed one is suggested", () => {
  const names = ["secret_counter", "counters", "countr"];
  assert.equal(didYouMean("counter", names, (name) => name !== "countr"), hint("counters"));
  assert.equal(didYouMean("counter", names, () => false), "");
  const asked: string[] = [];
  didYouMean("counter", ["nothing_like_it", "countr"], (name) => {
    asked.push(name);
    return true;
  });
  assert.deepEqual(asked, ["countr"], "only close names are asked about");
  // A server's access check may log or fail: it is asked closest first (two edits for "cuntr",
  // one for the others), the first of equally close ones first, and no further once one is
  // allowed.
  asked.length = 0;
  didYouMean("counter", ["cuntr", "countr", "cuonter"], (name) => {
    asked.push(name);
    return true;
  });
  assert.deepEqual(asked, ["countr"]);
  asked.length = 0;
  didYouMean("counter", ["cuntr", "countr", "cuonter"], (name) => {
    asked.push(name);
    return name === "cuntr";
  });
  assert.deepEqual(asked, ["countr", "cuonter", "cuntr"]);
});

test("names longer than 64 characters are not compared", () => {
  const long = "a".repeat(65);
  assert.equal(didYouMean(long, [long + "b"]), "");
  assert.equal(
    didYouMean("a".repeat(64), ["a".repeat(63) + "b", long]),
    hint("a".repeat(63) + "b"),
  );
  assert.equal(didYouMean("a".repeat(64), [long]), "");
});
