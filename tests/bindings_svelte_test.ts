/**
 * `socksync/svelte` at unit level: components compiled with the Svelte
 * compiler and mounted with Svelte's own `mount`, through a custom renderer
 * into a DOM-less node tree (tests/helpers/svelte_renderer.ts, over
 * tiny_dom.ts), reading the demo hub through a real client over a real
 * socket: values, pages, items and calls follow the server in runes mode and
 * as stores in a legacy component, the connection state goes open,
 * reconnecting, open and closed in both (tests/helpers/binding_cases.ts), an optimistic row
 * shows before the reply and goes on a refusal, a handle remade in a
 * `$derived` closes the old mirror, every subscription ends when the
 * component is destroyed, and a server render shows what the client holds.
 * Runs under Node, Deno and Bun.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Client } from "../src/client/client.ts";
import { createHooks } from "../src/ui/svelte/mod.ts";
import type { DemoApi } from "../demo/app.ts";
import { type CountingClient, withDemoClient } from "./helpers/binding_fixture.ts";
import { connectionText, followsConnection, SLOW_RECONNECT } from "./helpers/binding_cases.ts";
import { buildSvelte } from "./helpers/svelte_build.ts";
import type { TinyNode } from "./helpers/tiny_dom.ts";
import { waitUntil } from "./helpers/wait.ts";

const skip = "item" in Client.prototype
  ? false
  : "the client has no snapshot mirrors yet (client.item, getSnapshot): nothing to bind";
if (skip) console.log(`bindings_svelte_test: skipped: ${skip}`);

interface Todo {
  text: string;
  done: boolean;
}

/** What a test component hands back through its `expose` prop. */
// deno-lint-ignore no-explicit-any
type Exposed = Record<string, any>;

// The components, in Svelte's own syntax; each gets `client` and `expose` props.
const COMPONENTS: Record<string, string> = {
  // Puts the client in context for Child, which makes its functions untyped
  // of a client (createHooks<Api>()): they read the context's.
  Root: `<script>
    import { provideClient } from "socksync/svelte";
    import Child from "./Child.svelte";
    let { client, expose } = $props();
    provideClient(client);
  </script>
  <Child {expose} />`,
  Child: `<script lang="ts">
    import { createHooks } from "socksync/svelte";
    let { expose } = $props();
    const { useCall, useList, useVar } = createHooks();
    const counter = useVar("counter");
    const todos = useList("todos", { pageSize: 3 });
    expose({ todos, add: useCall("add_todo") });
  </script>
  <output data-testid="counter">{counter.value ?? "–"}</output>
  <span data-testid="total">{todos.total}</span>
  <span data-testid="page">{todos.page + 1}/{todos.pageCount}</span>
  <ul>{#each todos.items as item (item.id)}<li data-testid="todo">{item.value.text}</li>{/each}</ul>`,
  // A legacy (non-runes) component reading the handles as stores.
  Legacy: `<script>
    import { createHooks } from "socksync/svelte";
    export let client;
    export let expose;
    const { useList, useVar } = createHooks(client);
    const counter = useVar("counter");
    const todos = useList("todos", { pageSize: 2 });
    expose({ todos });
  </script>
  <output data-testid="counter">{$counter.ready ? $counter.value : "…"}</output>
  <span data-testid="total">{$todos.total}</span>
  <p data-testid="texts">{$todos.items.map((item) => item.value.text).join()}</p>`,
  // The untyped functions, from the client in context.
  Untyped: `<script>
    import { provideClient, useCall, useConnection, useItem, useVar } from "socksync/svelte";
    let { client, id, expose } = $props();
    provideClient(client);
    const todo = useItem("todos", id);
    const counter = useVar("counter");
    const connection = useConnection();
    expose({ toggle: useCall("toggle_todo") });
  </script>
  <p data-testid="item">{!todo.ready ? "…" : todo.exists ? todo.value.text + ":" + todo.value.done : "gone"}</p>
  <output data-testid="counter">{counter.value ?? "–"}</output>
  <span data-testid="connection">{connection.status}</span>`,
  // The connection state in runes mode and as a store, shown as `text` makes it.
  Connection: `<script>
    import { createHooks } from "socksync/svelte";
    let { client, text } = $props();
    const connection = createHooks(client).useConnection();
  </script>
  <p data-testid="connection">{text(connection)}</p>`,
  LegacyConnection: `<script>
    import { provideClient, useConnection } from "socksync/svelte";
    export let client;
    export let text;
    provideClient(client);
    const connection = useConnection();
  </script>
  <p data-testid="connection">{text($connection)}</p>`,
  // Every render of the list's texts, once ready.
  Renders: `<script>
    import { createHooks } from "socksync/svelte";
    let { client, renders } = $props();
    const todos = createHooks(client).useList("todos", { pageSize: 5 });
    const note = (texts) => (todos.ready && renders.push(texts), texts);
  </script>
  <p data-testid="texts">{note(todos.items.map((item) => item.value.text).join())}</p>`,
  // A list that answers and one that fails: their status tells them apart.
  Status: `<script>
    import { createHooks } from "socksync/svelte";
    let { client, statuses } = $props();
    const { useList } = createHooks(client);
    const empty = useList("todos", { pageSize: 5 });
    const failed = useList("todoz", { pageSize: 5 });
    const note = (text) => (statuses.push(text), text);
  </script>
  <p data-testid="status">{note(empty.status + ":" + empty.total + "/" + failed.status + ":" + failed.total + ":" + (failed.error?.code ?? "-"))}</p>`,
  // Handles remade in $derived when their arguments change.
  Derived: `<script>
    import { createHooks } from "socksync/svelte";
    let { client, id, expose } = $props();
    const { useItem, useList } = createHooks(client);
    let size = $state(1);
    let which = $state(id);
    const todos = $derived(useList("todos", { pageSize: size }));
    const todo = $derived(useItem("todos", which));
    expose({ setSize: (n) => (size = n), setId: (next) => (which = next) });
  </script>
  <p data-testid="texts">{todos.items.map((item) => item.value.text).join()}</p>
  <p data-testid="item">{todo.value?.text ?? "…"}</p>`,
};

