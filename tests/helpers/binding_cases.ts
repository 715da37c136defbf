/**
 * The cases every UI binding passes, written once: values, pages, items and
 * calls follow the server through the binding's hooks, an optimistic row shows
 * before the reply and goes on a refusal, and every subscription ends on
 * unmount. A binding's test file describes how it mounts a component and
 * calls {@linkcode bindingCases}; what only one binding has (Vue's reactive
 * arguments) and its type checks stay in that file. A binding that mounts
 * its own components (Svelte) runs {@linkcode followsConnection} on them.
 *
 * Components are written against {@linkcode Hooks} and return a
 * framework-neutral {@linkcode View}: `setup` calls the hooks and returns the
 * render function. Vue calls `setup` once and the render function on every
 * change; React calls both on every render. Either way the hooks run where the
 * framework expects them.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "../../src/client/client.ts";
import type { ConnectionState, ItemState, ListState, VarState } from "../../src/ui/contract.ts";
import type { DemoApi } from "../../demo/app.ts";
import {
  type CountingClient,
  type DemoClientOptions,
  type DemoServer,
  withDemoClient,
} from "./binding_fixture.ts";
import type { TinyNode } from "./tiny_dom.ts";
import { waitUntil } from "./wait.ts";

/** A todo of the demo hub. */
export interface Todo {
  text: string;
  done: boolean;
}

/** An element to render: a tag with a test id, and text or children. */
export interface View {
  tag: string;
  testid?: string;
  key?: string;
  text?: string;
  children?: View[];
}

/** A live page with the way to move it (Vue's `ListHandle`, React's `ListHook`). */
export type ListHandleLike<T> = ListState<T> & { setPage(page: number): void };

/** The untyped hooks of a binding, with hand-written types. */
export interface Hooks {
  useVar<T>(name: string): VarState<T>;
  useList<T>(name: string, options?: { pageSize?: number }): ListHandleLike<T>;
  useItem<T>(list: string, id: string): ItemState<T>;
  useCall<A, R>(name: string): (args?: A) => Promise<R>;
  useConnection(): ConnectionState;
}

/**
 * The hooks typed from the demo API, as far as the cases use them: a
 * binding's `createHooks<DemoApi>()` must be assignable to this, so a typed
 * hook returning the wrong shape fails `deno check`.
 */
export interface DemoHooks {
  useVar(name: "counter"): VarState<number>;
  useList(name: "todos", options: { pageSize: number }): ListHandleLike<Todo>;
  useItem(list: "todos", id: string): ItemState<Todo>;
  useCall(name: "add_todo"): (args: { text: string }) => Promise<{ id: string }>;
  useCall(name: "toggle_todo"): (args: { id: string }) => Promise<boolean>;
  useConnection(): ConnectionState;
}

/** A component: `setup` calls the hooks and returns the render function. */
export type Setup = () => () => View;

/** A mounted component. */
export interface Mounted {
  container: TinyNode;
  unmount(): void;
}

/** How a binding is driven by the shared cases. */
export interface Binding {
  /** The prefix of every case's name: "vue", "react". */
  name: string;
  /** What hands the client to the components: "plugin" (Vue), "provider" (React). */
  installer: string;
  /** The untyped hooks, reading the installed client. */
  hooks: Hooks;
  /** `createHooks<DemoApi>()` (no client: the installed one) or `createHooks(client)`. */
  typed(client?: Client<DemoApi>): DemoHooks;
  /** Mounts `setup` with `client` installed (none without it). */
  mount(client: CountingClient | undefined, setup: Setup): Mounted;
  /**
   * Whether every subscription has ended when `unmount()` returns (Vue), or
   * only once the framework has run its cleanup right after (React's passive
   * effects); either way they must end.
   */
  endsWithinUnmount: boolean;
  /** Runs a case in what the binding needs around it (React: a `window`). */
  around?(fn: () => Promise<void>): Promise<void>;
}

