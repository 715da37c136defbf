/**
 * A client without a hub connects with a peer that provides nothing
 * (src/peer/consumer_peer.ts): whatever the other side
 * sends, it must answer as a full `Peer` with no registry answers, frame for
 * frame, close for close, under the client's limits and under tight ones.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Peer } from "../src/peer/peer.ts";
import { ConsumerPeer } from "../src/peer/consumer_peer.ts";
import { CLIENT_LIMITS, type Limits } from "../src/peer/limits.ts";
import type { SocketLike } from "../src/peer/socket.ts";
import { SockSyncError } from "../src/errors.ts";

function recorder() {
  const sent: string[] = [];
  const closes: [number | undefined, string | undefined][] = [];
  const socket: SocketLike = {
    readyState: 1,
    send: (text) => void sent.push(text),
    close: (code, reason) => void closes.push([code, reason]),
  };
  return { socket, sent, closes };
}

const SESSION = "abcdefghijklmnop";
const str = fc.constantFrom("counter", "todos", "echo", "socksync:probe", "socksync:auth", "", "x");
const generic = fc.record({
  func: fc.constantFrom(
    "get",
    "subscribe",
    "unsubscribe",
    "call",
    "set",
    "set_all",
    "set_count",
    "insert",
    "delete",
    "return",
    "error",
    "unsubscribe_all",
    "bogus",
  ),
  type: fc.constantFrom("var", "list", "function", undefined),
  name: fc.option(str, { nil: undefined }),
  id: fc.option(fc.constantFrom("a", "b", "c1"), { nil: undefined }),
  params: fc.option(fc.constant({ room: "r" }), { nil: undefined }),
  value: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
  page: fc.option(fc.nat(3), { nil: undefined }),
  total_item_count: fc.option(fc.nat(3), { nil: undefined }),
  items: fc.option(fc.constant([{ id: "a", value: 1 }]), { nil: undefined }),
  index: fc.option(fc.nat(3), { nil: undefined }),
  error_code: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }),
  more: fc.option(fc.boolean(), { nil: undefined }),
});
// The frames the provider half keeps state for: functions the other side accepts calls to
// (counted against maxSubscriptions), and the session of its probes.
const functions = fc.record({
  func: fc.constantFrom("subscribe", "unsubscribe"),
  type: fc.constant("function"),
  name: fc.constantFrom("a", "b", "c", "d"),
});
const probe = fc.record({
  func: fc.constant("get"),
  type: fc.constant("var"),
  name: fc.constant("socksync:probe"),
  session: fc.constantFrom(SESSION, "qrstuvwxyz012345"),
});
const frameArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: generic.map((frame) => JSON.stringify(frame)) },
  { weight: 3, arbitrary: functions.map((frame) => JSON.stringify(frame)) },
  { weight: 1, arbitrary: probe.map((frame) => JSON.stringify(frame)) },
  { weight: 1, arbitrary: fc.constant('{"func":"unsubscribe_all"}') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "not json",
      "[1,2]",
      '{"func":"get","type":"var","name":[[[[[[1]]]]]]}',
      // Deep under the tight limits: echoed with its type, name and id, never its params.
      '{"func":"subscribe","type":"list","name":"todos","id":"a","params":{"room":[[[[1]]]]}}',
      '{"func":"error","error_code":4,"name":"todos","params":{"room":[[[[1]]]]}}',
      "x".repeat(300),
    ),
  },
);

// No heartbeat here: the timers are tested on their own (tests/idle_sweep_test.ts).
const LIMITS: [string, Limits][] = [
  ["the client's", { ...CLIENT_LIMITS, idleTimeout: 0 }],
  ["tight", {
    ...CLIENT_LIMITS,
    idleTimeout: 0,
    maxSubscriptions: 2,
    maxDepth: 4,
    maxFrameBytes: 200,
  }],
];

for (const [label, limits] of LIMITS) {
  test(`a consumer peer answers as a Peer with no registry (${label} limits)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 12 }), async (frames) => {
        const full = recorder();
        const light = recorder();
        const a = new Peer({ socket: full.socket, limits });
        const b = new ConsumerPeer({ socket: light.socket, limits });
        for (const peer of [a, b]) {
          peer.onError(() => {});
          peer.expectFunctions(SESSION);
        }
        for (const frame of frames) {
          await a.receive(frame);
          await b.receive(frame);
        }
        const probeId = /"id":"[^"]*"/g;
        assert.deepEqual(
          light.sent.map((t) => t.replace(probeId, "")),
          full.sent.map((t) => t.replace(probeId, "")),
        );
        assert.deepEqual(light.closes, full.closes);
        assert.deepEqual([b.session, b.closedWith, b.detached], [
          a.session,
          a.closedWith,
          a.detached,
        ]);
        a.detach();
        b.detach();
      }),
      { numRuns: 300 },
    );
  });
}

test("a consumer peer refuses to accept calls to a function as a Peer with no registry", () => {
  const a = new Peer({ socket: recorder().socket });
  const b = new ConsumerPeer({ socket: recorder().socket, limits: CLIENT_LIMITS });
  const thrown = (peer: { acceptCalls(...names: string[]): void }) => {
    try {
      peer.acceptCalls("echo");
    } catch (error) {
      return error instanceof SockSyncError ? [error.code, error.message] : error;
    }
  };
  assert.deepEqual(thrown(b), thrown(a));
  assert.doesNotThrow(() => b.acceptCalls());
  assert.doesNotThrow(() => b.refuseCalls("echo"));
});

test("refresh asks again for a var, for a list view on its own page and for a list item", () => {
  const { socket, sent } = recorder();
  const peer = new ConsumerPeer({ socket, limits: { ...CLIENT_LIMITS, idleTimeout: 0 } });
  const mirror = {
    key: "",
    ready: true,
    subscribeFrame: () => "",
    unsubscribeFrame: () => "",
    apply() {},
    fail() {},
  };
  peer.refresh({ ...mirror, type: "var", name: "counter" });
  peer.refresh({
    ...mirror,
    type: "list",
    name: "todos",
    page: 2,
    pageSize: 5,
    params: { room: "r" },
  });
  peer.refresh({
    ...mirror,
    type: "list",
    name: "todos",
    page: 1,
    pageSize: undefined,
    params: undefined,
  });
  peer.refresh({ ...mirror, type: "list", name: "todos", id: "a" });
  assert.deepEqual(sent, [
    '{"func":"get","type":"var","name":"counter"}',
    '{"func":"get","type":"list","name":"todos","params":{"room":"r"},"page":2,"page_size":5}',
    '{"func":"get","type":"list","name":"todos","page":1}',
    '{"func":"get","type":"list","name":"todos","id":"a"}',
  ]);
  peer.detach();
});
