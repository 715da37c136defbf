/**
 * A store's change feed is listened to only while something subscribes: a
 * list listens to its source while it has views or item subscriptions, the
 * hub to its var store while some var has subscribers. A served hub on an
 * idle SQLite file runs no statement until a client subscribes, then sees
 * another connection's writes, and is idle again once the client left; a
 * var changed meanwhile by another connection reaches its first subscriber.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { Hub } from "../mod.ts";
import { LocalList } from "../src/server/local_list.ts";
import type { Subscriber } from "../src/peer/socket.ts";
import type { ListListener, ListSource } from "../src/store.ts";
import { MemoryListSource } from "../stores/memory/mod.ts";
import { openSqliteStore, type SqliteStore, sqliteStore } from "../stores/sqlite/mod.ts";
import {
  openSqliteDriver,
  type SqliteDriver,
  type SqliteStatement,
} from "../stores/sqlite/driver.ts";
import type { Frame } from "./helpers/raw_socket.ts";
import { withServedHub } from "./helpers/serve_hub.ts";
import { waitUntil } from "./helpers/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "socksync-lazy-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A driver that counts every statement it runs. */
function counting(driver: SqliteDriver) {
  const state = { count: 0 };
  const wrap = (s: SqliteStatement): SqliteStatement => ({
    run: (...p) => (state.count++, s.run(...p)),
    get: (...p) => (state.count++, s.get(...p)),
    all: (...p) => (state.count++, s.all(...p)),
  });
  const counted: SqliteDriver = {
    name: driver.name,
    exec: (sql) => (state.count++, driver.exec(sql)),
    prepare: (sql) => wrap(driver.prepare(sql)),
    close: () => driver.close(),
  };
  return { driver: counted, state };
}

/** A memory source that counts its open change-feed subscriptions. */
function countingSource() {
  const memory = new MemoryListSource<string>();
  const state = { open: 0, opened: 0 };
  const source: ListSource<string> = {
    count: () => memory.count(),
    page: (offset, limit) => memory.page(offset, limit),
    get: (id) => memory.get(id),
    indexOf: (id) => memory.indexOf(id),
    insert: (index, value, id) => memory.insert(index, value, id),
    set: (id, value) => memory.set(id, value),
    delete: (id) => memory.delete(id),
    subscribe(listener: ListListener<string>) {
      state.open++;
      state.opened++;
      const stop = memory.subscribe(listener);
      let on = true;
      return () => {
        if (on) state.open--;
        on = false;
        stop();
      };
    },
  };
  return { source, state };
}

/**
 * A third connection that listens all along, so its timer ticks like a listening store's: once
 * it heard a list write and then a var write made through `other` (two of its ticks at least),
 * the served store's timer of the same interval, had it been running, would have ticked too.
 * An event to wait for instead of a fixed pause that a loaded machine may outlast. It writes to
 * a list and a var of its own, which the hub does not serve.
 */
async function witness(path: string, other: SqliteStore) {
  const w = await openSqliteStore({ path });
  let heard = 0;
  const stopList = w.list<number>("marks").subscribe(() => heard++);
  const stopVars = w.vars.subscribe(() => heard++);
  // A list reports changes once it was read (from the version that read found).
  await w.list("marks").count();
  let n = 0;
  const heardAfter = async (what: string, write: () => Promise<unknown>) => {
    const before = heard;
    await write();
    await waitUntil(() => heard > before, { what: `the witness to hear ${what}` });
  };
  return {
    async ticks(): Promise<void> {
      n++;
      await heardAfter(`mark ${n} in its list`, () => other.list<number>("marks").insert(0, n));
      await heardAfter(`mark = ${n}`, () => other.vars.set("mark", n));
    },
    async close(): Promise<void> {
      stopList();
      stopVars();
      await w.close();
    },
  };
}

function recorder(): Subscriber & { frames: Frame[] } {
  const frames: Frame[] = [];
  return { frames, sendText: (text) => void frames.push(JSON.parse(text)) };
}

