/**
 * A table query served as a list over real sockets: random plain-SQL writes on another
 * connection (inserts, deletes, text edits, moves by created_at, moves between rooms)
 * and random page moves; every subscriber's page converges to
 * `SELECT … WHERE room = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?` and its
 * total to COUNT(*).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import * as v from "valibot";
import { Hub, ListMirror } from "../mod.ts";
import { Peer } from "../src/peer/mod.ts";
import { openSqliteDriver, type SqliteDriver } from "../stores/sqlite/driver.ts";
import { changeWatcher } from "../stores/sqlite/changes.ts";
import { sqliteTable } from "../stores/sqlite/table/mod.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";
import { serveHub } from "./helpers/serve_hub.ts";
import { waitUntil } from "./helpers/wait.ts";

const MAX_PAGE_SIZE = 5;
const message = v.object({
  room: v.string(),
  author: v.string(),
  text: v.string(),
  created_at: v.number(),
});
type Message = v.InferOutput<typeof message>;

interface Subscriber {
  peer: Peer;
  mirror: ListMirror<Message>;
  socket: WebSocket;
}

async function openSubscriber(url: string, page: number, size: number): Promise<Subscriber> {
  const WS = await webSocketClass();
  const socket = new WS(url);
  const peer = new Peer({ socket, limits: { callTimeout: 5000 } });
  socket.addEventListener("message", (event) => peer.receive((event as MessageEvent).data));
  socket.addEventListener("close", () => peer.detach());
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve());
    socket.addEventListener("error", () => reject(new Error("cannot connect")));
  });
  const mirror = new ListMirror<Message>("general", { page, pageSize: size });
  peer.mirror(mirror);
  await waitUntil(() => mirror.ready, { what: "the first page" });
  return { peer, mirror, socket };
}

function expected(other: SqliteDriver, offset: number, size: number) {
  const items = other.prepare(
    `SELECT id, room, author, text, created_at FROM messages WHERE room = 'general'
     ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
  ).all(size, offset).map(({ id, ...value }) => ({ id: String(id), value: { ...value } }));
  const total = Number(
    other.prepare("SELECT COUNT(*) AS n FROM messages WHERE room = 'general'").get()?.n,
  );
  return { items, total };
}

test("a table query keeps every subscriber's page exact through another connection's writes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "socksync-views-"));
  const path = join(dir, "chat.db");
  const db = await openSqliteDriver(path);
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;
    CREATE TABLE messages (id TEXT PRIMARY KEY, room TEXT NOT NULL, author TEXT NOT NULL,
      text TEXT NOT NULL, created_at BIGINT NOT NULL);`);
  const other = await openSqliteDriver(path);
  other.exec("PRAGMA busy_timeout = 5000");
  const source = sqliteTable<Message>({
    db,
    table: "messages",
    key: "id",
    orderBy: [{ column: "created_at", desc: true }, { column: "id", desc: true }],
    where: "room = :room",
    params: { room: "general" },
    columns: ["room", "author", "text", "created_at"],
  });
  const hub = new Hub({ onError: () => {} });
  hub.list("general", { source, schema: message, maxPageSize: MAX_PAGE_SIZE });
  const { server, url } = await serveHub(hub);
  const subscribers: Subscriber[] = [];
  let next = 0;
  const write = fc.oneof(
    fc.record({
      op: fc.constant("insert" as const),
      room: fc.constantFrom("general", "random"),
      at: fc.nat(8),
    }),
    fc.record({ op: fc.constant("delete" as const), pick: fc.nat() }),
    fc.record({
      op: fc.constant("text" as const),
      pick: fc.nat(),
      text: fc.string({ maxLength: 5 }),
    }),
    fc.record({ op: fc.constant("time" as const), pick: fc.nat(), at: fc.nat(8) }),
    fc.record({
      op: fc.constant("room" as const),
      pick: fc.nat(),
      room: fc.constantFrom("general", "random"),
    }),
    fc.record({
      op: fc.constant("move" as const),
      who: fc.nat(),
      page: fc.nat(4),
      size: fc.integer({ min: 1, max: 7 }),
    }),
  );
  try {
    for (let i = 0; i < 12; i++) {
      other.prepare("INSERT INTO messages VALUES (?, ?, 'ann', 'hi', ?)")
        .run(`s${i}`, i % 3 ? "general" : "random", i % 5);
    }
    for (const [page, size] of [[0, 5], [1, 3], [2, 2]]) {
      subscribers.push(await openSubscriber(url, page, size));
    }
    await fc.assert(
      fc.asyncProperty(fc.array(write, { minLength: 20, maxLength: 40 }), async (steps) => {
        for (const [n, w] of steps.entries()) {
          const ids = other.prepare("SELECT id FROM messages ORDER BY id").all().map((r) =>
            String(r.id)
          );
          const id = "pick" in w && ids.length > 0 ? ids[w.pick % ids.length] : undefined;
          if (w.op === "insert") {
            other.prepare("INSERT INTO messages VALUES (?, ?, 'bo', 'new', ?)").run(
              `m${next++}`,
              w.room,
              w.at,
            );
          } else if (w.op === "move") {
            const s = subscribers[w.who % subscribers.length];
            s.peer.getPage(s.mirror, w.page, w.size);
          } else if (id !== undefined) {
            if (w.op === "delete") other.prepare("DELETE FROM messages WHERE id = ?").run(id);
            else {
              const [column, value] = w.op === "text"
                ? ["text", w.text]
                : w.op === "time"
                ? ["created_at", w.at]
                : ["room", w.room];
              other.prepare(`UPDATE messages SET ${column} = ? WHERE id = ?`).run(value, id);
            }
          }
          // Most steps hand the change over at once; every fourth waits for the timer.
          if (n % 4 !== 3) source.flush();
          await waitUntil(() =>
            subscribers.every((s) => {
              const size = s.mirror.pageSize ?? 1;
              const truth = expected(other, s.mirror.page * size, size);
              const last = truth.total === 0 ? 0 : Math.ceil(truth.total / size) - 1;
              return s.mirror.total === truth.total && s.mirror.page <= last &&
                JSON.stringify(s.mirror.items) === JSON.stringify(truth.items);
            }), { what: `every page after step ${n}`, timeout: 5000 });
        }
      }),
      { numRuns: 3 },
    );
    for (const s of subscribers) {
      const size = s.mirror.pageSize!;
      assert.deepEqual(s.mirror.items, expected(other, s.mirror.page * size, size).items);
    }
  } finally {
    for (const s of subscribers) s.socket.close();
    await server.close();
    await hub.close();
    changeWatcher(db).close();
    db.close();
    other.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
