/**
 * Table bindings behind parameterized lists: `sqliteTable` passes the
 * sorted-source conformance kit of `socksync/testing` (random plain-SQL
 * writes on another connection against a reference query); over real
 * sockets a per-user WHERE from the connection's context, a query error
 * answered with 8 without SQL text while the server stays up, and a missing
 * table named at bind time.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { connect, Hub, isSockSyncError } from "../mod.ts";
import { serve } from "../src/serve/serve.ts";
import { random } from "../src/testing/kit.ts";
import { sortedSourceConformance } from "../src/testing/mod.ts";
import { openSqliteDriver, type SqliteDriver } from "../stores/sqlite/driver.ts";
import { sqliteTable, type SqliteTableSource } from "../stores/sqlite/table/mod.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";
import { withServedHub } from "./helpers/serve_hub.ts";
import { waitUntil } from "./helpers/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "socksync-params-"));
let files = 0;
after(() => rmSync(dir, { recursive: true, force: true }));

const SCHEMA = `
PRAGMA journal_mode = WAL;
PRAGMA busy_timeout = 5000;
CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, room TEXT NOT NULL,
  author TEXT NOT NULL, text TEXT NOT NULL, created_at BIGINT NOT NULL);`;

type Message = { room: string; author: string; text: string; created_at: number };

async function twoConnections(): Promise<{ db: SqliteDriver; other: SqliteDriver }> {
  const path = join(dir, `p${files++}.db`);
  const db = await openSqliteDriver(path);
  db.exec(SCHEMA);
  const other = await openSqliteDriver(path);
  other.exec("PRAGMA busy_timeout = 5000");
  return { db, other };
}

const ROOMS = ["general", "random"];

sortedSourceConformance<Message>("sqliteTable, one room, newest first", async () => {
  const { db, other } = await twoConnections();
  const ids: string[] = [];
  const pick = (next: () => number) => ids[Math.floor(next() * ids.length)];
  return {
    source: () =>
      sqliteTable<Message>({
        db,
        table: "messages",
        key: "id",
        orderBy: [{ column: "created_at", desc: true }, { column: "id", desc: true }],
        where: "room = :room",
        params: { room: "general" },
        columns: ["room", "author", "text", "created_at"],
      }),
    write(next, step) {
      const roll = next();
      if (roll < 0.4 || ids.length < 3) {
        const id = `m${step}`;
        ids.push(id);
        const room = ROOMS[Math.floor(next() * 2)];
        other.prepare("INSERT INTO messages VALUES (?, ?, 'ann', ?, ?)")
          .run(id, room, `text ${step}`, Math.floor(next() * 20));
      } else if (roll < 0.55) {
        const id = pick(next);
        other.prepare("DELETE FROM messages WHERE id = ?").run(id);
        ids.splice(ids.indexOf(id), 1);
      } else if (roll < 0.7) {
        other.prepare("UPDATE messages SET text = ? WHERE id = ?").run(`edit ${step}`, pick(next));
      } else if (roll < 0.85) {
        other.prepare("UPDATE messages SET created_at = ? WHERE id = ?")
          .run(Math.floor(next() * 20), pick(next));
      } else {
        other.prepare("UPDATE messages SET room = ? WHERE id = ?")
          .run(ROOMS[Math.floor(next() * 2)], pick(next));
      }
    },
    reference: () =>
      other.prepare(
        `SELECT id, room, author, text, created_at FROM messages WHERE room = 'general'
         ORDER BY created_at DESC, id DESC`,
      ).all().map(({ id, ...value }) => ({ id: String(id), value: { ...value } as Message })),
    settle: (source) => (source as SqliteTableSource<Message>).flush(),
    close() {
      db.close();
      other.close();
    },
  };
}, { writes: 120 });

describe("table bindings behind a parameterized list", () => {
  test("a per-user WHERE from the context, and query errors answered with 8", async () => {
    const { db, other } = await twoConnections();
    db.exec(`CREATE TABLE notes (id TEXT PRIMARY KEY, owner TEXT NOT NULL,
      folder TEXT NOT NULL, text TEXT NOT NULL)`);
    const insert = db.prepare("INSERT INTO notes VALUES (?, ?, ?, ?)");
    insert.run("n1", "ada", "work", "ada's");
    insert.run("n2", "bob", "work", "bob's");
    const hub = new Hub<{ user: string }>({ onError: () => {} });
    hub.list("notes", {
      params: v.object({ folder: v.string() }),
      source: ({ folder }, context) =>
        sqliteTable({
          db,
          table: "notes",
          key: "id",
          where: "owner = :user AND folder = :folder",
          params: { user: context.user, folder },
          columns: ["text"],
        }),
      key: (_params, context) => context.user,
    });
    const users = ["ada", "bob"];
    try {
      await withServedHub({
        hub,
        accept: [],
        serve: { context: () => ({ user: users.shift()! }) },
      }, async ({ open }) => {
        const ada = await open();
        const bob = await open();
        const params = { folder: "work" };
        for (const client of [ada, bob]) {
          client.send({ func: "subscribe", type: "list", name: "notes", params });
        }
        const adaPage = await ada.next((f) => f.func === "set_all");
        const bobPage = await bob.next((f) => f.func === "set_all");
        assert.deepEqual(adaPage.items, [{ id: "n1", value: { text: "ada's" } }]);
        assert.deepEqual(bobPage.items, [{ id: "n2", value: { text: "bob's" } }]);
        assert.deepEqual(adaPage.params, params);
        assert.equal(hub.paramLists.get("notes")!.size, 2);

        // The table goes away under the binding: the next read fails, briefly.
        other.exec("DROP TABLE notes");
        ada.send({ func: "get", type: "list", name: "notes", params, page: 0 });
        const error = await ada.next((f) => f.func === "error");
        assert.equal(error.error_code, 8);
        assert.deepEqual(error.params, params);
        assert.match(String(error.message), /notes/);
        assert.doesNotMatch(String(error.message), /SELECT|WHERE|owner|ada/);
        // The server is still up and answers.
        bob.send({ func: "get", type: "list", name: "notes", params: { folder: 1 } });
        assert.equal((await bob.next((f) => f.func === "error")).error_code, 6);
      });
    } finally {
      db.close();
      other.close();
    }
  });

  test("a table missing at bind time is named in one clear error", async () => {
    const { db, other } = await twoConnections();
    try {
      assert.throws(
        () => sqliteTable({ db, table: "mesages", key: "id", columns: ["text"] }),
        (error: unknown) => isSockSyncError(error) && /"mesages"/.test(error.message),
      );
      const hub = new Hub({ onError: () => {} });
      hub.list("typo", {
        params: v.object({ room: v.string() }),
        source: () => sqliteTable({ db, table: "mesages", key: "id", columns: ["text"] }),
      });
      await withServedHub({ hub, accept: [] }, async ({ open }) => {
        const client = await open();
        client.send({ func: "subscribe", type: "list", name: "typo", params: { room: "a" } });
        const error = await client.next((f) => f.func === "error");
        assert.equal(error.error_code, 8);
        assert.match(String(error.message), /table "mesages" does not exist/);
      });
    } finally {
      db.close();
      other.close();
    }
  });
});

describe("views of a table query over real sockets", () => {
  test("after random writes on another connection, every view equals its page", async () => {
    const { db, other } = await twoConnections();
    const hub = new Hub({ onError: () => {} });
    const messages = hub.list("messages", {
      params: v.object({ room: v.string() }),
      source: ({ room }) =>
        sqliteTable<Message>({
          db,
          table: "messages",
          key: "id",
          orderBy: [{ column: "created_at", desc: true }, { column: "id", desc: true }],
          where: "room = :room",
          params: { room },
          columns: ["room", "author", "text", "created_at"],
        }),
      maxPageSize: 50,
    });
    const server = await serve({ hub, port: 0, hostname: "127.0.0.1" });
    const WebSocket = await webSocketClass();
    // A connection holds one view per list and params: two pages of one room need two.
    const wanted = [
      { room: "general", page: 0, size: 3 },
      { room: "general", page: 1, size: 3 },
      { room: "random", page: 0, size: 5 },
    ];
    const clients = wanted.map(() =>
      connect(`ws://127.0.0.1:${server.port}/ws/socksync`, { WebSocket })
    );
    try {
      const views = wanted.map((w, i) =>
        clients[i].list<Message>("messages", {
          params: { room: w.room },
          page: w.page,
          pageSize: w.size,
        })
      );
      const rooms = clients[2].list<Message>("messages", { params: { room: "general" } });
      const next = random(0x7ab1e);
      const ids: string[] = [];
      const pick = () => ids[Math.floor(next() * ids.length)];
      const expected = (room: string, page: number, size: number) => {
        const rows = other.prepare(
          `SELECT id, room, author, text, created_at FROM messages WHERE room = ?
           ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
        ).all(room, size, page * size);
        const total = Number(
          other.prepare("SELECT COUNT(*) AS n FROM messages WHERE room = ?").get(room)?.n,
        );
        return { items: rows.map(({ id, ...value }) => ({ id: String(id), value })), total };
      };
      for (let step = 0; step < 60; step++) {
        const roll = next();
        if (roll < 0.45 || ids.length < 4) {
          ids.push(`m${step}`);
          other.prepare("INSERT INTO messages VALUES (?, ?, 'ann', ?, ?)")
            .run(`m${step}`, ROOMS[Math.floor(next() * 2)], `t${step}`, Math.floor(next() * 9));
        } else if (roll < 0.6) {
          const id = pick();
          ids.splice(ids.indexOf(id), 1);
          other.prepare("DELETE FROM messages WHERE id = ?").run(id);
        } else if (roll < 0.75) {
          other.prepare("UPDATE messages SET text = ? WHERE id = ?").run(`e${step}`, pick());
        } else if (roll < 0.9) {
          other.prepare("UPDATE messages SET created_at = ? WHERE id = ?")
            .run(Math.floor(next() * 9), pick());
        } else {
          other.prepare("UPDATE messages SET room = ? WHERE id = ?")
            .run(ROOMS[Math.floor(next() * 2)], pick());
        }
        if (step % 3 !== 2) continue;
        for (const [i, w] of wanted.entries()) {
          const view = views[i];
          await waitUntil(() => {
            const want = expected(w.room, view.page, w.size);
            return view.ready && view.total === want.total &&
              JSON.stringify(view.items) === JSON.stringify(want.items);
          }, { what: `view ${i} after write ${step}`, timeout: 5_000 });
        }
      }
      await waitUntil(() => rooms.ready, { what: "the whole room" });
      assert.deepEqual(rooms.items, expected("general", 0, 50).items);
      assert.equal(messages.size, 2);
    } finally {
      for (const client of clients) client.close();
      await server.close();
      await hub.close();
      db.close();
      other.close();
    }
  });
});
