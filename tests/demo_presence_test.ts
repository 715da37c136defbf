/**
 * The demo's presence contract over real sockets with raw JSON, on the runtime running
 * this file: list `room_members` (params `{ room }`, value `{ name, typing }`, oldest
 * arrival first, pages of at most 50), membership while a connection views `messages`
 * of the room (any page), `set_presence` and its errors, leaving on unsubscribe and on
 * disconnect.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { memoryStore } from "../stores/memory/mod.ts";
import { createDemoHub } from "../demo/app.ts";
import { openChat } from "../demo/chat.ts";
import type { Frame, RawSocket } from "./helpers/raw_socket.ts";
import { withServedHub } from "./helpers/serve_hub.ts";

const GENERAL = { room: "general" };
const RANDOM = { room: "random" };

const isMembers = (func: string, params: unknown = GENERAL) => (f: Frame) =>
  f.func === func && f.type === "list" && f.name === "room_members" &&
  JSON.stringify(f.params) === JSON.stringify(params);

const viewMessages = (socket: RawSocket, params: unknown, page = 0) =>
  socket.send({ func: "subscribe", type: "list", name: "messages", params, page, page_size: 5 });

async function demo() {
  const store = memoryStore();
  const chat = await openChat({ kind: "memory" });
  return {
    hub: createDemoHub(store, { chat }),
    close: () => chat.close().then(() => store.close()),
  };
}

test("demo presence: room_members and set_presence", { timeout: 60_000 }, async (t) => {
  const { hub, close } = await demo();
  await withServedHub({ hub }, async ({ open }) => {
    const watcher = await open();
    const ann = await open();
    const bob = await open();

    await t.test("room_members is a list with params, max page 50, empty at first", async () => {
      watcher.send({ func: "subscribe", type: "list", name: "room_members", params: GENERAL });
      const first = await watcher.next(isMembers("set_all"));
      assert.equal(first.total_item_count, 0);
      assert.deepEqual(first.items, []);
      assert.equal(first.page_size, 50);
    });

    let annId = "";
    let bobId = "";
    await t.test("viewing messages of a room joins it as anon, oldest first", async () => {
      viewMessages(ann, GENERAL);
      const insert = await watcher.next(isMembers("insert"));
      assert.equal(insert.index, 0);
      assert.deepEqual(insert.value, { name: "anon", typing: false });
      annId = String(insert.id);
      assert.equal((await watcher.next(isMembers("set_count"))).total_item_count, 1);
      viewMessages(bob, GENERAL);
      const second = await watcher.next(isMembers("insert"));
      assert.equal(second.index, 1, "the newer arrival comes last");
      bobId = String(second.id);
      assert.notEqual(bobId, annId);
      assert.equal((await watcher.next(isMembers("set_count"))).total_item_count, 2);
    });

    await t.test("set_presence changes the caller's entry only", async () => {
      const answer = await bob.call("set_presence", { room: "general", name: "bob", typing: true });
      assert.equal(answer.func, "return", JSON.stringify(answer));
      assert.deepEqual(answer.value, {});
      const set = await watcher.next(isMembers("set"));
      assert.equal(set.id, bobId);
      assert.deepEqual(set.value, { name: "bob", typing: true });
      await bob.call("set_presence", { room: "general", typing: false });
      const cleared = await watcher.next(isMembers("set"));
      assert.deepEqual(cleared.value, { name: "bob", typing: false }, "the name stays");
      const page = await watcher.call("echo", 1).then(() =>
        watcher.send({ func: "get", type: "list", name: "room_members", params: GENERAL, page: 0 })
      ).then(() => watcher.next(isMembers("set_all")));
      assert.deepEqual(page.items, [
        { id: annId, value: { name: "anon", typing: false } },
        { id: bobId, value: { name: "bob", typing: false } },
      ]);
    });

    await t.test("set_presence outside the room is error 1, bad args error 6", async () => {
      const outside = await bob.call("set_presence", { room: "random", typing: true });
      assert.equal(outside.func, "error", JSON.stringify(outside));
      assert.equal(outside.error_code, 1);
      const watcherOutside = await watcher.call("set_presence", { room: "general", name: "w" });
      assert.equal(watcherOutside.error_code, 1, "viewing room_members is not being in the room");
      const bad: unknown[] = [
        { room: "general", name: "" },
        { room: "general", name: "x".repeat(33) },
        { room: "", typing: true },
        { room: "x".repeat(65) },
        { room: "general", typing: "yes" },
        { name: "bob" },
      ];
      for (const args of bad) {
        const answer = await bob.call("set_presence", args);
        assert.equal(answer.error_code, 6, `${JSON.stringify(args)}: ${JSON.stringify(answer)}`);
      }
      const ok = await bob.call("set_presence", { room: "general", name: "x".repeat(32) });
      assert.equal(ok.func, "return", "32 characters is a name");
      await watcher.next(isMembers("set"));
    });

    await t.test("room_members params: missing is error 5, invalid 6", async () => {
      watcher.send({ func: "subscribe", type: "list", name: "room_members" });
      assert.equal((await watcher.next((f) => f.func === "error")).error_code, 5);
      for (const params of [{ room: "" }, { room: "x".repeat(65) }, { room: 1 }]) {
        watcher.send({ func: "subscribe", type: "list", name: "room_members", params });
        assert.equal((await watcher.next((f) => f.func === "error")).error_code, 6);
      }
    });

    await t.test("moving the messages view keeps the member; other rooms see nothing", async () => {
      watcher.send({ func: "subscribe", type: "list", name: "room_members", params: RANDOM });
      assert.equal((await watcher.next(isMembers("set_all", RANDOM))).total_item_count, 0);
      ann.send({ func: "get", type: "list", name: "messages", params: GENERAL, page: 3 });
      await ann.next((f) => f.func === "set_all" && f.name === "messages");
      viewMessages(ann, RANDOM);
      const inRandom = await watcher.next(isMembers("insert", RANDOM));
      assert.equal(inRandom.index, 0);
      const rest = await watcher.drain();
      assert.deepEqual(rest.filter(isMembers("delete")), [], "ann is still in general");
    });

    await t.test("unsubscribing from messages leaves the room; joining again comes last", async () => {
      ann.send({ func: "unsubscribe", type: "list", name: "messages", params: GENERAL });
      const gone = await watcher.next(isMembers("delete"));
      assert.equal(gone.id, annId);
      assert.equal((await watcher.next(isMembers("set_count"))).total_item_count, 1);
      const again = await ann.call("set_presence", { room: "general", typing: true });
      assert.equal(again.error_code, 1, "no longer in general");
      viewMessages(ann, GENERAL);
      const back = await watcher.next(isMembers("insert"));
      assert.equal(back.index, 1, "after bob");
      assert.deepEqual(back.value, { name: "anon", typing: false }, "a new arrival");
      annId = String(back.id);
    });

    await t.test("a member's item can be watched on its own", async () => {
      watcher.send({
        func: "subscribe",
        type: "list",
        name: "room_members",
        params: GENERAL,
        id: bobId,
      });
      const item = await watcher.next((f) => isMembers("set")(f) && f.id === bobId);
      assert.equal((item.value as { name: string }).name, "x".repeat(32));
      await bob.call("set_presence", { room: "general", name: "bob" });
      const changed = await watcher.next((f) => isMembers("set")(f) && f.id === bobId);
      assert.deepEqual(changed.value, { name: "bob", typing: false });
    });

    await t.test("a connection that closes leaves every room", async () => {
      await watcher.drain();
      await ann.close();
      assert.equal((await watcher.next(isMembers("delete"))).id, annId);
      assert.equal((await watcher.next(isMembers("delete", RANDOM))).id, annId);
      assert.equal((await watcher.next(isMembers("set_count"))).total_item_count, 1);
      const random = await watcher.next(isMembers("set_count", RANDOM));
      assert.equal(random.total_item_count, 0);
      await bob.close();
      assert.equal((await watcher.next(isMembers("delete"))).id, bobId);
      assert.equal((await watcher.next(isMembers("set_count"))).total_item_count, 0);
    });
  });
  await close();
});
