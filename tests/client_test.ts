/**
 * The client (`src/client/client.ts`) against the demo hub served in this process:
 * mirrors, list views and paging, calls and their errors, reconnects, and a
 * client that provides functions to the server.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { ErrorCode, Hub, SockSyncError } from "../mod.ts";
import { backoffDelay } from "../src/client/backoff.ts";
import { CLIENT_LIMITS, CONSUMER_LIMITS } from "../src/peer/limits.ts";
import { type Client, type ClientOptions, connect } from "../src/client/client.ts";
import { serve, type Server } from "../src/serve/serve.ts";
import { memoryStore } from "../stores/memory/mod.ts";
import { createDemoHub } from "../demo/app.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";
import { serveHub } from "./helpers/serve_hub.ts";
import { waitUntil } from "./helpers/wait.ts";

const FAST = { minDelay: 20, maxDelay: 200 };

interface Fixture {
  server: Server;
  hub: ReturnType<typeof createDemoHub>;
  url: string;
  client(options?: ClientOptions): Promise<Client>;
}

/** A demo hub served on a free port plus clients; everything closed after. */
async function withDemo(fn: (fx: Fixture) => Promise<void>): Promise<void> {
  const store = memoryStore();
  const hub = createDemoHub(store);
  const { server, url } = await serveHub(hub);
  const WebSocket = await webSocketClass();
  const clients: Client[] = [];
  try {
    await fn({
      server,
      hub,
      url,
      client(options = {}) {
        const client = connect(url, { WebSocket, reconnect: FAST, ...options });
        clients.push(client);
        return client.ready().then(() => client);
      },
    });
  } finally {
    for (const client of clients) client.close();
    await server.close();
    await hub.close();
    await store.close();
  }
}

async function rejectsWithCode(
  promise: Promise<unknown>,
  code: number,
): Promise<SockSyncError> {
  const error = await promise.then(
    () => assert.fail(`expected a SockSyncError with code ${code}`),
    (e) => e,
  );
  assert.ok(error instanceof SockSyncError, `not a SockSyncError: ${error}`);
  assert.equal(error.code, code, error.message);
  return error;
}

test("backoff grows exponentially, stays within bounds and jitters", () => {
  const at = (attempt: number, r: number) =>
    backoffDelay({ attempt, minDelay: 100, maxDelay: 1000, random: () => r });
  assert.equal(at(0, 0), 100);
  assert.equal(at(1, 0), 200);
  assert.equal(at(2, 0), 400);
  assert.equal(at(3, 0), 800);
  assert.equal(at(4, 0), 1000);
  assert.equal(at(2000, 0), 1000);
  // Equal jitter: between half the step and the step, never under minDelay.
  assert.equal(at(2, 0.999999), 200);
  assert.equal(at(0, 0.999999), 100);
  for (let attempt = 0; attempt < 12; attempt++) {
    const d = backoffDelay({ attempt, minDelay: 50, maxDelay: 800 });
    assert.ok(d >= 50 && d <= 800, `attempt ${attempt}: ${d}`);
  }
});

test("connect without a WebSocket class explains what to pass", {
  skip: typeof globalThis.WebSocket === "function",
}, () => {
  assert.throws(() => connect("ws://127.0.0.1:1/ws/socksync"), /pass one/);
});

test("a var mirror follows changes made by another client", async () => {
  await withDemo(async ({ client }) => {
    const a = await client();
    const b = await client();
    const counter = b.var<number>("counter");
    await waitUntil(() => counter.ready, { what: "counter mirror ready" });
    assert.equal(counter.value, 0);
    const seen: number[] = [];
    counter.onChange(() => seen.push(counter.value!));
    assert.equal(await a.call("increment"), 1);
    assert.equal(await a.call("increment", { by: 5 }), 6);
    await waitUntil(() => counter.value === 6, { what: "counter 6 on b" });
    assert.deepEqual(seen, [1, 6]);
    assert.equal(
      b.var("counter"),
      counter,
      "the same name gives the same mirror",
    );
  });
});

