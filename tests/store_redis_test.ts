import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { createServer, type Socket } from "node:net";
import { Redis } from "ioredis";
import { listSourceConformance, varStoreConformance } from "../src/testing/mod.ts";
import { openRedisStore } from "../stores/redis/mod.ts";
import { deleteRedisPrefix, redisReachable, startRedis, stopProcess } from "./helpers/stores.ts";
import { freePort } from "./helpers/free_port.ts";
import { startFaultProxy } from "./helpers/fault_proxy.ts";
import { waitUntil } from "./helpers/wait.ts";
import type { ListChange, Store } from "../src/store.ts";
import { ORDER_KEY_REBALANCE_LENGTH, orderKeyBetween } from "../stores/common/order_key.ts";
import type { SockSyncError } from "../src/errors.ts";

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = `socksync-test:${Math.random().toString(36).slice(2)}:`;

const available = await redisReachable(url);
const skip = available ? false : `no Redis at ${url}`;
if (!available) {
  if (process.env.CI === "true") {
    test("Redis is reachable (CI=true)", () => assert.fail(`no Redis at ${url}`));
  } else {
    console.log(`SKIPPED: Redis suites (no Redis at ${url})`);
  }
}

const stores: Store[] = [];
async function open(
  options: { prefix?: string; url?: string; timeoutMs?: number } = {},
): Promise<Store> {
  const store = await openRedisStore({ url, prefix, ...options });
  stores.push(store);
  return store;
}
let shared: Promise<Store> | undefined;
let lists = 0;

listSourceConformance(
  "Redis list",
  async () => (await (shared ??= open())).list(`l${lists++}`),
  { skip },
);
varStoreConformance(
  "Redis vars",
  async () => (await (shared ??= open())).vars,
  // A second store object on the same prefix stands for another process.
  { skip, makeOther: async () => (await open()).vars },
);

/** Resolves once `count` items have been pushed into `into`, or rejects after 10 s. */
function until<T>(into: T[], count: number): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      clearInterval(poll);
      reject(
        new Error(`waited for ${count} events, got ${JSON.stringify(into)}`),
      );
    }, 10_000);
    const poll = setInterval(() => {
      if (into.length < count) return;
      clearInterval(poll);
      clearTimeout(timer);
      resolve(into);
    }, 5);
  });
}

