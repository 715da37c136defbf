/**
 * Invariant 8 of PROTOCOL.md, property-based: after every change, every
 * subscriber's mirror — built only from the frames it received over a real
 * socket — equals what a `get` of its page would return.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as v from "valibot";
import { Hub, ListMirror, LocalList } from "../mod.ts";
import type { Peer } from "../src/peer/mod.ts";
import { ListFanout } from "../src/server/fanout/list_fanout.ts";
import { ItemSubscriptions } from "../src/server/fanout/list_items.ts";
import {
  classify,
  ListWindows,
  planShift,
  sendNewer,
  viewKey,
} from "../src/server/fanout/list_windows.ts";
import type { ListChange, ListSource } from "../src/store.ts";
import { MemoryListSource } from "../stores/memory/mod.ts";
import { storeKinds } from "./helpers/stores.ts";
import { connectPeer, withServedHub } from "./helpers/serve_hub.ts";
import { waitUntil } from "./helpers/wait.ts";

const MAX_PAGE_SIZE = 7;

type Op =
  | { kind: "insert"; at: number; burst: number }
  | { kind: "set"; at: number }
  | { kind: "delete"; at: number; burst: number }
  | { kind: "move"; who: number; page: number; size: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("insert" as const),
      at: fc.nat(),
      burst: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("set" as const), at: fc.nat() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("delete" as const),
      at: fc.nat(),
      burst: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("move" as const),
      who: fc.nat(),
      page: fc.nat({ max: 8 }),
      size: fc.integer({ min: 1, max: MAX_PAGE_SIZE + 2 }),
    }),
  },
);

const view = fc.record({
  page: fc.nat({ max: 6 }),
  size: fc.integer({ min: 1, max: MAX_PAGE_SIZE + 2 }),
});

interface Subscriber {
  peer: Peer;
  mirror: ListMirror<number>;
  close(): Promise<void>;
}

/** Resolves once a `set_all` for the requested page (clamped) and page size arrived. */
async function pageArrives(
  mirror: ListMirror<number>,
  page: number,
  size: number,
  total?: number,
): Promise<void> {
  const pageSize = Math.min(size, MAX_PAGE_SIZE);
  const arrived = () => {
    if (!mirror.ready || mirror.pageSize !== pageSize) return false;
    const count = total ?? mirror.total;
    const last = count === 0 ? 0 : Math.ceil(count / pageSize) - 1;
    return mirror.page === Math.min(page, last);
  };
  await waitUntil(arrived, {
    timeout: 5000,
    what: `page ${page} of size ${size}`,
    wake: (recheck) => mirror.onChange(recheck),
  });
}

async function openSubscriber(
  url: string,
  name: string,
  page: number,
  size: number,
): Promise<Subscriber> {
  const { peer, close } = await connectPeer(url, { limits: { callTimeout: 5000 } });
  const mirror = new ListMirror<number>(name, { page, pageSize: size });
  peer.mirror(mirror);
  // Requests on one connection may be answered out of order (a call does not wait
  // for a page read), so the first page is awaited itself, not behind a call.
  await pageArrives(mirror, page, size);
  return { peer, mirror, close };
}

const RUNS = { memory: 30, sqlite: 6, redis: 6 };
const STEPS = { memory: 2000, sqlite: 400, redis: 400 };

