/**
 * Error messages that say what to fix, over a real socket: invalid params
 * and arguments name the missing keys, the unexpected ones and, for a wrong
 * value, what was expected and the type that came (never the value); an
 * unknown var, list or function suggests the closest name this connection
 * may use (never one `authorize` hides); the client's own "unknown function"
 * check suggests one too.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { connect, ErrorCode, Hub, isSockSyncError } from "../mod.ts";
import { MemoryListSource } from "../stores/memory/mod.ts";
import { serveHub, withServedHub } from "./helpers/serve_hub.ts";
import type { Frame, RawSocket } from "./helpers/raw_socket.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";

const SECRET = "secret_counter";

function declare(): Hub<unknown> {
  const hub = new Hub({
    // Hides one var and one function: never suggested.
    authorize: (_context, request) => request.name !== SECRET && request.name !== "drop_tables",
  });
  hub.var("counter", { schema: v.number(), initial: 0 });
  hub.var(SECRET, { schema: v.number(), initial: 0 });
  hub.list("orders", {
    source: () => new MemoryListSource<string>(),
    schema: v.string(),
    params: v.object({
      room: v.string(),
      status: v.optional(v.picklist(["pending", "shipped"])),
      limit: v.optional(v.pipe(v.number(), v.minValue(1))),
    }),
  });
  hub.list("todos", { source: new MemoryListSource<string>(), schema: v.string() });
  hub.function("post_message", {
    args: v.object({ text: v.string(), room: v.optional(v.string()) }),
    handler: ({ text }) => text,
  });
  hub.function("drop_tables", { handler: () => null });
  hub.function("echo", { handler: (args) => args });
  return hub;
}

async function ask(client: RawSocket, frame: Frame): Promise<Frame> {
  client.send(frame);
  return await client.next((f) => f.func === "error");
}

test("invalid params name the missing, the unexpected and the expected", async () => {
  await withServedHub({ hub: declare() }, async ({ open }) => {
    const client = await open();
    const params = async (value: unknown) => {
      const error = await ask(client, {
        func: "subscribe",
        type: "list",
        name: "orders",
        params: value,
      });
      assert.equal(error.error_code, ErrorCode.InvalidArguments, JSON.stringify(error));
      return error.message;
    };
    assert.equal(await params({ rom: "general" }), "invalid params: missing room; unexpected rom");
    assert.equal(
      await params({ room: "general", status: "Pending" }),
      'invalid params: status: expected "pending" | "shipped", got string',
    );
    assert.equal(
      await params({ room: 7, limit: 0 }),
      "invalid params: room: expected string, got number; limit: expected value >=1, got number",
    );
    // Never the offending value itself.
    const leaked = await params({ room: "general", status: "TOP-SECRET-VALUE" });
    assert.doesNotMatch(String(leaked), /TOP-SECRET-VALUE/);
  });
});

test("invalid arguments name the missing, the unexpected and the expected", async () => {
  await withServedHub({ hub: declare() }, async ({ open }) => {
    const client = await open();
    const call = async (args: unknown) => {
      const error = await client.call("post_message", args);
      assert.equal(error.func, "error", JSON.stringify(error));
      assert.equal(error.error_code, ErrorCode.InvalidArguments);
      return error.message;
    };
    assert.equal(await call({}), "invalid arguments: missing text");
    assert.equal(await call({ txt: "hi" }), "invalid arguments: missing text; unexpected txt");
    assert.equal(await call({ text: 5 }), "invalid arguments: text: expected string, got number");
    assert.equal(await call("hi"), "invalid arguments: expected Object, got string");
    const ok = await client.call("post_message", { text: "hi" });
    assert.equal(ok.value, "hi");
  });
});

test("unknown names suggest the closest name this connection may use", async () => {
  await withServedHub({ hub: declare() }, async ({ open }) => {
    const client = await open();
    const error = async (frame: Frame) => {
      const answer = frame.func === "call"
        ? await client.call(String(frame.name), {})
        : await ask(client, frame);
      assert.equal(answer.func, "error");
      return [answer.error_code, answer.message];
    };
    assert.deepEqual(
      await error({ func: "subscribe", type: "var", name: "cuonter" }),
      [ErrorCode.InvalidName, 'no var with this name; did you mean "counter"?'],
    );
    assert.deepEqual(
      await error({ func: "subscribe", type: "list", name: "order", params: { room: "a" } }),
      [ErrorCode.InvalidName, 'no list with this name; did you mean "orders"?'],
    );
    assert.deepEqual(
      await error({ func: "call", name: "postMessage" }),
      [ErrorCode.InvalidFunc, 'not subscribed; did you mean "post_message"?'],
    );
    // Names `authorize` hides are never suggested.
    assert.deepEqual(
      await error({ func: "subscribe", type: "var", name: "secret_countr" }),
      [ErrorCode.InvalidName, "no var with this name"],
    );
    assert.deepEqual(
      await error({ func: "call", name: "dropTables" }),
      [ErrorCode.InvalidFunc, "not subscribed"],
    );
    assert.deepEqual(
      await error({ func: "subscribe", type: "var", name: "nothing_like_it" }),
      [ErrorCode.InvalidName, "no var with this name"],
    );
  });
});

test("the client's own unknown-function check suggests the closest name", async () => {
  const hub = declare();
  const { server, url } = await serveHub(hub);
  const client = connect(url, { WebSocket: await webSocketClass(), reconnect: false });
  try {
    await client.ready();
    // Announced functions arrive right after the connection: wait until one is callable.
    assert.equal(await client.call("post_message", { text: "hi" }), "hi");
    await assert.rejects(client.call("postMessage", { text: "hi" }), (error) => {
      assert.ok(isSockSyncError(error));
      assert.equal(error.code, ErrorCode.InvalidFunc);
      assert.equal(
        error.message,
        "unknown function postMessage: the other side provides no function by this name; " +
          'did you mean "post_message"?',
      );
      return true;
    });
  } finally {
    client.close();
    await server.close();
    await hub.close();
  }
});
