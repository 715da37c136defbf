/**
 * Live queries are a resource: distinct params of a parameterized list each
 * open a query, bounded per connection (`maxLiveQueries`) and per hub
 * (`maxHubLiveQueries`), refused with error 8 echoing the request, tried
 * like an attacker would: many connections, distinct params, rooms with rows.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_LIMITS, Hub } from "../mod.ts";
import { addChat, openChat } from "../demo/chat.ts";
import { type Frame, RawSocket } from "./helpers/raw_socket.ts";
import { serveHub } from "./helpers/serve_hub.ts";
import { waitUntil } from "./helpers/wait.ts";

const isView = (room: string) => (f: Frame) =>
  f.name === "messages" && (f.params as { room?: string } | undefined)?.room === room &&
  (f.func === "set_all" || f.func === "error");

async function withChat(
  limits: { maxLiveQueries: number; maxHubLiveQueries: number },
  fn: (fx: { hub: Hub; open(): Promise<RawSocket>; queries(): number }) => Promise<void>,
) {
  const chat = await openChat({ kind: "memory" });
  const hub = new Hub({ limits: { ...limits, messageRate: 10_000, messageBurst: 10_000 } });
  addChat(hub, chat);
  // Rooms with rows: a query holds a page of them.
  for (let room = 0; room < 40; room++) {
    for (let i = 0; i < 3; i++) {
      await chat.post({
        id: `m${room}-${i}`,
        room: `r${room}`,
        author: "x",
        text: "y".repeat(200),
        created_at: i,
      });
    }
  }
  const { server, url } = await serveHub(hub);
  const sockets: RawSocket[] = [];
  try {
    await fn({
      hub,
      open: async () => {
        const socket = await RawSocket.open(url);
        sockets.push(socket);
        await socket.skipFunctionSubscriptions(hub.functions.size);
        return socket;
      },
      queries: () => hub.paramLists.get("messages")!.size,
    });
  } finally {
    for (const socket of sockets) await socket.close();
    await server.close();
    await hub.close();
    await chat.close();
  }
}

test("defaults bound the worst case: 100 queries a connection, 10,000 a hub", () => {
  assert.equal(DEFAULT_LIMITS.maxLiveQueries, 100);
  assert.equal(DEFAULT_LIMITS.maxHubLiveQueries, 10_000);
});

test("one connection: distinct params past maxLiveQueries are error 8; items of a held query are free", async () => {
  await withChat({ maxLiveQueries: 5, maxHubLiveQueries: 1000 }, async ({ open, queries }) => {
    const socket = await open();
    for (let room = 0; room < 5; room++) {
      socket.send({
        func: "subscribe",
        type: "list",
        name: "messages",
        params: { room: `r${room}` },
      });
      assert.equal((await socket.next(isView(`r${room}`))).func, "set_all");
    }
    socket.send({ func: "subscribe", type: "list", name: "messages", params: { room: "r5" } });
    assert.deepEqual(await socket.next(isView("r5")), {
      func: "error",
      error_code: 8,
      message: "too many live queries",
      type: "list",
      name: "messages",
      params: { room: "r5" },
    });
    // An item of a query held costs no query; an item of another one does.
    socket.send({
      func: "subscribe",
      type: "list",
      name: "messages",
      params: { room: "r0" },
      id: "m0-1",
    });
    assert.equal((await socket.next((f) => f.id === "m0-1")).func, "set");
    socket.send({
      func: "subscribe",
      type: "list",
      name: "messages",
      params: { room: "r6" },
      id: "m6-1",
    });
    assert.equal((await socket.next((f) => f.id === "m6-1")).error_code, 8);
    assert.equal(queries(), 5);
    // Ending one frees its place.
    socket.send({ func: "unsubscribe", type: "list", name: "messages", params: { room: "r1" } });
    socket.send({ func: "subscribe", type: "list", name: "messages", params: { room: "r5" } });
    assert.equal((await socket.next(isView("r5"))).func, "set_all");
    await waitUntil(() => queries() === 5, { what: "r1's query closed" });
  });
});

test("many connections with distinct params: the hub opens at most maxHubLiveQueries", async () => {
  await withChat({ maxLiveQueries: 20, maxHubLiveQueries: 30 }, async ({ open, queries }) => {
    const sockets = await Promise.all(Array.from({ length: 4 }, () => open()));
    const refused: string[] = [];
    let served = 0;
    for (const [n, socket] of sockets.entries()) {
      // Overlapping ranges: a room several connections view is one query.
      for (let room = n * 8; room < n * 8 + 12; room++) {
        socket.send({
          func: "subscribe",
          type: "list",
          name: "messages",
          params: { room: `r${room}` },
        });
        const answer = await socket.next(isView(`r${room}`));
        if (answer.func === "set_all") served++;
        else refused.push(String(answer.message));
      }
    }
    assert.equal(queries(), 30);
    assert.ok(refused.length > 0);
    assert.ok(refused.every((message) => message === "server busy: too many live queries"));
    assert.equal(served + refused.length, 48);
    // A room already open is still served to anyone.
    const late = await open();
    late.send({ func: "subscribe", type: "list", name: "messages", params: { room: "r0" } });
    assert.equal((await late.next(isView("r0"))).func, "set_all");
    // Connections that leave give their queries back.
    await sockets[0].close();
    await sockets[1].close();
    await waitUntil(() => queries() < 30, { what: "queries released" });
    late.send({ func: "subscribe", type: "list", name: "messages", params: { room: "r39" } });
    assert.equal((await late.next(isView("r39"))).func, "set_all");
  });
});