test("list views page through todos, newest first, and move pages", async () => {
  await withDemo(async ({ client }) => {
    const a = await client();
    for (const text of ["one", "two", "three", "four", "five"]) {
      await a.call("add_todo", { text });
    }
    const b = await client();
    const view = b.list<{ text: string; done: boolean }>("todos", {
      page: 0,
      pageSize: 2,
    });
    await waitUntil(() => view.ready, { what: "first page" });
    assert.equal(view.total, 5);
    assert.equal(view.pageCount, 3);
    assert.deepEqual(view.items.map((i) => i.value.text), ["five", "four"]);

    view.setPage(2);
    await waitUntil(() => view.page === 2, { what: "page 2" });
    assert.deepEqual(view.items.map((i) => i.value.text), ["one"]);

    view.setPage(0, 3);
    await waitUntil(() => view.page === 0 && view.items.length === 3, {
      what: "page 0 of size 3",
    });
    assert.equal(view.pageSize, 3);
    assert.deepEqual(view.items.map((i) => i.value.text), [
      "five",
      "four",
      "three",
    ]);

    // A change on the shown page reaches the view; so does a new total.
    const { id } = await a.call<{ id: string }>("add_todo", { text: "six" });
    await waitUntil(() => view.items[0]?.id === id && view.total === 6, {
      what: "six on top",
    });
    assert.equal(view.items.length, 3);
    assert.equal(await a.call("toggle_todo", { id }), true);
    await waitUntil(() => view.items[0]?.value.done === true, {
      what: "six done",
    });
    assert.equal(await a.call("delete_todo", { id }), null);
    await waitUntil(
      () => view.total === 5 && view.items[0]?.value.text === "five",
      {
        what: "six deleted",
      },
    );
  });
});

test("calls return values and reject with the server's error codes", async () => {
  await withDemo(async ({ client }) => {
    const c = await client();
    assert.deepEqual(await c.call("echo", { a: [1, "x"] }), { a: [1, "x"] });
    assert.equal(await c.call("echo"), undefined);
    const { id } = await c.call<{ id: string }>("add_todo", { text: "x" });
    assert.equal(typeof id, "string");
    await rejectsWithCode(
      c.call("add_todo", { text: 42 }),
      ErrorCode.InvalidArguments,
    );
    await rejectsWithCode(
      c.call("add_todo", { text: "x", index: 5 }),
      ErrorCode.InvalidArguments,
    );
    await rejectsWithCode(
      c.call("increment", { by: 1.5 }),
      ErrorCode.InvalidArguments,
    );
    await rejectsWithCode(
      c.call("toggle_todo", { id: "nope" }),
      ErrorCode.InvalidId,
    );
    await rejectsWithCode(
      c.call("delete_todo", { id: "nope" }),
      ErrorCode.InvalidId,
    );
    // The server never accepted calls to it: the call is never sent, and it
    // fails as unknown (code 1) once the server's functions are known.
    await rejectsWithCode(
      c.call("nope", {}, { timeout: 200 }),
      ErrorCode.InvalidFunc,
    );
  });
});

