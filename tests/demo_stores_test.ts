/**
 * The demo app's contract (every function, paging, error codes) on every
 * store: memory, SQLite and Redis. Raw JSON over a real socket.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createDemoHub } from "../demo/app.ts";
import { ConfigError, openStore } from "../demo/config.ts";
import { freePort } from "./helpers/free_port.ts";
import { spawnServer } from "./helpers/spawn_server.ts";
import { storeKinds } from "./helpers/stores.ts";
import { RawSocket } from "./helpers/raw_socket.ts";
import { serveHub } from "./helpers/serve_hub.ts";

for (const { kind, open } of await storeKinds("demo functions")) {
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
