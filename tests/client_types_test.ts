/**
 * A client typed from the server's declarations (`ApiOf`): `deno check`
 * (run over tests/ by `npm test`) fails if a `@ts-expect-error` line below
 * compiles. The test itself runs the typed client against the hub.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { type ApiOf, type Client, connect, Hub } from "../mod.ts";
import type { CallName } from "../src/client/types.ts";
import { MemoryListSource } from "../stores/memory/mod.ts";
import { serveHub } from "./helpers/serve_hub.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";

const Todo = v.object({ text: v.string(), done: v.boolean() });

/** The server's declarations, as an application would write them. */
function declare(hub: Hub) {
  const counter = hub.var("counter", { schema: v.number(), initial: 0 });
  const todos = hub.list("todos", { source: new MemoryListSource(), schema: Todo });
  const messages = hub.list("messages", {
    source: () => new MemoryListSource<string>(),
    schema: v.string(),
    params: v.object({ room: v.string() }),
  });
  const addTodo = hub.function("add_todo", {
    args: v.object({ text: v.string() }),
    handler: async ({ text }) => ({ id: (await todos.insert(0, { text, done: false })).id }),
  });
  const increment = hub.function("increment", {
    args: v.optional(v.object({ by: v.number() })),
    handler: (args) => counter.update((n) => n + (args?.by ?? 1)),
  });
  return { counter, todos, messages, addTodo, increment };
}

/** What the browser imports with `import type`. */
type Api = ApiOf<ReturnType<typeof declare>>;

// Never called: these lines are only type-checked.
function mistakes(client: Client<Api>) {
  const count: number | undefined = client.var("counter").getSnapshot().value;
  const text: string | undefined = client.list("todos").getSnapshot().items[0]?.value.text;
  const room: string | undefined = client.list("messages", { params: { room: "general" } })
    .getSnapshot().items[0]?.value;
  const done: boolean | undefined = client.item("todos", "a").getSnapshot().value?.done;
  const added: Promise<{ id: string }> = client.call("add_todo", { text: "milk" });
  const incremented: Promise<number> = client.call("increment");
  // @ts-expect-error no var by this name
  client.var("countr");
  // @ts-expect-error the counter is a number
  const wrongVar: string | undefined = client.var("counter").getSnapshot().value;
  // @ts-expect-error no list by this name
  client.list("todo");
  // @ts-expect-error a todo's text is a string
  const wrongItem: number | undefined = client.list("todos").getSnapshot().items[0]?.value.text;
  // @ts-expect-error messages need their params
  client.list("messages");
  // @ts-expect-error the room is a string
  client.list("messages", { params: { room: 1 } });
  // @ts-expect-error todos take no params
  client.list("todos", { params: { room: "general" } });
  // @ts-expect-error an item of a list by this name
  client.item("todo", "a");
  // @ts-expect-error no function by this name
  client.call("add_todos", { text: "milk" });
  // @ts-expect-error add_todo needs its args
  client.call("add_todo");
  // @ts-expect-error the api key is not the wire name: the error names "add_todo"
  client.call("addTodo", { text: "milk" });
  // The parameter type of that error: its message, naming the wire name.
  const hint: CallName<Api, "addTodo"> = 'addTodo is the api key: call "add_todo"';
  // @ts-expect-error the text is a string
  client.call("add_todo", { text: 1 });
  // @ts-expect-error add_todo resolves an id, not a number
  const wrongResult: Promise<number> = client.call("add_todo", { text: "milk" });
  // @ts-expect-error a typed client takes no hand-written types
  client.var<string>("counter");
  // @ts-expect-error a client that provides nothing has a peer without the providing side's context
  void client.peer?.context;
  // @ts-expect-error a client without a hub applies no message rate: its peer may have none
  const rate: number | undefined = client.peer?.limits.messageRate.valueOf();
  const cap: number | undefined = client.peer?.limits.maxFrameBytes;
  client.call("add_todo", { text: "milk" }, {
    optimistic: (change) => {
      change.insert("todos", { value: { text: "milk", done: false } });
      change.set("counter", (n) => (n ?? 0) + 1);
      // @ts-expect-error an optimistic todo must be a todo
      change.insert("todos", { value: { text: 1 } });
      // @ts-expect-error the counter is a number
      change.set("counter", "one");
      // @ts-expect-error no list by this name
      change.remove("todo", "a");
    },
  });
  return [
    count,
    text,
    room,
    done,
    added,
    incremented,
    wrongVar,
    wrongItem,
    wrongResult,
    hint,
    rate,
    cap,
  ];
}

// Never called: an untyped client takes any name and hand-written types, as before.
function untyped(client: Client) {
  const counter = client.var<number>("counter");
  const n: number | undefined = counter.value;
  const todos = client.list<{ text: string }>("todos", { pageSize: 10 });
  const result: Promise<string> = client.call<string>("anything", { any: "args" });
  return [n, todos, result, client.item<{ text: string }>("todos", "a")];
}

test("a client typed from the server's declarations works as an untyped one", async () => {
  const hub = new Hub();
  declare(hub);
  const { server, url } = await serveHub(hub);
  const client = connect<Api>(url, { WebSocket: await webSocketClass() });
  try {
    assert.equal(typeof mistakes, "function");
    assert.equal(typeof untyped, "function");
    const { id } = await client.call("add_todo", { text: "milk" });
    assert.equal(typeof id, "string");
    assert.equal(await client.call("increment", { by: 2 }), 2);
  } finally {
    client.close();
    await server.close();
    await hub.close();
  }
});
