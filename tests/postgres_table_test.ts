/**
 * Table bindings on PostgreSQL: `postgresTable` passes the sorted-source conformance
 * kit with plain-SQL writes made by another client; the listening connection killed
 * with pg_terminate_backend resets every live query, which converges; an unparsable
 * NOTIFY is logged once and resets; a missing table is named; an SQL error is code 8
 * without SQL text.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { sortedSourceConformance } from "../src/testing/mod.ts";
import type { ListChange } from "../src/store.ts";
import {
  openPostgresTables,
  postgresTable,
  type PostgresTables,
} from "../stores/postgres/table/mod.ts";
import type { PgSql } from "../stores/postgres/driver.ts";
import { postgresHarness } from "./helpers/postgres.ts";
import { waitUntil } from "./helpers/wait.ts";

const pg = await postgresHarness();
const schema = pg.schema;
const channel = `${schema}_changes`;
const errors: unknown[] = [];
let db: PostgresTables | undefined;
let tables = 0;

if (pg.admin) {
  await pg.admin.unsafe(`CREATE SCHEMA "${schema}"`);
  db = await openPostgresTables({ url: pg.url, channel, onError: (e) => errors.push(e) });
}
after(async () => {
  await db?.close();
  await pg.admin?.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pg.admin?.end({ timeout: 1 });
});

type Message = { room: string; author: string; text: string; created_at: number };
const COLUMNS = ["room", "author", "text", "created_at"];
const ROOMS = ["general", "random"];

async function messagesTable(admin: PgSql): Promise<string> {
  const name = `${schema}.messages_${tables++}`;
  await admin.unsafe(`CREATE TABLE ${name} (id TEXT PRIMARY KEY, room TEXT NOT NULL,
    author TEXT NOT NULL, text TEXT NOT NULL, created_at BIGINT NOT NULL)`);
  return name;
}

function general(table: string) {
  return postgresTable<Message>({
    db: db!,
    table,
    key: "id",
    orderBy: [{ column: "created_at", desc: true }, { column: "id", desc: true }],
    where: "room = :room",
    params: { room: "general" },
    columns: COLUMNS,
  });
}

async function reference(admin: PgSql, table: string) {
  const rows = await admin.unsafe(
    `SELECT id, room, author, text, created_at::int AS created_at FROM ${table}
     WHERE room = 'general' ORDER BY created_at DESC, id COLLATE "C" DESC`,
  );
  return rows.map(({ id, ...value }) => ({ id: String(id), value: value as Message }));
}

sortedSourceConformance<Message>("postgresTable, one room, newest first", async () => {
  const admin = pg.admin!;
  const table = await messagesTable(admin);
  const ids: string[] = [];
  const pick = (next: () => number) => ids[Math.floor(next() * ids.length)];
  return {
    source: () => general(table),
    async write(next, step) {
      const roll = next();
      if (roll < 0.4 || ids.length < 3) {
        const id = `m${step}`;
        ids.push(id);
        await admin.unsafe(`INSERT INTO ${table} VALUES ($1, $2, 'ann', $3, $4)`, [
          id,
          ROOMS[Math.floor(next() * 2)],
          `text ${step}`,
          Math.floor(next() * 20),
        ]);
      } else if (roll < 0.55) {
        const id = pick(next);
        await admin.unsafe(`DELETE FROM ${table} WHERE id = $1`, [id]);
        ids.splice(ids.indexOf(id), 1);
      } else if (roll < 0.7) {
        await admin.unsafe(`UPDATE ${table} SET text = $1 WHERE id = $2`, [
          `edit ${step}`,
          pick(next),
        ]);
      } else if (roll < 0.85) {
        await admin.unsafe(`UPDATE ${table} SET created_at = $1 WHERE id = $2`, [
          Math.floor(next() * 20),
          pick(next),
        ]);
      } else {
        await admin.unsafe(`UPDATE ${table} SET room = $1 WHERE id = $2`, [
          ROOMS[Math.floor(next() * 2)],
          pick(next),
        ]);
      }
    },
    reference: () => reference(admin, table),
  };
}, { writes: 80, skip: pg.skip });

/** A subscriber's copy of the whole list: re-read on a reset, later changes applied after it. */
function follow(source: ReturnType<typeof general>) {
  const state = { items: [] as { id: string; value: Message }[], resets: 0, version: 0 };
  let held: ListChange<Message>[] | undefined;
  let reading = Promise.resolve();
  const apply = (change: ListChange<Message>) => {
    if (change.version <= state.version) return;
    state.version = change.version;
    if (change.op === "insert") {
      state.items.splice(change.index, 0, { id: change.id, value: change.value });
    } else if (change.op === "delete") state.items.splice(change.index, 1);
    else if (change.op === "set") {
      state.items[change.index] = { id: change.id, value: change.value };
    }
  };
  const stop = source.subscribe((change: ListChange<Message>) => {
    if (held) return void held.push(change);
    if (change.op !== "reset") return apply(change);
    state.resets++;
    held = [];
    reading = source.page(0, 10_000).then((page) => {
      state.items = page.items;
      state.version = page.version;
      const later = held!;
      held = undefined;
      for (const c of later) if (c.op !== "reset") apply(c);
    });
  });
  return { state, stop, settled: () => reading };
}

