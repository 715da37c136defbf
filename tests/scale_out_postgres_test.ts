/**
 * Scale-out over PostgreSQL: three demo server processes, one on Deno, one on
 * Bun and one on Node, share a private PostgreSQL server this test starts on
 * a free port (its own data directory), with no Redis. Clients on every
 * instance mirror the counter, a page of the todos and a page of one chat
 * room (the demo's `messages` table lives in that database); random changes,
 * chat messages included, go through every instance, and after each one
 * every mirror must equal what the database holds. Then: concurrent
 * increments and list changes, every connection of the instances cut, the
 * database restarting (calls fail with code 8 while it is down; every client
 * converges within 5 s of it being back, changes made by another writer
 * meanwhile included), and a killed instance whose clients reconnect to
 * another one.
 *
 * It spawns all three runtimes and a PostgreSQL server itself, so it runs
 * under Node only (as root, for the server) and is skipped, visibly, under
 * `deno test` and `bun test`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { PgSql } from "../stores/postgres/driver.ts";
import { openPgClient } from "../stores/postgres/driver.ts";
import { openPostgresStore } from "../stores/postgres/mod.ts";
import type { MessageValue } from "../demo/chat_schema.ts";
import { privateServer, privateServerBin } from "./helpers/postgres.ts";
import { type ChatTruth, ROOM, RUNTIMES, scaleOutSkip, withScaleOut } from "./helpers/scale_out.ts";
import { killedInstance, sharedChanges } from "./helpers/scale_out_checks.ts";
import { waitUntil } from "./helpers/wait.ts";

const bin = privateServerBin();
const skip = scaleOutSkip(
  "the PostgreSQL server binaries are installed",
  () => bin ? false : "needs root and the PostgreSQL server binaries (initdb, pg_ctl)",
);

/** The chat room's page as the table holds it, in the live query's order. */
function chatTruth(sql: PgSql): ChatTruth {
  return async (offset, limit) => {
    const rows = await sql.unsafe(
      `SELECT id, room, author, text, created_at FROM messages WHERE room = $1
       ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT $2 OFFSET $3`,
      [ROOM, limit, offset],
    );
    const [{ n }] = await sql.unsafe("SELECT count(*) AS n FROM messages WHERE room = $1", [
      ROOM,
    ]);
    return {
      items: rows.map((row) => ({
        id: String(row.id),
        value: {
          room: String(row.room),
          author: String(row.author),
          text: String(row.text),
          created_at: Number(row.created_at),
        } satisfies MessageValue,
      })),
      total: Number(n),
    };
  };
}

const succeeds = (call: () => Promise<unknown>) => () => call().then(() => true, () => false);

test("scale-out: Deno, Bun and Node instances on one PostgreSQL", {
  skip,
  timeout: 120_000,
}, async (t) => {
  const server = await privateServer(bin!);
  // One connection: the chat's truth, and the one backend the cut below spares.
  let admin: PgSql | undefined;
  try {
    admin = await openPgClient(server.url, { max: 1, onnotice: () => {} });
    const sql = admin;
    await withScaleOut(t, {
      store: server.url,
      openTruth: () => openPostgresStore({ url: server.url, timeoutMs: 2000, maxConnections: 3 }),
      chat: chatTruth(sql),
    }, async (s) => {
      const { drivers, store } = s;
      await sharedChanges(t, s);

      await t.test("a chat message posted via one instance appears on the others' pages", async () => {
        for (const [i, driver] of drivers.entries()) {
          const text = `hello from ${RUNTIMES[i]}`;
          const { id } = await driver.call("post_message", {
            room: ROOM,
            text,
            author: RUNTIMES[i],
          }) as { id: string };
          const others = s.mirrors.filter((m) => m.instance !== i && m.chat!.page === 0);
          assert.equal(new Set(others.map((m) => m.instance)).size, 2);
          await waitUntil(
            () =>
              others.every((m) => {
                const [top] = m.chat!.items;
                return top?.id === id && top.value.text === text &&
                  top.value.author === RUNTIMES[i];
              }),
            { what: `"${text}" on the first page of the other instances` },
          );
        }
        await s.converge("every mirror after a message through each instance");
      });

      await t.test("every connection of the instances cut: every instance resyncs", async () => {
        const cut = await sql.unsafe(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'`,
        );
        // Per instance at least a store listener and a chat listener.
        assert.ok(cut.length >= 6, `${cut.length} connections cut`);
        // Made while the listeners may still be away: the reset must repair what they missed.
        for (const [i, driver] of drivers.entries()) {
          await waitUntil(succeeds(() => driver.call("add_todo", { text: `while cut ${i}` })), {
            what: `${RUNTIMES[i]} to take a todo after the cut`,
          });
          await waitUntil(
            succeeds(() => driver.call("post_message", { room: ROOM, text: `while cut ${i}` })),
            { what: `${RUNTIMES[i]} to take a message after the cut` },
          );
        }
        await s.converge("every mirror after the connections were cut");
        for (let n = 0; n < 6; n++) await s.change(n % 3);
      });

      await t.test(
        "PostgreSQL restarts: code 8 while down, every client converges within 5 s of it being back",
        async () => {
          const counter = (await store.vars.get("counter") ?? 0) as number;
          await server.stop();
          for (const driver of drivers) {
            await assert.rejects(driver.call("add_todo", { text: "down" }), { code: 8 });
            await assert.rejects(driver.call("increment"), { code: 8 });
            await assert.rejects(
              driver.call("post_message", { room: ROOM, text: "down" }),
              { code: 8 },
            );
          }
          await server.start();
          // Readiness, bounded on its own: another writer, as soon as PostgreSQL takes writes (the
          // instances may not be listening again yet).
          await waitUntil(
            succeeds(() =>
              store.list<{ text: string; done: boolean }>("todos").insert(0, {
                text: "right after the restart",
                done: false,
              })
            ),
            { what: "a todo written right after the restart", timeout: 30_000 },
          );
          await waitUntil(
            succeeds(() =>
              sql.unsafe(
                `INSERT INTO messages (id, room, author, text, created_at)
                 VALUES ('psql-after-restart', $1, 'psql', 'right after the restart', $2)`,
                [ROOM, String(Date.now())],
              )
            ),
            { what: "a message written right after the restart", timeout: 30_000 },
          );
          // The deadline counts from the moment both writes landed, whatever readiness took.
          await s.converge("every mirror within 5 s of PostgreSQL taking writes again", 5000);
          for (const [i, driver] of drivers.entries()) {
            await waitUntil(succeeds(() => driver.call("increment")), {
              what: `${RUNTIMES[i]} to take changes again`,
            });
          }
          // Nothing was lost, nothing half-written while it was down.
          assert.equal(await store.vars.get("counter"), counter + drivers.length);
          for (let n = 0; n < 9; n++) await s.change(n % 3);
        },
      );

      await killedInstance(t, s);
    });
  } finally {
    await admin?.end({ timeout: 1 });
    await server.remove();
  }
});