/** The text of every element with `testid` under `container`. */
export const seen = (container: TinyNode, testid: string): string[] => container.texts(testid);

/** Waits (bounded) for `check`, naming `what` if it does not come. */
export const until = (what: string, check: () => boolean): Promise<boolean> =>
  waitUntil(check, { what });

/** Asserts that every subscription opened through `client` ended on unmount. */
export async function ended(binding: Binding, client: CountingClient, what: string) {
  if (binding.endsWithinUnmount) assert.equal(client.open, 0, what);
  else await until(what, () => client.open === 0);
}

/** Serves the demo hub with a counting client, inside the binding's `around`. */
export function withClient(
  binding: Binding,
  fn: (client: CountingClient, server: DemoServer) => Promise<void>,
  options?: DemoClientOptions,
): Promise<void> {
  const run = () => withDemoClient(fn, options);
  return binding.around ? binding.around(run) : run();
}

/**
 * What a connection component shows: the status, the last close code, and
 * "waiting" while a reconnect attempt is scheduled (`nextAttempt` set).
 */
export function connectionText(state: ConnectionState): string {
  const waiting = state.nextAttempt === undefined ? "" : " waiting";
  return `${state.status} ${state.lastDisconnect?.code ?? "-"}${waiting}`;
}

/**
 * Reconnect delays long enough (300 ms) for a render to show `reconnecting`
 * before the next attempt.
 */
export const SLOW_RECONNECT: DemoClientOptions = { reconnect: { minDelay: 300, maxDelay: 300 } };

/**
 * Drives a mounted component that shows {@linkcode connectionText} of the
 * binding's `useConnection` under `testid="connection"` through a connection's
 * life: open, dropped by the server (reconnecting, waiting for the next
 * attempt, with the server's close code), open again (the code stays), and
 * closed by `client.close()`.
 */
export async function followsConnection(
  client: CountingClient,
  server: DemoServer,
  container: TinyNode,
): Promise<void> {
  const shows = (text: string) =>
    until(
      `the connection shown as "${text}" (now ${seen(container, "connection")})`,
      () => seen(container, "connection")[0] === text,
    );
  await shows("open -");
  // React subscribes in an effect after the first render: wait for it.
  await until("the connection state followed while mounted", () => client.open > 0);
  server.dropConnections(1012, "service restart");
  await shows("reconnecting 1012 waiting");
  await shows("open 1012");
  client.client.close();
  await shows("closed 1000");
}

