/**
 * The real demo server, spawned as a process on Node, Deno and Bun (each
 * runtime running this file spawns all three), driven over HTTP, with raw
 * JSON frames and with our client.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type Client, connect } from "../src/client/client.ts";
import { detectRuntime } from "../src/serve/serve.ts";
import { type Frame, RawSocket, webSocketClass } from "./helpers/raw_socket.ts";
import { type ServerRuntime, type SpawnedServer, spawnServer } from "./helpers/spawn_server.ts";
import { TcpWebSocket } from "./helpers/tcp_websocket.ts";
import { waitUntil } from "./helpers/wait.ts";

const RUNTIMES: ServerRuntime[] = ["node", "deno", "bun"];
const FUNCTIONS = [
  "add_todo",
  "delete_message",
  "delete_todo",
  "echo",
  "edit_message",
  "increment",
  "post_message",
  "toggle_todo",
];
const isError = (code: number) => (f: Frame) => f.func === "error" && f.error_code === code;

interface Todo {
  text: string;
  done: boolean;
}

for (const runtime of RUNTIMES) {
  test(`demo server on ${runtime}`, { timeout: 90_000 }, async (t) => {
    const WebSocket = await webSocketClass();
    const clients: Client[] = [];
    const raws: RawSocket[] = [];
    const open = (url: string) => {
      const client = connect(url, {
        WebSocket,
        reconnect: { minDelay: 50, maxDelay: 300 },
      });
      clients.push(client);
      return client;
    };
    let server: SpawnedServer | undefined = await spawnServer({ runtime });
    let restarted: SpawnedServer | undefined;
    try {
      const first = server;
      await t.test("GET /health reports runtime, store and connections", async () => {
        const response = await fetch(`${first.url}/health`);
        assert.equal(response.status, 200);
        assert.deepEqual(await response.json(), {
          ok: true,
          runtime,
          store: "memory",
          connections: 0,
        });
      });

      await t.test("GET / serves the page and its bundled script", async () => {
        const page = await fetch(`${first.url}/`);
        assert.equal(page.status, 200);
        const html = await page.text();
        assert.match(html, /<script type="module" src="\/app\.js">/);
        const script = await fetch(`${first.url}/app.js`);
        assert.match(script.headers.get("content-type") ?? "", /javascript/);
        const js = await script.text();
        assert.match(js, /ws\/socksync/);
        assert.doesNotMatch(js, /^import /m, "bundled: no imports left");
        await (await fetch(`${first.url}/app.css`)).text();
      });

      await t.test("raw JSON: functions, calls, subscriptions and error codes", async () => {
        const raw = await RawSocket.open(first.wsUrl);
        raws.push(raw);
        const accepted: string[] = [];
        for (let i = 0; i < FUNCTIONS.length; i++) {
          const frame = await raw.next((f) => f.func === "subscribe");
          assert.equal(frame.type, "function");
          accepted.push(String(frame.name));
        }
        assert.deepEqual(accepted.sort(), FUNCTIONS);
        const health = await (await fetch(`${first.url}/health`)).json();
        assert.equal(health.connections, 1);

        raw.send({ func: "subscribe", type: "var", name: "counter" });
        const initial = await raw.next((f) => f.func === "set" && f.name === "counter");
        assert.equal(initial.value, 0);
        assert.deepEqual(await raw.call("increment", { by: 2 }, "c1"), {
          func: "return",
          type: "function",
          name: "increment",
          id: "c1",
          value: 2,
        });
        assert.equal((await raw.next((f) => f.func === "set")).value, 2);
        assert.equal((await raw.call("increment")).value, 3);
        assert.deepEqual((await raw.call("echo", { x: [1, null] })).value, {
          x: [1, null],
        });
        const noArgs = await raw.call("echo");
        assert.equal(noArgs.func, "return");
        assert.equal("value" in noArgs, false);

        const added = await raw.call("add_todo", { text: "raw" });
        assert.equal(added.func, "return");
        const id = (added.value as { id: string }).id;
        assert.equal(typeof id, "string");
        assert.equal((await raw.call("toggle_todo", { id })).value, true);
        assert.equal((await raw.call("toggle_todo", { id })).value, false);

        raw.send({
          func: "subscribe",
          type: "list",
          name: "todos",
          page_size: 2,
        });
        const page = await raw.next((f) => f.func === "set_all");
        assert.equal(page.page, 0);
        assert.equal(page.total_item_count, 1);
        assert.deepEqual(page.items, [{
          id,
          value: { text: "raw", done: false },
        }]);

        const badArgs = await raw.call("add_todo", { text: 5 }, "bad");
        assert.equal(badArgs.func, "error");
        assert.equal(badArgs.error_code, 6);
        assert.equal(badArgs.id, "bad");
        assert.equal(
          (await raw.call("add_todo", { text: "x", index: 99 })).error_code,
          6,
        );
        assert.equal((await raw.call("add_todo", {})).error_code, 6);
        assert.equal(
          (await raw.call("increment", { by: "one" })).error_code,
          6,
        );
        assert.equal(
          (await raw.call("toggle_todo", { id: "missing" })).error_code,
          4,
        );
        assert.equal(
          (await raw.call("delete_todo", { id: "missing" })).error_code,
          4,
        );
        const unknown = await raw.call("no_such_function", {});
        assert.ok(
          [1, 3].includes(unknown.error_code as number),
          JSON.stringify(unknown),
        );

        raw.send("{not json");
        await raw.next(isError(7));
        raw.send({ type: "var", name: "counter" });
        await raw.next(isError(5));
        raw.send({ func: "fly", type: "var", name: "counter" });
        await raw.next(isError(1));

        assert.equal((await raw.call("delete_todo", { id })).func, "return");
        const deleted = await raw.next((f) => f.func === "delete" && f.id === id);
        assert.equal(deleted.name, "todos");
        await raw.close();
      });

      await t.test("our client: changes reach other clients; paging", async () => {
        const a = open(first.wsUrl);
        const b = open(first.wsUrl);
        await Promise.all([a.ready(), b.ready()]);
        const counter = b.var<number>("counter");
        await waitUntil(() => counter.ready, { what: "counter" });
        const before = counter.value!;
        assert.equal(await a.call("increment", { by: 5 }), before + 5);
        await waitUntil(() => counter.value === before + 5, {
          what: "counter on b",
        });

        const view = b.list<Todo>("todos", { page: 0, pageSize: 3 });
        await waitUntil(() => view.ready, { what: "todos" });
        const ids: string[] = [];
        for (const text of ["t1", "t2", "t3", "t4", "t5"]) {
          ids.push((await a.call<{ id: string }>("add_todo", { text })).id);
        }
        await waitUntil(
          () => view.total === 5 && view.items[0]?.value.text === "t5",
          {
            what: "newest first on b",
          },
        );
        assert.deepEqual(view.items.map((i) => i.value.text), [
          "t5",
          "t4",
          "t3",
        ]);
        view.setPage(1);
        await waitUntil(() => view.page === 1 && view.items.length === 2, {
          what: "page 1",
        });
        assert.deepEqual(view.items.map((i) => i.value.text), ["t2", "t1"]);

        assert.equal(await a.call("toggle_todo", { id: ids[0] }), true);
        await waitUntil(
          () => view.items.find((i) => i.id === ids[0])?.value.done,
          {
            what: "t1 done on b",
          },
        );
        const last = await a.call<{ id: string }>("add_todo", {
          text: "end",
          index: 5,
        });
        await waitUntil(() => view.total === 6, { what: "total 6" });
        assert.equal(await a.call("delete_todo", { id: last.id }), null);
        await waitUntil(() => view.total === 5, { what: "total 5" });
        await assert.rejects(a.call("toggle_todo", { id: "missing" }), {
          code: 4,
        });
        await assert.rejects(a.call("add_todo", { text: true }), { code: 6 });
      });

      // 500 frames of burst, then 500 strikes at 100 frames/s of refill: 1,100
      // frames reach the limit only if the server reads them within a second,
      // which a loaded machine does not promise; 2,500 leave it 15 s.
      await t.test("2,500 calls back to back: replies, then 1008 past the rate limit, not 1006", async () => {
        const client = await TcpWebSocket.open(first.port);
        try {
          for (let i = 0; i < 2_500; i++) {
            client.send({ func: "call", type: "function", name: "echo", id: `e${i}`, args: i });
          }
          let ended: string | undefined;
          client.ended.then((how) => ended = how);
          await client.until(() => !!client.closeFrame || !!ended, 20_000, "the close");
          assert.equal(
            client.closeFrame?.code,
            1008,
            `ended (${ended}) after ${client.texts.length} frames`,
          );
          const strikes = client.texts.filter((text) =>
            text.includes("rate limit exceeded")
          ).length;
          assert.ok(strikes >= 500, `${strikes} rate-limit errors arrived before the close`);
        } finally {
          await client.close();
        }
      });

      await t.test("SIGTERM closes sockets with 1001, exits 0; clients reconnect to a restart", async () => {
        const c = open(first.wsUrl);
        await c.ready();
        const drops: number[] = [];
        c.onDisconnect(({ code }) => drops.push(code));
        const counter = c.var<number>("counter");
        const view = c.list<Todo>("todos", { page: 1, pageSize: 2 });
        await waitUntil(() => counter.ready && view.ready, { what: "mirrors" });
        assert.ok(counter.value! > 0);

        const code = await first.stop("SIGTERM");
        server = undefined;
        assert.match(first.output(), /stopped/, first.output());
        // Deno's node:child_process reports a signal instead of the exit code.
        if (detectRuntime() !== "deno") assert.equal(code, 0, first.output());
        await waitUntil(() => drops.length > 0, { what: "disconnect" });
        assert.equal(drops[0], 1001);

        restarted = await spawnServer({ runtime, port: first.port });
        await waitUntil(() => c.connected && counter.value === 0, {
          what: "the client to converge on the fresh server",
        });
        // The fresh store is empty, so the view's page 1 was answered with
        // page 0; it follows new data from there.
        const view0 = c.list<Todo>("todos");
        assert.equal(view0, view);
        for (const text of ["r1", "r2", "r3"]) {
          await c.call("add_todo", { text });
        }
        await waitUntil(() => view.total === 3 && view.items.length === 2, {
          what: `the view to follow the new server (${JSON.stringify(view.items)})`,
        });
        view.setPage(1);
        await waitUntil(
          () => view.page === 1 && view.items[0]?.value.text === "r1",
          {
            what: "page 1 on the new server",
          },
        );
      });
    } finally {
      for (const client of clients) client.close();
      for (const raw of raws) await raw.close();
      await server?.stop();
      await restarted?.stop();
    }
  });
}

test("bad configuration: one line on stderr, exit code 2", async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: "http" }, /PORT must be/],
    [{ SOCKSYNC_STORE: "mongodb://x" }, /SOCKSYNC_STORE must be/],
  ];
  for (const [env, message] of cases) {
    const error = await spawnServer({ runtime: "node", env }).then(
      (s) => s.stop().then(() => assert.fail("started anyway")),
      (e: Error) => e,
    );
    assert.match(error.message, /exited with 2/);
    assert.match(error.message, message);
  }
});
