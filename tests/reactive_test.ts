/**
 * The client's reactive core over real sockets: immutable snapshots, the
 * Svelte store and `useSyncExternalStore` contracts, one notification per
 * change (a full page never shows a row missing or a stale total), and item
 * mirrors. Frames without `more` (a peer following the original protocol)
 * still notify one by one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import {
  type Client,
  connect,
  ErrorCode,
  Hub,
  ListMirror,
  type ListSnapshot,
  type LocalList,
  VarMirror,
} from "../mod.ts";
import { MemoryListSource } from "../stores/memory/mod.ts";
import { serveHub } from "./helpers/serve_hub.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";
import { waitUntil } from "./helpers/wait.ts";

const Todo = v.object({ text: v.string() });
type Todo = v.InferOutput<typeof Todo>;

interface Fixture {
  client: Client;
  todos: LocalList<Todo>;
  counter: { set(value: number): Promise<void> };
}

async function withServer(fn: (fx: Fixture) => Promise<void>): Promise<void> {
  const hub = new Hub();
  const todos = hub.list("todos", { source: new MemoryListSource(), schema: Todo });
  const counter = hub.var("counter", { schema: v.number(), initial: 0 });
  const { server, url } = await serveHub(hub);
  const client = connect(url, { WebSocket: await webSocketClass(), reconnect: false });
  try {
    await client.ready();
    await fn({ client, todos, counter });
  } finally {
    client.close();
    await server.close();
    await hub.close();
  }
}

/** Waits until the mirror's snapshot passes `check`; resolves that snapshot. */
async function until<S>(
  mirror: { subscribe(listener: (s: S) => void): () => void; getSnapshot(): S },
  check: (s: S) => boolean,
  what: string,
): Promise<S> {
  await waitUntil(() => check(mirror.getSnapshot()), {
    what,
    wake: (recheck) => mirror.subscribe(recheck),
  });
  return mirror.getSnapshot();
}

test("subscribe calls the listener at once with the current snapshot, then once per change (Svelte store contract)", async () => {
  await withServer(async ({ client, counter }) => {
    const mirror = client.var<number>("counter");
    const seen: unknown[] = [];
    const off = mirror.subscribe((s) => seen.push(s.value));
    assert.deepEqual(seen, [undefined], "called at once, before the value arrived");
    await until(mirror, (s) => s.ready, "the counter");
    await counter.set(5);
    await until(mirror, (s) => s.value === 5, "5");
    off();
    await counter.set(6);
    await until(client.var<number>("counter"), (s) => s.value === 6, "6");
    assert.deepEqual(seen, [undefined, 0, 5], "nothing after unsubscribe");
    const late: unknown[] = [];
    mirror.subscribe((s) => late.push(s.value))();
    assert.deepEqual(late, [6], "a late subscriber gets the current value at once");
  });
});

test("getSnapshot returns the same frozen object until something changes (useSyncExternalStore contract)", async () => {
  await withServer(async ({ client, todos }) => {
    await todos.insert(0, { text: "a" });
    const view = client.list<Todo>("todos", { pageSize: 10 });
    const first = await until(view, (s) => s.ready, "the page");
    const { getSnapshot } = view; // bound: React passes it alone
    assert.equal(getSnapshot(), first);
    assert.equal(view.getSnapshot(), first);
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first.items));
    assert.deepEqual(first.items.map((item) => item.value.text), ["a"]);
    await todos.insert(1, { text: "b" });
    const second = await until(view, (s) => s.total === 2, "b");
    assert.notEqual(second, first);
    assert.equal(view.getSnapshot(), second);
    assert.equal(second.items[0], first.items[0], "an unchanged item keeps its object");
    assert.deepEqual(
      first.items.map((item) => item.value.text),
      ["a"],
      "the old snapshot is unchanged",
    );
    assert.deepEqual(
      { total: second.total, page: second.page, pageSize: second.pageSize, pageCount: 1 },
      { total: 2, page: 0, pageSize: 10, pageCount: second.pageCount },
    );
  });
});

/** Every snapshot a subscriber gets, and whether each is a whole page with the right total. */
function record(view: { subscribe(l: (s: ListSnapshot<Todo>) => void): () => void }) {
  const snapshots: ListSnapshot<Todo>[] = [];
  const off = view.subscribe((s) => snapshots.push(s));
  return { snapshots, off };
}

function assertWhole(s: ListSnapshot<Todo>, pageSize: number): void {
  const expected = Math.max(0, Math.min(pageSize, s.total - s.page * pageSize));
  assert.equal(
    s.items.length,
    expected,
    `page ${s.page} shows ${s.items.length} rows of a total ${s.total}: ${
      s.items.map((i) => i.value.text)
    }`,
  );
}

