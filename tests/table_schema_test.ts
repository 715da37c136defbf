/**
 * Table bindings typed by the row's valibot schema, on SQLite and PostgreSQL:
 * the item type is the schema's (checked by `deno check`), values are
 * converted where the mapping is exact (numeric text, bigint beyond 2^53,
 * timestamps, JSON, SQLite's 0/1 booleans), a column whose SQL type cannot
 * give the schema's type fails at bind time naming the column, its SQL type
 * and the schema's type, a row that fails the schema fails its read naming
 * the row and column; a nullable ORDER BY column is refused with the
 * statement that fixes it, and once fixed the next subscribe binds without a
 * restart.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { connect, ErrorCode, Hub, isSockSyncError } from "../mod.ts";
import { openSqliteDriver, sqliteTable } from "../stores/sqlite/table/mod.ts";
import {
  openPostgresTables,
  postgresTable,
  type PostgresTables,
} from "../stores/postgres/table/mod.ts";
import { postgresHarness } from "./helpers/postgres.ts";
import { serveHub } from "./helpers/serve_hub.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";
import { waitUntil } from "./helpers/wait.ts";

/** Asserts that `run` throws (or rejects with) code 8 and exactly `message`. */
async function refuses(run: () => unknown, message: string): Promise<void> {
  await assert.rejects(async () => await run(), (error) => {
    assert.ok(isSockSyncError(error), String(error));
    assert.equal(error.code, ErrorCode.Other);
    assert.equal(error.message, message);
    return true;
  });
}

const Order = v.object({
  customer: v.nullable(v.string()),
  total: v.string(),
  status: v.picklist(["pending", "shipped"]),
});

describe("sqliteTable with a schema", () => {
  test("infers the item type, converts and checks at bind time and on read", async () => {
    const db = await openSqliteDriver(":memory:");
    try {
      db.exec(`CREATE TABLE todos (id TEXT PRIMARY KEY, text TEXT NOT NULL,
        done BOOLEAN NOT NULL, tags TEXT NOT NULL, due INTEGER, rank INTEGER NOT NULL)`);
      db.exec(`INSERT INTO todos VALUES ('a', 'milk', 1, '["shop"]', NULL, 2)`);
      const Todo = v.object({
        text: v.string(),
        done: v.boolean(),
        tags: v.array(v.string()),
        due: v.nullable(v.number()),
      });
      const todos = sqliteTable({ db, table: "todos", key: "id", schema: Todo });
      const [first] = (await todos.page(0, 10)).items;
      const done: boolean = first.value.done;
      // @ts-expect-error the item type is the schema's: text is a string
      const wrong: number = first.value.text;
      assert.deepEqual(first.value, { text: "milk", done: true, tags: ["shop"], due: null });
      assert.equal(done, true);
      assert.equal(typeof wrong, "string");

      await refuses(
        () =>
          sqliteTable({ db, table: "todos", key: "id", schema: v.object({ text: v.number() }) }),
        'column "text" of "todos" is TEXT (string) but the schema\'s type is number',
      );
      await refuses(
        () => sqliteTable({ db, table: "todos", key: "id", schema: v.object({ due: v.number() }) }),
        'column "due" of "todos" is INTEGER (number or null) but the schema\'s type is number: ' +
          "it may be NULL (make the schema v.nullable, or the column NOT NULL)",
      );
      // SQLite stores what it is given: a row that fails the schema fails its read.
      db.exec(`INSERT INTO todos VALUES ('b', 'oat', 'maybe', '[]', NULL, 1)`);
      await refuses(
        () => todos.get("b"),
        'table "todos", row b: column "done" fails the schema (expected boolean, got string)',
      );
      // The untyped form still works.
      const untyped = sqliteTable<{ text: string }>({
        db,
        table: "todos",
        key: "id",
        columns: ["text"],
      });
      assert.deepEqual((await untyped.get("a"))?.value, { text: "milk" });
    } finally {
      db.close();
    }
  });

  test("a nullable ORDER BY column is refused with what to do", async () => {
    const db = await openSqliteDriver(":memory:");
    try {
      db.exec("CREATE TABLE notes (id TEXT PRIMARY KEY, text TEXT NOT NULL, at INTEGER)");
      await refuses(
        () =>
          sqliteTable({
            db,
            table: "notes",
            key: "id",
            orderBy: [{ column: "at", desc: true }],
            schema: v.object({ text: v.string() }),
          }),
        'ORDER BY column "at" of "notes" must be NOT NULL (SQLite cannot add NOT NULL to a ' +
          'column in place: recreate "notes" with "at" NOT NULL, after UPDATE "notes" SET "at" ' +
          '= … WHERE "at" IS NULL)',
      );
    } finally {
      db.close();
    }
  });
});

const pg = await postgresHarness();
let db: PostgresTables | undefined;
if (pg.admin) {
  await pg.admin.unsafe(`CREATE SCHEMA "${pg.schema}"`);
  db = await openPostgresTables({ url: pg.url, channel: `${pg.schema}_changes` });
}
after(async () => {
  await db?.close();
  await pg.admin?.unsafe(`DROP SCHEMA IF EXISTS "${pg.schema}" CASCADE`);
  await pg.admin?.end({ timeout: 1 });
});