interface Bundle {
  mount(component: unknown, options: Record<string, unknown>): Record<string, unknown>;
  unmount(component: Record<string, unknown>): Promise<void>;
  renderer: unknown;
  doc: { createElement(tag: string): TinyNode };
  [component: string]: unknown;
}

let bundle: Promise<Bundle> | undefined;
/** The components compiled once for the whole file. */
const built = () =>
  bundle ??= buildSvelte<Bundle>(
    `export { mount, unmount } from "svelte";
    export { default as renderer, doc } from "socksync/renderer";
    ${
      Object.keys(COMPONENTS).map((name) =>
        `export { default as ${name} } from "./${name}.svelte";`
      )
        .join("\n")
    }`,
    COMPONENTS,
  );

/** Mounts component `name` with `props`; `exposed` holds what it hands back. */
async function mount(name: string, props: Record<string, unknown>) {
  const svelte = await built();
  const container = svelte.doc.createElement("div");
  const exposed: Exposed = {};
  const app = svelte.mount(svelte[name], {
    target: container,
    renderer: svelte.renderer,
    props: { ...props, expose: (handles: Exposed) => Object.assign(exposed, handles) },
  });
  let mounted = true;
  return {
    container,
    exposed,
    /** Destroys the component, then lets the microtask that releases its readers run. */
    unmount: async () => {
      if (!mounted) return;
      mounted = false;
      await svelte.unmount(app);
      await new Promise((done) => setTimeout(done, 0));
    },
  };
}

const seen = (container: TinyNode, testid: string) => container.texts(testid);
const until = (what: string, check: () => boolean) => waitUntil(check, { what });