describe("Redis store", { skip }, () => {
  after(async () => {
    for (const store of stores) await store.close();
    await deleteRedisPrefix(prefix);
  });

  test("list update: concurrent read-modify-writes from two store objects lose nothing", async () => {
    const a = (await open()).list<{ n: number }>("cas");
    const b = (await open()).list<{ n: number }>("cas");
    const { id } = await a.insert(0, { n: 0 });
    const bump = (current: { n: number }) => ({ n: current.n + 1 });
    await Promise.all(
      Array.from({ length: 20 }, (_, k) => (k % 2 ? a : b).update!(id, bump)),
    );
    assert.deepEqual((await b.get(id))?.value, { n: 20 });
    await assert.rejects(a.update!("missing", bump), (e: SockSyncError) => e.code === 4);
  });

  test("a second store object sees the first one's changes", async () => {
    const a = await open();
    const b = await open();
    assert.equal(a.kind, "redis");
    const seen: ListChange[] = [];
    const stop = b.list("shared").subscribe((change) => seen.push(change));
    const varsSeenByB: [string, unknown][] = [];
    const varsSeenByA: [string, unknown][] = [];
    const stopB = b.vars.subscribe!((name, value) => varsSeenByB.push([name, value]));
    const stopA = a.vars.subscribe!((name, value) => varsSeenByA.push([name, value]));
    try {
      // B's feed starts with its first listener, and B's next operation waits
      // until it listens (as a hub reads the list right after subscribing).
      await b.list("shared").count();
      const item = await a.list("shared").insert(0, { text: "from a" });
      await a.list("shared").set(item.id, { text: "changed" });
      await a.vars.set("title", "Groceries 🛒");
      await until(seen, 2);
      assert.deepEqual(seen, [
        {
          op: "insert",
          index: 0,
          id: item.id,
          value: { text: "from a" },
          total: 1,
          version: 1,
        },
        {
          op: "set",
          index: 0,
          id: item.id,
          value: { text: "changed" },
          total: 1,
          version: 2,
        },
      ]);
      await until(varsSeenByB, 1);
      assert.deepEqual(varsSeenByB, [["title", "Groceries 🛒"]]);
      assert.deepEqual(await b.list("shared").page(0, 5), {
        items: [{ id: item.id, value: { text: "changed" } }],
        total: 1,
        version: 2,
      });
      assert.equal(await b.vars.get("title"), "Groceries 🛒");
      // B's own set reaches A, but not B's own listener.
      await b.vars.set("title", "Shopping");
      await until(varsSeenByA, 1);
      assert.deepEqual(varsSeenByA, [["title", "Shopping"]]);
      assert.deepEqual(varsSeenByB, [["title", "Groceries 🛒"]]);
    } finally {
      stop();
      stopA();
      stopB();
    }
  });

  test("reports a reset after the subscriber reconnects", async () => {
    const store = await open({ prefix: `${prefix}reconnect:` });
    const list = store.list("l");
    const changes: ListChange[] = [];
    const values: [string, unknown][] = [];
    const stop = list.subscribe((change) => changes.push(change));
    const stopVars = store.vars.subscribe!((name, value) => values.push([name, value]));
    const admin = new Redis(url);
    try {
      await list.insert(0, "before");
      await store.vars.set("v", 42);
      await until(changes, 1);
      const clients = await admin.client("LIST") as string;
      const line = clients.split("\n").find((l) => l.includes(` name=${prefix}reconnect:sub `));
      assert.ok(line, "subscriber connection not found");
      await admin.client("KILL", "ID", /id=(\d+)/.exec(line)![1]);
      await until(changes, 2);
      assert.deepEqual(changes[1], { op: "reset", version: 1 });
      await until(values, 1);
      assert.deepEqual(values, [["v", 42]]);
      await list.insert(1, "after");
      await until(changes, 3);
      assert.deepEqual(changes[2], {
        op: "insert",
        index: 1,
        id: changes[2].op === "insert" ? changes[2].id : "",
        value: "after",
        total: 2,
        version: 2,
      });
    } finally {
      stop();
      stopVars();
      admin.disconnect();
    }
  });

  test("rejects with code 8 when Redis is down, and recovers", async () => {
    const port = await freePort();
    await assert.rejects(
      openRedisStore({ url: `redis://127.0.0.1:${port}`, timeoutMs: 1000 }),
      (error: { code?: number; message: string }) =>
        error.code === 8 && error.message.startsWith("store unavailable") &&
        error.message.includes(`cannot connect to Redis at 127.0.0.1:${port}`),
    );
    let server = await startRedis(port);
    const store = await openRedisStore({
      url: `redis://127.0.0.1:${port}`,
      timeoutMs: 1000,
    });
    const changes: ListChange[] = [];
    const stop = store.list("l").subscribe((change) => changes.push(change));
    const values: [string, unknown][] = [];
    const stopVars = store.vars.subscribe!((name, value) => values.push([name, value]));
    try {
      await store.list("l").insert(0, "x");
      await store.vars.set("gone", 1);
      await until(changes, 1);
      await stopProcess(server);
      await assert.rejects(
        store.vars.update!("gone", () => 2),
        (error: { code?: number }) => error.code === 8,
      );
      await assert.rejects(
        store.list("l").insert(0, "y"),
        (error: { code?: number }) => error.code === 8,
      );
      await assert.rejects(
        store.vars.get("a"),
        (error: { code?: number }) => error.code === 8,
      );
      server = await startRedis(port);
      // The new server is empty: the reset says so (version 0).
      await until(changes, 2);
      assert.deepEqual(changes.at(-1), { op: "reset", version: 0 });
      // The restarted Redis lost the var: reported as undefined, not skipped.
      await until(values, 2);
      // (Once per reconnected connection: both dropped.)
      const gone = values.filter(([name]) => name === "gone");
      assert.ok(gone.length > 0);
      for (const report of gone) assert.deepEqual(report, ["gone", undefined]);
      let inserted = false;
      for (let attempt = 0; attempt < 100 && !inserted; attempt++) {
        inserted = await store.list("l").insert(0, "z").then(
          () => true,
          () => false,
        );
        if (!inserted) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(inserted);
      assert.equal(await store.list("l").count(), 1);
    } finally {
      stop();
      stopVars();
      await store.close();
      await stopProcess(server);
    }
  });

  test("update: concurrent read-modify-writes from two processes lose nothing", async () => {
    const a = await open({ prefix: `${prefix}update:` });
    const b = await open({ prefix: `${prefix}update:` });
    const increment = (store: Store) => async () => {
      for (let n = 0; n < 50; n++) {
        await store.vars.update!("n", (current) => ((current as number) ?? 0) + 1);
      }
    };
    await Promise.all([increment(a)(), increment(b)(), increment(a)()]);
    assert.equal(await b.vars.get("n"), 150);
  });

  test("update: fn sees undefined when unset, reruns after a concurrent write; a throw stores nothing", async () => {
    const store = await open({ prefix: `${prefix}update-fn:` });
    const other = await open({ prefix: `${prefix}update-fn:` });
    const seen: unknown[] = [];
    const first = await store.vars.update!("v", (current) => {
      seen.push(current);
      return { n: 1 };
    });
    assert.deepEqual([...seen], [undefined]);
    assert.deepEqual(first, { n: 1 });
    assert.deepEqual(await other.vars.get("v"), { n: 1 });
    // Another process writes between this update's read and its write (sent
    // from inside fn, so it usually lands first): fn runs again on its value.
    seen.length = 0;
    let write: Promise<void> | undefined;
    const result = await store.vars.update!("v", (current) => {
      seen.push(current);
      write ??= other.vars.set("v", { n: 10 });
      return { n: (current as { n: number }).n + 1 };
    });
    await write;
    const after = await store.vars.get("v");
    if (seen.length === 2) {
      assert.deepEqual(seen, [{ n: 1 }, { n: 10 }]);
      assert.deepEqual(result, { n: 11 });
      assert.deepEqual(after, result);
    } else {
      // The other write landed after this update's: it is the last word.
      assert.deepEqual(seen, [{ n: 1 }]);
      assert.deepEqual(result, { n: 2 });
      assert.deepEqual(after, { n: 10 });
    }
    await assert.rejects(
      store.vars.update!("v", () => {
        throw new Error("refused");
      }),
      /refused/,
    );
    assert.deepEqual(await store.vars.get("v"), after);
    assert.equal(await store.vars.update!("v", () => undefined), undefined);
    assert.equal(await store.vars.get("v"), undefined);
  });

  test("a mutation settles after its own change reached the listeners", async () => {
    const store = await open({ prefix: `${prefix}settle:` });
    const list = store.list<string>("l");
    const seen: ListChange<string>[] = [];
    const stop = list.subscribe((change) => seen.push(change));
    try {
      const item = await list.insert(0, "a");
      assert.equal(seen.length, 1);
      await list.set(item.id, "b");
      assert.equal(seen.length, 2);
      await list.delete(item.id);
      assert.deepEqual(seen.map((c) => c.op), ["insert", "set", "delete"]);
    } finally {
      stop();
    }
  });

  test("after the command connection reconnects, lists reset and vars are reported", async () => {
    const store = await open({ prefix: `${prefix}cmd-drop:` });
    const list = store.list("l");
    const changes: ListChange[] = [];
    const values: [string, unknown][] = [];
    const stop = list.subscribe((change) => changes.push(change));
    const stopVars = store.vars.subscribe!((name, value) => values.push([name, value]));
    const admin = new Redis(url);
    try {
      await list.insert(0, "x");
      await store.vars.set("v", 7);
      const clients = await admin.client("LIST") as string;
      const line = clients.split("\n").find((l) => l.includes(` name=${prefix}cmd-drop:cmd `));
      assert.ok(line, "command connection not found");
      await admin.client("KILL", "ID", /id=(\d+)/.exec(line)![1]);
      await until(changes, 2);
      assert.deepEqual(changes[1], { op: "reset", version: 1 });
      await until(values, 1);
      assert.deepEqual(values, [["v", 7]]);
    } finally {
      stop();
      stopVars();
      admin.disconnect();
    }
  });

  test("listens to the channel only while something listens, and misses nothing after", async () => {
    const lazy = `${prefix}lazy:`;
    const store = await open({ prefix: lazy });
    const other = await open({ prefix: lazy });
    const admin = new Redis(url);
    const listeners = async () =>
      Number(((await admin.pubsub("NUMSUB", `${lazy}changes`)) as [string, number])[1]);
    const list = store.list<string>("l");
    try {
      assert.equal(await listeners(), 0);
      // Nobody listens: the write settles without its change coming back.
      await list.insert(0, "quiet");
      const changes: ListChange<string>[] = [];
      const stop = list.subscribe((change) => changes.push(change));
      // The next operation waits for the subscription: a change made after
      // it, here by another store object, is heard.
      const { version } = await list.page(0, 0);
      assert.equal(await listeners(), 1);
      await other.list<string>("l").insert(1, "loud");
      await list.insert(0, "own");
      await until(changes, 2);
      assert.deepEqual(changes.map((c) => [c.op, c.version]), [
        ["insert", version + 1],
        ["insert", version + 2],
      ]);
      stop();
      await waitUntil(async () => await listeners() === 0, { what: "no subscriber left" });
      // A var listener holds the channel too.
      const stopVars = store.vars.subscribe!(() => {});
      await store.vars.get("v");
      assert.equal(await listeners(), 1);
      stopVars();
      await waitUntil(async () => await listeners() === 0, { what: "no subscriber left" });
      // A write sent while nobody listened, whose reply comes after a listener
      // was added (its SUBSCRIBE follows the write): it settles at once, not
      // after waiting timeoutMs for a change that never comes.
      const slow = await open({ prefix: lazy, timeoutMs: 20_000 });
      const started = Date.now();
      const write = slow.list<string>("l").insert(0, "racing");
      for (let i = 0; i < 20; i++) await null;
      const stopSlow = slow.list<string>("l").subscribe(() => {});
      await write;
      stopSlow();
      assert.ok(Date.now() - started < 10_000, "the write waited for a change that never came");
    } finally {
      admin.disconnect();
    }
  });

  test("runs its scripts again when Redis lost them (SCRIPT FLUSH)", async () => {
    // A private server: SCRIPT FLUSH empties the script cache of every client.
    const port = await freePort();
    const server = await startRedis(port);
    const store = await open({ url: `redis://127.0.0.1:${port}` });
    const admin = new Redis(port);
    try {
      const list = store.list<string>("l");
      await list.insert(0, "a");
      await admin.script("FLUSH");
      const b = await list.insert(1, "b");
      assert.equal(await list.indexOf(b.id), 1);
      await admin.script("FLUSH");
      assert.deepEqual((await list.page(0, 5)).items.map((item) => item.value), ["a", "b"]);
      await store.vars.set("v", 1);
      assert.equal(await store.vars.get("v"), 1);
    } finally {
      admin.disconnect();
      await store.close();
      await stopProcess(server);
    }
  });

  test(
    "a page is one version of the list while other processes write",
    { timeout: 60_000 },
    async () => {
      // A page's commands name the list's keys: with a name this long each one
      // is more than Redis reads at once, so the other stores' writes land
      // between them, and only the version check keeps the page exact.
      const name = "x".repeat(40_000);
      const reader = (await open({ prefix: `${prefix}exact:` })).list<number>(name);
      const writers = await Promise.all([1, 2, 3].map(() => open({ prefix: `${prefix}exact:` })));
      const started = Date.now();
      let pages = 0;
      const writes = writers.map(async (store) => {
        while (pages < 1_000 && Date.now() - started < 15_000) {
          await store.list<number>(name).insert(0, pages);
        }
      });
      try {
        while (pages < 1_000 && Date.now() - started < 15_000) {
          const page = await reader.page(0, 20);
          pages++;
          // Inserts only, from an empty list: version n has n items.
          assert.equal(page.total, page.version, `page ${pages}`);
          assert.equal(page.items.length, Math.min(page.total, 20), `page ${pages}`);
        }
      } finally {
        pages = Infinity;
        await Promise.all(writes);
      }
    },
  );

  test("an insert makes the key orderKeyBetween makes for its neighbours", async () => {
    // The insert script makes the common key (between two neighbouring
    // integer keys) without the Lua port of orderKeyBetween: both must agree.
    const store = await open({ prefix: `${prefix}keys:` });
    const admin = new Redis(url);
    try {
      const list = store.list<number>("keys");
      // Appends: integer keys across the digit jumps 9→A and Z→a, and the carry z→b00.
      for (let i = 0; i < 70; i++) await list.insert(i, i);
      const items = `${prefix}keys:list:keys:items`;
      const keyAt = async (index: number) =>
        (await admin.zrange(items, index, index))[0].split("\0")[0];
      for (const index of [1, 9, 10, 11, 35, 36, 37, 61, 62, 63, 69, 70, 0]) {
        const before = index > 0 ? await keyAt(index - 1) : null;
        const after = index < 70 ? await keyAt(index) : null;
        const { id } = await list.insert(index, -1);
        assert.equal(await keyAt(index), orderKeyBetween(before, after), `at ${index}`);
        // Between a fraction and an integer, and between two fractions.
        const { id: next } = await list.insert(index + 1, -2);
        const fraction = await keyAt(index);
        assert.equal(await keyAt(index + 1), orderKeyBetween(fraction, after), `after ${index}`);
        await list.delete(id);
        await list.delete(next);
      }
      assert.deepEqual(
        (await list.page(0, 100)).items.map((item) => item.value),
        Array.from({ length: 70 }, (_, i) => i),
      );
    } finally {
      admin.disconnect();
    }
  });

  test("rebalances keys after many inserts at one spot", { timeout: 60_000 }, async () => {
    const store = await open({ prefix: `${prefix}dense:` });
    const list = store.list<number>("dense");
    await list.insert(0, -1);
    await list.insert(1, 1_000);
    // Always between the same two neighbours: keys grow until a rebalance.
    for (let i = 0; i < 800; i++) await list.insert(1 + i, i);
    const values = (await list.page(0, 1000)).items.map((item) => item.value);
    assert.deepEqual(values, [-1, ...Array.from({ length: 800 }, (_, i) => i), 1_000]);
    const last = (await list.page(801, 1)).items[0];
    assert.equal(await list.indexOf(last.id), 801);
    const admin = new Redis(url);
    try {
      const members = await admin.zrange(`${prefix}dense:list:dense:items`, 0, -1);
      const longest = Math.max(...members.map((member) => member.indexOf("\0")));
      assert.ok(longest <= ORDER_KEY_REBALANCE_LENGTH, `a key of ${longest} characters`);
      // Each entry is its item's member.
      const entries = await admin.hgetall(`${prefix}dense:list:dense:entries`);
      assert.equal(Object.keys(entries).length, members.length);
      for (const member of members) {
        const id = member.slice(member.indexOf("\0") + 1, member.lastIndexOf("\0"));
        assert.equal(entries[id], member);
      }
    } finally {
      admin.disconnect();
    }
  });

  test("an operation Redis does not answer fails with code 8 after about timeoutMs", async () => {
    const proxy = await startFaultProxy({ target: Number(new URL(url).port || 6379) });
    const store = await openRedisStore({
      url: `redis://127.0.0.1:${proxy.port}`,
      prefix: `${prefix}stalled:`,
      timeoutMs: 300,
    });
    try {
      const list = store.list<string>("l");
      const { id } = await list.insert(0, "x");
      assert.equal((await list.page(0, 20)).total, 1);
      // Both ends stay open, nothing comes back: only the store's own timer ends each call.
      for (const connection of proxy.open) connection.stall();
      const operations: [string, () => Promise<unknown>][] = [
        ["page", () => list.page(0, 20)],
        ["insert", () => list.insert(0, "y")],
        ["indexOf", () => list.indexOf(id)],
        ["delete", () => list.delete(id)],
        ["count", () => list.count()],
        ["var get", () => store.vars.get("v")],
        ["var set", () => store.vars.set("v", 1)],
      ];
      for (const [name, operation] of operations) {
        const started = Date.now();
        await assert.rejects(
          operation(),
          (error: SockSyncError) =>
            error.code === 8 && error.message === "store unavailable: Command timed out",
          name,
        );
        const took = Date.now() - started;
        assert.ok(took >= 250 && took < 2_000, `${name} failed after ${took} ms`);
      }
      // Several at once: each fails, none waits for the others' timeouts in turn.
      const started = Date.now();
      const results = await Promise.allSettled(operations.map(([, operation]) => operation()));
      assert.ok(results.every((result) => result.status === "rejected"));
      assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
    } finally {
      const closing = store.close();
      proxy.cutAll();
      await closing;
      await proxy.close();
    }
  });

  test("a reconnect that reaches a silent peer gives up after about timeoutMs and recovers", async () => {
    // A peer that accepts TCP and never answers (a stalled proxy, a half-open
    // route): the handshake after the connect (ready check, CLIENT SETNAME)
    // must not wait for it forever.
    const held: Socket[] = [];
    const silent = createServer((socket) => {
      held.push(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const silentPort = (silent.address() as { port: number }).port;
    const redisPort = Number(new URL(url).port || 6379);
    let target = redisPort;
    const proxy = await startFaultProxy({ target: () => target });
    const store = await openRedisStore({
      url: `redis://127.0.0.1:${proxy.port}`,
      prefix: `${prefix}silent:`,
      timeoutMs: 300,
    });
    try {
      const list = store.list<string>("l");
      assert.equal(await list.count(), 0);
      target = silentPort;
      proxy.cutAll();
      // Both connections reconnect into the silent peer (a retry or two each).
      await waitUntil(() => held.length >= 2, { what: "reconnects to the silent peer" });
      target = redisPort;
      const started = Date.now();
      await waitUntil(() => list.count().then(() => true), {
        what: "the store to answer again",
        timeout: 5_000,
      });
      const took = Date.now() - started;
      assert.ok(took < 3_000, `recovered after ${took} ms`);
    } finally {
      for (const socket of held) socket.destroy();
      const closing = store.close();
      proxy.cutAll();
      await closing;
      await proxy.close();
      silent.close();
    }
  });

  test("operations after close reject with code 8", async () => {
    const store = await openRedisStore({ url, prefix: `${prefix}closed:` });
    await store.close();
    await store.close();
    await assert.rejects(
      store.list("x").count(),
      (error: { code?: number }) => error.code === 8,
    );
  });
});
