/**
 * Optimistic calls over real sockets: the change shows at once, before the
 * reply; the server's real change replaces it in one step (never both at
 * once); a refused call rolls it back, and its error reaches the caller and
 * `onError`; a client made without `optimisticCalls` refuses such a call
 * unsent.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import {
  type Client,
  connect,
  ErrorCode,
  Hub,
  type ListSnapshot,
  type LocalList,
  optimisticCalls,
  SockSyncError,
} from "../mod.ts";
import { MemoryListSource } from "../stores/memory/mod.ts";
import { serveHub } from "./helpers/serve_hub.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";
import { waitUntil } from "./helpers/wait.ts";

const Todo = v.object({ text: v.string(), done: v.boolean() });
type Todo = v.InferOutput<typeof Todo>;

async function withServer(
  fn: (fx: { client: Client; todos: LocalList<Todo>; errors: SockSyncError[] }) => Promise<void>,
  options: { optimistic: boolean } = { optimistic: true },
): Promise<void> {
  const hub = new Hub();
  const todos = hub.list("todos", { source: new MemoryListSource(), schema: Todo });
  const counter = hub.var("counter", { schema: v.number(), initial: 0 });
  hub.function("add_todo", {
    args: v.object({ text: v.string() }),
    handler: async ({ text }) => ({ id: (await todos.insert(0, { text, done: false })).id }),
  });
  hub.function("toggle_todo", {
    args: v.object({ id: v.string() }),
    handler: async ({ id }) => (await todos.update(id, (t) => ({ ...t, done: !t.done }))).value,
  });
  hub.function("delete_todo", {
    args: v.object({ id: v.string() }),
    handler: ({ id }) => todos.delete(id),
  });
  hub.function("increment", { handler: () => counter.update((n) => n + 1) });
  hub.function("refuse", {
    handler: () => {
      throw new SockSyncError(ErrorCode.InvalidArguments, "refused");
    },
  });
  const { server, url } = await serveHub(hub);
  const errors: SockSyncError[] = [];
  const client = connect(url, {
    WebSocket: await webSocketClass(),
    reconnect: false,
    onError: (error) => errors.push(error),
    optimisticCalls: options.optimistic ? optimisticCalls : undefined,
  });
  try {
    await client.ready();
    await fn({ client, todos, errors });
  } finally {
    client.close();
    await server.close();
    await hub.close();
  }
}

const texts = (s: ListSnapshot<Todo>) => s.items.map((item) => item.value.text);

async function readyView(client: Client) {
  const view = client.list<Todo>("todos", { pageSize: 3 });
  await waitUntil(() => view.getSnapshot().ready, { wake: (f) => view.subscribe(f) });
  return view;
}

test("an optimistic insert shows at once, then the server's row replaces it in one step", async () => {
  await withServer(async ({ client, todos }) => {
    for (const text of ["c", "b", "a"]) await todos.insert(0, { text, done: false });
    const view = await readyView(client);
    const seen: ListSnapshot<Todo>[] = [];
    view.subscribe((s) => seen.push(s));
    const call = client.call<{ id: string }>("add_todo", { text: "milk" }, {
      optimistic: (change) => change.insert("todos", { value: { text: "milk", done: false } }),
    });
    const shown = view.getSnapshot();
    assert.deepEqual(texts(shown), ["milk", "a", "b"], "shown before the reply, still a page");
    assert.equal(shown.total, 4);
    assert.equal(shown.items[0].pending, true);
    const { id } = await call;
    const real = view.getSnapshot();
    assert.deepEqual(texts(real), ["milk", "a", "b"]);
    assert.equal(real.items[0].id, id, "the server's row");
    assert.equal(real.items[0].pending, undefined);
    assert.equal(real.total, 4);
    // At subscribe, optimistic, real: the real frames did not show on their own.
    assert.deepEqual(seen.map(texts), [["a", "b", "c"], ["milk", "a", "b"], ["milk", "a", "b"]]);
    for (const s of seen) assert.ok(new Set(texts(s)).size === s.items.length, "never twice");
  });
});

test("optimistic update and remove of a list item and of its item mirror, and a var", async () => {
  await withServer(async ({ client, todos }) => {
    const { id } = await todos.insert(0, { text: "milk", done: false });
    const view = await readyView(client);
    const item = client.item<Todo>("todos", id);
    await waitUntil(() => item.getSnapshot().ready, { wake: (f) => item.subscribe(f) });
    const counter = client.var<number>("counter");
    await waitUntil(() => counter.getSnapshot().ready, { wake: (f) => counter.subscribe(f) });
    const toggled = client.call("toggle_todo", { id }, {
      optimistic: (change) => {
        change.update("todos", id, (todo) => ({ ...(todo as Todo), done: true }));
        change.set("counter", 41);
      },
    });
    assert.equal(view.getSnapshot().items[0].value.done, true);
    assert.equal(view.getSnapshot().items[0].pending, true);
    assert.equal(item.getSnapshot().value?.done, true);
    assert.equal(counter.getSnapshot().value, 41);
    await toggled;
    assert.equal(view.getSnapshot().items[0].value.done, true);
    assert.equal(item.getSnapshot().value?.done, true);
    assert.equal(counter.getSnapshot().value, 0, "the var shows the server's value again");
    const removed = client.call("delete_todo", { id }, {
      optimistic: (change) => change.remove("todos", id),
    });
    assert.deepEqual(texts(view.getSnapshot()), []);
    assert.equal(view.getSnapshot().total, 0);
    assert.equal(item.getSnapshot().exists, false);
    await removed;
    assert.deepEqual(texts(view.getSnapshot()), []);
    assert.equal(view.getSnapshot().total, 0);
    assert.equal(item.getSnapshot().exists, false);
  });
});

test("a refused optimistic call rolls back; its error reaches the caller and onError", async () => {
  await withServer(async ({ client, todos, errors }) => {
    await todos.insert(0, { text: "a", done: false });
    const view = await readyView(client);
    const before = view.getSnapshot();
    const call = client.call("refuse", undefined, {
      optimistic: (change) => change.insert("todos", { value: { text: "nope", done: false } }),
    });
    assert.deepEqual(texts(view.getSnapshot()), ["nope", "a"]);
    const error = await call.then(() => assert.fail("refused"), (e) => e);
    assert.ok(error instanceof SockSyncError);
    assert.equal(error.code, ErrorCode.InvalidArguments);
    assert.deepEqual(texts(view.getSnapshot()), ["a"]);
    assert.equal(view.getSnapshot().total, before.total);
    assert.deepEqual(errors.map((e) => e.message), ["refused"]);
  });
});

test("without optimisticCalls, a call with a change is refused unsent and shows nothing", async () => {
  await withServer(async ({ client, todos }) => {
    await todos.insert(0, { text: "a", done: false });
    const view = await readyView(client);
    const seen: ListSnapshot<Todo>[] = [];
    view.subscribe((s) => seen.push(s));
    const call = client.call("add_todo", { text: "milk" }, {
      optimistic: (change) => change.insert("todos", { value: { text: "milk", done: false } }),
    });
    const error = await call.then(() => assert.fail("refused"), (e) => e);
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /optimisticCalls/);
    // Not sent: the next call's answer comes after any change the first one would have made.
    await client.call("increment");
    assert.deepEqual(texts(view.getSnapshot()), ["a"]);
    assert.equal(view.getSnapshot().total, 1);
    assert.deepEqual(seen.map(texts), [["a"]], "nothing shown");
    // The same client's calls without a change go through.
    await client.call("add_todo", { text: "milk" });
    await waitUntil(() => view.getSnapshot().total === 2, { wake: (f) => view.subscribe(f) });
  }, { optimistic: false });
});
