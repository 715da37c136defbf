/**
 * Parameterized lists over real sockets, as raw JSON: several views of one
 * list with different params on one connection, frames that carry the
 * params, item subscriptions within a query, unsubscribing one view, errors
 * 5, 6 and 8 that echo the params, and unparameterized lists unchanged to the
 * byte.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { Hub, SockSyncError } from "../mod.ts";
import { MemoryListSource } from "../stores/memory/mod.ts";
import type { Frame, RawSocket } from "./helpers/raw_socket.ts";
import { withServedHub } from "./helpers/serve_hub.ts";
import { waitUntil } from "./helpers/wait.ts";

const Room = v.object({ room: v.pipe(v.string(), v.minLength(1), v.maxLength(64)) });

interface Fixture {
  hub: Hub<{ user: string }>;
  /** The open query sources, by room. */
  open: Map<string, MemoryListSource<string>>;
  /** Rooms whose source was closed, in order. */
  closed: string[];
  /** What `authorize` was asked about lists. */
  asked: unknown[];
}

function makeHub(): Fixture {
  const open = new Map<string, MemoryListSource<string>>();
  const closed: string[] = [];
  const asked: unknown[] = [];
  const hub = new Hub<{ user: string }>({
    onError: () => {},
    authorize: (_context, request) => {
      if (request.type === "list") asked.push(request);
      return request.params?.room !== "forbidden";
    },
  });
  hub.list("messages", {
    params: Room,
    source: ({ room }) => {
      const source = new MemoryListSource<string>();
      const close = source.close.bind(source);
      source.close = () => {
        closed.push(room);
        open.delete(room);
        return close();
      };
      open.set(room, source);
      return source;
    },
    schema: v.string(),
    maxPageSize: 3,
  });
  hub.list("broken", {
    params: Room,
    source: () => {
      throw new Error("SELECT secret FROM passwords");
    },
  });
  hub.list("todos", { source: new MemoryListSource(), schema: v.string(), maxPageSize: 10 });
  // Two keys, so that their order on the wire can differ. A record keeps the keys in the order
  // they came (a `v.object` would rebuild them in schema order and hide a missing sort).
  hub.list("threads", {
    params: v.record(v.picklist(["room", "topic"]), v.string()),
    source: () => new MemoryListSource<string>(),
    schema: v.string(),
  });
  hub.function("echo", { handler: (args) => args });
  return { hub, open, closed, asked };
}

async function served(fn: (f: Fixture, open: () => Promise<RawSocket>) => Promise<void>) {
  const f = makeHub();
  await withServedHub({ hub: f.hub, accept: ["echo"] }, ({ open }) => fn(f, open));
}

const is = (func: string, room?: string) => (frame: Frame) =>
  frame.func === func &&
  (room === undefined
    ? frame.params === undefined
    : (frame.params as { room?: string } | undefined)?.room === room);