describe("lazy change feeds", () => {
  test("a list listens to its source only while it has views or item subscriptions", async () => {
    const { source, state } = countingSource();
    const list = new LocalList("todos", { source, schema: v.string() });
    const { id } = await list.insert(0, "milk");
    assert.equal(state.open, 0, "no subscriber yet");

    const a = recorder();
    const b = recorder();
    await list.view(a);
    assert.equal(state.open, 1);
    await list.subscribeItem(b, id);
    assert.equal(state.open, 1, "one subscription shared by views and items");
    // A change made through the list settles after its subscribers were sent it.
    await list.insert(1, "eggs");
    assert.ok(a.frames.some((f) => f.func === "insert" && f.value === "eggs"));
    await list.set(id, "oat milk");
    assert.ok(b.frames.some((f) => f.func === "set" && f.value === "oat milk"));

    await list.unsubscribe(a);
    assert.equal(state.open, 1, "the item subscription still listens");
    await list.unsubscribeItem(b, id);
    assert.equal(state.open, 0, "nothing listens after the last one left");
    assert.equal(list.listening, false);

    // Changes while nobody listened are in the next view's first read.
    await list.insert(0, "bread");
    await list.view(a, 0, 10);
    assert.deepEqual(a.frames.at(-1)?.items, [
      { id: (await source.page(0, 1)).items[0].id, value: "bread" },
      { id, value: "oat milk" },
      { id: (await source.page(2, 1)).items[0].id, value: "eggs" },
    ]);
    assert.equal(state.open, 1);
    await list.drop(a);
    assert.equal(state.open, 0, "dropping the subscriber stops listening");

    // A failed item subscription (unknown id) leaves nothing listening.
    await assert.rejects(list.subscribeItem(b, "nope"));
    assert.equal(state.open, 0);
    // An item deleted under its only watcher ends the subscription, and the listening.
    await list.subscribeItem(b, id);
    await list.delete(id);
    assert.ok(b.frames.some((f) => f.func === "delete" && f.id === id));
    assert.equal(state.open, 0);

    await list.view(a);
    list.close();
    assert.equal(state.open, 0, "close stops listening");
    await list.view(b);
    assert.equal(state.open, 0, "a closed list never listens again");
    assert.equal(state.opened, 5);
  });

  test("a served hub on an idle SQLite file runs no statement until a client subscribes", async () => {
    const path = join(dir, "served.db");
    const { driver, state } = counting(await openSqliteDriver(path));
    const store = sqliteStore(driver);
    const other = await openSqliteStore({ path });
    const hub = new Hub({ vars: store.vars });
    const todos = hub.list("todos", { source: store.list<string>("todos"), schema: v.string() });
    const counter = hub.var("counter", { schema: v.number(), initial: 0 });
    const clock = await witness(path, other);
    try {
      await todos.insert(0, "milk");
      await counter.set(1);
      await withServedHub({ hub }, async ({ open }) => {
        // Idle: another connection writes, this store reads nothing.
        const idle = state.count;
        await other.list<string>("todos").insert(1, "eggs");
        await other.vars.set("counter", 5);
        await clock.ticks();
        assert.equal(state.count, idle, "statements while nothing listened");

        const client = await open();
        client.send({ func: "subscribe", type: "var", name: "counter" });
        assert.equal((await client.next((f) => f.func === "set")).value, 5);
        client.send({ func: "subscribe", type: "list", name: "todos", page: 0, page_size: 10 });
        const all = await client.next((f) => f.func === "set_all");
        assert.deepEqual((all.items as Frame[]).map((item) => item.value), ["milk", "eggs"]);

        // Another connection's writes reach the client.
        await other.list<string>("todos").insert(0, "bread");
        await client.next((f) => f.func === "insert" && f.value === "bread", 10_000);
        await other.vars.set("counter", 7);
        await client.next((f) => f.func === "set" && f.value === 7, 10_000);

        client.send({ func: "unsubscribe", type: "var", name: "counter" });
        client.send({ func: "unsubscribe", type: "list", name: "todos" });
        await settlesIdle({ todos, counter, state, clock, what: "after unsubscribing" });

        // Idle again: the next subscriber still gets what changed meanwhile.
        await other.vars.set("counter", 9);
        client.send({ func: "subscribe", type: "var", name: "counter" });
        assert.equal((await client.next((f) => f.func === "set" && f.value !== 7)).value, 9);
        client.send({ func: "subscribe", type: "list", name: "todos", page: 0, page_size: 10 });
        await client.next((f) => f.func === "set_all");
        assert.ok(todos.listening);

        // A disconnect ends the subscriptions, and the reads.
        client.socket.close();
        await settlesIdle({ todos, counter, state, clock, what: "after the disconnect" });
      });
    } finally {
      await clock.close();
      await hub.close();
      await store.close();
      await other.close();
    }
  });
});

/**
 * Waits until the hub let go of the store, then checks that no statement runs while the
 * witness's timer ticks twice.
 */
async function settlesIdle(options: {
  todos: LocalList<string>;
  counter: { subscriberCount: number };
  state: { count: number };
  clock: { ticks(): Promise<void> };
  what: string;
}): Promise<void> {
  const { todos, counter, state, clock, what } = options;
  await waitUntil(() => !todos.listening && counter.subscriberCount === 0, { what });
  // A check the timer had started may still finish.
  await clock.ticks();
  const idle = state.count;
  await clock.ticks();
  assert.equal(state.count, idle, `statements ${what}`);
}
