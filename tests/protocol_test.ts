/**
 * Every func and every error code of PROTOCOL.md, as raw JSON over a real socket.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { ErrorCode, Hub, SockSyncError } from "../mod.ts";
import { MemoryListSource } from "../stores/memory/mod.ts";
import type { RawSocket } from "./helpers/raw_socket.ts";
import { type Served, withServedHub } from "./helpers/serve_hub.ts";

const Todo = v.object({ text: v.string(), done: v.boolean() });
const ACCEPTED = ["echo", "add", "boom", "fail4"];

function makeHub() {
  const hub = new Hub({ onError: () => {} });
  const counter = hub.var("counter", {
    schema: v.pipe(v.number(), v.integer()),
    initial: 0,
  });
  const source = new MemoryListSource<v.InferOutput<typeof Todo>>();
  const todos = hub.list("todos", { source, schema: Todo, maxPageSize: 3 });
  hub.function("echo", { handler: (args) => args });
  hub.function("add", {
    args: v.object({ a: v.number(), b: v.number() }),
    handler: ({ a, b }) => a + b,
  });
  hub.function("boom", {
    handler: () => {
      throw new Error("secret database password in stack");
    },
  });
  hub.function("fail4", {
    handler: () => {
      throw new SockSyncError(ErrorCode.InvalidId, "no such todo");
    },
  });
  hub.function("hidden", { handler: () => "never" });
  return { hub, counter, todos };
}

type Fixture = ReturnType<typeof makeHub> & Served<unknown> & { client: RawSocket };

/** A fresh hub, server and connected raw client per test; all closed in `finally`. */
async function withServer(fn: (fx: Fixture) => Promise<void>): Promise<void> {
  const made = makeHub();
  await withServedHub(
    { hub: made.hub, accept: ACCEPTED },
    async (served) => fn({ ...made, ...served, client: await served.open() }),
  );
}

async function addTodos(todos: Fixture["todos"], n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push((await todos.insert(i, { text: `t${i}`, done: false })).id);
  }
  return ids;
}

describe("protocol: vars", () => {
  test("subscribe answers set with the current value; later sets are pushed", async () => {
    await withServer(async ({ client, counter }) => {
      client.send({ func: "subscribe", type: "var", name: "counter" });
      assert.deepEqual(await client.next(), {
        func: "set",
        type: "var",
        name: "counter",
        value: 0,
      });
      await counter.set(7);
      assert.deepEqual(await client.next(), {
        func: "set",
        type: "var",
        name: "counter",
        value: 7,
      });
    });
  });

  test("get before subscribing → 1; after → set", async () => {
    await withServer(async ({ client, counter }) => {
      await counter.set(3);
      client.send({ func: "get", type: "var", name: "counter" });
      assert.deepEqual(await client.next(), {
        func: "error",
        error_code: 1,
        message: "not subscribed",
        type: "var",
        name: "counter",
      });
      client.send({ func: "subscribe", type: "var", name: "counter" });
      assert.equal((await client.next()).value, 3);
      client.send({ func: "get", type: "var", name: "counter" });
      assert.deepEqual(await client.next(), {
        func: "set",
        type: "var",
        name: "counter",
        value: 3,
      });
    });
  });

  test("unsubscribe stops pushes; unsubscribing twice is a no-op", async () => {
    await withServer(async ({ client, counter, open }) => {
      const other = await open();
      client.send({ func: "subscribe", type: "var", name: "counter" });
      other.send({ func: "subscribe", type: "var", name: "counter" });
      await client.next();
      await other.next();
      client.send({ func: "unsubscribe", type: "var", name: "counter" });
      client.send({ func: "unsubscribe", type: "var", name: "counter" });
      assert.deepEqual(await client.drain(), []);
      await counter.set(9);
      assert.equal((await other.next()).value, 9);
      assert.deepEqual(
        await client.drain(),
        [],
        "no set after unsubscribe, no reply to either",
      );
    });
  });

  test("a change is pushed to every subscriber and to nobody else", async () => {
    await withServer(async ({ client, counter, open }) => {
      const a = await open();
      const b = await open();
      for (const c of [client, a]) {
        c.send({ func: "subscribe", type: "var", name: "counter" });
        await c.next();
      }
      await counter.update((n) => n + 5);
      assert.equal((await client.next()).value, 5);
      assert.equal((await a.next()).value, 5);
      assert.deepEqual(await b.drain(), []);
    });
  });

  test("a var value that fails its schema never reaches subscribers", async () => {
    await withServer(async ({ client, counter }) => {
      client.send({ func: "subscribe", type: "var", name: "counter" });
      await client.next();
      await assert.rejects(
        counter.set(1.5),
        (e: SockSyncError) => e.code === 6,
      );
      assert.deepEqual(await client.drain(), []);
      assert.equal(await counter.get(), 0);
    });
  });
});