describe("parameterized lists", () => {
  test("two views of one list with different params on one connection", async () => {
    await served(async (f, open) => {
      const client = await open();
      client.send({ func: "subscribe", type: "list", name: "messages", params: { room: "a" } });
      client.send({ func: "subscribe", type: "list", name: "messages", params: { room: "b" } });
      const a = await client.next(is("set_all", "a"));
      const b = await client.next(is("set_all", "b"));
      assert.deepEqual(a, {
        func: "set_all",
        type: "list",
        name: "messages",
        params: { room: "a" },
        page: 0,
        page_size: 3,
        total_item_count: 0,
        items: [],
      });
      assert.equal(b.total_item_count, 0);
      assert.equal(f.hub.paramLists.get("messages")?.size, 2);
      assert.equal([...f.hub.paramLists.get("messages")!.sources()].length, 2);
      await f.open.get("a")!.insert(0, "hello a", "m1");
      const insert = await client.next(is("insert", "a"));
      assert.deepEqual(insert, {
        func: "insert",
        type: "list",
        name: "messages",
        params: { room: "a" },
        index: 0,
        id: "m1",
        value: "hello a",
      });
      assert.deepEqual(await client.next(is("set_count", "a")), {
        func: "set_count",
        type: "list",
        name: "messages",
        params: { room: "a" },
        total_item_count: 1,
      });
      await f.open.get("b")!.insert(0, "hello b", "m2");
      assert.equal((await client.next(is("insert", "b"))).id, "m2");
      await client.next(is("set_count", "b"));
      // Nothing else: each change reached only its own view.
      assert.deepEqual(await client.drain(), []);
      // A page move keeps the params.
      client.send({ func: "get", type: "list", name: "messages", params: { room: "a" }, page: 0 });
      assert.equal((await client.next(is("set_all", "a"))).total_item_count, 1);
      // The same params again do not make another query.
      client.send({
        func: "subscribe",
        type: "list",
        name: "messages",
        params: { room: "b" },
        page_size: 2,
      });
      assert.equal((await client.next(is("set_all", "b"))).page_size, 2);
      assert.equal(f.hub.paramLists.get("messages")?.size, 2);
    });
  });

  test("key order does not make another query", async () => {
    await served(async (f, open) => {
      const one = await open();
      const two = await open();
      const threads = (client: RawSocket, params: Record<string, string>) => {
        client.send({ func: "subscribe", type: "list", name: "threads", params });
        return client.next((frame) => frame.func === "set_all" && frame.name === "threads");
      };
      await threads(one, { room: "a", topic: "t" });
      const answer = await threads(two, { topic: "t", room: "a" });
      assert.deepEqual(answer.params, { topic: "t", room: "a" });
      assert.equal(f.hub.paramLists.get("threads")?.size, 1);
      await threads(two, { topic: "u", room: "a" });
      assert.equal(f.hub.paramLists.get("threads")?.size, 2);
    });
  });

  test("connections with the same params share one query, closed when the last leaves", async () => {
    await served(async (f, open) => {
      const one = await open();
      const two = await open();
      for (const client of [one, two]) {
        client.send({ func: "subscribe", type: "list", name: "messages", params: { room: "a" } });
        await client.next(is("set_all", "a"));
      }
      assert.equal(f.hub.paramLists.get("messages")?.size, 1);
      await f.open.get("a")!.insert(0, "x", "m1");
      for (const client of [one, two]) {
        assert.equal((await client.next(is("insert", "a"))).id, "m1");
      }
      one.send({ func: "unsubscribe_all" });
      await one.drain();
      assert.deepEqual(f.closed, []);
      await two.close();
      await waitUntil(() => f.closed.length === 1, { what: "the query closed" });
      assert.deepEqual(f.closed, ["a"]);
      assert.equal(f.hub.paramLists.get("messages")?.size, 0);
    });
  });

  test("unsubscribe with params ends that view only", async () => {
    await served(async (f, open) => {
      const client = await open();
      for (const room of ["a", "b"]) {
        client.send({ func: "subscribe", type: "list", name: "messages", params: { room } });
        await client.next(is("set_all", room));
      }
      client.send({ func: "unsubscribe", type: "list", name: "messages", params: { room: "a" } });
      await client.drain();
      await waitUntil(() => f.closed.includes("a"), { what: "query a closed" });
      await f.open.get("b")!.insert(0, "still here", "m2");
      assert.equal((await client.next(is("insert", "b"))).id, "m2");
      await client.next(is("set_count", "b"));
      assert.deepEqual(await client.drain(), []);
      // `get` of the view left is refused: it is not subscribed any more.
      client.send({ func: "get", type: "list", name: "messages", params: { room: "a" } });
      const error = await client.next(is("error", "a"));
      assert.equal(error.error_code, 1);
    });
  });

  test("item subscriptions and gets address the item within the query", async () => {
    await served(async (f, open) => {
      const client = await open();
      client.send({ func: "subscribe", type: "list", name: "messages", params: { room: "a" } });
      await client.next(is("set_all", "a"));
      const source = f.open.get("a")!;
      await source.insert(0, "first", "m1");
      await client.next(is("set_count", "a"));
      await client.drain();
      const other = await open();
      other.send({
        func: "subscribe",
        type: "list",
        name: "messages",
        params: { room: "a" },
        id: "m1",
      });
      assert.deepEqual(await other.next(is("set", "a")), {
        func: "set",
        type: "list",
        name: "messages",
        params: { room: "a" },
        id: "m1",
        value: "first",
      });
      other.send({ func: "get", type: "list", name: "messages", params: { room: "a" }, id: "m1" });
      assert.equal((await other.next(is("set", "a"))).value, "first");
      // The same id in another room's query is unknown there.
      other.send({
        func: "subscribe",
        type: "list",
        name: "messages",
        params: { room: "b" },
        id: "m1",
      });
      const unknown = await other.next(is("error", "b"));
      assert.equal(unknown.error_code, 4);
      assert.equal(unknown.id, "m1");
      await source.set("m1", "edited");
      assert.equal((await other.next(is("set", "a"))).value, "edited");
      assert.equal((await client.next(is("set", "a"))).value, "edited");
      await source.delete("m1");
      assert.deepEqual(await other.next(is("delete", "a")), {
        func: "delete",
        type: "list",
        name: "messages",
        params: { room: "a" },
        id: "m1",
      });
      await waitUntil(() => f.closed.includes("b"), { what: "the failed item query closed" });
    });
  });

  test("errors 5 and 6 name what is wrong and echo the params", async () => {
    await served(async (_f, open) => {
      const client = await open();
      const ask = async (frame: Record<string, unknown>) => {
        client.send(frame);
        return await client.next((f) => f.func === "error");
      };
      const missing = await ask({ func: "subscribe", type: "list", name: "messages" });
      assert.equal(missing.error_code, 5);
      assert.match(String(missing.message), /params/);
      assert.equal(missing.name, "messages");
      // The message tells a bad value from a missing one.
      const cases: [unknown, RegExp][] = [
        [{ room: 1 }, /^invalid params: room: expected string, got number$/],
        [{ room: "" }, /^invalid params: room: expected length >=1, got string$/],
        [{}, /^invalid params: missing room$/],
        [{ room: "a", extra: true }, /^invalid params: unexpected extra$/],
      ];
      for (const [params, named] of cases) {
        const error = await ask({ func: "subscribe", type: "list", name: "messages", params });
        assert.equal(error.error_code, 6, JSON.stringify(params));
        assert.match(String(error.message), named);
        assert.deepEqual(error.params, params);
        assert.equal(error.name, "messages");
      }
      const notObject = await ask({
        func: "subscribe",
        type: "list",
        name: "messages",
        params: ["a"],
      });
      assert.equal(notObject.error_code, 6);
      assert.match(String(notObject.message), /params/);
      const plain = await ask({
        func: "subscribe",
        type: "list",
        name: "todos",
        params: { room: "a" },
      });
      assert.equal(plain.error_code, 6);
      assert.match(String(plain.message), /params/);
      assert.deepEqual(plain.params, { room: "a" });
      const get = await ask({ func: "get", type: "list", name: "messages", params: { room: 2 } });
      assert.equal(get.error_code, 6);
      const unsubscribe = await ask({ func: "unsubscribe", type: "list", name: "messages" });
      assert.equal(unsubscribe.error_code, 5);
    });
  });

  test("authorize gets the params; a refusal echoes them", async () => {
    await served(async (f, open) => {
      const client = await open();
      const params = { room: "forbidden" };
      client.send({ func: "subscribe", type: "list", name: "messages", params });
      const error = await client.next((frame) => frame.func === "error");
      assert.equal(error.error_code, 1);
      assert.deepEqual(error.params, params);
      assert.deepEqual(f.asked.at(-1), {
        action: "subscribe",
        type: "list",
        name: "messages",
        params,
      });
      assert.equal(f.open.size, 0);
    });
  });

  test("a source that cannot open answers 8 without its details; the server stays up", async () => {
    await served(async (_f, open) => {
      const client = await open();
      const params = { room: "a" };
      client.send({ func: "subscribe", type: "list", name: "broken", params });
      const error = await client.next((frame) => frame.func === "error");
      assert.equal(error.error_code, 8);
      assert.doesNotMatch(String(error.message), /SELECT|secret/);
      assert.deepEqual(error.params, params);
      client.send({ func: "subscribe", type: "list", name: "messages", params });
      await client.next(is("set_all", "a"));
    });
  });

  test("unparameterized lists send the original frames, byte for byte", async () => {
    await served(async (f, open) => {
      const client = await open();
      const texts: string[] = [];
      client.socket.addEventListener("message", (event) => texts.push(String(event.data)));
      client.send({ func: "subscribe", type: "list", name: "todos", page_size: 2 });
      await client.next((frame) => frame.func === "set_all");
      const todos = f.hub.lists.get("todos")!;
      await todos.insert(0, "milk", "a");
      await todos.set("a", "oat milk");
      await todos.delete("a");
      client.send({ func: "get", type: "list", name: "todos", id: "zz" });
      await client.drain();
      assert.deepEqual(texts.filter((t) => !t.includes('"return"')), [
        '{"func":"set_all","type":"list","name":"todos","page":0,"page_size":2,"total_item_count":0,"items":[]}',
        '{"func":"insert","type":"list","name":"todos","index":0,"id":"a","value":"milk"}',
        '{"func":"set_count","type":"list","name":"todos","total_item_count":1}',
        '{"func":"set","type":"list","name":"todos","id":"a","value":"oat milk"}',
        '{"func":"delete","type":"list","name":"todos","id":"a"}',
        '{"func":"set_count","type":"list","name":"todos","total_item_count":0}',
        '{"func":"error","error_code":4,"message":"no item with this id in todos","type":"list","name":"todos","id":"zz"}',
      ]);
    });
  });

  test("a thrown SockSyncError from the factory keeps its code", async () => {
    const hub = new Hub({ onError: () => {} });
    hub.list("rooms", {
      params: Room,
      source: () => {
        throw new SockSyncError(3, "no such room");
      },
    });
    await withServedHub({ hub, accept: [] }, async ({ open }) => {
      const client = await open();
      client.send({ func: "subscribe", type: "list", name: "rooms", params: { room: "x" } });
      const error = await client.next((frame) => frame.func === "error");
      assert.equal(error.error_code, 3);
      assert.equal(error.message, "no such room");
    });
  });
});