/** Registers the shared cases for `binding`. */
export function bindingCases(binding: Binding): void {
  const { name, hooks } = binding;

  test(`${name}: typed useVar, useList and useCall follow the server; unmount ends them`, async () => {
    await withClient(binding, async (client) => {
      // Typed from the API, reading the installed client.
      const { useCall, useList, useVar } = binding.typed();
      let todos: ListHandleLike<Todo> | undefined;
      let add: ((args: { text: string }) => Promise<{ id: string }>) | undefined;
      const { container, unmount } = binding.mount(client, () => {
        const counter = useVar("counter");
        const list = useList("todos", { pageSize: 3 });
        todos = list;
        add = useCall("add_todo");
        return () => ({
          tag: "div",
          children: [
            { tag: "output", testid: "counter", text: String(counter.value ?? "–") },
            { tag: "span", testid: "total", text: String(list.total) },
            { tag: "span", testid: "page", text: `${list.page + 1}/${list.pageCount}` },
            {
              tag: "ul",
              children: list.items.map((item) => ({
                tag: "li",
                key: item.id,
                testid: "todo",
                text: item.value.text,
              })),
            },
          ],
        });
      });
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
      await ended(binding, client, "subscriptions left open after unmount");
    });
  });

  test(`${name}: untyped useItem, useVar and useCall (hand-written types) follow the server`, async () => {
    await withClient(binding, async (client) => {
      const { id } = await client.call("add_todo", { text: "milk" }) as { id: string };
      let toggle: ((args?: { id: string }) => Promise<boolean>) | undefined;
      const { container, unmount } = binding.mount(client, () => {
        const todo = hooks.useItem<Todo>("todos", id);
        const counter = hooks.useVar<number>("counter");
        toggle = hooks.useCall<{ id: string }, boolean>("toggle_todo");
        return () => ({
          tag: "div",
          children: [
            {
              tag: "p",
              testid: "item",
              text: !todo.ready
                ? "…"
                : todo.exists
                ? `${todo.value!.text}:${todo.value!.done}`
                : "gone",
            },
            { tag: "output", testid: "counter", text: String(counter.value ?? "–") },
          ],
        });
      });
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
      await ended(binding, client, "the item mirror left open after unmount");
    });
  });

  test(`${name}: a failed view shows status error, an empty one status ready`, async () => {
    await withClient(binding, async (client) => {
      const statuses: string[] = [];
      const { container, unmount } = binding.mount(client, () => {
        const empty = hooks.useList<Todo>("todos", { pageSize: 5 });
        const failed = hooks.useList<Todo>("todoz", { pageSize: 5 });
        return () => {
          statuses.push(`${empty.status}/${failed.status}`);
          return {
            tag: "div",
            children: [
              { tag: "p", testid: "empty", text: `${empty.status}:${empty.total}` },
              {
                tag: "p",
                testid: "failed",
                text: `${failed.status}:${failed.total}:${failed.error?.code ?? "-"}`,
              },
            ],
          };
        };
      });
      try {
        await until(
          "both answered",
          () =>
            seen(container, "empty")[0] === "ready:0" &&
            seen(container, "failed")[0] === "error:0:3",
        );
        // Nothing had answered at the first render.
        assert.equal(statuses[0], "loading/loading", JSON.stringify(statuses));
      } finally {
        unmount();
      }
    });
  });

  test(`${name}: an optimistic row renders before the reply and goes on a refusal`, async () => {
    await withClient(binding, async (client) => {
      const renders: string[] = [];
      const { container, unmount } = binding.mount(client, () => {
        const list = hooks.useList<Todo>("todos", { pageSize: 5 });
        return () => {
          const texts = list.items.map((item) => item.value.text).join();
          if (list.ready) renders.push(texts);
          return { tag: "p", testid: "texts", text: texts };
        };
      });
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
    });
  });

  test(`${name}: useConnection shows open, reconnecting after the server drops it, open, closed`, async () => {
    await withClient(binding, async (client, server) => {
      const { container, unmount } = binding.mount(client, () => {
        const connection = hooks.useConnection();
        return () => ({ tag: "p", testid: "connection", text: connectionText(connection) });
      });
      try {
        await followsConnection(client, server, container);
      } finally {
        unmount();
      }
      await ended(binding, client, "the connection state still followed after unmount");
    }, SLOW_RECONNECT);
  });

  test(`${name}: createHooks(client) reads the client it was given, with no ${binding.installer}`, async () => {
    await withClient(binding, async ({ client: untyped }) => {
      // The client as `connect<DemoApi>` would have made it: the hooks take its types.
      const client = untyped as unknown as Client<DemoApi>;
      const { useCall, useItem, useVar } = binding.typed(client);
      const { id } = await client.call("add_todo", { text: "milk" });
      let toggle: ((args: { id: string }) => Promise<boolean>) | undefined;
      const { container, unmount } = binding.mount(undefined, () => {
        const counter = useVar("counter");
        const todo = useItem("todos", id);
        toggle = useCall("toggle_todo");
        return () => ({
          tag: "p",
          testid: "state",
          text: `${counter.value}:${todo.value?.done ?? "…"}`,
        });
      });
      try {
        await until("counter and item", () => seen(container, "state")[0] === "0:false");
        assert.equal(await toggle!({ id }), true);
        await client.call("increment", { by: 2 });
        await until("both changed", () => seen(container, "state")[0] === "2:true");
      } finally {
        unmount();
      }
    });
  });
}