describe("protocol: lists", () => {
  test("subscribe answers set_all of page 0 at the max page size", async () => {
    await withServer(async ({ client, todos }) => {
      const ids = await addTodos(todos, 4);
      client.send({ func: "subscribe", type: "list", name: "todos" });
      assert.deepEqual(await client.next(), {
        func: "set_all",
        type: "list",
        name: "todos",
        page: 0,
        page_size: 3,
        total_item_count: 4,
        items: ids.slice(0, 3).map((id, i) => ({
          id,
          value: { text: `t${i}`, done: false },
        })),
      });
    });
  });

  test("get moves the view: page size capped, page past the end clamped", async () => {
    await withServer(async ({ client, todos }) => {
      const ids = await addTodos(todos, 5);
      client.send({
        func: "subscribe",
        type: "list",
        name: "todos",
        page_size: 2,
      });
      assert.equal((await client.next()).page_size, 2);
      client.send({
        func: "get",
        type: "list",
        name: "todos",
        page: 1,
        page_size: 2,
      });
      const page1 = await client.next();
      assert.equal(page1.page, 1);
      assert.deepEqual(
        (page1.items as { id: string }[]).map((i) => i.id),
        ids.slice(2, 4),
      );
      client.send({
        func: "get",
        type: "list",
        name: "todos",
        page: 0,
        page_size: 50,
      });
      assert.equal((await client.next()).page_size, 3);
      client.send({
        func: "get",
        type: "list",
        name: "todos",
        page: 99,
        page_size: 2,
      });
      const last = await client.next();
      assert.equal(last.page, 2);
      assert.deepEqual((last.items as { id: string }[]).map((i) => i.id), [
        ids[4],
      ]);
    });
  });

  test("an empty list clamps to page 0", async () => {
    await withServer(async ({ client }) => {
      client.send({ func: "subscribe", type: "list", name: "todos", page: 4 });
      const frame = await client.next();
      assert.equal(frame.page, 0);
      assert.equal(frame.total_item_count, 0);
      assert.deepEqual(frame.items, []);
    });
  });

  test("insert, set and delete inside the view, set_count after each change of the total", async () => {
    await withServer(async ({ client, todos }) => {
      const [a] = await addTodos(todos, 1);
      client.send({ func: "subscribe", type: "list", name: "todos" });
      await client.next();
      const b = await todos.insert(1, { text: "b", done: false });
      assert.deepEqual(await client.next(), {
        func: "insert",
        type: "list",
        name: "todos",
        index: 1,
        id: b.id,
        value: { text: "b", done: false },
      });
      assert.deepEqual(await client.next(), {
        func: "set_count",
        type: "list",
        name: "todos",
        total_item_count: 2,
      });
      await todos.set(a, { text: "a!", done: true });
      assert.deepEqual(await client.next(), {
        func: "set",
        type: "list",
        name: "todos",
        id: a,
        value: { text: "a!", done: true },
      });
      await todos.delete(a);
      assert.deepEqual(await client.next(), {
        func: "delete",
        type: "list",
        name: "todos",
        id: a,
      });
      assert.equal((await client.next()).total_item_count, 1);
    });
  });

  test("a subscriber that asks for change markers gets more: true on all but a change's last frame", async () => {
    await withServer(async ({ client, todos, open }) => {
      const plain = await open();
      await addTodos(todos, 2);
      // Page size 2, full: an insert at the top pushes one item off the page.
      client.send({ func: "subscribe", type: "list", name: "todos", page_size: 2, more: true });
      plain.send({ func: "subscribe", type: "list", name: "todos", page_size: 2 });
      await client.next();
      await plain.next();
      const top = await todos.insert(0, { text: "top", done: false });
      const marked = [await client.next(), await client.next(), await client.next()];
      assert.deepEqual(marked.map((f) => [f.func, f.more]), [
        ["delete", true],
        ["insert", true],
        ["set_count", undefined],
      ]);
      assert.equal(marked[1].id, top.id);
      // Another connection that did not ask gets the original frames.
      const original = [await plain.next(), await plain.next(), await plain.next()];
      assert.deepEqual(original.map((f) => [f.func, "more" in f]), [
        ["delete", false],
        ["insert", false],
        ["set_count", false],
      ]);
      // A set is one frame: never marked.
      await todos.set(top.id, { text: "top!", done: false });
      const set = await client.next();
      assert.equal(set.func, "set");
      assert.equal("more" in set, false);
    });
  });

  test("a change outside the view sends only set_count", async () => {
    await withServer(async ({ client, todos }) => {
      await addTodos(todos, 3);
      client.send({ func: "subscribe", type: "list", name: "todos" });
      await client.next();
      await todos.insert(3, { text: "late", done: false });
      assert.deepEqual(await client.next(), {
        func: "set_count",
        type: "list",
        name: "todos",
        total_item_count: 4,
      });
      assert.deepEqual(await client.drain(), []);
    });
  });

  test("a delete that empties the last page moves the view back with set_all", async () => {
    await withServer(async ({ client, todos }) => {
      const ids = await addTodos(todos, 4);
      client.send({ func: "subscribe", type: "list", name: "todos", page: 1 });
      assert.equal((await client.next()).page, 1);
      await todos.delete(ids[3]);
      const frame = await client.next();
      assert.equal(frame.func, "set_all");
      assert.equal(frame.page, 0);
      assert.equal(frame.total_item_count, 3);
    });
  });

  test("get with an id answers set; an unknown id → 4", async () => {
    await withServer(async ({ client, todos }) => {
      const [a] = await addTodos(todos, 1);
      client.send({ func: "subscribe", type: "list", name: "todos" });
      await client.next();
      client.send({ func: "get", type: "list", name: "todos", id: a });
      assert.deepEqual(await client.next(), {
        func: "set",
        type: "list",
        name: "todos",
        id: a,
        value: { text: "t0", done: false },
      });
      client.send({ func: "get", type: "list", name: "todos", id: "nope" });
      assert.deepEqual(await client.next(), {
        func: "error",
        error_code: 4,
        message: "no item with this id in todos",
        type: "list",
        name: "todos",
        id: "nope",
      });
    });
  });

  test("an item subscription gets set for that item, then its delete, and nothing else", async () => {
    await withServer(async ({ client, todos }) => {
      const [a, b] = await addTodos(todos, 2);
      client.send({ func: "subscribe", type: "list", name: "todos", id: a });
      assert.deepEqual(await client.next(), {
        func: "set",
        type: "list",
        name: "todos",
        id: a,
        value: { text: "t0", done: false },
      });
      await todos.set(b, { text: "other", done: true });
      await todos.insert(0, { text: "new", done: false });
      await todos.set(a, { text: "mine", done: true });
      assert.deepEqual(await client.next(), {
        func: "set",
        type: "list",
        name: "todos",
        id: a,
        value: { text: "mine", done: true },
      });
      await todos.delete(a);
      assert.deepEqual(await client.next(), {
        func: "delete",
        type: "list",
        name: "todos",
        id: a,
      });
      assert.deepEqual(await client.drain(), []);
    });
  });

  test("subscribing to an unknown item → 4", async () => {
    await withServer(async ({ client }) => {
      client.send({
        func: "subscribe",
        type: "list",
        name: "todos",
        id: "ghost",
      });
      const frame = await client.next();
      assert.equal(frame.error_code, 4);
      assert.equal(frame.id, "ghost");
    });
  });

  test("unsubscribe from a list and unsubscribe_all stop every push", async () => {
    await withServer(async ({ client, todos, counter }) => {
      client.send({ func: "subscribe", type: "list", name: "todos" });
      client.send({ func: "subscribe", type: "var", name: "counter" });
      await client.next();
      await client.next();
      client.send({ func: "unsubscribe", type: "list", name: "todos" });
      assert.deepEqual(await client.drain(), []);
      await addTodos(todos, 1);
      assert.deepEqual(await client.drain(), []);
      client.send({ func: "subscribe", type: "list", name: "todos" });
      await client.next();
      client.send({ func: "unsubscribe_all" });
      await client.drain();
      await addTodos(todos, 1);
      await counter.set(4);
      assert.deepEqual(await client.drain(), []);
    });
  });
});

