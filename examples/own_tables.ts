// The SQLite quickstart of docs/tables.md: a table of the application's,
// one live query per folder and user, written with plain SQL.
import { WebSocket } from "ws"; // Node 20 only: it has no global WebSocket
import * as v from "valibot";
import { type ApiOf, connect, Hub } from "socksync";
import { serve } from "socksync/hono";
import { openSqliteDriver, sqliteTable } from "socksync/stores/sqlite_table";

// Your application's database and table, as they already are.
const db = await openSqliteDriver("./app.db");
db.exec(`CREATE TABLE IF NOT EXISTS notes (
  id TEXT PRIMARY KEY, owner TEXT NOT NULL, folder TEXT NOT NULL,
  text TEXT NOT NULL, updated_at INTEGER NOT NULL)`);

// A row as the list serves it: the value columns and their types, checked when bound.
const Note = v.object({ folder: v.string(), text: v.string(), updated_at: v.number() });
const hub = new Hub<{ user: string }>();
const notes = hub.list("notes", {
  // What a subscriber sends: {"func":"subscribe","type":"list","name":"notes","params":{"folder":"work"}}
  params: v.object({ folder: v.pipe(v.string(), v.minLength(1), v.maxLength(64)) }),
  // One live query per folder and user: made on its first view, closed after its last.
  source: ({ folder }, { user }) =>
    sqliteTable({
      db,
      table: "notes",
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
  // Who is asking: from your session cookie or token in a real application.
  context: (c) => ({ user: c.req.query("user") ?? "anonymous" }),
});

const client = connect<Api>("ws://127.0.0.1:8080/ws/socksync?user=ada", { WebSocket });
const work = client.list("notes", { params: { folder: "work" }, pageSize: 20 });
const shipped = new Promise<void>((resolve) =>
  work.onChange(() => work.items.some((note) => note.value.text === "ship it") && resolve())
);

// Any writer: your ORM, plain SQL here, a cron job, the sqlite3 shell, another process.
const add = db.prepare("INSERT INTO notes VALUES (?, ?, ?, ?, ?)");
add.run(crypto.randomUUID(), "bob", "work", "bob's note", Date.now());
add.run(crypto.randomUUID(), "ada", "work", "ship it", Date.now());

await shipped;
console.log("ada sees:", work.items.map((note) => note.value.text).join(", "));
client.close();
await server.close();
await hub.close();
db.close();
