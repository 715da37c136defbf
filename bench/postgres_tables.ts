/**
 * Figure for PostgreSQL table bindings (not a test; prints one line):
 *   node --import tsx bench/postgres_tables.ts
 * time from an INSERT committed by another client to the subscriber's `insert` frame over
 * a real WebSocket (trigger → NOTIFY → the listening connection → the hub), p50/p99.
 */
import * as v from "valibot";
import { Hub } from "../mod.ts";
import { openPgClient } from "../stores/postgres/driver.ts";
import { openPostgresTables, postgresTable } from "../stores/postgres/table/mod.ts";
import { POSTGRES_URL } from "../tests/helpers/postgres.ts";
import { webSocketClass } from "../tests/helpers/raw_socket.ts";
import { serveHub } from "../tests/helpers/serve_hub.ts";

const SAMPLES = 300;
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

const schema = `socksync_bench_${Math.random().toString(36).slice(2, 8)}`;
const other = await openPgClient(POSTGRES_URL, { max: 1, onnotice: () => {} });
await other.unsafe(`CREATE SCHEMA "${schema}"`);
await other.unsafe(`CREATE TABLE "${schema}".messages (id TEXT PRIMARY KEY, room TEXT NOT NULL,
  author TEXT NOT NULL, text TEXT NOT NULL, created_at BIGINT NOT NULL)`);
const db = await openPostgresTables({ url: POSTGRES_URL, channel: `${schema}_changes` });
const hub = new Hub({ onError: () => {} });
hub.list("general", {
  schema: v.unknown(),
  source: postgresTable<unknown>({
    db,
    table: `${schema}.messages`,
    key: "id",
    orderBy: [{ column: "created_at", desc: true }, { column: "id", desc: true }],
    where: "room = :room",
    params: { room: "general" },
    columns: ["room", "author", "text", "created_at"],
  }),
  maxPageSize: 50,
});
const { server, url } = await serveHub(hub);
try {
  const WS = await webSocketClass();
  const socket = new WS(url);
  const waiting = new Map<string, () => void>();
  socket.addEventListener("message", (event) => {
    const frame = JSON.parse(String((event as MessageEvent).data));
    if (frame.func === "insert") waiting.get(frame.id)?.();
    if (frame.func === "set_all") waiting.get("set_all")?.();
  });
  await new Promise((resolve) => socket.addEventListener("open", resolve));
  await new Promise<void>((resolve) => {
    waiting.set("set_all", resolve);
    socket.send(JSON.stringify({ func: "subscribe", type: "list", name: "general", page: 0 }));
  });
  const delays: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const id = `x${i}`;
    const start = performance.now();
    const seen = new Promise<void>((resolve) => waiting.set(id, resolve));
    await other.unsafe(
      `INSERT INTO "${schema}".messages VALUES ($1, 'general', 'ext', 'hi', $2)`,
      [id, Date.now() + i],
    );
    await seen;
    delays.push(performance.now() - start);
  }
  socket.close();
  console.log(
    `external INSERT → subscriber's insert frame over PostgreSQL (${SAMPLES} samples): p50 ${
      quantile(delays, 0.5).toFixed(2)
    } ms, p99 ${quantile(delays, 0.99).toFixed(2)} ms`,
  );
} finally {
  await server.close();
  await hub.close();
  await db.close();
  await other.unsafe(`DROP SCHEMA "${schema}" CASCADE`);
  await other.end({ timeout: 1 });
}
