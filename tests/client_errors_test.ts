/**
 * Invalid list options throw where they are given, and every error frame the
 * server sends about the client's requests reaches the application: through
 * `onError`, and as the mirror's `error`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { ErrorCode, Hub, type SockSyncError } from "../mod.ts";
import { type ClientErrorInfo, connect } from "../src/client/client.ts";
import { MemoryListSource } from "../stores/memory/mod.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";
import { serveHub } from "./helpers/serve_hub.ts";
import { waitUntil } from "./helpers/wait.ts";

test("invalid list options throw where they are given", async () => {
  const WebSocket = await webSocketClass();
  // Nothing listens there: the options are checked before anything is sent.
  const client = connect("ws://127.0.0.1:9/ws/socksync", { WebSocket, reconnect: false });
  try {
    for (const options of [{ pageSize: 0 }, { pageSize: 2.5 }, { page: -1 }, { page: NaN }]) {
      assert.throws(() => client.list("todos", options), RangeError, JSON.stringify(options));
    }
    const todos = client.list("todos", { pageSize: 10 });
    assert.throws(() => todos.setPage(-1), RangeError);
    assert.throws(() => todos.setPage(0, 0), RangeError);
    todos.setPage(2, 5);
  } finally {
    client.close();
  }
});

test("errors about the client's requests reach onError and the mirror", async () => {
  const hub = new Hub<{ guest: boolean }>({
    authorize: (_context, { name }) => name !== "secret",
  });
  hub.var("counter", { schema: v.number(), initial: 1 });
  hub.list("secret", { source: new MemoryListSource(), schema: v.string() });
  const { server, url } = await serveHub(hub);
  const WebSocket = await webSocketClass();
  const seen: { error: SockSyncError; info: ClientErrorInfo }[] = [];
  const client = connect(url, {
    WebSocket,
    reconnect: false,
    onError: (error, info) => seen.push({ error, info }),
  });
  const alsoSeen: string[] = [];
  client.onError((_error, info) => alsoSeen.push(info.name ?? ""));
  try {
    const missing = client.var<number>("countr");
    const secret = client.list<string>("secret");
    const counter = client.var<number>("counter");
    let told = 0;
    missing.onChange(() => told++);
    await waitUntil(() => seen.length === 2 && counter.ready, { what: "two errors" });
    const byName = new Map(seen.map((entry) => [entry.info.name, entry]));
    assert.equal(byName.get("countr")!.error.code, ErrorCode.InvalidName);
    assert.equal(byName.get("countr")!.info.mirror, missing);
    assert.equal(byName.get("secret")!.error.code, ErrorCode.InvalidFunc);
    assert.equal(byName.get("secret")!.info.mirror, secret);
    assert.equal(missing.error?.code, ErrorCode.InvalidName);
    assert.equal(secret.error?.code, ErrorCode.InvalidFunc);
    assert.equal(missing.ready, false);
    assert.equal(told, 1, "the mirror's listeners hear of its error");
    assert.equal(counter.error, undefined);
    assert.deepEqual(alsoSeen.sort(), ["countr", "secret"]);
  } finally {
    client.close();
    await server.close();
    await hub.close();
  }
});
