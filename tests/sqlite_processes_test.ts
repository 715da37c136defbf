/**
 * Two demo server processes on one SQLite file, on two different runtimes (this test's
 * own runtime and the next one: Node + Bun, Deno + Node, Bun + Deno across the three
 * runs of the suite). Clients on both mirror the counter and a page of the todos; random
 * calls go through both servers, and after each round every mirror must equal what the
 * file holds: the other process's writes reach them without anything else happening.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { type Client, connect, type ListView } from "../src/client/client.ts";
import type { VarMirror } from "../src/client/mirror.ts";
import { detectRuntime } from "../src/serve/serve.ts";
import { openSqliteDriver } from "../stores/sqlite/driver.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";
import { type ServerRuntime, type SpawnedServer, spawnServer } from "./helpers/spawn_server.ts";
import { waitUntil } from "./helpers/wait.ts";
import { random } from "../src/testing/kit.ts";

interface Todo {
  text: string;
  done: boolean;
}

const ORDER: ServerRuntime[] = ["node", "bun", "deno"];
const own = detectRuntime() as ServerRuntime;
const RUNTIMES: ServerRuntime[] = [own, ORDER[(ORDER.indexOf(own) + 1) % ORDER.length]];
/** The views the clients of each server open. */
const VIEWS = [{ page: 0, pageSize: 4 }, { page: 1, pageSize: 3 }];
const ROUNDS = 3;
const CALLS = 30;

interface Mirror {
  server: number;
  client: Client;
  counter: VarMirror<number>;
  view: ListView<Todo>;
}