test(
  "svelte: runes mode: typed functions from the client in context follow the server; destroy ends them",
  {
    skip,
  },
  async () => {
    await withDemoClient(async (client) => {
      const { container, exposed, unmount } = await mount("Root", { client });
      try {
        await until("counter 0", () => seen(container, "counter")[0] === "0");
        await client.call("increment");
        await until("counter 1", () => seen(container, "counter")[0] === "1");

        for (const text of ["a", "b", "c", "d"]) await exposed.add({ text });
        await until("newest three on page 1", () => seen(container, "todo").join() === "d,c,b");
        assert.deepEqual(seen(container, "total"), ["4"]);
        assert.deepEqual(seen(container, "page"), ["1/2"]);
        exposed.todos.setPage(1);
        await until("page 2 of 2", () => seen(container, "page")[0] === "2/2");
        await until("page 2 holds a", () => seen(container, "todo").join() === "a");
        assert.ok(client.open > 0, "nothing subscribed while mounted");
      } finally {
        await unmount();
      }
      assert.equal(client.open, 0, "subscriptions left open after the component was destroyed");
    });
  },
);

test("svelte: a legacy component reads the handles as stores; destroy ends them", {
  skip,
}, async () => {
  await withDemoClient(async (client) => {
    for (const text of ["a", "b", "c"]) await client.call("add_todo", { text });
    const { container, exposed, unmount } = await mount("Legacy", { client });
    try {
      await until("the counter", () => seen(container, "counter")[0] === "0");
      await until("the first page", () => seen(container, "texts")[0] === "c,b");
      assert.deepEqual(seen(container, "total"), ["3"]);
      await client.call("increment", { by: 5 });
      await until("counter 5", () => seen(container, "counter")[0] === "5");
      exposed.todos.setPage(1);
      await until("page 2", () => seen(container, "texts")[0] === "a");
      await client.call("add_todo", { text: "d" });
      await until("the total follows", () => seen(container, "total")[0] === "4");
      assert.ok(client.open > 0, "nothing subscribed while mounted");
    } finally {
      await unmount();
    }
    assert.equal(client.open, 0, "store subscriptions left open after the component was destroyed");
  });
});

test("svelte: untyped useItem, useVar, useCall and useConnection follow the server", {
  skip,
}, async () => {
  await withDemoClient(async (counting) => {
    const { id } = await counting.call("add_todo", { text: "milk" }) as { id: string };
    const { container, exposed, unmount } = await mount("Untyped", { client: counting, id });
    try {
      await until("the item", () => seen(container, "item")[0] === "milk:false");
      await until("the counter", () => seen(container, "counter")[0] === "0");
      await until("open", () => seen(container, "connection")[0] === "open");
      assert.equal(await exposed.toggle({ id }), true);
      await until("the item done", () => seen(container, "item")[0] === "milk:true");
      await counting.call("delete_todo", { id });
      await until("the item gone", () => seen(container, "item")[0] === "gone");
      counting.client.close();
      await until("closed", () => seen(container, "connection")[0] === "closed");
    } finally {
      await unmount();
    }
    assert.equal(counting.open, 0, "subscriptions left open after the component was destroyed");
  });
});

for (const [name, kind] of [["Connection", "runes mode"], ["LegacyConnection", "a store"]]) {
  test(
    `svelte: useConnection (${kind}) shows open, reconnecting after the server drops it, open, closed`,
    {
      skip,
    },
    async () => {
      await withDemoClient(async (client, server) => {
        const { container, unmount } = await mount(name, { client, text: connectionText });
        try {
          await followsConnection(client, server, container);
        } finally {
          await unmount();
        }
        assert.equal(client.open, 0, "the connection state still followed after destroy");
      }, SLOW_RECONNECT);
    },
  );
}

test("svelte: a failed view shows status error, an empty one status ready", {
  skip,
}, async () => {
  await withDemoClient(async (client) => {
    const statuses: string[] = [];
    const { container, unmount } = await mount("Status", { client, statuses });
    try {
      await until("both answered", () => seen(container, "status")[0] === "ready:0/error:0:3");
      assert.equal(statuses[0], "loading:0/loading:0:-", JSON.stringify(statuses));
    } finally {
      await unmount();
    }
  });
});

test("svelte: an optimistic row renders before the reply and goes on a refusal", {
  skip,
}, async () => {
  await withDemoClient(async (client) => {
    const renders: string[] = [];
    const { container, unmount } = await mount("Renders", { client, renders });
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
      await unmount();
    }
    assert.equal(client.open, 0);
  });
});

