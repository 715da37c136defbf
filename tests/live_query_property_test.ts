/**
 * The page invariant of live table queries, as a property over real sockets: the demo
 * server (SQLite store) runs on the runtime running this file, so Node, Deno and Bun each
 * check their own server. Random writes made with plain SQL on another connection (this
 * process's own: inserts, deletes, text edits, created_at edits that move a row, room
 * edits that move it between views, some in one transaction) interleave with random
 * subscribers (rooms, pages, page sizes, page moves, unsubscribes). At every quiet point
 * each view, rebuilt from its frames only, must equal
 * `SELECT … WHERE room = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?` and its
 * total `COUNT(*)`. A failure prints the seed; `SOCKSYNC_PROPERTY_SEED=N` replays it.
 * It catches a broken move: with the live query sending a row whose ORDER BY value
 * changed as a `set` at its old index (no `delete` + `insert`), a run fails at a quiet
 * point with the view's rows out of order.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { detectRuntime } from "../src/serve/serve.ts";
import { openSqliteDriver, type SqliteDriver } from "../stores/sqlite/driver.ts";
import { PageMirror } from "./helpers/page_mirror.ts";
import { type Frame, RawSocket } from "./helpers/raw_socket.ts";
import { type ServerRuntime, spawnServer } from "./helpers/spawn_server.ts";
import { waitUntil } from "./helpers/wait.ts";
import { random } from "../src/testing/kit.ts";

const STEPS = 240;
const ROOMS = ["a", "b", "c"];
const SOCKETS = 3;
const MAX_SOCKETS = 12;
// Few distinct timestamps: ties make the id break them.
const TIMES = 40;

interface View {
  socket: number;
  room: string;
  mirror: PageMirror;
  /** The page last asked for: the provider may only clamp it down. */
  asked: number;
  size: number;
}

const runtime = detectRuntime() as ServerRuntime;