for (const { kind, open } of await storeKinds("page invariant")) {
  test(`${kind}: every subscriber's page stays exact through random inserts, sets, deletes and page moves`, async () => {
    const { store, cleanup } = await open();
    const hub = new Hub({ onError: () => {} });
    hub.function("echo", { handler: (args) => args });
    let run = 0;
    let steps = 0;
    try {
      await withServedHub({ hub, accept: ["echo"] }, ({ url }) =>
        fc.assert(
          fc.asyncProperty(
            fc.array(view, { minLength: 1, maxLength: 5 }),
            fc.array(op, { minLength: 80, maxLength: 250 }),
            fc.array(fc.integer(), { minLength: 0, maxLength: 30 }),
            async (views, ops, initial) => {
              const name = `list${run++}`;
              const source: ListSource<number> = store.list<number>(name);
              for (const [i, value] of initial.entries()) {
                await source.insert(i, value);
              }
              const list = hub.list(name, {
                source,
                schema: v.number(),
                maxPageSize: MAX_PAGE_SIZE,
              });
              const subscribers: Subscriber[] = [];
              try {
                for (const { page, size } of views) {
                  subscribers.push(await openSubscriber(url, name, page, size));
                }
                const settle = async () => {
                  // A call's return is sent after every frame the change caused, on the same socket.
                  await Promise.all(
                    subscribers.map((s) => s.peer.call("echo", null)),
                  );
                  for (const [i, s] of subscribers.entries()) {
                    const size = s.mirror.pageSize!;
                    const expected = await source.page(s.mirror.page * size, size);
                    const lastPage = expected.total === 0
                      ? 0
                      : Math.ceil(expected.total / size) - 1;
                    const context = `subscriber ${i} after step ${steps}`;
                    assert.ok(
                      s.mirror.page <= lastPage,
                      `${context}: page ${s.mirror.page} is past the end`,
                    );
                    assert.equal(
                      s.mirror.total,
                      expected.total,
                      `${context}: total`,
                    );
                    assert.deepEqual(
                      s.mirror.items,
                      expected.items,
                      `${context}: items`,
                    );
                  }
                };
                await settle();
                let value = 1_000;
                for (const step of ops) {
                  steps++;
                  const count = await source.count();
                  if (step.kind === "insert") {
                    await Promise.all(
                      Array.from(
                        { length: step.burst },
                        (_, k) =>
                          list.insert(
                            Math.min(step.at % (count + 1), count + k),
                            value++,
                          ),
                      ),
                    );
                  } else if (step.kind === "move") {
                    const s = subscribers[step.who % subscribers.length];
                    s.peer.getPage(s.mirror, step.page, step.size);
                    await pageArrives(s.mirror, step.page, step.size, count);
                  } else if (count > 0) {
                    const { items } = await source.page(
                      step.at % count,
                      step.kind === "set" ? 1 : step.burst,
                    );
                    if (step.kind === "set") await list.set(items[0].id, value++);
                    else await Promise.all(items.map((item) => list.delete(item.id)));
                  }
                  await settle();
                }
              } finally {
                await Promise.all(subscribers.map((s) => s.close()));
                list.close();
                hub.lists.delete(name);
              }
            },
          ),
          { numRuns: RUNS[kind] },
        ));
      assert.ok(steps >= STEPS[kind], `ran ${steps} steps`);
    } finally {
      await cleanup();
    }
  });
}

/** A subscriber in this process that keeps the frames it gets and applies them to a mirror. */
class Recorder {
  readonly frames: Record<string, unknown>[] = [];
  readonly mirror = new ListMirror<number>("numbers");
  sendText(text: string): void {
    const frame = JSON.parse(text);
    this.frames.push(frame);
    this.mirror.apply(frame);
  }
  /** The frames received since the last call. */
  take(): Record<string, unknown>[] {
    return this.frames.splice(0);
  }
}

async function numbers(count: number, maxPageSize = 5) {
  const source = new MemoryListSource<number>();
  const list = new LocalList("numbers", { source, schema: v.number(), maxPageSize });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await list.insert(i, i)).id);
  return { source, list, ids };
}

/** The mirror holds exactly the page it shows, as the source has it now. */
async function assertExact(s: Recorder, source: ListSource<number>, what: string) {
  const size = s.mirror.pageSize!;
  const expected = await source.page(s.mirror.page * size, size);
  assert.equal(s.mirror.total, expected.total, `${what}: total`);
  assert.deepEqual(s.mirror.items, expected.items, `${what}: items`);
}

