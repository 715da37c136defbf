/**
 * `socksync/react` at unit level: components rendered with React DOM into a
 * DOM-less node tree (tests/helpers/tiny_dom.ts), reading the demo hub
 * through a real client over a real socket: values, pages, items and calls
 * follow the server, an optimistic row shows before the reply and goes on a
 * refusal, and every subscription ends on unmount. Runs under Node, Deno and
 * Bun.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { createElement as h, type ReactNode } from "react";
import { createRoot } from "react-dom/client";
import { Client } from "../src/client/client.ts";
import {
  createHooks,
  type ListHook,
  SockSyncProvider,
  useCall,
  useItem,
  useList,
  useVar,
} from "../src/ui/react/mod.ts";
import { type CountingClient, withDemoClient } from "./helpers/binding_fixture.ts";
import type { DemoApi } from "../demo/app.ts";
import { createDocument, type TinyNode } from "./helpers/tiny_dom.ts";
import { waitUntil } from "./helpers/wait.ts";

interface Todo {
  text: string;
  done: boolean;
}

const skip = "item" in Client.prototype
  ? false
  : "the client has no snapshot mirrors yet (client.item, getSnapshot): nothing to bind";
if (skip) console.log(`bindings_react_test: skipped: ${skip}`);

/**
 * React DOM reads `window.event`; a DOM-less runtime has no window. The stub
 * goes again at the end (other test files in the same process may take a
 * global `window` for a browser), once React's scheduler, which runs its
 * work in `setImmediate` callbacks, has nothing left to run.
 */
async function withWindow<T>(fn: () => Promise<T>): Promise<T> {
  const g = globalThis as { window?: unknown };
  const had = "window" in g;
  if (!had) g.window = { event: undefined };
  try {
    return await fn();
  } finally {
    for (let turn = 0; turn < 10; turn++) await new Promise((done) => setImmediate(done));
    if (!had) delete g.window;
  }
}

/** Renders `node` under a provider of `client` (none without it); returns the root element. */
function mount(client: CountingClient | undefined, node: ReactNode) {
  const container = createDocument().createElement("div");
  // deno-lint-ignore no-explicit-any
  const root = createRoot(container as any);
  root.render(client ? h(SockSyncProvider, { client }, node) : node);
  return { container, unmount: () => root.unmount() };
}

const seen = (container: TinyNode, testid: string) => container.texts(testid);
const until = (what: string, check: () => boolean) => waitUntil(check, { what });

test("react: typed useVar, useList and useCall follow the server; unmount ends them", {
  skip,
}, async () => {
  await withWindow(() =>
    withDemoClient(async (client) => {
      // Typed from the API, reading the provider's client.
      const { useCall, useList, useVar } = createHooks<DemoApi>();
      let todos: ListHook<Todo> | undefined;
      let add: ((args: { text: string }) => Promise<{ id: string }>) | undefined;
      function App() {
        const counter = useVar("counter");
        todos = useList("todos", { pageSize: 3 });
        add = useCall("add_todo");
        return h("div", null, [
          h("output", { key: "c", "data-testid": "counter" }, String(counter.value ?? "–")),
          h("span", { key: "t", "data-testid": "total" }, String(todos.total)),
          h("span", { key: "p", "data-testid": "page" }, `${todos.page + 1}/${todos.pageCount}`),
          h(
            "ul",
            { key: "l" },
            todos.items.map((item) =>
              h("li", { key: item.id, "data-testid": "todo" }, item.value.text)
            ),
          ),
        ]);
      }
      const { container, unmount } = mount(client, h(App));
      try {
        await until("counter 0", () => seen(container, "counter")[0] === "0");
        await client.call("increment");
        await until("counter 1", () => seen(container, "counter")[0] === "1");

        for (const text of ["a", "b", "c", "d"]) await add!({ text });
        await until("newest three on page 1", () => seen(container, "todo").join() === "d,c,b");
        assert.deepEqual(seen(container, "total"), ["4"]);
        assert.deepEqual(seen(container, "page"), ["1/2"]);
        todos!.setPage(1);
        await until("page 2 of 2", () => seen(container, "page")[0] === "2/2");
        await until("page 2 holds a", () => seen(container, "todo").join() === "a");
        assert.ok(client.open > 0, "nothing subscribed while mounted");
      } finally {
        unmount();
      }
      await until("every subscription ended on unmount", () => client.open === 0);
    })
  );
});

test(
  "react: untyped useItem, useVar and useCall (hand-written types) follow the server",
  { skip },
  async () => {
    await withWindow(() =>
      withDemoClient(async (client) => {
        const { id } = await client.call("add_todo", { text: "milk" }) as { id: string };
        function Item() {
          const todo = useItem<Todo>("todos", id);
          const counter = useVar<number>("counter");
          toggle = useCall<{ id: string }, boolean>("toggle_todo");
          const shown = !todo.ready
            ? "…"
            : todo.exists
            ? `${todo.value!.text}:${todo.value!.done}`
            : "gone";
          return h("div", null, [
            h("p", { key: "i", "data-testid": "item" }, shown),
            h("output", { key: "c", "data-testid": "counter" }, String(counter.value ?? "–")),
          ]);
        }
        let toggle: ((args?: { id: string }) => Promise<boolean>) | undefined;
        const { container, unmount } = mount(client, h(Item));
        try {
          await until("the item", () => seen(container, "item")[0] === "milk:false");
          await until("the counter", () => seen(container, "counter")[0] === "0");
          assert.equal(await toggle!({ id }), true);
          await until("the item done", () => seen(container, "item")[0] === "milk:true");
          await client.call("delete_todo", { id });
          await until("the item gone", () => seen(container, "item")[0] === "gone");
        } finally {
          unmount();
        }
        await until("the item mirror closed on unmount", () => client.open === 0);
      })
    );
  },
);

