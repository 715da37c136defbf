/**
 * `socksync/vue` at unit level: components mounted with Vue's own custom
 * renderer into a DOM-less node tree (tests/helpers/tiny_dom.ts), reading
 * the demo hub through a real client over a real socket. The cases every
 * binding passes are in tests/helpers/binding_cases.ts; here, what only Vue
 * has (reactive page sizes and ids) and the composables' types. Runs under
 * Node, Deno and Bun.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRenderer, defineComponent, h, ref, type VNode } from "vue";
import type { Client } from "../src/client/client.ts";
import {
  createHooks,
  socksync,
  useCall,
  useConnection,
  useItem,
  useList,
  useVar,
} from "../src/ui/vue/mod.ts";
import type { DemoApi } from "../demo/app.ts";
import type { CountingClient } from "./helpers/binding_fixture.ts";
import {
  type Binding,
  bindingCases,
  ended,
  seen,
  type Setup,
  type Todo,
  until,
  type View,
  withClient,
} from "./helpers/binding_cases.ts";
import { createDocument, type TinyNode } from "./helpers/tiny_dom.ts";

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

function vnode(view: View): VNode {
  const props = { key: view.key, "data-testid": view.testid };
  return h(view.tag, props, view.children ? view.children.map(vnode) : view.text);
}

/** Mounts `setup` with the client installed by the plugin (none without `client`). */
function mount(client: CountingClient | undefined, setup: Setup) {
  const container = doc.createElement("div");
  const app = renderer.createApp(defineComponent(() => {
    const render = setup();
    return () => vnode(render());
  }));
  if (client) app.use(socksync(client));
  app.mount(container);
  return { container, unmount: () => app.unmount() };
}

const vue: Binding = {
  name: "vue",
  installer: "plugin",
  hooks: { useVar, useList, useItem, useCall, useConnection },
  typed: (client) => client ? createHooks(client) : createHooks<DemoApi>(),
  mount,
  endsWithinUnmount: true,
};

bindingCases(vue);

test("vue: a reactive page size moves the view", async () => {
  await withClient(vue, async (client) => {
    for (const text of ["a", "b", "c"]) await client.call("add_todo", { text });
    const size = ref(1);
    const { container, unmount } = mount(client, () => {
      const list = useList<Todo>("todos", { pageSize: size });
      return () => ({
        tag: "p",
        testid: "texts",
        text: list.items.map((i) => i.value.text).join(),
      });
    });
    try {
      await until("one per page", () => seen(container, "texts")[0] === "c");
      size.value = 3;
      await until("three per page", () => seen(container, "texts")[0] === "c,b,a");
      assert.equal(client.open, 2, "one view and its subscription");
    } finally {
      unmount();
    }
    await ended(vue, client, "subscriptions left open after unmount");
  });
});

test("vue: a reactive id closes the old item mirror and follows the new one", async () => {
  await withClient(vue, async (client) => {
    const first = await client.call("add_todo", { text: "first" }) as { id: string };
    const second = await client.call("add_todo", { text: "second" }) as { id: string };
    const id = ref(first.id);
    const { container, unmount } = mount(client, () => {
      const todo = useItem<Todo>("todos", id);
      return () => ({ tag: "p", testid: "item", text: todo.value?.text ?? "…" });
    });
    try {
      await until("the first item", () => seen(container, "item")[0] === "first");
      id.value = second.id;
      await until("the second item", () => seen(container, "item")[0] === "second");
      assert.equal(client.open, 2, "one item mirror and its subscription");
    } finally {
      unmount();
    }
    await ended(vue, client, "subscriptions left open after unmount");
  });
});

// Read only by `deno check`.
void typeMistakes;

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
