/**
 * The demo app's contract (every function, paging, error codes) on every
 * store: memory, SQLite, Redis and PostgreSQL (a random database). Raw JSON
 * over a real socket. Then `SOCKSYNC_STORE` itself: parsing, passwords kept
 * out of messages, and a store that cannot be opened as one line and exit 2.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createDemoHub } from "../demo/app.ts";
import { ConfigError, describeStore, openStore, parseConfig } from "../demo/config.ts";
import { openPostgresStore } from "../stores/postgres/mod.ts";
import { postgresHarness, tempDatabase } from "./helpers/postgres.ts";
import { freePort } from "./helpers/free_port.ts";
import { type ServerRuntime, spawnServer } from "./helpers/spawn_server.ts";
import { type OpenedStore, storeKinds } from "./helpers/stores.ts";
import { RawSocket } from "./helpers/raw_socket.ts";
import { serveHub } from "./helpers/serve_hub.ts";

const pg = await postgresHarness();
after(() => pg.cleanup());
const kinds: { kind: string; open(): Promise<OpenedStore> }[] = await storeKinds("demo functions");
if (pg.admin) {
  kinds.push({
    kind: "postgres",
    async open() {
      const database = await tempDatabase(pg.admin!);
      const store = await openPostgresStore({ url: database.url, maxConnections: 3 });
      return {
        store,
        async cleanup() {
          await store.close();
          await database.drop();
        },
      };
    },
  });
}

for (const { kind, open } of kinds) {
  test(`${kind}: every demo function, paging and error codes`, async () => {
    const { store, cleanup } = await open();
    const hub = createDemoHub(store);
    const { server, url } = await serveHub(hub);
    const client = await RawSocket.open(url);
    let n = 0;
    const call = async (name: string, args?: unknown) => {
      const id = `c${n++}`;
      client.send({
        func: "call",
        type: "function",
        name,
        id,
        ...(args === undefined ? {} : { args }),
      });
      const reply = await client.next();
      assert.equal(reply.id, id, JSON.stringify(reply));
      return reply;
    };
    const value = async (name: string, args?: unknown) => {
      const reply = await call(name, args);
      assert.equal(reply.func, "return", JSON.stringify(reply));
      return reply.value;
    };
    const code = async (name: string, args?: unknown) => {
      const reply = await call(name, args);
      assert.equal(reply.func, "error", JSON.stringify(reply));
      return reply.error_code;
    };
    try {
      await client.skipFunctionSubscriptions(hub.functions.size);
      assert.equal(await value("increment"), 1);
      assert.equal(await value("increment", { by: 5 }), 6);
      assert.equal(await value("increment", { by: -2 }), 4);
      assert.equal(await code("increment", { by: 1.5 }), 6);
      assert.equal(await code("increment", { by: "2" }), 6);

      const a = (await value("add_todo", { text: "a" }) as { id: string }).id;
      const b = (await value("add_todo", { text: "b" }) as { id: string }).id;
      const c = (await value("add_todo", { text: "c", index: 2 }) as { id: string }).id;
      assert.equal(await code("add_todo", { text: "x", index: 4 }), 6);
      assert.equal(await code("add_todo", { text: "x", index: -1 }), 6);
      assert.equal(await code("add_todo", {}), 6);
      assert.equal(await code("add_todo"), 6);

      assert.equal(await value("toggle_todo", { id: a }), true);
      assert.equal(await value("toggle_todo", { id: a }), false);
      assert.equal(await value("toggle_todo", { id: a }), true);
      assert.equal(await code("toggle_todo", { id: "missing" }), 4);
      // Concurrent toggles are not lost: 21 flips of a `done` todo leave it not done.
      const flips = Array.from({ length: 21 }, (_, k) => `flip${k}`);
      for (const id of flips) {
        client.send({ func: "call", type: "function", name: "toggle_todo", id, args: { id: a } });
      }
      const answers = await Promise.all(flips.map((id) => client.next((f) => f.id === id)));
      assert.ok(answers.every((f) => f.func === "return"), JSON.stringify(answers[0]));
      assert.equal(answers.filter((f) => f.value === true).length, 10);
      assert.equal(await value("toggle_todo", { id: a }), true);
      assert.equal(await code("toggle_todo", {}), 6);
      assert.equal(await code("delete_todo", { id: "missing" }), 4);

      assert.deepEqual(await value("echo", { any: ["thing", 1, null] }), {
        any: ["thing", 1, null],
      });
      const bare = await call("echo");
      assert.deepEqual(bare, { func: "return", type: "function", name: "echo", id: bare.id });

      client.send({ func: "subscribe", type: "var", name: "counter" });
      assert.equal((await client.next()).value, 4);
      client.send({ func: "subscribe", type: "list", name: "todos", page_size: 2 });
      const first = await client.next();
      assert.equal(first.total_item_count, 3);
      assert.deepEqual(first.items, [
        { id: b, value: { text: "b", done: false } },
        { id: a, value: { text: "a", done: true } },
      ]);
      client.send({ func: "get", type: "list", name: "todos", page: 1, page_size: 2 });
      const second = await client.next();
      assert.equal(second.page, 1);
      assert.deepEqual(second.items, [{ id: c, value: { text: "c", done: false } }]);

      client.send({
        func: "call",
        type: "function",
        name: "delete_todo",
        id: "del",
        args: { id: c },
      });
      // Page 1 is gone once c is deleted: the view moves back to page 0, and the
      // frames a call causes reach the caller before its return.
      const moved = await client.next();
      assert.equal(moved.func, "set_all");
      assert.equal(moved.page, 0);
      assert.equal(moved.total_item_count, 2);
      assert.deepEqual(await client.next(), {
        func: "return",
        type: "function",
        name: "delete_todo",
        id: "del",
        value: null,
      });
    } finally {
      await client.close();
      await server.close();
      await hub.close();
      await cleanup();
    }
  });
}

test("an unreachable Redis is a bad setting: names host and port, never the password", async () => {
  const port = await freePort();
  const error = await openStore({ kind: "redis", url: `redis://:hunter2@127.0.0.1:${port}/0` })
    .then((store) => store.close().then(() => assert.fail("opened a store with no Redis")))
    .catch((e: Error) => e);
  assert.ok(error instanceof ConfigError, String(error));
  assert.match(error.message, new RegExp(`cannot connect to Redis at 127\\.0\\.0\\.1:${port}`));
  assert.match(error.message, /SOCKSYNC_STORE=redis:\/\/:\*\*\*@127/);
  assert.ok(!error.message.includes("hunter2"), error.message);
});

test("the demo exits 2 with one line naming the address when Redis is unreachable", async () => {
  const port = await freePort();
  const error = await spawnServer({
    runtime: "node",
    env: { SOCKSYNC_STORE: `redis://127.0.0.1:${port}` },
  }).then(
    (server) => server.stop().then(() => assert.fail("started without its store")),
    (e: Error) => e,
  );
  assert.match(error.message, /exited with 2/);
  const lines = error.message.split("\n").slice(1).filter((line) => line.trim() !== "");
  assert.equal(lines.length, 1, error.message);
  assert.match(
    lines[0],
    new RegExp(`^socksync demo: cannot open the store .*127\\.0\\.0\\.1:${port}`),
  );
});

test("SOCKSYNC_STORE=postgres:// and postgresql:// select PostgreSQL; passwords are hidden", () => {
  for (const url of ["postgres://app@db:5432/chat", "postgresql://app:s3cret@db/chat"]) {
    assert.deepEqual(parseConfig({ SOCKSYNC_STORE: url }).store, { kind: "postgres", url });
  }
  assert.equal(
    describeStore({ kind: "postgres", url: "postgresql://app:s3cret@db:5432/chat" }),
    "postgresql://app:***@db:5432/chat",
  );
  assert.equal(
    describeStore({ kind: "postgres", url: "postgres://app@db:5432/chat" }),
    "postgres://app@db:5432/chat",
  );
  for (
    const bad of [
      "postgres://",
      "postgres://app:s3cret@db:5432",
      "postgres://app:s3cret@db:5432/",
      "postgres://app:s3cret@db:99999/chat",
      "postgresql://app:s3cret@db:5432/a/b",
    ]
  ) {
    assert.throws(() => parseConfig({ SOCKSYNC_STORE: bad }), (error: Error) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.match(error.message, /postgres:\/\/USER@HOST:PORT\/DB/);
      assert.ok(!error.message.includes("s3cret"), error.message);
      return true;
    }, bad);
  }
});

test("an unreachable PostgreSQL is a bad setting: names host and port, never the password", async () => {
  const port = await freePort();
  const error = await openStore({
    kind: "postgres",
    url: `postgres://app:hunter2@127.0.0.1:${port}/chat`,
  }).then((store) => store.close().then(() => assert.fail("opened a store with no PostgreSQL")))
    .catch((e: Error) => e);
  assert.ok(error instanceof ConfigError, String(error));
  assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  assert.match(error.message, /SOCKSYNC_STORE=postgres:\/\/app:\*\*\*@127/);
  assert.ok(!error.message.includes("hunter2"), error.message);
});

/** Starts the demo with a store setting that must fail; its one stderr line. */
async function refusedLine(store: string, runtime: ServerRuntime = "node"): Promise<string> {
  const error = await spawnServer({ runtime, env: { SOCKSYNC_STORE: store } }).then(
    (server) => server.stop().then(() => assert.fail(`started with ${store}`)),
    (e: Error) => e,
  );
  assert.match(error.message, /exited with 2/, `${runtime}: ${store}`);
  const lines = error.message.split("\n").slice(1).filter((line) => line.trim() !== "");
  assert.equal(lines.length, 1, error.message);
  return lines[0];
}

