/**
 * Calls between peers: every call gets an answer with its id (also one the
 * rate limit refuses), a call to a function the other side does not provide
 * fails about one round trip after connecting, and `refuseCalls`, `refresh`
 * and `onDetach` do what they say.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { ErrorCode, Hub, type SockSyncError, type VarMirror } from "../mod.ts";
import { connect } from "../src/client/client.ts";
import { RawSocket, webSocketClass } from "./helpers/raw_socket.ts";
import { serveHub } from "./helpers/serve_hub.ts";
import { waitUntil } from "./helpers/wait.ts";

function echoHub(limits: ConstructorParameters<typeof Hub>[0] = {}): Hub {
  const hub = new Hub(limits);
  hub.function("echo", { handler: (args) => args });
  hub.function("increment", { handler: () => 1 });
  return hub;
}

const isCode = (code: number, message?: RegExp) => (error: SockSyncError) =>
  error.code === code && (!message || message.test(error.message));

test("a call refused by the rate limit is answered with its id", async () => {
  // A bucket of 2 that refills once in 100 s: the third frame is refused.
  const hub = echoHub({ limits: { messageRate: 0.01, messageBurst: 2, maxRateStrikes: 10 } });
  const { server, url } = await serveHub(hub);
  const raw = await RawSocket.open(url);
  try {
    await raw.next((f) => f.func === "subscribe" && f.name === "increment");
    assert.equal((await raw.call("echo", 1, "c1")).func, "return");
    assert.equal((await raw.call("echo", 2, "c2")).func, "return");
    // The id comes after a nested "id" in args: only the top-level one counts.
    raw.send('{"func":"call","type":"function","name":"echo","args":{"id":"inner"},"id":"c3"}');
    assert.deepEqual(await raw.next((f) => f.id === "c3"), {
      func: "error",
      error_code: 8,
      message: "rate limit exceeded",
      type: "function",
      name: "echo",
      id: "c3",
    });
  } finally {
    await raw.close();
    await server.close();
    await hub.close();
  }
});

test("a call refused for its nesting depth is answered with its id", async () => {
  const hub = echoHub();
  const { server, url } = await serveHub(hub);
  const raw = await RawSocket.open(url);
  try {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    const answer = await raw.call("echo", deep, "deep");
    assert.equal(answer.error_code, ErrorCode.InvalidJson);
    assert.equal(answer.message, "too deeply nested");
    assert.equal(answer.name, "echo");
  } finally {
    await raw.close();
    await server.close();
    await hub.close();
  }
});

test("a client's call refused by the rate limit rejects at once with code 8", async () => {
  // The client's probe and first call pass; the second call is refused.
  const hub = echoHub({ limits: { messageRate: 0.01, messageBurst: 2, maxRateStrikes: 10 } });
  const { server, url } = await serveHub(hub);
  const WebSocket = await webSocketClass();
  const client = connect(url, { WebSocket, reconnect: false, limits: { callTimeout: 5_000 } });
  try {
    await client.ready();
    await waitUntil(() => client.peer?.canCall("echo"), { what: "echo accepted" });
    assert.equal(await client.call("echo", "a"), "a");
    await assert.rejects(client.call("echo", "b"), isCode(ErrorCode.Other, /rate limit/));
  } finally {
    client.close();
    await server.close();
    await hub.close();
  }
});

test("a call to a function the server does not provide fails with code 1 once connected", async () => {
  const hub = echoHub();
  const { server, url } = await serveHub(hub);
  const WebSocket = await webSocketClass();
  const client = connect(url, { WebSocket, reconnect: false });
  try {
    // Made before the connection is up: it waits, then fails as unknown.
    const early = client.call("incremnt", {}, { timeout: 5_000 });
    await assert.rejects(early, isCode(ErrorCode.InvalidFunc, /unknown function incremnt/));
    await assert.rejects(
      client.call("incremnt", {}, { timeout: 5_000 }),
      isCode(ErrorCode.InvalidFunc, /unknown function/),
    );
    assert.equal(await client.call("increment"), 1);
  } finally {
    client.close();
    await server.close();
    await hub.close();
  }
});

test("refuseCalls withdraws a function: the other side's calls to it get error 1", async () => {
  const hub = echoHub();
  const { server, url } = await serveHub(hub, {
    onConnect: (peer) => peer.acceptCalls("echo", "increment"),
  });
  const raw = await RawSocket.open(url);
  const WebSocket = await webSocketClass();
  const client = connect(url, { WebSocket, reconnect: false });
  try {
    assert.equal((await raw.call("increment", undefined, "i1")).value, 1);
    assert.equal(await client.call("increment"), 1);
    assert.equal(hub.peers.size, 2);
    for (const peer of hub.peers) peer.refuseCalls("increment", "not_accepted");
    assert.deepEqual(await raw.next((f) => f.func === "unsubscribe"), {
      func: "unsubscribe",
      type: "function",
      name: "increment",
    });
    const refused = await raw.call("increment", undefined, "i2");
    assert.equal(refused.error_code, ErrorCode.InvalidFunc);
    assert.equal((await raw.call("echo", 3, "e1")).value, 3);
    await waitUntil(() => !client.peer?.canCall("increment"), { what: "increment withdrawn" });
    await assert.rejects(client.call("increment"), isCode(ErrorCode.InvalidFunc));
  } finally {
    client.close();
    await raw.close();
    await server.close();
    await hub.close();
  }
});

test("refresh asks for a var's value again, and for a list view's own page", async () => {
  const hub = new Hub();
  hub.var("counter", { schema: v.number(), initial: 5 });
  const { MemoryListSource } = await import("../stores/memory/mod.ts");
  const source = new MemoryListSource<string>();
  for (const text of ["a", "b", "c", "d", "e"]) await source.insert(0, text);
  hub.list("letters", { source, schema: v.string() });
  const { server, url } = await serveHub(hub);
  const WebSocket = await webSocketClass();
  const client = connect(url, { WebSocket, reconnect: false });
  try {
    const counter = client.var<number>("counter");
    const letters = client.list<string>("letters", { page: 1, pageSize: 2 });
    await waitUntil(() => counter.ready && letters.ready, { what: "first values" });
    let varChanges = 0;
    const listPages: number[] = [];
    counter.onChange(() => varChanges++);
    letters.onChange(() => listPages.push(letters.page));
    client.peer!.refresh(counter as VarMirror<unknown>);
    client.peer!.refresh(letters);
    await waitUntil(() => varChanges === 1 && listPages.length === 1, { what: "refreshes" });
    assert.equal(counter.value, 5);
    assert.deepEqual(listPages, [1]);
    assert.deepEqual(letters.items.map((item) => item.value), ["c", "b"]);
  } finally {
    client.close();
    await server.close();
    await hub.close();
  }
});

test("a hub forgets a peer through its onDetach hook, once", () => {
  const hub = new Hub();
  const socket = { send() {}, close() {}, readyState: 1 };
  const peer = hub.connect(socket);
  let told = 0;
  peer.onDetach(() => told++);
  const stop = peer.onDetach(() => told += 100);
  stop();
  assert.equal(hub.peers.size, 1);
  assert.ok(!Object.hasOwn(peer, "detach"), "the hub leaves peer.detach alone");
  peer.detach();
  peer.detach();
  assert.equal(hub.peers.size, 0);
  assert.equal(told, 1);
});
