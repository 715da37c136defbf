import { Hono } from "hono";
import * as v from "valibot";
import { type ApiOf, Hub } from "socksync";
import { serve } from "socksync/hono";
import { memoryStore } from "socksync/stores/memory";

const store = memoryStore();
const hub = new Hub({ vars: store.vars });
const counter = hub.var("counter", { schema: v.number(), initial: 0 });
const Todo = v.object({ text: v.string(), done: v.boolean() });
// A LocalList of { text, done }: its item type comes from the schema.
const todos = hub.list("todos", { source: store.list("todos"), schema: Todo, maxPageSize: 50 });
const increment = hub.function("increment", {
  args: v.object({ by: v.optional(v.number(), 1) }),
  handler: ({ by }) => counter.update((n) => n + by),
});
const addTodo = hub.function("add_todo", {
  args: v.object({ text: v.string() }),
  handler: async ({ text }) => ({ id: (await todos.insert(0, { text, done: false })).id }),
});
// A typed client imports this type (`import type { Api } from "./server.ts"`), not the code.
export type Api = ApiOf<typeof api>;
const api = { counter, todos, increment, addTodo };
await todos.insert(0, { text: "try SockSync", done: false });

const app = new Hono().get("/", (c) => c.text("hello"));
// Every connection may call every function of the hub (pass onConnect to choose).
const server = await serve({ hub, app, port: 8080, hostname: "127.0.0.1" });
console.log(`listening on ${server.url}`);
// On shutdown: await server.close() (sockets get 1001), then hub.close() and store.close().