describe("list views in process", () => {
  test("view opens or moves a view; moveView only moves one; both clamp the page and cap its size", async () => {
    const { list } = await numbers(12);
    try {
      const s = new Recorder();
      await list.moveView(s, 1, 5);
      assert.deepEqual(s.take(), [], "moveView without a view sends nothing");
      assert.equal(list.hasView(s), false, "moveView opened no view");

      await list.view(s, 9, 50);
      const [first, ...more] = s.take();
      assert.deepEqual(more, []);
      assert.equal(first.func, "set_all");
      assert.equal(first.page, 2, "a page past the end is clamped to the last");
      assert.equal(first.page_size, 5, "the page size is capped at maxPageSize");
      assert.equal(first.total_item_count, 12);
      assert.deepEqual((first.items as { value: number }[]).map((i) => i.value), [10, 11]);

      await list.moveView(s, 1, 5);
      const moved = s.take();
      assert.equal(moved.length, 1);
      assert.equal(moved[0].page, 1);
      assert.deepEqual((moved[0].items as { value: number }[]).map((i) => i.value), [
        5,
        6,
        7,
        8,
        9,
      ]);

      // A move queued behind the unsubscribe finds no view and does not re-open it.
      const unsubscribed = list.unsubscribe(s);
      await list.moveView(s, 0, 5);
      await unsubscribed;
      assert.deepEqual(s.take(), []);
      assert.equal(list.hasView(s), false);
      // view, by contrast, re-opens it.
      await list.view(s, 0, 5);
      assert.equal(s.take()[0].page, 0);
      assert.equal(list.hasView(s), true);
    } finally {
      list.close();
    }
  });

  test("a subscriber that moves between windows gets its new window's changes only; the window it left keeps the others", async () => {
    const { source, list, ids } = await numbers(15);
    try {
      const a = new Recorder();
      const b = new Recorder();
      await list.view(a, 0, 5);
      await list.view(b, 0, 5);
      await list.moveView(a, 2, 5);
      a.take();
      b.take();

      await list.set(ids[1], 100);
      assert.deepEqual(a.take(), [], "a left page 0");
      assert.deepEqual(b.take(), [
        { func: "set", type: "list", name: "numbers", id: ids[1], value: 100 },
      ]);
      await list.set(ids[11], 111);
      assert.deepEqual(a.take(), [
        { func: "set", type: "list", name: "numbers", id: ids[11], value: 111 },
      ]);
      assert.deepEqual(b.take(), [], "b stays on page 0");

      // Same offset, another size: another window, and both hold index 1.
      await list.view(a, 0, 3);
      a.take();
      await list.set(ids[1], 101);
      assert.equal(a.take().length, 1);
      assert.equal(b.take().length, 1);

      // An insert at 0 shifts both windows, each by its own frames; both mirrors stay exact.
      await list.insert(0, -1);
      await assertExact(a, source, "a after insert");
      await assertExact(b, source, "b after insert");
      await list.delete(ids[0]);
      await assertExact(a, source, "a after delete");
      await assertExact(b, source, "b after delete");

      a.take();
      await list.drop(a);
      await list.insert(0, -2);
      assert.deepEqual(a.take(), [], "a dropped");
      await assertExact(b, source, "b after a left");
    } finally {
      list.close();
    }
  });

  test("a view whose page is gone moves back to the last page and is in that page's window from then on", async () => {
    const { source, list, ids } = await numbers(10);
    try {
      const s = new Recorder();
      await list.view(s, 1, 5);
      s.take();
      for (const id of ids.slice(6).reverse()) await list.delete(id);
      assert.equal(s.mirror.page, 1);
      await list.delete(ids[5]);
      const frames = s.take();
      assert.equal(frames.at(-1)!.func, "set_all");
      assert.equal(frames.at(-1)!.page, 0);
      await assertExact(s, source, "after the page went");
      // It now watches page 0: a change there reaches it.
      await list.set(ids[2], 42);
      assert.deepEqual(s.take(), [
        { func: "set", type: "list", name: "numbers", id: ids[2], value: 42 },
      ]);
      await assertExact(s, source, "after a set on page 0");
    } finally {
      list.close();
    }
  });

  test("an item subscription gets its item's sets and its delete, then ends; drop ends view and items", async () => {
    const { list, ids } = await numbers(3);
    try {
      const s = new Recorder();
      await list.subscribeItem(s, ids[0]);
      await list.subscribeItem(s, ids[1]);
      await list.view(s, 0, 5);
      s.take();
      await list.set(ids[0], 7);
      // The item's watcher and the view each get the set.
      assert.equal(s.take().filter((f) => f.func === "set" && f.id === ids[0]).length, 2);
      await list.delete(ids[0]);
      const deletes = s.take().filter((f) => f.func === "delete");
      assert.equal(deletes.length, 2, "one delete for the item, one for the view");
      assert.equal(list.hasItem(s, ids[0]), false, "a deleted item's subscription ends");
      assert.equal(list.hasItem(s, ids[1]), true);
      await list.drop(s);
      assert.equal(list.hasItem(s, ids[1]), false);
      assert.equal(list.hasView(s), false);
      await list.set(ids[1], 8);
      assert.deepEqual(s.take(), []);
    } finally {
      list.close();
    }
  });
});