test(`live query pages equal their SQL after random writes (${runtime} server)`, {
  timeout: 120_000,
}, async () => {
  const seed = Number(process.env.SOCKSYNC_PROPERTY_SEED) || Math.floor(Math.random() * 2 ** 31);
  const rand = random(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const dir = mkdtempSync(join(tmpdir(), "socksync-property-"));
  const path = join(dir, "demo.db");
  const server = await spawnServer({ runtime, env: { SOCKSYNC_STORE: `sqlite:${path}` } });
  const sockets: RawSocket[] = [];
  let db: SqliteDriver | undefined;
  let step = 0;
  try {
    db = await openSqliteDriver(path);
    db.exec("PRAGMA busy_timeout = 5000");
    const sql = db;
    const views = new Map<string, View>();
    const broken: string[] = [];
    let applied = 0;
    // Views a socket unsubscribed from: frames the provider sent before it read the
    // unsubscribe may still come, so such a view is never opened again on that socket.
    const retired = new Set<string>();
    const openSocket = async () => {
      const i = sockets.length;
      const socket = await RawSocket.open(server.wsUrl);
      sockets.push(socket);
      // Frames of the list go to the view they name; nothing else is kept.
      socket.socket.addEventListener("message", (event) => {
        const frame = JSON.parse(String((event as MessageEvent).data)) as Frame;
        if (frame.type !== "list" || frame.name !== "messages") return;
        const key = `${i}:${(frame.params as { room: string }).room}`;
        const view = views.get(key);
        if (!view && retired.has(key)) return;
        try {
          if (!view) throw new Error(`a frame for no open view: ${JSON.stringify(frame)}`);
          view.mirror.apply(frame);
          applied++;
        } catch (error) {
          broken.push(error instanceof Error ? error.message : String(error));
        }
      });
    };
    for (let i = 0; i < SOCKETS; i++) await openSocket();

    const ids: string[] = [];
    let nextId = 0;
    const insert = sql.prepare(
      "INSERT INTO messages (id, room, author, text, created_at) VALUES (?, ?, 'prop', ?, ?)",
    );
    const writes = [
      () => {
        const id = `m${String(nextId++).padStart(4, "0")}`;
        insert.run(id, pick(ROOMS), `text ${id}`, Math.floor(rand() * TIMES));
        ids.push(id);
      },
      () => {
        if (!ids.length) return;
        const id = ids.splice(Math.floor(rand() * ids.length), 1)[0];
        sql.prepare("DELETE FROM messages WHERE id = ?").run(id);
      },
      () =>
        ids.length && sql.prepare("UPDATE messages SET text = ? WHERE id = ?")
          .run(`edited ${Math.floor(rand() * 1e6)}`, pick(ids)),
      () =>
        ids.length && sql.prepare("UPDATE messages SET created_at = ? WHERE id = ?")
          .run(Math.floor(rand() * TIMES), pick(ids)),
      () =>
        ids.length && sql.prepare("UPDATE messages SET room = ? WHERE id = ?")
          .run(pick(ROOMS), pick(ids)),
    ];
    const write = () => (rand() < 0.45 ? writes[0] : pick(writes))();

    const expected = (room: string, page: number, size: number) => {
      const rows = sql.prepare(
        `SELECT id, room, author, text, created_at FROM messages WHERE room = ?
         ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
      ).all(room, size, page * size);
      const total = Number(
        sql.prepare("SELECT COUNT(*) AS n FROM messages WHERE room = ?").get(room)!.n,
      );
      return {
        total,
        items: rows.map(({ id, ...value }) => ({
          id: String(id),
          value: { ...value, created_at: Number(value.created_at) },
        })),
      };
    };
    const mismatch = (view: View): string | undefined => {
      const { mirror, room, size, asked } = view;
      if (mirror.page < 0) return "no set_all yet";
      const want = expected(room, mirror.page, size);
      const last = Math.max(0, Math.ceil(want.total / size) - 1);
      const got = { total: mirror.total, items: mirror.items };
      if (mirror.pageSize !== size) return `page size ${mirror.pageSize}, asked ${size}`;
      if (mirror.page > asked) return `page ${mirror.page}, asked ${asked}`;
      if (mirror.page > last) return `page ${mirror.page} past the last page ${last}`;
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        return `page ${mirror.page} of ${room}:\n got ${JSON.stringify(got)}\nwant ${
          JSON.stringify(want)
        }`;
      }
      return undefined;
    };
    let quiet = 0;
    const quietPoint = async () => {
      quiet++;
      let last: string | undefined;
      assert.deepEqual(broken, [], "frames a view cannot apply");
      await waitUntil(() => {
        for (const [key, view] of views) {
          const why = mismatch(view);
          if (why) return (last = `view ${key}: ${why}`, false);
        }
        return true;
      }, { what: "every view to equal its query", timeout: 5000 }).catch((error) => {
        throw new Error(`${error.message}\n${last}`);
      });
    };

    const subscribe = (socket: number, room: string, page: number, size: number) => {
      const view: View = { socket, room, mirror: new PageMirror(), asked: page, size };
      views.set(`${socket}:${room}`, view);
      sockets[socket].send({
        func: "subscribe",
        type: "list",
        name: "messages",
        page,
        page_size: size,
        params: { room },
      });
    };
    const viewOps = [
      async () => {
        let socket = Math.floor(rand() * sockets.length);
        const room = pick(ROOMS);
        if (views.has(`${socket}:${room}`)) return;
        if (retired.has(`${socket}:${room}`)) {
          if (sockets.length >= MAX_SOCKETS) return;
          socket = sockets.length;
          await openSocket();
        }
        subscribe(socket, room, Math.floor(rand() * 4), 1 + Math.floor(rand() * 6));
      },
      () => {
        const view = pick([...views.values()]);
        if (!view) return;
        view.asked = Math.floor(rand() * 5);
        view.size = 1 + Math.floor(rand() * 6);
        sockets[view.socket].send({
          func: "get",
          type: "list",
          name: "messages",
          page: view.asked,
          page_size: view.size,
          params: { room: view.room },
        });
      },
      () => {
        const view = pick([...views.values()]);
        if (!view) return;
        sockets[view.socket].send({
          func: "unsubscribe",
          type: "list",
          name: "messages",
          params: { room: view.room },
        });
        views.delete(`${view.socket}:${view.room}`);
        retired.add(`${view.socket}:${view.room}`);
      },
    ];

    for (let i = 0; i < 12; i++) write();
    subscribe(0, "a", 0, 5);
    subscribe(1, "b", 1, 3);
    for (step = 0; step < STEPS; step++) {
      const r = rand();
      if (r < 0.5) write();
      else if (r < 0.6) {
        sql.exec("BEGIN");
        for (let n = 0; n < 2 + Math.floor(rand() * 4); n++) write();
        sql.exec("COMMIT");
      } else await pick([0, 0, 1, 1, 2].map((k) => viewOps[k]))();
      if (rand() < 0.2) await quietPoint();
    }
    await quietPoint();
    console.log(`property: seed ${seed}, ${STEPS} steps, ${quiet} quiet points, ${applied} frames`);
    assert.ok(quiet > 10 && applied > 50, `${quiet} quiet points, ${applied} frames`);
  } catch (error) {
    throw new Error(
      `seed ${seed} (SOCKSYNC_PROPERTY_SEED=${seed} replays it), step ${step}: ${
        error instanceof Error ? error.message : error
      }`,
    );
  } finally {
    db?.close();
    for (const socket of sockets) await socket.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