test(`two servers (${RUNTIMES.join(" + ")}) on one SQLite file: every mirror follows both`, {
  timeout: 120_000,
}, async (t) => {
  const seed = Number(process.env.SQLITE_PROCESSES_SEED) || Math.floor(Math.random() * 2 ** 31);
  const rand = random(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)];
  t.diagnostic(`seed ${seed} (replay with SQLITE_PROCESSES_SEED=${seed})`);
  const dir = mkdtempSync(join(tmpdir(), "socksync-processes-"));
  const path = join(dir, "shared.db");
  const WebSocket = await webSocketClass();
  const servers: SpawnedServer[] = [];
  const mirrors: Mirror[] = [];
  const file = await openSqliteDriver(":memory:");
  let reader = file;
  try {
    servers.push(
      ...await Promise.all(
        RUNTIMES.map((runtime) =>
          spawnServer({ runtime, env: { SOCKSYNC_STORE: `sqlite:${path}` }, timeout: 60_000 })
        ),
      ),
    );
    reader = await openSqliteDriver(path);
    for (const [server, { wsUrl }] of servers.entries()) {
      for (const view of VIEWS) {
        const client = connect(wsUrl, { WebSocket });
        mirrors.push({
          server,
          client,
          counter: client.var<number>("counter"),
          view: client.list<Todo>("todos", view),
        });
      }
    }
    const callers = servers.map((_, i) =>
      mirrors.filter((m) => m.server === i).map((m) => m.client)
    );

    /** The first mirror that differs from the file, described; undefined when none does. */
    const mismatch = (): string | undefined => {
      const row = reader.prepare("SELECT value FROM socksync_vars WHERE name = 'counter'").get();
      const counter = row ? JSON.parse(String(row.value)) : 0;
      const items = reader.prepare(
        "SELECT id, value FROM socksync_items WHERE list = 'todos' ORDER BY key",
      ).all().map((r) => ({ id: String(r.id), value: JSON.parse(String(r.value)) }));
      for (const [n, m] of mirrors.entries()) {
        const where = `mirror ${n} (${RUNTIMES[m.server]} server)`;
        if (!m.counter.ready || m.counter.value !== counter) {
          return `${where}: counter ${m.counter.value}, file ${counter}`;
        }
        const size = m.view.pageSize!;
        const last = items.length === 0 ? 0 : Math.ceil(items.length / size) - 1;
        const page = items.slice(m.view.page * size, (m.view.page + 1) * size);
        if (
          !m.view.ready || m.view.total !== items.length || m.view.page > last ||
          JSON.stringify(m.view.items) !== JSON.stringify(page)
        ) {
          return `${where}: page ${m.view.page}×${size} total ${m.view.total} ${
            JSON.stringify(m.view.items.map((i) => i.id))
          }, file total ${items.length} ${JSON.stringify(page.map((i) => i.id))}`;
        }
      }
      return undefined;
    };
    const converge = async (what: string) => {
      let last: string | undefined;
      try {
        await waitUntil(() => (last = mismatch()) === undefined, { what, timeout: 15_000 });
      } catch (error) {
        throw new Error(`${(error as Error).message}: ${last}`);
      }
    };

    await converge("the first pages");
    const fileCounter = (): number =>
      JSON.parse(String(
        reader.prepare("SELECT value FROM socksync_vars WHERE name = 'counter'").get()?.value ?? 0,
      ));
    const fileTotal = (): number =>
      Number(
        reader.prepare("SELECT count(*) AS n FROM socksync_items WHERE list = 'todos'").get()?.n,
      );
    const start = { counter: fileCounter(), total: fileTotal() };
    /** What landed: the file must hold exactly that, and each server must have written. */
    const landed = { added: 0, deleted: 0, incremented: 0, byServer: servers.map(() => 0) };
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < CALLS; i++) {
        const server = Math.floor(rand() * callers.length);
        const caller = pick(callers[server]);
        const ids = mirrors.flatMap((m) => m.view.items.map((item) => item.id));
        const total = mirrors[0].view.total ?? 0;
        const roll = rand();
        const by = 1 + Math.floor(rand() * 3);
        const kind = roll < 0.4 || ids.length === 0
          ? "add"
          : roll < 0.6
          ? "toggle"
          : roll < 0.75
          ? "delete"
          : "increment";
        const call = kind === "add"
          ? caller.call("add_todo", {
            text: `r${round} c${i}`,
            index: Math.floor(rand() * (total + 1)),
          })
          : kind === "toggle"
          ? caller.call("toggle_todo", { id: pick(ids) })
          : kind === "delete"
          ? caller.call("delete_todo", { id: pick(ids) })
          : caller.call("increment", { by });
        // Ids and totals seen by mirrors can be stale: a call may be refused (4 unknown id,
        // 6 index out of range), which is part of the game. Anything else (8: SQLITE_BUSY, a
        // store failure) is what this test exists to catch, and fails it.
        const ok = await call.then(() => true, (error: { code?: number }) => {
          if (error.code !== 4 && error.code !== 6) throw error;
          return false;
        });
        if (ok) {
          landed.byServer[server]++;
          if (kind === "add") landed.added++;
          else if (kind === "delete") landed.deleted++;
          else if (kind === "increment") landed.incremented += by;
        }
        // Under the demo's per-connection message rate.
        await new Promise((resolve) => setTimeout(resolve, 5 + rand() * 20));
      }
      await converge(`round ${round + 1} of ${ROUNDS}`);
    }
    // The file holds exactly the writes that landed, and both servers wrote.
    assert.equal(fileTotal(), start.total + landed.added - landed.deleted);
    assert.equal(fileCounter(), start.counter + landed.incremented);
    for (const [i, n] of landed.byServer.entries()) {
      // ~45 calls per server, most of which land (measured: 52 and 38 of 90).
      assert.ok(n >= 20, `only ${n} writes landed through the ${RUNTIMES[i]} server`);
    }
    // Increments through both servers at once lose nothing (a write transaction each).
    const before = fileCounter();
    await Promise.all(callers.flat().map((client) => client.call("increment", { by: 1 })));
    await converge("the concurrent increments");
    assert.equal(mirrors[0].counter.value, before + callers.flat().length);
  } finally {
    for (const m of mirrors) m.client.close();
    await Promise.all(servers.map((server) => server.stop()));
    if (reader !== file) reader.close();
    file.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
