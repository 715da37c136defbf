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
import { Client } from "../src/client.ts";
import {
  type ListHook,
  SockSyncProvider,
  useCall,
  useItem,
  useList,
  useVar,
} from "../src/react.ts";
import { type CountingClient, withDemoClient } from "./helpers/binding_fixture.ts";
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

/** Renders `node` under a provider of `client`; returns the root element. */
function mount(client: CountingClient, node: ReactNode) {
  const container = createDocument().createElement("div");
  // deno-lint-ignore no-explicit-any
  const root = createRoot(container as any);
  root.render(h(SockSyncProvider, { client }, node));
  return { container, unmount: () => root.unmount() };
}

const seen = (container: TinyNode, testid: string) => container.texts(testid);
const until = (what: string, check: () => boolean) => waitUntil(check, { what });

test("react: useVar, useList and useCall follow the server; unmount ends them", {
  skip,
}, async () => {
  await withWindow(() =>
    withDemoClient(async (client) => {
      let todos: ListHook<Todo> | undefined;
      let add: ((args?: { text: string }) => Promise<unknown>) | undefined;
      function App() {
        const counter = useVar<number>("counter");
        todos = useList<Todo>("todos", { pageSize: 3 });
        add = useCall<{ text: string }>("add_todo");
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

test("react: useItem follows one item until it is deleted", { skip }, async () => {
  await withWindow(() =>
    withDemoClient(async (client) => {
      const { id } = await client.call("add_todo", { text: "milk" }) as { id: string };
      function Item() {
        const todo = useItem<Todo>("todos", id);
        const shown = !todo.ready
          ? "…"
          : todo.exists
          ? `${todo.value!.text}:${todo.value!.done}`
          : "gone";
        return h("p", { "data-testid": "item" }, shown);
      }
      const { container, unmount } = mount(client, h(Item));
      try {
        await until("the item", () => seen(container, "item")[0] === "milk:false");
        await client.call("toggle_todo", { id });
        await until("the item done", () => seen(container, "item")[0] === "milk:true");
        await client.call("delete_todo", { id });
        await until("the item gone", () => seen(container, "item")[0] === "gone");
      } finally {
        unmount();
      }
      await until("the item mirror closed on unmount", () => client.open === 0);
    })
  );
});

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
