// The PostgreSQL quickstart of docs/tables.md: an existing table, one live query per folder
// and user, written with plain SQL by another client (psql, another service).
import { WebSocket } from "ws"; // Node 20 only: it has no global WebSocket
import * as v from "valibot";
import { type ApiOf, connect, Hub } from "socksync";
import { serve } from "socksync/hono";
import { openPostgresTables, postgresTable } from "socksync/stores/postgres_table";

// One per server process: a pool for reads and one connection that LISTENs.
const db = await openPostgresTables({ url: "postgres://postgres@127.0.0.1:5432/postgres" });
// Your application's table, as it already is.
await db.sql.unsafe(`CREATE TABLE IF NOT EXISTS notes (
  id TEXT PRIMARY KEY, owner TEXT NOT NULL, folder TEXT NOT NULL,
  text TEXT NOT NULL, updated_at BIGINT NOT NULL)`);

// A row as the list serves it: the value columns and their types, checked when bound.
const Note = v.object({ folder: v.string(), text: v.string(), updated_at: v.number() });
const hub = new Hub<{ user: string }>();
const notes = hub.list("notes", {
  params: v.object({ folder: v.pipe(v.string(), v.minLength(1), v.maxLength(64)) }),
  source: ({ folder }, { user }) =>
    postgresTable({
      db,
      table: "notes", // or "schema.table"
      key: "id",
      orderBy: [{ column: "updated_at", desc: true }], // the key breaks ties
      where: "owner = :user AND folder = :folder", // named placeholders, values bound
      params: { user, folder },
      schema: Note, // the item type is inferred from it
    }),
  key: (_params, { user }) => user, // the query depends on the user too
  maxPageSize: 50,
});
// A client in another file imports this type: `import type { Api } from "./server.ts"`.
export type Api = ApiOf<{ notes: typeof notes }>;

const server = await serve({
  hub,
  port: 8080,
  hostname: "127.0.0.1",
  context: (c) => ({ user: c.req.query("user") ?? "anonymous" }),
});

const client = connect<Api>("ws://127.0.0.1:8080/ws/socksync?user=ada", { WebSocket });
const work = client.list("notes", { params: { folder: "work" }, pageSize: 20 });
const shipped = new Promise<void>((resolve) =>
  work.onChange(() => work.items.some((note) => note.value.text === "ship it") && resolve())
);

// Any writer, any client: here plain SQL through the same pool.
const add = "INSERT INTO notes VALUES ($1, $2, $3, $4, $5)";
await db.sql.unsafe(add, [crypto.randomUUID(), "bob", "work", "bob's note", Date.now()]);
await db.sql.unsafe(add, [crypto.randomUUID(), "ada", "work", "ship it", Date.now()]);

await shipped;
console.log("ada sees:", work.items.map((note) => note.value.text).join(", "));
client.close();
await server.close();
await hub.close();
await db.close();