describe("list window bookkeeping", () => {
  test("holding(index) finds exactly the windows holding it, the windows stay sorted, empty ones go", () => {
    const subscribers = Array.from({ length: 12 }, () => ({ sendText() {} }));
    const step = fc.record({
      who: fc.nat({ max: subscribers.length - 1 }),
      leave: fc.boolean(),
      page: fc.nat({ max: 6 }),
      size: fc.integer({ min: 1, max: MAX_PAGE_SIZE }),
    });
    fc.assert(fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const windows = new ListWindows();
      const where = new Map<object, { page: number; size: number }>();
      for (const { who, leave, page, size } of steps) {
        const s = subscribers[who];
        if (leave) {
          windows.leave(s);
          where.delete(s);
        } else {
          const window = windows.enter(s, { page, size }, 0);
          assert.equal(window.offset, page * size);
          where.set(s, { page, size });
        }
      }
      const all = windows.all;
      for (let i = 1; i < all.length; i++) {
        assert.ok(all[i - 1].offset <= all[i].offset, "sorted by offset");
      }
      assert.ok(all.every((w) => w.peers.size > 0), "no empty window");
      assert.equal(new Set(all.map((w) => w.key)).size, all.length, "one window per view");
      for (const s of subscribers) {
        const spec = where.get(s);
        assert.equal(windows.has(s), spec !== undefined);
        if (spec) assert.equal(windows.of(s)!.key, viewKey(spec));
      }
      for (let index = 0; index < 7 * MAX_PAGE_SIZE + 2; index++) {
        const expected = all.filter((w) => w.offset <= index && index < w.offset + w.size);
        assert.deepEqual([...windows.holding(index, MAX_PAGE_SIZE)], expected, `index ${index}`);
      }
    }));
  });

  test("sendNewer skips subscribers that saw the version or are deferred, and marks the rest", () => {
    const got: string[] = [];
    const fresh = { sendText: (text: string) => got.push(`fresh ${text}`) };
    const stale = { sendText: (text: string) => got.push(`stale ${text}`) };
    const congested = { sendText: (text: string) => got.push(`congested ${text}`) };
    const peers = new Map<{ sendText(text: string): void }, number>([
      [fresh, 5],
      [stale, 3],
      [congested, 3],
    ]);
    sendNewer(peers, { texts: ["x", "y"], version: 4, deferred: (s) => s === congested });
    assert.deepEqual(got, ["stale x", "stale y"], "a fresher set_all already holds version 4");
    assert.deepEqual([...peers.values()], [5, 4, 3], "the deferred one stays behind");
  });

  test("a window re-read goes only to the subscribers behind the change, once each", async () => {
    const source = new MemoryListSource<number>();
    for (let i = 0; i < 3; i++) await source.insert(i, i);
    const windows = new ListWindows();
    const fanout = new ListFanout({
      name: "numbers",
      source,
      maxPageSize: 5,
      windows,
      items: new ItemSubscriptions(),
      deferView: () => false,
      deferItem: () => false,
    });
    const changes: ListChange<number>[] = [];
    const stop = source.subscribe((change) => changes.push(change));
    const before = (await source.page(0, 0)).version;
    // Page 1 of size 2 holds only the last item: deleting it takes the page away (a re-read).
    await source.delete((await source.page(2, 1)).items[0].id);
    stop();
    const [change] = changes;
    assert.equal(change.op, "delete");
    const behind = new Recorder();
    // Joined after the delete: its own read already holds it.
    const current = new Recorder();
    windows.enter(behind, { page: 1, size: 2 }, before);
    windows.enter(current, { page: 1, size: 2 }, change.version);
    await fanout.apply(change);
    const page0 = await source.page(0, 2);
    assert.deepEqual(behind.take(), [{
      func: "set_all",
      type: "list",
      name: "numbers",
      page: 0,
      page_size: 2,
      total_item_count: 2,
      items: page0.items.map(({ id, value }) => ({ id, value })),
    }]);
    assert.deepEqual(current.take(), [], "no set_all for a subscriber that saw the change");
    assert.equal(windows.of(behind)?.offset, 0, "the one behind moved to page 0");
  });

  test("classify and planShift: what an insert or delete does to a window", () => {
    const window = { offset: 10, size: 5 };
    const insert = (index: number, total: number) =>
      ({ op: "insert", index, id: "n", value: 0, total, version: 1 }) as const;
    const del = (index: number, total: number) =>
      ({ op: "delete", index, id: "d", total, version: 1 }) as const;
    assert.equal(classify(window, insert(15, 30)), "count");
    assert.equal(classify(window, insert(12, 14)), "frame", "room left on the page");
    assert.equal(classify(window, insert(12, 30)), "shift", "the last item is pushed out");
    assert.equal(classify(window, insert(3, 30)), "shift");
    assert.equal(classify(window, del(12, 13)), "frame", "nothing slides in");
    assert.equal(classify(window, del(12, 30)), "shift");
    assert.equal(classify(window, del(3, 30)), "shift");
    assert.equal(classify(window, del(9, 10)), "refresh", "page 2 is gone");
    assert.equal(classify({ offset: 0, size: 5 }, del(0, 0)), "frame");
    assert.deepEqual(planShift(window, insert(3, 30)), { leaving: 15, entering: 10 });
    assert.deepEqual(planShift(window, insert(12, 30)), { leaving: 15, entering: undefined });
    assert.deepEqual(planShift(window, del(3, 30)), { leaving: 9, entering: 14 });
    assert.deepEqual(planShift(window, del(12, 30)), { leaving: "d", entering: 14 });
  });

  test("item subscriptions: the reverse index ends a subscriber's items and an item's subscribers", () => {
    const items = new ItemSubscriptions();
    const a = { sendText() {} };
    const b = { sendText() {} };
    items.add(a, "x", 1);
    items.add(a, "y", 1);
    items.add(b, "x", 2);
    assert.deepEqual([...items.watchers("x")!.entries()], [[a, 1], [b, 2]]);
    items.dropAll(a);
    assert.equal(items.has(a, "x"), false);
    assert.equal(items.watchers("y"), undefined, "y had only a");
    assert.deepEqual([...items.watchers("x")!.keys()], [b]);
    items.add(a, "x", 3);
    items.forget("x");
    assert.equal(items.watchers("x"), undefined);
    assert.equal(items.has(a, "x"), false);
    assert.deepEqual(items.entries(), []);
    items.drop(b, "x"); // a no-op after forget
    items.add(b, "z", 4);
    items.drop(b, "z");
    assert.equal(items.watchers("z"), undefined);
  });
});