test("the client reconnects, re-subscribes and restores the page it showed", async () => {
  const WebSocket = await webSocketClass();
  const first = { store: memoryStore() };
  const hub1 = createDemoHub(first.store);
  const server1 = await serve({ hub: hub1, port: 0, hostname: "127.0.0.1" });
  const port = server1.port;
  let server2: Server | undefined;
  const store2 = memoryStore();
  const hub2 = createDemoHub(store2);
  const client = connect(`ws://127.0.0.1:${port}/ws/socksync`, {
    WebSocket,
    reconnect: FAST,
  });
  try {
    const events: string[] = [];
    client.onConnect(() => events.push("connected"));
    const closes: number[] = [];
    client.onDisconnect(({ code }) => closes.push(code));
    await client.ready();
    for (let i = 0; i < 5; i++) {
      await client.call("add_todo", { text: `old ${i}` });
    }
    await client.call("increment", { by: 10 });
    const counter = client.var<number>("counter");
    const view = client.list<{ text: string }>("todos", { pageSize: 2 });
    await waitUntil(() => counter.value === 10 && view.ready, {
      what: "first server's data",
    });
    view.setPage(1);
    await waitUntil(() => view.page === 1, { what: "page 1" });

    await server1.close();
    await waitUntil(() => !client.connected, { what: "disconnect" });
    assert.deepEqual(closes, [1001]);
    // A call while disconnected waits for the next connection.
    const waiting = client.call<number>("increment", { by: 3 }, {
      timeout: 10_000,
    });

    for (let i = 0; i < 4; i++) {
      await store2.list("todos").insert(0, { text: `new ${i}`, done: false });
    }
    server2 = await serve({ hub: hub2, port, hostname: "127.0.0.1" });
    assert.equal(await waiting, 3);
    await waitUntil(() => counter.value === 3, {
      what: "counter from the second server",
    });
    await waitUntil(
      () =>
        view.page === 1 && view.total === 4 &&
        view.items[0]?.value.text === "new 1",
      { what: "page 1 of the second server" },
    );
    assert.equal(view.pageSize, 2);
    assert.deepEqual(events, ["connected", "connected"]);
  } finally {
    client.close();
    await server1.close();
    await server2?.close();
    await hub1.close();
    await hub2.close();
  }
});

test("a call in flight when the connection drops rejects with code 8", async () => {
  const WebSocket = await webSocketClass();
  const hub = new Hub();
  let release: (() => void) | undefined;
  hub.function("slow", {
    handler: () => new Promise<string>((resolve) => release = () => resolve("late")),
  });
  const { server, url } = await serveHub(hub);
  const client = connect(url, {
    WebSocket,
    reconnect: false,
  });
  try {
    await client.ready();
    // Settled at once: the rejection comes while this test awaits other things.
    const pending = client.call("slow").then(
      (value) => ({ value }),
      (error) => ({ error }),
    );
    await waitUntil(() => release, { what: "the handler to start" });
    await server.close();
    const error = await rejectsWithCode(
      pending.then((r) => ("error" in r ? Promise.reject(r.error) : r.value)),
      ErrorCode.Other,
    );
    assert.match(error.message, /connection closed/);
    release!();
  } finally {
    client.close();
    await server.close();
    await hub.close();
  }
});

test("close() rejects pending calls and stops reconnecting", async () => {
  await withDemo(async ({ client, hub }) => {
    const c = await client();
    assert.equal(hub.peers.size, 1);
    c.close();
    await rejectsWithCode(c.call("echo", 1), ErrorCode.Other);
    await waitUntil(() => hub.peers.size === 0, {
      what: "the server to see the close",
    });
    assert.equal(c.connected, false);
  });
});

test("a call waiting for the connection rejects with 'client closed' when a connect listener closes the client", async () => {
  const hub = new Hub();
  hub.function("echo", { handler: (x: unknown) => x });
  const { server, url } = await serveHub(hub);
  const client = connect(url, { WebSocket: await webSocketClass() });
  try {
    // Registered before the call waits, so it runs first.
    client.onConnect(() => client.close());
    const call = client.call("echo", 1);
    await assert.rejects(call, (error: SockSyncError) => {
      assert.ok(error instanceof SockSyncError, String(error));
      assert.equal(error.code, ErrorCode.Other);
      assert.equal(error.message, "client closed");
      return true;
    });
    assert.equal(client.connected, false);
  } finally {
    client.close();
    await server.close();
    await hub.close();
  }
});