async function converged(admin: PgSql, table: string, view: ReturnType<typeof follow>) {
  const truth = JSON.stringify(await reference(admin, table));
  await view.settled();
  return JSON.stringify(view.state.items) === truth;
}

/** Waits up to 10 s for `check`, naming `what` if it does not come. */
function until(what: string, check: () => Promise<boolean>): Promise<boolean> {
  return waitUntil(check, { what, timeout: 10_000 });
}

describe("postgresTable faults", { skip: pg.skip }, () => {
  test("the listening connection killed: a reset, then changes made meanwhile appear", async () => {
    const admin = pg.admin!;
    const table = await messagesTable(admin);
    await admin.unsafe(`INSERT INTO ${table} VALUES ('a', 'general', 'ann', 'hi', 1)`);
    const source = general(table);
    const view = follow(source);
    try {
      await until("the index", async () => (await source.count()) === 1 && source.live);
      await view.settled();
      view.state.items = (await source.page(0, 100)).items;
      const killed = await admin.unsafe(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1`,
        [`LISTEN "${channel}"`],
      );
      assert.equal(killed.length, 1, "one listening connection");
      // Written while nobody listens: only the reset brings it.
      await admin.unsafe(`INSERT INTO ${table} VALUES ('b', 'general', 'bob', 'yo', 2)`);
      await until("a reset", () => Promise.resolve(view.state.resets > 0));
      await until("convergence", () => converged(admin, table, view));
      await admin.unsafe(`INSERT INTO ${table} VALUES ('c', 'general', 'cy', 'hey', 3)`);
      await until("a change after the reconnect", () => converged(admin, table, view));
      assert.equal(view.state.items.length, 3);
    } finally {
      view.stop();
      await source.close();
    }
  });

  test("an unparsable NOTIFY payload is logged once and resets, and nothing crashes", async () => {
    const admin = pg.admin!;
    const table = await messagesTable(admin);
    const source = general(table);
    const view = follow(source);
    try {
      await until("the index", () => Promise.resolve(source.live));
      await admin.unsafe(`SELECT pg_notify($1, 'not json'), pg_notify($1, '{"t": "x"}')`, [
        channel,
      ]);
      await until("a reset", () => Promise.resolve(view.state.resets >= 1));
      const logged = errors.filter((e) => /could not be parsed/.test(String(e)));
      assert.equal(logged.length, 1, "logged once");
      await admin.unsafe(`INSERT INTO ${table} VALUES ('z', 'general', 'zed', 'ok', 9)`);
      await until("convergence", () => converged(admin, table, view));
    } finally {
      view.stop();
      await source.close();
    }
  });

  test("a row too big for NOTIFY is read back; a changed key is a delete and an insert", async () => {
    const admin = pg.admin!;
    const table = await messagesTable(admin);
    const source = general(table);
    const view = follow(source);
    try {
      await until("the index", () => Promise.resolve(source.live));
      const big = "é".repeat(6000); // 12,000 bytes: the payload goes without the row
      await admin.unsafe(`INSERT INTO ${table} VALUES ('a', 'general', 'ann', $1, 1)`, [big]);
      await admin.unsafe(`INSERT INTO ${table} VALUES ('b', 'general', 'bob', 'small', 2)`);
      await until("the big row", () => converged(admin, table, view));
      assert.equal(view.state.items.find((item) => item.id === "a")?.value.text, big);
      await admin.unsafe(`UPDATE ${table} SET id = 'c', text = 'renamed' WHERE id = 'a'`);
      await until("the new key", () => converged(admin, table, view));
      assert.deepEqual(view.state.items.map((item) => item.id), ["b", "c"]);
    } finally {
      view.stop();
      await source.close();
    }
  });

  test("a missing table is named; an SQL error is code 8 without SQL text", async () => {
    const missing = postgresTable({ db: db!, table: `${schema}.nope`, key: "id", columns: [] });
    await assert.rejects(missing.page(0, 10), (error: Error & { code?: number }) => {
      assert.equal(error.code, 8);
      assert.match(error.message, /table "socksync_test_\w+\.nope" does not exist/);
      return true;
    });
    const admin = pg.admin!;
    const table = await messagesTable(admin);
    const broken = postgresTable({
      db: db!,
      table,
      key: "id",
      where: "room = :room AND created_at / 0 > 1",
      params: { room: "secret-room" },
      columns: ["text"],
    });
    await admin.unsafe(`INSERT INTO ${table} VALUES ('a', 'secret-room', 'ann', 'hi', 1)`);
    await assert.rejects(broken.page(0, 10), (error: Error & { code?: number }) => {
      assert.equal(error.code, 8);
      assert.doesNotMatch(error.message, /secret-room|SELECT|division/);
      return true;
    });
    // The binding is still usable for the next read of a healthy query.
    assert.equal((await general(table).page(0, 10)).total, 0);
  });
});