describe("postgresTable with a schema", { skip: pg.skip }, () => {
  test("numeric as exact text, bigint beyond 2^53, timestamps, json; wrong types at bind time", async () => {
    const table = `${pg.schema}.orders`;
    await pg.admin!.unsafe(`CREATE TABLE ${table} (id text PRIMARY KEY, customer text,
      total numeric NOT NULL, status text NOT NULL, created_at bigint, big bigint NOT NULL,
      at timestamptz NOT NULL, meta jsonb NOT NULL, ok boolean NOT NULL)`);
    await pg.admin!.unsafe(`INSERT INTO ${table} VALUES ('a', 'ada', 12.50, 'pending', NULL,
      9007199254740993, '2024-05-01 10:00:00.5+02', '{"x": 1}', true)`);
    const Row = v.object({
      ...Order.entries,
      big: v.bigint(),
      at: v.date(),
      meta: v.object({ x: v.number() }),
      ok: v.boolean(),
    });
    const orders = postgresTable({ db: db!, table, key: "id", schema: Row });
    const [first] = (await orders.page(0, 10)).items;
    const total: string = first.value.total;
    // @ts-expect-error the item type is the schema's: total is a string
    const wrong: number = first.value.total;
    assert.equal(total, "12.50");
    assert.equal(typeof wrong, "string");
    assert.equal(first.value.big, 9007199254740993n);
    assert.equal(first.value.at.toISOString(), "2024-05-01T08:00:00.500Z");
    assert.deepEqual(first.value.meta, { x: 1 });
    assert.equal(first.value.ok, true);
    // Numbers as numbers too, when the schema says so.
    const asNumber = postgresTable({
      db: db!,
      table,
      key: "id",
      schema: v.object({ total: v.number() }),
    });
    assert.deepEqual((await asNumber.get("a"))?.value, { total: 12.5 });

    await refuses(
      () =>
        postgresTable({ db: db!, table, key: "id", schema: v.object({ total: v.boolean() }) })
          .page(0, 1),
      `column "total" of "${table}" is numeric (number) but the schema's type is boolean`,
    );
    await refuses(
      () =>
        postgresTable({ db: db!, table, key: "id", schema: v.object({ customer: v.string() }) })
          .page(0, 1),
      `column "customer" of "${table}" is text (string or null) but the schema's type is ` +
        "string: it may be NULL (make the schema v.nullable, or the column NOT NULL)",
    );
  });

  test("a nullable ORDER BY column is refused with its ALTER TABLE; once fixed, the next subscribe binds", async () => {
    const table = `${pg.schema}.shipments`;
    await pg.admin!.unsafe(`CREATE TABLE ${table} (id text PRIMARY KEY, customer text,
      total numeric NOT NULL, status text NOT NULL, created_at bigint)`);
    await pg.admin!.unsafe(`INSERT INTO ${table} VALUES ('a', 'ada', 1, 'pending', 1)`);
    const hub = new Hub({ onError: () => {} });
    hub.list("orders", {
      params: v.object({ status: v.picklist(["pending", "shipped"]) }),
      source: ({ status }) =>
        postgresTable({
          db: db!,
          table,
          key: "id",
          orderBy: [{ column: "created_at", desc: true }],
          where: "status = :status",
          params: { status },
          schema: Order,
        }),
    });
    const { server, url } = await serveHub(hub);
    const client = connect(url, { WebSocket: await webSocketClass(), onError: () => {} });
    try {
      const failed = client.list<unknown>("orders", { params: { status: "pending" } });
      await waitUntil(() => failed.getSnapshot().status !== "loading", { what: "an answer" });
      const snapshot = failed.getSnapshot();
      assert.equal(snapshot.status, "error");
      const quoted = `"${pg.schema}"."shipments"`;
      assert.equal(
        snapshot.error?.message,
        `ORDER BY column "created_at" of "${table}" may be NULL: make it NOT NULL with ` +
          `ALTER TABLE ${quoted} ALTER COLUMN "created_at" SET NOT NULL (after UPDATE ` +
          `${quoted} SET "created_at" = … WHERE "created_at" IS NULL, if it holds NULLs)`,
      );
      failed.close();
      await pg.admin!.unsafe(`ALTER TABLE ${table} ALTER COLUMN created_at SET NOT NULL`);
      // No restart: the next subscribe binds from the table as it is now.
      const view = client.list<{ total: string }>("orders", { params: { status: "pending" } });
      await waitUntil(() => view.getSnapshot().status !== "loading", { what: "the page" });
      assert.equal(view.getSnapshot().status, "ready", view.getSnapshot().error?.message);
      assert.deepEqual(view.getSnapshot().items.map((item) => item.value.total), ["1"]);
      view.close();
    } finally {
      client.close();
      await server.close();
      await hub.close();
    }
  });
});
