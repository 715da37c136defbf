/**
 * The demo's chat contract, over real sockets with raw JSON, on the demo server spawned
 * on Node, Deno and Bun (each runtime running this file spawns all three) with a SQLite
 * store and with a PostgreSQL store (a random database of the shared server): the live
 * list `messages` (params `{ room }`), `post_message`, `edit_message`,
 * `delete_message`, their errors, and rows written by another connection.
 */
import { after, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPgClient } from "../stores/postgres/driver.ts";
import { openSqliteDriver, type SqliteDriver } from "../stores/sqlite/driver.ts";
import type { MessageRow } from "../demo/chat.ts";
import { postgresHarness, tempDatabase } from "./helpers/postgres.ts";
import { type Frame, RawSocket } from "./helpers/raw_socket.ts";
import { type ServerRuntime, type SpawnedServer, spawnServer } from "./helpers/spawn_server.ts";
import { waitUntil } from "./helpers/wait.ts";

const RUNTIMES: ServerRuntime[] = ["node", "deno", "bun"];
const CHAT_FUNCTIONS = ["delete_message", "edit_message", "post_message"];
const GENERAL = { room: "general" };
const RANDOM = { room: "random" };

const isList = (func: string, params: unknown) => (f: Frame) =>
  f.func === func && f.type === "list" && f.name === "messages" &&
  JSON.stringify(f.params) === JSON.stringify(params);

/**
 * The whole contract through one connection to `server`; `insertElsewhere` writes a
 * row with SQL on a connection of its own.
 */
async function chatContract(
  t: TestContext,
  server: SpawnedServer,
  insertElsewhere: (row: MessageRow) => Promise<void>,
): Promise<void> {
  const socket = await RawSocket.open(server.wsUrl);
  try {
    const offered: string[] = [];
    for (;;) {
      const frame = await socket.next((f) => f.func === "subscribe" && f.type === "function");
      offered.push(String(frame.name));
      if (CHAT_FUNCTIONS.every((name) => offered.includes(name))) break;
    }

    await t.test("views of two rooms on one connection, every frame with its params", async () => {
      socket.send({
        func: "subscribe",
        type: "list",
        name: "messages",
        page: 0,
        page_size: 10,
        params: GENERAL,
      });
      const first = await socket.next(isList("set_all", GENERAL));
      assert.equal(first.total_item_count, 0);
      assert.deepEqual(first.items, []);
      socket.send({ func: "subscribe", type: "list", name: "messages", params: RANDOM });
      const random = await socket.next(isList("set_all", RANDOM));
      assert.equal(random.page_size, 50, "the max page size");
    });

    let id = "";
    await t.test("post_message inserts at the top of its room only", async () => {
      const before = Date.now();
      const answer = await socket.call("post_message", { room: "general", text: "hello" });
      assert.equal(answer.func, "return", JSON.stringify(answer));
      id = (answer.value as { id: string }).id;
      assert.match(id, /^[A-Za-z0-9_-]{21}$/, "a nanoid");
      const insert = await socket.next(isList("insert", GENERAL));
      assert.equal(insert.id, id);
      assert.equal(insert.index, 0);
      const value = insert.value as Record<string, unknown>;
      assert.deepEqual(
        { ...value, created_at: 0 },
        { room: "general", author: "anon", text: "hello", created_at: 0 },
      );
      assert.ok(Number(value.created_at) >= before - 5000, "created_at is now, in ms");
      assert.equal((await socket.next(isList("set_count", GENERAL))).total_item_count, 1);

      const second = await socket.call("post_message", {
        room: "general",
        text: "second",
        author: "ann",
      });
      const top = await socket.next(isList("insert", GENERAL));
      assert.equal(top.id, (second.value as { id: string }).id);
      assert.equal(top.index, 0, "newest first");
      assert.equal((top.value as { author: string }).author, "ann");
      assert.equal((await socket.next(isList("set_count", GENERAL))).total_item_count, 2);
      const early = await socket.drain();
      assert.deepEqual(early.filter(isList("insert", RANDOM)), [], "random saw nothing");
    });

    await t.test("edit_message and delete_message", async () => {
      const edited = await socket.call("edit_message", { id, text: "hello, edited" });
      assert.deepEqual(edited.value, null);
      const set = await socket.next(isList("set", GENERAL));
      assert.equal(set.id, id);
      assert.equal((set.value as { text: string }).text, "hello, edited");
      const deleted = await socket.call("delete_message", { id });
      assert.equal(deleted.func, "return");
      assert.equal((await socket.next(isList("delete", GENERAL))).id, id);
      assert.equal((await socket.next(isList("set_count", GENERAL))).total_item_count, 1);
    });

    await t.test("an unknown id is error 4", async () => {
      for (
        const [name, args] of [["edit_message", { id, text: "x" }], ["delete_message", { id }]]
      ) {
        const answer = await socket.call(String(name), args, `unknown-${name}`);
        assert.equal(answer.func, "error", JSON.stringify(answer));
        assert.equal(answer.error_code, 4);
        assert.equal(answer.id, `unknown-${name}`);
      }
    });

    await t.test("bad args are error 6", async () => {
      const bad: [string, unknown][] = [
        ["post_message", { room: "general" }],
        ["post_message", { room: "", text: "x" }],
        ["post_message", { room: "x".repeat(65), text: "x" }],
        ["post_message", { room: "general", text: 5 }],
        ["post_message", { room: "general", text: "x", author: 5 }],
        ["edit_message", { id }],
        ["delete_message", {}],
        ["delete_message", "nope"],
      ];
      for (const [name, args] of bad) {
        const answer = await socket.call(name, args);
        assert.equal(
          answer.error_code,
          6,
          `${name} ${JSON.stringify(args)}: ${JSON.stringify(answer)}`,
        );
      }
    });

    await t.test("missing params are error 5, bad params 6", async () => {
      socket.send({ func: "subscribe", type: "list", name: "messages" });
      const missing = await socket.next((f) => f.func === "error");
      assert.equal(missing.error_code, 5, JSON.stringify(missing));
      for (const params of [{ room: "" }, { room: 7 }, { room: "general", extra: 1 }]) {
        socket.send({ func: "subscribe", type: "list", name: "messages", params });
        const wrong = await socket.next((f) => f.func === "error");
        assert.equal(wrong.error_code, 6, `${JSON.stringify(params)}: ${JSON.stringify(wrong)}`);
      }
    });

    await t.test("a row INSERTed by another connection reaches the subscriber", async () => {
      await insertElsewhere({
        id: "from-cron",
        room: "general",
        author: "cron",
        text: "written with SQL",
        created_at: Date.now() + 60_000,
      });
      // The demo promises 1 s; the wait is bounded by it and asserts nothing else.
      const insert = await waitUntil(
        () => socket.next(isList("insert", GENERAL), 50).catch(() => undefined),
        { what: "the external row's insert frame", timeout: 1000 },
      );
      assert.equal(insert.id, "from-cron");
      assert.equal(insert.index, 0);
      assert.deepEqual(insert.value, {
        room: "general",
        author: "cron",
        text: "written with SQL",
        created_at: (insert.value as { created_at: number }).created_at,
      });
    });

    await t.test("unsubscribe with params ends that view only", async () => {
      socket.send({ func: "unsubscribe", type: "list", name: "messages", params: GENERAL });
      await socket.drain();
      await socket.call("post_message", { room: "general", text: "unseen" });
      await socket.call("post_message", { room: "random", text: "seen" });
      const insert = await socket.next(isList("insert", RANDOM));
      assert.equal((insert.value as { text: string }).text, "seen");
      const rest = await socket.drain();
      assert.deepEqual(
        rest.filter((f) => JSON.stringify(f.params) === JSON.stringify(GENERAL)),
        [],
      );
    });
  } finally {
    await socket.close();
  }
}