describe("protocol: functions", () => {
  test("the server subscribes to its functions on connect; call → return", async () => {
    await withServer(async ({ client }) => {
      client.send({
        func: "call",
        type: "function",
        name: "add",
        id: "c1",
        args: { a: 2, b: 3 },
      });
      assert.deepEqual(await client.next(), {
        func: "return",
        type: "function",
        name: "add",
        id: "c1",
        value: 5,
      });
      client.send({ func: "call", type: "function", name: "echo", id: "c2" });
      assert.deepEqual(await client.next(), {
        func: "return",
        type: "function",
        name: "echo",
        id: "c2",
      });
    });
  });

  test("args that fail the schema → 6 with the call's id", async () => {
    await withServer(async ({ client }) => {
      client.send({
        func: "call",
        type: "function",
        name: "add",
        id: "c3",
        args: { a: "x" },
      });
      const frame = await client.next();
      assert.equal(frame.error_code, 6);
      assert.equal(frame.id, "c3");
      assert.equal(frame.name, "add");
    });
  });

  test("a call to a function not accepted, or unknown → 1, the same reply", async () => {
    await withServer(async ({ client }) => {
      client.send({ func: "call", type: "function", name: "hidden", id: "h" });
      const hidden = await client.next();
      client.send({ func: "call", type: "function", name: "nothing", id: "h" });
      const unknown = await client.next();
      assert.equal(hidden.error_code, 1);
      assert.deepEqual({ ...unknown, name: "hidden" }, hidden);
    });
  });

  test("a handler failure → 8 with a safe message; the connection stays open", async () => {
    await withServer(async ({ client }) => {
      client.send({ func: "call", type: "function", name: "boom", id: "b1" });
      assert.deepEqual(await client.next(), {
        func: "error",
        error_code: 8,
        message: "internal error",
        type: "function",
        name: "boom",
        id: "b1",
      });
      client.send({ func: "call", type: "function", name: "fail4", id: "b2" });
      assert.deepEqual(await client.next(), {
        func: "error",
        error_code: 4,
        message: "no such todo",
        type: "function",
        name: "fail4",
        id: "b2",
      });
      assert.deepEqual(await client.drain(), []);
    });
  });

  test("a return that matches no pending call → 4", async () => {
    await withServer(async ({ client }) => {
      client.send({
        func: "return",
        type: "function",
        name: "x",
        id: "stray",
        value: 1,
      });
      const frame = await client.next();
      assert.equal(frame.error_code, 4);
      assert.equal(frame.id, "stray");
    });
  });

  test("an incoming error frame is never answered", async () => {
    await withServer(async ({ client }) => {
      client.send({ func: "error", error_code: 3, message: "hi" });
      client.send({ func: "error", error_code: "not a number" });
      assert.deepEqual(await client.drain(), []);
    });
  });
});

