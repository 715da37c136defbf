/**
 * `socksync/vue` at unit level: components mounted with Vue's own custom
 * renderer into a DOM-less node tree (tests/helpers/tiny_dom.ts), reading
 * the demo hub through a real client over a real socket: values, pages,
 * items and calls follow the server, an optimistic row shows before the
 * reply and goes on a refusal, and every subscription ends on unmount. Runs
 * under Node, Deno and Bun.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type Component, createRenderer, defineComponent, h, ref } from "vue";
import { Client } from "../src/client/client.ts";
import {
  createHooks,
  type ListHandle,
  socksync,
  useCall,
  useItem,
  useList,
  useVar,
} from "../src/ui/vue/mod.ts";
import type { DemoApi } from "../demo/app.ts";
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
if (skip) console.log(`bindings_vue_test: skipped: ${skip}`);

const doc = createDocument();
const renderer = createRenderer<TinyNode, TinyNode>({
  insert: (child, parent, anchor) => void parent.insertBefore(child, anchor ?? null),
  remove: (child) => void child.parentNode?.removeChild(child),
  createElement: (tag) => doc.createElement(tag),
  createText: (text) => doc.createTextNode(text),
  createComment: (text) => doc.createComment(text),
  setText: (node, text) => void (node.nodeValue = text),
  setElementText: (node, text) => void (node.textContent = text),
  parentNode: (node) => node.parentNode,
  nextSibling: (node) => node.nextSibling,
  patchProp: (el, key, _prev, next) => {
    if (key.startsWith("on")) return;
    if (next === null || next === undefined || next === false) el.removeAttribute(key);
    else el.setAttribute(key, String(next));
  },
});

/** Mounts `root` with the client installed by the plugin (none without `client`). */
function mount(client: CountingClient | undefined, root: Component) {
  const container = doc.createElement("div");
  const app = renderer.createApp(root);
  if (client) app.use(socksync(client));
  app.mount(container);
  return { container, unmount: () => app.unmount() };
}

const seen = (container: TinyNode, testid: string) => container.texts(testid);
const until = (what: string, check: () => boolean) => waitUntil(check, { what });

test("vue: typed useVar, useList and useCall follow the server; unmount ends them", {
  skip,
}, async () => {
  await withDemoClient(async (client) => {
    // Typed from the API, reading the client the plugin installed.
    const { useCall, useList, useVar } = createHooks<DemoApi>();
    let todos: ListHandle<Todo> | undefined;
    let add: ((args: { text: string }) => Promise<{ id: string }>) | undefined;
    const App = defineComponent(() => {
      const counter = useVar("counter");
      const list = useList("todos", { pageSize: 3 });
      todos = list;
      add = useCall("add_todo");
      return () =>
        h("div", [
          h("output", { "data-testid": "counter" }, String(counter.value ?? "–")),
          h("span", { "data-testid": "total" }, String(list.total)),
          h("span", { "data-testid": "page" }, `${list.page + 1}/${list.pageCount}`),
          h(
            "ul",
            list.items.map((item) =>
              h("li", { key: item.id, "data-testid": "todo" }, item.value.text)
            ),
          ),
        ]);
    });
    const { container, unmount } = mount(client, App);
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
    assert.equal(client.open, 0, "subscriptions left open after unmount");
  });
});

test("vue: a reactive page size moves the view", { skip }, async () => {
  await withDemoClient(async (client) => {
    for (const text of ["a", "b", "c"]) await client.call("add_todo", { text });
    const size = ref(1);
    const App = defineComponent(() => {
      const list = useList<Todo>("todos", { pageSize: size });
      return () => h("p", { "data-testid": "texts" }, list.items.map((i) => i.value.text).join());
    });
    const { container, unmount } = mount(client, App);
    try {
      await until("one per page", () => seen(container, "texts")[0] === "c");
      size.value = 3;
      await until("three per page", () => seen(container, "texts")[0] === "c,b,a");
      assert.equal(client.open, 2, "one view and its subscription");
    } finally {
      unmount();
    }
    assert.equal(client.open, 0);
  });
});

