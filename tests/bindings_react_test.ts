/**
 * `socksync/react` at unit level: components rendered with React DOM into a
 * DOM-less node tree (tests/helpers/tiny_dom.ts), reading the demo hub
 * through a real client over a real socket. The cases every binding passes
 * are in tests/helpers/binding_cases.ts; here, how React mounts them and the
 * hooks' types. Runs under Node, Deno and Bun.
 */
import { setImmediate } from "node:timers";
import { createElement as h, type ReactElement } from "react";
import { createRoot } from "react-dom/client";
import type { Client } from "../src/client/client.ts";
import {
  createHooks,
  SockSyncProvider,
  useCall,
  useConnection,
  useItem,
  useList,
  useVar,
} from "../src/ui/react/mod.ts";
import type { DemoApi } from "../demo/app.ts";
import type { CountingClient } from "./helpers/binding_fixture.ts";
import { bindingCases, type Setup, type View } from "./helpers/binding_cases.ts";
import { createDocument } from "./helpers/tiny_dom.ts";

/**
 * React DOM reads `window.event`; a DOM-less runtime has no window. The stub
 * goes again at the end (other test files in the same process may take a
 * global `window` for a browser), once React's scheduler, which runs its
 * work in `setImmediate` callbacks, has nothing left to run.
 */
async function withWindow(fn: () => Promise<void>): Promise<void> {
  const g = globalThis as { window?: unknown };
  const had = "window" in g;
  if (!had) g.window = { event: undefined };
  try {
    await fn();
  } finally {
    for (let turn = 0; turn < 10; turn++) await new Promise((done) => setImmediate(done));
    if (!had) delete g.window;
  }
}

function element(view: View, index: number): ReactElement {
  const props = { key: view.key ?? index, "data-testid": view.testid };
  return h(view.tag, props, view.children ? view.children.map(element) : view.text);
}

/** Renders `setup` under a provider of `client` (none without it). */
function mount(client: CountingClient | undefined, setup: Setup) {
  const container = createDocument().createElement("div");
  // deno-lint-ignore no-explicit-any
  const root = createRoot(container as any);
  const App = () => element(setup()(), 0);
  root.render(client ? h(SockSyncProvider, { client }, h(App)) : h(App));
  return { container, unmount: () => root.unmount() };
}

bindingCases({
  name: "react",
  installer: "provider",
  hooks: { useVar, useList, useItem, useCall, useConnection },
  typed: (client) => client ? createHooks(client) : createHooks<DemoApi>(),
  mount,
  endsWithinUnmount: false,
  around: withWindow,
});

// Read only by `deno check`.
void typeMistakes;

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