test("with a full page, inserts and deletes at the top never show a row missing or a stale total", async () => {
  await withServer(async ({ client, todos }) => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await todos.insert(i, { text: `t${i}` })).id);
    const first = client.list<Todo>("todos", { pageSize: 5 });
    await until(first, (s) => s.ready && s.total === 12, "page 0");
    const second = client.item<Todo>("todos", ids[0]);
    const page1 = connect(client.url, { WebSocket: await webSocketClass(), reconnect: false });
    try {
      const later = page1.list<Todo>("todos", { page: 1, pageSize: 5 });
      await until(later, (s) => s.ready, "page 1");
      const top = record(first);
      const middle = record(later);
      let top9 = "";
      for (let i = 0; i < 10; i++) top9 = (await todos.insert(0, { text: `new${i}` })).id;
      await todos.delete(top9); // at the top: every page shifts
      await todos.delete(ids[0]); // inside page 1: the next row moves in
      // The total was 20 once before (after the eighth insert): wait for the last change's rows.
      const last = (s: ListSnapshot<Todo>, at: number, text: string) =>
        s.total === 20 && s.items[at]?.value.text === text;
      await until(first, (s) => last(s, 0, "new8"), "page 0 after the changes");
      await until(later, (s) => last(s, 0, "new3"), "page 1 after the changes");
      top.off();
      middle.off();
      // The snapshot at subscribe, then at most one per change (a re-read may cover several),
      // each a whole page, with the totals in the order the changes made them.
      const totals = [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 21, 20];
      for (const { snapshots } of [top, middle]) {
        assert.ok(snapshots.length <= totals.length, `${snapshots.length} snapshots`);
        for (const s of snapshots) assertWhole(s, 5);
        let from = 0;
        for (const s of snapshots) {
          const at = totals.indexOf(s.total, from);
          assert.ok(at >= from, `total ${s.total} out of order: ${snapshots.map((x) => x.total)}`);
          from = at + 1;
        }
      }
      assert.deepEqual(
        top.snapshots.at(-1)!.items.map((i) => i.value.text),
        ["new8", "new7", "new6", "new5", "new4"],
      );
      assert.deepEqual(
        middle.snapshots.at(-1)!.items.map((i) => i.value.text),
        ["new3", "new2", "new1", "new0", "t1"],
      );
      const gone = await until(second, (s) => !s.exists, "the deleted item's mirror");
      assert.deepEqual(gone, { value: undefined, exists: false, ready: true, status: "ready" });
    } finally {
      page1.close();
    }
  });
});

test("frames without more (a peer following the original protocol) notify one by one", () => {
  const mirror = new ListMirror<string>("todos");
  let calls = 0;
  mirror.onChange(() => calls++);
  const base = { type: "list", name: "todos" } as const;
  mirror.apply({ ...base, func: "set_all", page: 0, page_size: 2, total_item_count: 0, items: [] });
  mirror.apply({ ...base, func: "insert", index: 0, id: "a", value: "A" });
  mirror.apply({ ...base, func: "set_count", total_item_count: 1 });
  assert.equal(calls, 3);
  const before = mirror.getSnapshot();
  mirror.apply({ ...base, func: "insert", index: 0, id: "b", value: "B", more: true });
  assert.equal(calls, 3, "no notification in the middle of a change");
  assert.equal(
    mirror.getSnapshot(),
    before,
    "the snapshot stays as it was until the change is whole",
  );
  mirror.apply({ ...base, func: "set_count", total_item_count: 2 });
  assert.equal(calls, 4);
  assert.deepEqual(mirror.getSnapshot().items.map((i) => i.value), ["B", "A"]);
  const counter = new VarMirror<number>("counter");
  counter.apply({ func: "set", type: "var", name: "counter", value: 1 });
  assert.deepEqual(counter.getSnapshot(), { value: 1, ready: true, status: "ready" });
});

test("item mirrors: the value, its changes, its deletion, an unknown id, close", async () => {
  await withServer(async ({ client, todos }) => {
    const { id } = await todos.insert(0, { text: "milk" });
    const item = client.item<Todo>("todos", id);
    assert.equal(client.item("todos", id), item, "the same list and id give the same mirror");
    assert.deepEqual(
      await until(item, (s) => s.ready, "the item"),
      { value: { text: "milk" }, exists: true, ready: true, status: "ready" },
    );
    await todos.set(id, { text: "oat milk" });
    await until(item, (s) => s.value?.text === "oat milk", "the new value");
    const errors: number[] = [];
    client.onError((error) => errors.push(error.code));
    const unknown = client.item<Todo>("todos", "no-such-id");
    const answer = await until(unknown, (s) => s.ready, "the unknown item's answer");
    assert.equal(answer.exists, false);
    assert.equal(answer.error?.code, ErrorCode.InvalidId);
    assert.equal(answer.status, "error");
    assert.deepEqual(errors, [ErrorCode.InvalidId]);
    item.close();
    item.close();
    assert.notEqual(client.item("todos", id), item, "closed by both openers: a new mirror");
    await todos.delete(id);
    await until(client.item<Todo>("todos", id), (s) => s.ready, "a new mirror's answer");
  });
});
