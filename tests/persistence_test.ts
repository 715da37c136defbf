/**
 * The embedded SQLite store survives a restart, and a file written by one
 * runtime's server is read by another's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { connect } from "../mod.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";
import { type ServerRuntime, spawnServer } from "./helpers/spawn_server.ts";
import { waitUntil } from "./helpers/wait.ts";

const Todo = v.object({ text: v.string(), done: v.boolean() });

async function session(
  runtime: ServerRuntime,
  store: string,
  work: (client: ReturnType<typeof connect>) => Promise<void>,
): Promise<void> {
  const server = await spawnServer({ runtime, env: { SOCKSYNC_STORE: store } });
  const client = connect(server.wsUrl, { WebSocket: await webSocketClass() });
  try {
    await client.ready();
    await work(client);
  } finally {
    client.close();
    await server.stop();
  }
}

test("counter and todos written under Node are read under Deno, then Bun", async () => {
  const dir = mkdtempSync(join(tmpdir(), "socksync-persist-"));
  const store = `sqlite:${join(dir, "nested", "demo.db")}`;
  try {
    let firstId = "";
    await session("node", store, async (client) => {
      assert.equal(await client.call("increment", { by: 5 }), 5);
      firstId = (await client.call<{ id: string }>("add_todo", { text: "milk" })).id;
      await client.call("add_todo", { text: "eggs" });
      assert.equal(await client.call("toggle_todo", { id: firstId }), true);
    });
    await session("deno", store, async (client) => {
      const counter = client.var("counter", v.number());
      const todos = client.list<v.InferOutput<typeof Todo>>("todos", { pageSize: 10 });
      await waitUntil(() => counter.value === 5 && todos.total === 2, { what: "data from Node" });
      assert.deepEqual(todos.items.map((item) => item.value), [
        { text: "eggs", done: false },
        { text: "milk", done: true },
      ]);
      assert.equal(todos.items[1].id, firstId);
      assert.equal(await client.call("increment"), 6);
    });
    await session("bun", store, async (client) => {
      const counter = client.var("counter", v.number());
      const todos = client.list("todos");
      await waitUntil(() => counter.value === 6 && todos.total === 2, { what: "data from Deno" });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