// Bounded, but not by Bun's 5 s default: each case starts a server process.
test("the demo exits 2 with one line for a PostgreSQL that is unreachable or wrong", {
  timeout: 60_000,
}, async () => {
  const port = await freePort();
  for (const runtime of ["node", "deno", "bun"] as const) {
    assert.match(
      await refusedLine(`postgres://app:hunter2@127.0.0.1:${port}/chat`, runtime),
      new RegExp(
        `^socksync demo: cannot open the store SOCKSYNC_STORE=postgres://app:\\*\\*\\*@127\\.0\\.0\\.1:${port}/chat: .*127\\.0\\.0\\.1:${port}`,
      ),
      runtime,
    );
  }
  assert.match(
    await refusedLine("postgresql://app:hunter2@/chat"),
    /^socksync demo: SOCKSYNC_STORE must be postgres:\/\/USER@HOST:PORT\/DB for PostgreSQL, got "postgresql:\/\/app:\*\*\*@\/chat"$/,
  );
});

test("the demo exits 2 with one line for a database that does not exist", {
  skip: pg.skip,
  timeout: 60_000,
}, async () => {
  const url = new URL(pg.url);
  url.pathname = `/socksync_missing_${Math.random().toString(36).slice(2, 10)}`;
  assert.match(
    await refusedLine(url.href),
    /^socksync demo: cannot open the store SOCKSYNC_STORE=postgres:.*database "socksync_missing_\w+" does not exist$/,
  );
});
