/**
 * A PostgreSQL table query served as a list over real sockets: random plain-SQL writes
 * by another client (inserts, deletes, text edits, moves by created_at, moves between
 * rooms) and random page moves; every subscriber's page converges to
 * `SELECT … WHERE room = $1 ORDER BY created_at DESC, id DESC LIMIT … OFFSET …` and its
 * total to COUNT(*).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as v from "valibot";
import { Hub, ListMirror } from "../mod.ts";
import { Peer } from "../src/peer/mod.ts";
import type { PgSql } from "../stores/postgres/driver.ts";
import { openPostgresTables, postgresTable } from "../stores/postgres/table/mod.ts";
import { postgresHarness } from "./helpers/postgres.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";
import { serveHub } from "./helpers/serve_hub.ts";
import { waitUntil } from "./helpers/wait.ts";

const pg = await postgresHarness();
const schema = pg.schema;
const table = `"${schema}".messages`;
after(async () => {
  await pg.admin?.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pg.admin?.end({ timeout: 1 });
});
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

async function expected(other: PgSql, offset: number, size: number) {
  const items = (await other.unsafe(
    `SELECT id, room, author, text, created_at::int AS created_at FROM ${table}
     WHERE room = 'general' ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT $1 OFFSET $2`,
    [size, offset],
  )).map(({ id, ...value }) => ({ id: String(id), value: { ...value } }));
  const [{ n }] = await other.unsafe(
    `SELECT COUNT(*)::int AS n FROM ${table} WHERE room = 'general'`,
  );
  return { items, total: Number(n) };
}

/** Waits up to 10 s for `check`, naming `what` if it does not come. */
function until(what: string, check: () => Promise<boolean>): Promise<boolean> {
  return waitUntil(check, { what, timeout: 10_000 });
}

test(
  "a PostgreSQL table query keeps every subscriber's page exact through another client's writes",
  {
    skip: pg.skip,
    timeout: 120_000,
  },
  async () => {
    const other = pg.admin!;
    await other.unsafe(`CREATE SCHEMA "${schema}"`);
    await other.unsafe(`CREATE TABLE ${table} (id TEXT PRIMARY KEY, room TEXT NOT NULL,
    author TEXT NOT NULL, text TEXT NOT NULL, created_at BIGINT NOT NULL)`);
    const db = await openPostgresTables({ url: pg.url, channel: `${schema}_changes` });
    const source = postgresTable<Message>({
      db,
      table: `${schema}.messages`,
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
        text: fc.string({ maxLength: 5 }).map((t) => t.replaceAll("\0", "")),
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
    const exact = async () => {
      for (const s of subscribers) {
        const size = s.mirror.pageSize ?? 1;
        const truth = await expected(other, s.mirror.page * size, size);
        const last = truth.total === 0 ? 0 : Math.ceil(truth.total / size) - 1;
        if (
          s.mirror.total !== truth.total || s.mirror.page > last ||
          JSON.stringify(s.mirror.items) !== JSON.stringify(truth.items)
        ) return false;
      }
      return true;
    };
    try {
      for (let i = 0; i < 12; i++) {
        await other.unsafe(`INSERT INTO ${table} VALUES ($1, $2, 'ann', 'hi', $3)`, [
          `s${i}`,
          i % 3 ? "general" : "random",
          i % 5,
        ]);
      }
      for (const [page, size] of [[0, 5], [1, 3], [2, 2]]) {
        subscribers.push(await openSubscriber(url, page, size));
      }
      await fc.assert(
        fc.asyncProperty(fc.array(write, { minLength: 20, maxLength: 40 }), async (steps) => {
          for (const [n, w] of steps.entries()) {
            const ids = (await other.unsafe(`SELECT id FROM ${table} ORDER BY id`)).map((r) =>
              String(r.id)
            );
            const id = "pick" in w && ids.length > 0 ? ids[w.pick % ids.length] : undefined;
            if (w.op === "insert") {
              await other.unsafe(`INSERT INTO ${table} VALUES ($1, $2, 'bo', 'new', $3)`, [
                `m${next++}`,
                w.room,
                w.at,
              ]);
            } else if (w.op === "move") {
              const s = subscribers[w.who % subscribers.length];
              s.peer.getPage(s.mirror, w.page, w.size);
            } else if (id !== undefined) {
              if (w.op === "delete") await other.unsafe(`DELETE FROM ${table} WHERE id = $1`, [id]);
              else {
                const [column, value] = w.op === "text"
                  ? ["text", w.text]
                  : w.op === "time"
                  ? ["created_at", w.at]
                  : ["room", w.room];
                await other.unsafe(`UPDATE ${table} SET ${column} = $1 WHERE id = $2`, [value, id]);
              }
            }
            // Half the steps reach a quiet point; the others pile up writes in flight.
            if (n % 2 === 1) await until(`every page after step ${n}`, exact);
          }
          await until("every page at the end", exact);
        }),
        // No shrinking: each failed run waits out its timeout.
        { numRuns: 3, endOnFailure: true },
      );
      for (const s of subscribers) {
        const size = s.mirror.pageSize!;
        assert.deepEqual(s.mirror.items, (await expected(other, s.mirror.page * size, size)).items);
      }
    } finally {
      for (const s of subscribers) s.socket.close();
      await server.close();
      await hub.close();
      await db.close();
    }
  },
);