test(
  "vue: untyped useItem, useVar and useCall (hand-written types) follow the server",
  { skip },
  async () => {
    await withDemoClient(async (client) => {
      const { id } = await client.call("add_todo", { text: "milk" }) as { id: string };
      const Item = defineComponent(() => {
        const todo = useItem<Todo>("todos", id);
        const counter = useVar<number>("counter");
        toggle = useCall<{ id: string }, boolean>("toggle_todo");
        return () => [
          h(
            "p",
            { "data-testid": "item" },
            !todo.ready ? "…" : todo.exists ? `${todo.value!.text}:${todo.value!.done}` : "gone",
          ),
          h("output", { "data-testid": "counter" }, String(counter.value ?? "–")),
        ];
      });
      let toggle: ((args?: { id: string }) => Promise<boolean>) | undefined;
      const { container, unmount } = mount(client, Item);
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
      assert.equal(client.open, 0, "the item mirror left open after unmount");
    });
  },
);

test("vue: an optimistic row renders before the reply and goes on a refusal", {
  skip,
}, async () => {
  await withDemoClient(async (client) => {
    const renders: string[] = [];
    const App = defineComponent(() => {
      const list = useList<Todo>("todos", { pageSize: 5 });
      return () => {
        const texts = list.items.map((item) => item.value.text).join();
        if (list.ready) renders.push(texts);
        return h("p", { "data-testid": "texts" }, texts);
      };
    });
    const { container, unmount } = mount(client, App);
    try {
      await until("the first page", () => renders.length > 0);
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
  });
});

test(
  "vue: a reactive id closes the old item mirror and follows the new one",
  { skip },
  async () => {
    await withDemoClient(async (client) => {
      const first = await client.call("add_todo", { text: "first" }) as { id: string };
      const second = await client.call("add_todo", { text: "second" }) as { id: string };
      const id = ref(first.id);
      const Item = defineComponent(() => {
        const todo = useItem<Todo>("todos", id);
        return () => h("p", { "data-testid": "item" }, todo.value?.text ?? "…");
      });
      const { container, unmount } = mount(client, Item);
      try {
        await until("the first item", () => seen(container, "item")[0] === "first");
        id.value = second.id;
        await until("the second item", () => seen(container, "item")[0] === "second");
        assert.equal(client.open, 2, "one item mirror and its subscription");
      } finally {
        unmount();
      }
      assert.equal(client.open, 0);
    });
  },
);

test("vue: createHooks(client) reads the client it was given, with no plugin", {
  skip,
}, async () => {
  await withDemoClient(async ({ client: untyped }) => {
    // The client as `connect<DemoApi>` would have made it: the hooks take its types.
    const client = untyped as unknown as Client<DemoApi>;
    const { useCall, useItem, useVar } = createHooks(client);
    const { id } = await client.call("add_todo", { text: "milk" });
    let toggle: ((args: { id: string }) => Promise<boolean>) | undefined;
    const App = defineComponent(() => {
      const counter = useVar("counter");
      const todo = useItem("todos", id);
      toggle = useCall("toggle_todo");
      return () =>
        h("p", { "data-testid": "state" }, `${counter.value}:${todo.value?.done ?? "…"}`);
    });
    const { container, unmount } = mount(undefined, App);
    try {
      await until("counter and item", () => seen(container, "state")[0] === "0:false");
      assert.equal(await toggle!({ id }), true);
      await client.call("increment", { by: 2 });
      await until("both changed", () => seen(container, "state")[0] === "2:true");
    } finally {
      unmount();
    }
    assert.equal(typeof typeMistakes, "function");
  });
});

// Never called: these lines are only type-checked (`deno check` over tests/
// fails if a `@ts-expect-error` line compiles).
function typeMistakes(client: Client<DemoApi>) {
  const { useCall, useItem, useList, useVar } = createHooks(client);
  const count: number | undefined = useVar("counter").value;
  const text: string | undefined = useList("todos", { pageSize: 10 }).items[0]?.value.text;
  const room = ref("general");
  const author: string | undefined = useList("messages", { params: () => ({ room: room.value }) })
    .items[0]?.value.author;
  const done: boolean | undefined = useItem("todos", () => "a").value?.done;
  const added: Promise<{ id: string }> = useCall("add_todo")({ text: "milk" });
  const incremented: Promise<number> = useCall("increment")();
  // @ts-expect-error no var by this name
  useVar("countr");
  // @ts-expect-error the counter is a number
  const wrongVar: string | undefined = useVar("counter").value;
  // @ts-expect-error typed composables take no hand-written types
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
