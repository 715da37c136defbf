/**
 * The client with parameterized lists: views of one list with different
 * params side by side, each fed only its own frames; page moves, releases
 * and reconnects keep the params; an error about a view reaches that view.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { Hub, type SockSyncError } from "../mod.ts";
import { type ClientErrorInfo, connect } from "../src/client/client.ts";
import { serve, type Server } from "../src/serve/serve.ts";
import type { ListSource } from "../src/store.ts";
import { MemoryListSource } from "../stores/memory/mod.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";
import { waitUntil } from "./helpers/wait.ts";

const FAST = { minDelay: 20, maxDelay: 200 };

/** Rooms kept across queries (and servers): each query is a view of its room. */
class Rooms {
  readonly #rooms = new Map<string, MemoryListSource<string>>();
  opened = 0;

  room(name: string): MemoryListSource<string> {
    let room = this.#rooms.get(name);
    if (!room) this.#rooms.set(name, room = new MemoryListSource<string>());
    return room;
  }

  hub(): Hub {
    const hub = new Hub({ onError: () => {} });
    hub.list("messages", {
      params: v.object({ room: v.pipe(v.string(), v.minLength(1)) }),
      source: ({ room }) => {
        this.opened++;
        return queryOf(this.room(room));
      },
      schema: v.string(),
      maxPageSize: 5,
    });
    return hub;
  }
}

/** A query's own source over a shared room: closing it leaves the room alone. */
function queryOf(room: MemoryListSource<string>): ListSource<string> {
  return {
    count: () => room.count(),
    page: (offset, limit) => room.page(offset, limit),
    get: (id) => room.get(id),
    indexOf: (id) => room.indexOf(id),
    insert: (index, value, id) => room.insert(index, value, id),
    set: (id, value) => room.set(id, value),
    delete: (id) => room.delete(id),
    subscribe: (listener) => room.subscribe(listener),
  };
}

test("client views of one list with different params", async () => {
  const rooms = new Rooms();
  const hub = rooms.hub();
  const server = await serve({ hub, port: 0, hostname: "127.0.0.1" });
  const errors: [SockSyncError, ClientErrorInfo][] = [];
  const client = connect(`ws://127.0.0.1:${server.port}/ws/socksync`, {
    WebSocket: await webSocketClass(),
    reconnect: FAST,
    onError: (error, info) => errors.push([error, info]),
  });
  try {
    for (let i = 0; i < 7; i++) await rooms.room("a").insert(i, `a${i}`);
    await rooms.room("b").insert(0, "b0");
    const a = client.list<string>("messages", { params: { room: "a" }, pageSize: 3 });
    const b = client.list<string>("messages", { params: { room: "b" } });
    assert.notEqual(a, b);
    assert.equal(client.list("messages", { params: { room: "a" } }), a);
    await waitUntil(() => a.ready && b.ready, { what: "both views" });
    assert.deepEqual(a.items.map((i) => i.value), ["a0", "a1", "a2"]);
    assert.equal(a.total, 7);
    assert.deepEqual(b.items.map((i) => i.value), ["b0"]);

    await rooms.room("b").insert(0, "b-new");
    await waitUntil(() => b.total === 2, { what: "b's insert" });
    assert.deepEqual(b.items.map((i) => i.value), ["b-new", "b0"]);
    assert.equal(a.total, 7);

    a.setPage(2);
    await waitUntil(() => a.page === 2, { what: "page 2 of a" });
    assert.deepEqual(a.items.map((i) => i.value), ["a6"]);
    await rooms.room("a").set(a.items[0].id, "a6 edited");
    await waitUntil(() => a.items[0]?.value === "a6 edited", { what: "a's set" });

    const bad = client.list("messages", { params: { room: "" } });
    await waitUntil(() => bad.error !== undefined, { what: "the invalid view's error" });
    assert.equal(bad.error!.code, 6);
    assert.match(bad.error!.message, /room/);
    assert.equal(errors.at(-1)?.[1].mirror, bad);
    assert.equal(a.error, undefined);

    client.release(b);
    await waitUntil(() => hub.paramLists.get("messages")!.size === 1, { what: "b released" });
  } finally {
    client.close();
    await server.close();
    await hub.close();
  }
});

test("a reconnect subscribes each view again with its params and page", async () => {
  const rooms = new Rooms();
  const hub1 = rooms.hub();
  const hub2 = rooms.hub();
  const server1 = await serve({ hub: hub1, port: 0, hostname: "127.0.0.1" });
  let server2: Server | undefined;
  const client = connect(`ws://127.0.0.1:${server1.port}/ws/socksync`, {
    WebSocket: await webSocketClass(),
    reconnect: FAST,
  });
  try {
    for (let i = 0; i < 4; i++) await rooms.room("x").insert(i, `x${i}`);
    const x = client.list<string>("messages", { params: { room: "x" }, pageSize: 2 });
    const y = client.list<string>("messages", { params: { room: "y" }, pageSize: 2 });
    await waitUntil(() => x.ready && y.ready, { what: "first server" });
    x.setPage(1);
    await waitUntil(() => x.page === 1, { what: "page 1" });
    await server1.close();
    await waitUntil(() => !client.connected, { what: "disconnect" });
    await rooms.room("y").insert(0, "y while away");
    server2 = await serve({ hub: hub2, port: server1.port, hostname: "127.0.0.1" });
    await waitUntil(() => y.total === 1 && y.items[0]?.value === "y while away", {
      what: "y from the second server",
    });
    await waitUntil(() => x.page === 1 && x.items[0]?.value === "x2", { what: "x's page 1" });
    assert.equal(hub2.paramLists.get("messages")!.size, 2);
  } finally {
    client.close();
    await server1.close();
    await server2?.close();
    await hub1.close();
    await hub2.close();
  }
});