test("react: an optimistic row renders before the reply and goes on a refusal", {
  skip,
}, async () => {
  await withWindow(() =>
    withDemoClient(async (client) => {
      const renders: string[] = [];
      function App() {
        const todos = useList<Todo>("todos", { pageSize: 5 });
        const texts = todos.items.map((item) => item.value.text).join();
        if (todos.ready) renders.push(texts);
        return h("p", { "data-testid": "texts" }, texts);
      }
      const { container, unmount } = mount(client, h(App));
      try {
        await until("the first page", () => renders.length > 0);
        // delete_todo refuses an unknown id: the optimistic row must go again.
        const refused = client.call("delete_todo", { id: "nope" }, {
          optimistic: (change: { insert(list: string, item: { value: Todo }): string }) =>
            void change.insert("todos", { value: { text: "ghost", done: false } }),
        });
        await assert.rejects(refused);
        await until("the ghost gone", () => seen(container, "texts")[0] === "");
        assert.ok(
          renders.includes("ghost"),
          `the optimistic row never rendered: ${JSON.stringify(renders)}`,
        );
      } finally {
        unmount();
      }
    })
  );
});

test("react: createHooks(client) reads the client it was given, with no provider", {
  skip,
}, async () => {
  await withWindow(() =>
    withDemoClient(async ({ client: untyped }) => {
      // The client as `connect<DemoApi>` would have made it: the hooks take its types.
      const client = untyped as unknown as Client<DemoApi>;
      const { useCall, useItem, useVar } = createHooks(client);
      const { id } = await client.call("add_todo", { text: "milk" });
      let toggle: ((args: { id: string }) => Promise<boolean>) | undefined;
      function App() {
        const counter = useVar("counter");
        const todo = useItem("todos", id);
        toggle = useCall("toggle_todo");
        return h("p", { "data-testid": "state" }, `${counter.value}:${todo.value?.done ?? "…"}`);
      }
      const { container, unmount } = mount(undefined, h(App));
      try {
        await until("counter and item", () => seen(container, "state")[0] === "0:false");
        assert.equal(await toggle!({ id }), true);
        await client.call("increment", { by: 2 });
        await until("both changed", () => seen(container, "state")[0] === "2:true");
      } finally {
        unmount();
      }
      assert.equal(typeof typeMistakes, "function");
    })
  );
});

// Never called: these lines are only type-checked (`deno check` over tests/
// fails if a `@ts-expect-error` line compiles).
function typeMistakes(client: Client<DemoApi>) {
  const { useCall, useItem, useList, useVar } = createHooks(client);
  const count: number | undefined = useVar("counter").value;
  const text: string | undefined = useList("todos", { pageSize: 10 }).items[0]?.value.text;
  const author: string | undefined = useList("messages", { params: { room: "general" } })
    .items[0]?.value.author;
  const done: boolean | undefined = useItem("todos", "a").value?.done;
  const added: Promise<{ id: string }> = useCall("add_todo")({ text: "milk" });
  const incremented: Promise<number> = useCall("increment")();
  // @ts-expect-error no var by this name
  useVar("countr");
  // @ts-expect-error the counter is a number
  const wrongVar: string | undefined = useVar("counter").value;
  // @ts-expect-error typed hooks take no hand-written types
  useVar<string>("counter");
  // @ts-expect-error no list by this name
  useList("todo");
  // @ts-expect-error a todo's text is a string
  const wrongItem: number | undefined = useList("todos").items[0]?.value.text;
  // @ts-expect-error messages need their params
  useList("messages");
  // @ts-expect-error messages need their params
  useList("messages", { pageSize: 10 });
  // @ts-expect-error the room is a string
  useList("messages", { params: { room: 1 } });
  // @ts-expect-error todos take no params
  useList("todos", { params: { room: "general" } });
  // @ts-expect-error no list by this name
  useItem("todo", "a");
  // @ts-expect-error a todo has no title
  const wrongField: unknown = useItem("todos", "a").value?.title;
  // @ts-expect-error no function by this name
  useCall("add_todos");
  const add = useCall("add_todo");
  // @ts-expect-error add_todo needs its args
  add();
  // @ts-expect-error the text is a string
  add({ text: 1 });
  // @ts-expect-error add_todo resolves an id, not a number
  const wrongResult: Promise<number> = add({ text: "milk" });
  void add({ text: "milk" }, {
    optimistic: (change) => {
      change.insert("todos", { value: { text: "milk", done: false } });
      // @ts-expect-error an optimistic todo must be a todo
      change.insert("todos", { value: { text: 1 } });
    },
  });
  // Without a client, the API is named instead.
  // @ts-expect-error no var by this name
  createHooks<DemoApi>().useVar("countr");
  return [
    count,
    text,
    author,
    done,
    added,
    incremented,
    wrongVar,
    wrongItem,
    wrongField,
    wrongResult,
  ];
}