test("close() rejects a call waiting for a connection at once, not at its timeout", async () => {
  // A port nothing listens on: every attempt fails, the next is 5 s away.
  const hub = new Hub();
  const { server, url } = await serveHub(hub);
  await server.close();
  await hub.close();
  const client = connect(url, {
    WebSocket: await webSocketClass(),
    reconnect: { minDelay: 5_000, maxDelay: 5_000 },
  });
  try {
    // Not connected yet: the call waits for a connection from its first step on.
    const call = client.call("echo", 1, { timeout: 60_000 });
    client.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("still waiting 5 s after close()")), 5_000);
    });
    try {
      await assert.rejects(Promise.race([call, late]), (error: SockSyncError) => {
        assert.ok(error instanceof SockSyncError, String(error));
        assert.equal(error.code, ErrorCode.Other);
        assert.equal(error.message, "client closed");
        return true;
      });
    } finally {
      clearTimeout(timer);
    }
  } finally {
    client.close();
  }
});

test("a client hub provides functions the server can call", async () => {
  const WebSocket = await webSocketClass();
  const serverHub = new Hub();
  const answers: unknown[] = [];
  const { server, url } = await serveHub(serverHub, (peer) => {
    peer.call("whoami", { ask: "name" }, { timeout: 5000 }).then(
      (value) => answers.push(value),
      (error) => answers.push(error),
    );
  });
  const clientHub = new Hub();
  clientHub.function("whoami", {
    args: v.object({ ask: v.string() }),
    handler: ({ ask }) => `client ${ask}`,
  });
  const client = connect(url, {
    WebSocket,
    hub: clientHub,
  });
  try {
    await waitUntil(() => answers.length === 1, {
      what: "the server's call to the client",
    });
    assert.deepEqual(answers, ["client name"]);
  } finally {
    client.close();
    await server.close();
    await serverHub.close();
    await clientHub.close();
  }
});

test("a client without a hub refuses a limit it would not apply; with a hub it takes them all", async () => {
  const WebSocket = await webSocketClass();
  const hubOnly = [
    "maxLiveQueries",
    "maxHubLiveQueries",
    "maxConcurrentCalls",
    "messageRate",
    "messageBurst",
    "maxRateStrikes",
    "congestionBytes",
    "drainPollInterval",
    "maxConnections",
  ] as const;
  const takes = "maxFrameBytes, maxDepth, maxSubscriptions, maxPendingCalls, callTimeout, " +
    "idleTimeout, maxBufferedBytes";
  // A misspelt limit is refused as well, not ignored.
  for (const key of [...hubOnly, "callTimout"]) {
    assert.throws(
      () => connect("ws://127.0.0.1:9/", { WebSocket, reconnect: false, limits: { [key]: 5 } }),
      new RangeError(
        `socksync: a client without a hub takes no limit ${key} (it takes ${takes}; ` +
          "the others need the hub option)",
      ),
    );
  }
  assert.throws(
    () => connect("ws://127.0.0.1:9/", { WebSocket, reconnect: false, limits: { maxDepth: -1 } }),
    new RangeError("socksync: limit maxDepth must be a number >= 0"),
  );
  await withDemo(async ({ client }) => {
    // Without a hub: the client's defaults (CLIENT_LIMITS) of the limits it applies, and those given.
    const plain = await client({ limits: { maxDepth: 8, messageRate: undefined } });
    const applied = Object.keys(CONSUMER_LIMITS) as (keyof typeof CONSUMER_LIMITS)[];
    assert.deepEqual(
      plain.peer?.limits,
      { ...Object.fromEntries(applied.map((key) => [key, CLIENT_LIMITS[key]])), maxDepth: 8 },
    );
    // With a hub: every limit, over CLIENT_LIMITS, the rate limits among them.
    const hub = new Hub();
    try {
      const providing = await client({ hub, limits: { messageRate: 5, maxDepth: 8 } });
      assert.deepEqual(providing.peer?.limits, { ...CLIENT_LIMITS, messageRate: 5, maxDepth: 8 });
      assert.throws(
        () =>
          connect("ws://127.0.0.1:9/", {
            WebSocket,
            reconnect: false,
            hub,
            limits: { drainPollInterval: 0 },
          }),
        RangeError,
      );
    } finally {
      await hub.close();
    }
  });
});
