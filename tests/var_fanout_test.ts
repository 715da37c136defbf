/**
 * Var fan-out over real sockets, where the runtime's one-to-many send
 * carries it (Bun's `publish`, pre-framed writes on `ws`): every subscriber
 * gets every change in order, a connection that did not subscribe gets
 * none, and one that unsubscribed gets none after.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { Hub } from "../mod.ts";
import type { Frame, RawSocket } from "./helpers/raw_socket.ts";
import { withServedHub } from "./helpers/serve_hub.ts";

const CHANGES = 300;
/** ~200 characters per frame: the changes add up to several of Bun's 16 K-character queue checks. */
const PAD = "x".repeat(200);

const isSet = (frame: Frame) => frame.func === "set" && frame.name === "counter";

/** Takes `count` `set` frames of the counter and returns their `n`. */
async function takeSets(client: RawSocket, count: number): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) {
    seen.push((((await client.next(isSet)).value) as { n: number }).n);
  }
  return seen;
}

describe("var fan-out", () => {
  test("every subscriber gets every change in order; nobody else gets any", async () => {
    const hub = new Hub({ onError: () => {} });
    const counter = hub.var("counter", {
      schema: v.object({ n: v.number(), pad: v.string() }),
      initial: { n: 0, pad: "" },
    });
    hub.function("echo", { handler: (args) => args });
    await withServedHub({ hub, accept: ["echo"] }, async ({ open }) => {
      const [a, b, bystander] = [await open(), await open(), await open()];
      for (const client of [a, b]) {
        client.send({ func: "subscribe", type: "var", name: "counter" });
        assert.deepEqual(await takeSets(client, 1), [0]);
      }

      for (let n = 1; n <= CHANGES; n++) await counter.set({ n, pad: PAD });
      const expected = Array.from({ length: CHANGES }, (_, i) => i + 1);
      assert.deepEqual(await takeSets(a, CHANGES), expected);
      assert.deepEqual(await takeSets(b, CHANGES), expected);
      assert.deepEqual(await bystander.drain(), [], "a connection that did not subscribe");

      b.send({ func: "unsubscribe", type: "var", name: "counter" });
      // The echo answered: the unsubscribe was taken before the changes below.
      assert.deepEqual((await b.drain()).filter(isSet), []);
      for (let n = CHANGES + 1; n <= CHANGES + 10; n++) await counter.set({ n, pad: PAD });
      assert.deepEqual(
        await takeSets(a, 10),
        expected.slice(0, 10).map((n) => n + CHANGES),
      );
      assert.deepEqual((await b.drain()).filter(isSet), [], "after unsubscribing");
      assert.deepEqual(await bystander.drain(), [], "a connection that did not subscribe");
    });
  });
});
