/**
 * A list's and a var's value types come from their schema: `deno check`
 * (run over tests/ by `npm test`) fails if a `@ts-expect-error` line below
 * compiles. The test itself only checks the values at run time.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { Hub, type LocalList, type LocalVar } from "../mod.ts";
import { MemoryListSource, memoryStore } from "../stores/memory/mod.ts";

const Todo = v.object({ text: v.string(), done: v.optional(v.boolean(), false) });
type Todo = v.InferOutput<typeof Todo>;

function declare(hub: Hub) {
  const store = memoryStore();
  const todos = hub.list("todos", { source: store.list("todos"), schema: Todo });
  const same: LocalList<Todo> = todos;
  const typed = hub.list("typed", { source: new MemoryListSource<Todo>(), schema: Todo });
  const untyped = hub.list("untyped", { source: new MemoryListSource(), schema: v.string() });
  const counter = hub.var("counter", { schema: v.number(), initial: 0 });
  const sameVar: LocalVar<number> = counter;
  return { todos: same, typed, untyped, counter: sameVar };
}

// Never called: these lines are only type-checked.
function mistakes(hub: Hub) {
  const { typed, untyped } = declare(hub);
  const store = memoryStore();
  const todos = hub.list("todos", { source: store.list("todos"), schema: Todo });
  const counter = hub.var("counter", { schema: v.number(), initial: 0 });
  // @ts-expect-error an item must fit the list's schema
  todos.insert(0, { text: 1 });
  // @ts-expect-error an item must fit the list's schema
  typed.insert(0, "milk");
  // @ts-expect-error the list of strings takes strings
  untyped.insert(0, 42);
  // @ts-expect-error a var's value must fit its schema
  counter.set("one");
  // @ts-expect-error the source must hold what the schema describes
  hub.list("numbers", { source: new MemoryListSource<number>(), schema: v.string() });
  // @ts-expect-error the initial value must fit the schema
  hub.var("name", { schema: v.string(), initial: 0 });
  // @ts-expect-error a string list is no list of todos
  const wrong: LocalList<Todo> = untyped;
  return wrong;
}

test("lists and vars declared with a schema take values of its type", async () => {
  const hub = new Hub();
  try {
    const { todos, counter } = declare(hub);
    assert.equal(typeof mistakes, "function");
    await todos.insert(0, { text: "milk", done: false });
    await counter.set(2);
    assert.equal(await counter.get(), 2);
  } finally {
    await hub.close();
  }
});