test("svelte: handles remade in $derived close the old view and mirror and follow the new", {
  skip,
}, async () => {
  await withDemoClient(async (client) => {
    for (const text of ["a", "b", "c"]) await client.call("add_todo", { text });
    const first = await client.call("add_todo", { text: "first" }) as { id: string };
    const second = await client.call("add_todo", { text: "second" }) as { id: string };
    const { container, exposed, unmount } = await mount("Derived", { client, id: first.id });
    try {
      await until("one per page", () => seen(container, "texts")[0] === "second");
      await until("the first item", () => seen(container, "item")[0] === "first");
      exposed.setSize(3);
      await until("three per page", () => seen(container, "texts")[0] === "second,first,c");
      exposed.setId(second.id);
      await until("the second item", () => seen(container, "item")[0] === "second");
      await new Promise((done) => setTimeout(done, 0));
      assert.equal(client.open, 4, "one view, one item mirror and their subscriptions");
    } finally {
      await unmount();
    }
    assert.equal(client.open, 0);
  });
});

test("svelte: a server render shows what the client holds and keeps nothing open", {
  skip,
}, async () => {
  const server = await buildSvelte<{
    render(component: unknown, options: { props: Record<string, unknown> }): { body: string };
    Legacy: unknown;
    Root: unknown;
  }>(
    `export { render } from "svelte/server";
    export { default as Legacy } from "./Legacy.svelte";
    export { default as Root } from "./Root.svelte";`,
    COMPONENTS,
    "server",
  );
  await withDemoClient(async (client: CountingClient) => {
    await client.call("increment", { by: 7 });
    await waitUntil(() => client.client.var("counter").getSnapshot().value === 7, {
      what: "the client's counter at 7",
    });
    const expose = () => {};
    const legacy = server.render(server.Legacy, { props: { client, expose } }).body;
    assert.match(legacy, /<output data-testid="counter">7<\/output>/);
    // Runes mode, the typed functions reading the client in context.
    const runes = server.render(server.Root, { props: { client, expose } }).body;
    assert.match(runes, /<output data-testid="counter">7<\/output>/);
    assert.equal(client.open, 0, "a server render left subscriptions open");
  });
});

// Never called: these lines are only type-checked (`deno check` over tests/
// fails if a `@ts-expect-error` line compiles).
function typeMistakes(client: Client<DemoApi>) {
  const { useCall, useConnection, useItem, useList, useVar } = createHooks(client);
  const count: number | undefined = useVar("counter").value;
  const store: () => void = useVar("counter").subscribe((state) => {
    const value: number | undefined = state.value;
    void value;
  });
  const text: string | undefined = useList("todos", { pageSize: 10 }).items[0]?.value.text;
  const author: string | undefined = useList("messages", { params: { room: "general" } })
    .items[0]?.value.author;
  const done: boolean | undefined = useItem("todos", "a").value?.done;
  const added: Promise<{ id: string }> = useCall("add_todo")({ text: "milk" });
  const incremented: Promise<number> = useCall("increment")();
  const status: "connecting" | "open" | "reconnecting" | "closed" = useConnection().status;
  const next: number | undefined = useConnection().nextAttempt;
  const reason: string | undefined = useConnection().lastDisconnect?.reason;
  // @ts-expect-error the state is read-only
  useConnection().status = "open";
  // @ts-expect-error no var by this name
  useVar("countr");
  // @ts-expect-error the counter is a number
  const wrongVar: string | undefined = useVar("counter").value;
  // @ts-expect-error typed functions take no hand-written types
  useVar<string>("counter");
  // @ts-expect-error the handle is read-only
  useVar("counter").value = 1;
  // @ts-expect-error no list by this name
  useList("todo");
  // @ts-expect-error a todo's text is a string
  const wrongItem: number | undefined = useList("todos").items[0]?.value.text;
  useList("todos").subscribe((state) => {
    // @ts-expect-error the store's todos are todos too
    const wrong: number | undefined = state.items[0]?.value.text;
    void wrong;
  });
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
    store,
    text,
    author,
    done,
    added,
    incremented,
    status,
    next,
    reason,
    wrongVar,
    wrongItem,
    wrongField,
    wrongResult,
  ];
}
void typeMistakes;
