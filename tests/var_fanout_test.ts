/**
 * Var fan-out over real sockets, where the runtime's one-to-many send
 * carries it (Bun's `publish`, pre-framed writes on `ws`): every subscriber
 * gets every change in order, a connection that did not subscribe gets
 * none, and one that unsubscribed gets none after. A subscriber that stops
 * reading leaves that path and comes back once it drained, without a frame
 * out of order.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { Hub } from "../mod.ts";
import type { Frame, RawSocket } from "./helpers/raw_socket.ts";
import { withServedHub } from "./helpers/serve_hub.ts";
import { TcpWebSocket } from "./helpers/tcp_websocket.ts";

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
      assert.equal(counter.topicMembers, 2, "both subscribers on the topic");

      for (let n = 1; n <= CHANGES; n++) await counter.set({ n, pad: PAD });
      const expected = Array.from({ length: CHANGES }, (_, i) => i + 1);
      assert.deepEqual(await takeSets(a, CHANGES), expected);
      assert.deepEqual(await takeSets(b, CHANGES), expected);
      assert.deepEqual(await bystander.drain(), [], "a connection that did not subscribe");

      b.send({ func: "unsubscribe", type: "var", name: "counter" });
      // The echo answered: the unsubscribe was taken before the changes below.
      assert.deepEqual((await b.drain()).filter(isSet), []);
      assert.equal(counter.topicMembers, 1, "the one that unsubscribed left the topic");
      for (let n = CHANGES + 1; n <= CHANGES + 10; n++) await counter.set({ n, pad: PAD });
      assert.deepEqual(
        await takeSets(a, 10),
        expected.slice(0, 10).map((n) => n + CHANGES),
      );
      assert.deepEqual((await b.drain()).filter(isSet), [], "after unsubscribing");
      assert.deepEqual(await bystander.drain(), [], "a connection that did not subscribe");
    });
  });

  test("a subscriber that stopped reading and drained again misses nothing after, in order", async () => {
    const hub = new Hub({ onError: () => {}, limits: { idleTimeout: 0 } });
    const counter = hub.var("counter", {
      schema: v.object({ n: v.number(), pad: v.string() }),
      initial: { n: 0, pad: "" },
    });
    await withServedHub({ hub }, async ({ port, open }) => {
      const reader = await open();
      reader.send({ func: "subscribe", type: "var", name: "counter" });
      await takeSets(reader, 1);
      const slow = await TcpWebSocket.open(port);
      try {
        slow.send({ func: "subscribe", type: "var", name: "counter" });
        await slow.until(() => slow.texts.length > 0, 5000, "the first set");
        assert.equal(counter.topicMembers, 2, "both on the topic while they read");
        slow.socket.pause();
        // ~12 MB while it does not read: more than the kernel's socket buffers take (about 4 MB
        // here), so it backs up on the server and leaves the topic on every runtime; conflation
        // keeps it under the hard cap.
        const BIG = "y".repeat(2000);
        let n = 0;
        for (; n < 6000; n++) {
          await counter.set({ n: n + 1, pad: BIG });
          if (n % 100 === 0) await new Promise((r) => setTimeout(r, 1));
        }
        assert.deepEqual(await takeSets(reader, n), Array.from({ length: n }, (_, i) => i + 1));
        assert.equal(counter.topicMembers, 1, "the slow one left the topic");
        slow.socket.resume();
        const seen = () =>
          slow.texts.map((t) => JSON.parse(t)).filter(isSet).map((f) => f.value.n as number);
        await slow.until(() => seen().at(-1) === n, 30_000, "the slow client to catch up");
        // Drained: every change from now reaches it, after the ones before.
        const after = n;
        for (; n < after + 300; n++) {
          await counter.set({ n: n + 1, pad: PAD });
          if (n % 50 === 0) await new Promise((r) => setTimeout(r, 1));
        }
        await slow.until(() => seen().at(-1) === n, 30_000, "the changes after");
        // It came back: the topic reaches it again (it drained long before these 300 changes ended).
        assert.equal(counter.topicMembers, 2, "the slow one back on the topic");
        const all = seen();
        assert.ok(
          all.every((value, i) => i === 0 || value >= all[i - 1]),
          `out of order: ${all.join(",")}`,
        );
        const tail = all.slice(all.lastIndexOf(after) + 1);
        assert.deepEqual(tail, Array.from({ length: n - after }, (_, i) => after + i + 1));
        assert.deepEqual(await takeSets(reader, n - after), tail);
      } finally {
        await slow.close();
      }
    });
  });
});