describe("protocol: modifying requests need a subscription (error 1)", () => {
  for (
    const frame of [
      { func: "set", type: "var", name: "counter", value: 1 },
      { func: "set", type: "var", name: "no_such_var", value: 1 },
      { func: "set", type: "list", name: "todos", id: "x", value: 1 },
      {
        func: "set_all",
        type: "list",
        name: "todos",
        page: 0,
        total_item_count: 0,
        items: [],
      },
      { func: "set_count", type: "list", name: "todos", total_item_count: 1 },
      {
        func: "insert",
        type: "list",
        name: "todos",
        index: 0,
        id: "x",
        value: 1,
      },
      { func: "delete", type: "list", name: "todos", id: "x" },
    ]
  ) {
    test(`${frame.func} ${frame.type} ${frame.name}`, async () => {
      await withServer(async ({ client }) => {
        client.send(frame);
        const reply = await client.next();
        assert.equal(reply.func, "error");
        assert.equal(reply.error_code, 1);
        assert.equal(reply.name, frame.name);
      });
    });
  }
});

describe("protocol: error codes for bad frames", () => {
  const cases: [string, unknown, number][] = [
    ["unparseable text → 7", "{nope", 7],
    ["a JSON array → 7", "[1,2]", 7],
    ["a JSON string → 7", '"hi"', 7],
    ["null → 7", "null", 7],
    ["missing func → 5", { type: "var", name: "counter" }, 5],
    ["unknown func → 1", { func: "explode", type: "var", name: "counter" }, 1],
    [
      "func of the wrong type → 1",
      { func: 5, type: "var", name: "counter" },
      1,
    ],
    ["missing type → 5", { func: "subscribe", name: "counter" }, 5],
    [
      "unknown type → 2",
      { func: "subscribe", type: "table", name: "counter" },
      2,
    ],
    ["a type the func does not take → 2", {
      func: "get",
      type: "function",
      name: "echo",
    }, 2],
    ["missing name → 5", { func: "subscribe", type: "var" }, 5],
    ["name not a string → 3", { func: "subscribe", type: "var", name: 4 }, 3],
    ["unknown var → 3", { func: "subscribe", type: "var", name: "nope" }, 3],
    ["unknown list → 3", { func: "get", type: "list", name: "nope" }, 3],
    ["unsubscribe of an unknown name → 3", {
      func: "unsubscribe",
      type: "var",
      name: "nope",
    }, 3],
    ["negative page → 6", {
      func: "subscribe",
      type: "list",
      name: "todos",
      page: -1,
    }, 6],
    ["fractional page → 6", {
      func: "subscribe",
      type: "list",
      name: "todos",
      page: 0.5,
    }, 6],
    ["page size 0 → 6", {
      func: "subscribe",
      type: "list",
      name: "todos",
      page_size: 0,
    }, 6],
    [
      "page beyond 2^53 → 6",
      '{"func":"subscribe","type":"list","name":"todos","page":1e300}',
      6,
    ],
    ["id not a string → 4", {
      func: "subscribe",
      type: "list",
      name: "todos",
      id: 5,
    }, 4],
    [
      "call without id → 5",
      { func: "call", type: "function", name: "echo" },
      5,
    ],
    ["set without value → 5", { func: "set", type: "var", name: "counter" }, 5],
    [
      "insert with a negative index → 6",
      {
        func: "insert",
        type: "list",
        name: "todos",
        index: -1,
        id: "a",
        value: 1,
      },
      6,
    ],
  ];
  for (const [title, frame, code] of cases) {
    test(title, async () => {
      await withServer(async ({ client }) => {
        client.send(frame);
        const reply = await client.next();
        assert.equal(reply.func, "error");
        assert.equal(reply.error_code, code, JSON.stringify(reply));
        assert.equal(typeof reply.message, "string");
      });
    });
  }

  test("a binary frame → 7", async () => {
    await withServer(async ({ client }) => {
      client.socket.send(new Uint8Array([123, 125]));
      assert.equal((await client.next()).error_code, 7);
    });
  });

  test("unknown extra fields are ignored; errors echo type, name and id", async () => {
    await withServer(async ({ client }) => {
      client.send({
        func: "subscribe",
        type: "var",
        name: "counter",
        extra: { deep: [1] },
      });
      assert.equal((await client.next()).value, 0);
      client.send({
        func: "subscribe",
        type: "list",
        name: "todos",
        id: "zz",
        page: -1,
      });
      assert.deepEqual(await client.next(), {
        func: "error",
        error_code: 6,
        message: "invalid field: page",
        type: "list",
        name: "todos",
        id: "zz",
      });
    });
  });
});