for (const runtime of RUNTIMES) {
  test(`demo chat on ${runtime}, SQLite store`, { timeout: 90_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), `socksync-chat-${runtime}-`));
    const path = join(dir, "demo.db");
    const server = await spawnServer({ runtime, env: { SOCKSYNC_STORE: `sqlite:${path}` } });
    let other: SqliteDriver | undefined;
    try {
      await chatContract(t, server, async (row) => {
        other ??= await openSqliteDriver(path);
        other.exec("PRAGMA busy_timeout = 5000");
        other.prepare(
          "INSERT INTO messages (id, room, author, text, created_at) VALUES (?, ?, ?, ?, ?)",
        ).run(row.id, row.room, row.author, row.text, row.created_at);
      });
    } finally {
      other?.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

const pg = await postgresHarness();
describe("demo chat on PostgreSQL", { skip: pg.skip }, () => {
  after(() => pg.cleanup());
  for (const runtime of RUNTIMES) {
    test(`demo chat on ${runtime}, PostgreSQL store`, { timeout: 90_000 }, async (t) => {
      const database = await tempDatabase(pg.admin!);
      let server: SpawnedServer | undefined;
      const other = await openPgClient(database.url, { max: 1, onnotice: () => {} });
      try {
        server = await spawnServer({ runtime, env: { SOCKSYNC_STORE: database.url } });
        await chatContract(t, server, async (row) => {
          await other.unsafe(
            "INSERT INTO messages (id, room, author, text, created_at) VALUES ($1, $2, $3, $4, $5)",
            [row.id, row.room, row.author, row.text, String(row.created_at)],
          );
        });
      } finally {
        await other.end({ timeout: 1 });
        await server?.stop();
        await database.drop();
      }
    });
  }
});

test("a bad SOCKSYNC_STORE still exits 2 before the chat opens anything", async () => {
  for (const store of ["mongodb://x", "sqlite:./package.json/data/demo.db"]) {
    const error = await spawnServer({ runtime: "node", env: { SOCKSYNC_STORE: store } }).then(
      (s) => s.stop().then(() => assert.fail(`started with ${store}`)),
      (e: Error) => e,
    );
    assert.match(error.message, /exited with 2/, store);
    assert.match(error.message, /SOCKSYNC_STORE/, store);
  }
});
