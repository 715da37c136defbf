/**
 * List fan-out over real sockets, where the runtime's one-to-many send
 * carries a window's frames (Bun's `publish`, pre-framed writes on `ws`):
 * after every batch of inserts, deletes and sets, each view built from its
 * frames equals a fresh read of its page; subscribers that asked for change
 * markers get them and the others do not (a connection that asks for them
 * later gets them from then on); a connection that did not
 * subscribe gets nothing. A view whose reader stops leaves that path and
 * catches up once it reads again, its frames still applying cleanly.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { Hub } from "../mod.ts";
import { MemoryListSource } from "../stores/memory/mod.ts";
import type { ListItem, ListPage } from "../src/store.ts";
import { random } from "../src/testing/kit.ts";
import { PageMirror } from "./helpers/page_mirror.ts";
import type { Frame, RawSocket } from "./helpers/raw_socket.ts";
import { withServedHub } from "./helpers/serve_hub.ts";
import { TcpWebSocket } from "./helpers/tcp_websocket.ts";
import { waitUntil } from "./helpers/wait.ts";

const schema = v.object({ n: v.number(), pad: v.string() });
type Item = v.InferOutput<typeof schema>;

const isList = (frame: Frame) => frame.type === "list" && frame.name === "todos";

describe("list fan-out", () => {
  test("every view stays equal to its page; markers only where asked", async () => {
    const hub = new Hub({ onError: () => {} });
    const source = new MemoryListSource<Item>();
    let serial = 0;
    const item = (): Item => ({ n: ++serial, pad: "x".repeat(serial % 50) });
    for (let i = 0; i < 20; i++) await source.insert(i, item());
    const list = hub.list("todos", { source, schema, maxPageSize: 5 });
    hub.list("other", { source: new MemoryListSource<Item>(), schema });
    hub.function("echo", { handler: (args) => args });
    await withServedHub({ hub, accept: ["echo"] }, async ({ open }) => {
      // `later`: asks for markers (on another list) from batch 3 on.
      const views = [
        { page: 0, size: 5, more: false },
        { page: 0, size: 5, more: false },
        { page: 0, size: 5, more: true },
        { page: 0, size: 5, more: false, later: true },
        { page: 1, size: 5, more: false },
        { page: 1, size: 5, more: true },
        { page: 3, size: 4, more: false },
      ].map(async (spec) => {
        const client = await open();
        client.send({
          func: "subscribe",
          type: "list",
          name: "todos",
          page: spec.page,
          page_size: spec.size,
          ...(spec.more ? { more: true } : {}),
        });
        const mirror = new PageMirror();
        mirror.apply(await client.next((f) => isList(f) && f.func === "set_all"));
        return { ...spec, client, mirror, marked: 0, markedBefore: 0 };
      });
      const opened = await Promise.all(views);
      const bystander = await open();

      const next = random(7);
      for (let batch = 0; batch < 8; batch++) {
        if (batch === 3) {
          for (const view of opened.filter((view) => view.later)) {
            view.markedBefore = view.marked;
            view.more = true;
            view.client.send({ func: "subscribe", type: "list", name: "other", more: true });
            await view.client.next((f) => f.name === "other" && f.func === "set_all");
          }
        }
        for (let op = 0; op < 40; op++) {
          const total = await source.count();
          const roll = next();
          const at = Math.floor(next() * total);
          if (roll < 0.4 || total < 8) await list.insert(Math.floor(next() * (total + 1)), item());
          else if (roll < 0.75) await list.delete((await source.page(at, 1)).items[0].id);
          else await list.set((await source.page(at, 1)).items[0].id, item());
        }
        for (const view of opened) {
          const frames = (await view.client.drain()).filter(isList);
          for (const frame of frames) {
            if (frame.more === true) view.marked++;
            view.mirror.apply(frame);
          }
          if (frames.length > 0) {
            assert.notEqual(frames.at(-1)!.more, true, "a change ends with an unmarked frame");
          }
          const page = await source.page(view.mirror.page * view.size, view.size);
          assert.equal(view.mirror.total, page.total, `total of a view of page ${view.page}`);
          assert.deepEqual(
            view.mirror.items,
            page.items.map(({ id, value }) => ({ id, value })),
            `batch ${batch}: the view of page ${view.page} (size ${view.size}, more ${view.more})`,
          );
        }
      }
      for (const view of opened) {
        if (view.more) assert.ok(view.marked > 0, "a view that asked got change markers");
        else assert.equal(view.marked, 0, "a view that did not ask got no markers");
        if (view.later) {
          assert.equal(view.markedBefore, 0, "no markers before asking");
          assert.ok(view.marked > 0, "markers after asking, on a view opened before");
        }
      }
      assert.deepEqual(await bystander.drain(), [], "a connection that did not subscribe");
    });
  });

  test("an item pushed out of a view is named from the page's stored texts, its value not parsed", async () => {
    // Pages as a store that keeps JSON text hands them out: `stored`, and
    // items built (counted here) only when they are read.
    let parsed = 0;
    class StoredPages extends MemoryListSource<Item> {
      override async page(offset: number, limit: number): Promise<ListPage<Item>> {
        const read = await super.page(offset, limit);
        const ids = read.items.map((item) => item.id);
        const json = read.items.map((item) => JSON.stringify(item.value));
        let items: ListItem<Item>[] | undefined;
        const page = {
          get items(): ListItem<Item>[] {
            if (items) return items;
            parsed++;
            Object.defineProperty(page, "stored", { value: undefined });
            return items = ids.map((id, i) => ({ id, value: JSON.parse(json[i]) }));
          },
          total: read.total,
          version: read.version,
        };
        return Object.defineProperty(page, "stored", { value: { ids, json }, configurable: true });
      }
    }
    const hub = new Hub({ onError: () => {} });
    const source = new StoredPages();
    for (let i = 0; i < 3; i++) await source.insert(i, { n: i, pad: "" }, `i${i}`);
    const list = hub.list("todos", { source, schema, maxPageSize: 5 });
    await withServedHub({ hub }, async ({ open }) => {
      const client = await open();
      client.send({ func: "subscribe", type: "list", name: "todos", page: 0, page_size: 2 });
      const mirror = new PageMirror();
      mirror.apply(await client.next((f) => isList(f) && f.func === "set_all"));
      // Inserted at 0: the new item enters, the one at index 2 of the list leaves.
      await list.insert(0, { n: 9, pad: "" }, "new");
      mirror.apply(await client.next((f) => isList(f) && f.func === "delete"));
      assert.deepEqual(mirror.items.map((item) => item.id), ["i0"]);
      mirror.apply(await client.next((f) => isList(f) && f.func === "insert"));
      assert.deepEqual(mirror.items.map((item) => item.id), ["new", "i0"]);
      assert.equal(parsed, 0, "no page's values parsed");
    });
  });

  test("a view that stopped reading catches up and applies cleanly after", async () => {
    const hub = new Hub({ onError: () => {}, limits: { idleTimeout: 0 } });
    const source = new MemoryListSource<Item>();
    for (let i = 0; i < 10; i++) await source.insert(i, { n: i, pad: "" });
    const list = hub.list("todos", { source, schema, maxPageSize: 5 });
    hub.function("echo", { handler: (args) => args });
    await withServedHub({ hub, accept: ["echo"] }, async ({ port, open }) => {
      const subscribe = { func: "subscribe", type: "list", name: "todos", page: 0, page_size: 5 };
      const reader: RawSocket = await open();
      reader.send(subscribe);
      const readerMirror = new PageMirror();
      readerMirror.apply(await reader.next((f) => isList(f) && f.func === "set_all"));
      const slow = await TcpWebSocket.open(port);
      try {
        const slowMirror = new PageMirror();
        let applied = 0;
        const catchUp = () => {
          for (; applied < slow.texts.length; applied++) {
            const frame = JSON.parse(slow.texts[applied]) as Frame;
            if (isList(frame)) slowMirror.apply(frame);
          }
        };
        const inStep = async () => {
          catchUp();
          const page = await source.page(0, 5);
          return slowMirror.total === page.total &&
            JSON.stringify(slowMirror.items) ===
              JSON.stringify(page.items.map(({ id, value }) => ({ id, value })));
        };
        slow.send(subscribe);
        const got = (func: string) => slow.texts.some((t) => JSON.parse(t).func === func);
        await slow.until(() => got("set_all"), 5000, "the first set_all");
        // Both join the window's topic after the first change they get through their own sends.
        const first = (await source.page(0, 1)).items[0];
        await list.set(first.id, { n: -1, pad: "" });
        await slow.until(() => got("set"), 5000, "the first change");
        assert.equal(list.topicMembers, 2, "both views on the topic");
        slow.socket.pause();
        // ~12 MB for the page while it does not read: more than the kernel's socket buffers take (about 4 MB here),
        // so it backs up on the server and leaves the topic; the slow-consumer rules keep it under the hard cap.
        const BIG = "y".repeat(2000);
        for (let n = 0; n < 6000; n++) {
          const { id } = (await source.page(n % 5, 1)).items[0];
          await list.set(id, { n, pad: BIG });
          if (n % 100 === 0) await new Promise((r) => setTimeout(r, 1));
        }
        assert.equal(list.topicMembers, 1, "the slow view left the topic");
        slow.socket.resume();
        await waitUntil(inStep, {
          timeout: 30_000,
          what: "the slow view to catch up with its page",
        });
        // Reading again: inserts and deletes reach it as frames that apply to its copy.
        for (let n = 0; n < 300; n++) {
          if (n % 2 === 0) await list.insert(n % 7, { n, pad: "z" });
          else await list.delete((await source.page(n % 9, 1)).items[0].id);
        }
        await waitUntil(inStep, {
          timeout: 10_000,
          what: "the slow view to follow the changes after",
        });
        // It came back once drained: the topic reaches both again.
        assert.equal(list.topicMembers, 2, "the slow view back on the topic");
        for (const frame of (await reader.drain()).filter(isList)) readerMirror.apply(frame);
        assert.deepEqual(readerMirror.items, slowMirror.items, "both views show the same page");
      } finally {
        await slow.close();
      }
    });
  });
});
