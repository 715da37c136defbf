/**
 * The chat's `messages` table in SQLite: in the store's own file for a SQLite store,
 * else in an in-memory database of this process. Any program may write the file with
 * SQL; the demo notices.
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { changeWatcher } from "../stores/sqlite/changes.ts";
import { openSqliteDriver, type SqliteDriver } from "../stores/sqlite/driver.ts";
import { sqliteTable } from "../stores/sqlite/table/mod.ts";
import type { ChatTable, MessageValue } from "./chat_schema.ts";
import type { StoreConfig } from "./config.ts";

/**
 * The table, created when missing. Any program may write it; the demo notices.
 *
 * @example
 * ```ts
 * import { MESSAGES_TABLE } from "./chat_sqlite.ts";
 * console.log(MESSAGES_TABLE.includes("created_at BIGINT NOT NULL"));
 * ```
 */
export const MESSAGES_TABLE = `CREATE TABLE IF NOT EXISTS messages (
  id TEXT PRIMARY KEY,
  room TEXT NOT NULL,
  author TEXT NOT NULL,
  text TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_room_created
  ON messages (room, created_at DESC, id DESC);`;

/**
 * Opens the SQLite database the chat lives in: the store's own SQLite file for a
 * SQLite store (through a connection of its own), else an in-memory database of this
 * process. The table is created when missing.
 *
 * @example
 * ```ts
 * import { openChatDatabase } from "./chat_sqlite.ts";
 * const db = await openChatDatabase({ kind: "memory" });
 * db.close();
 * ```
 */
export async function openChatDatabase(store: StoreConfig): Promise<SqliteDriver> {
  const path = store.kind === "sqlite" ? store.path : ":memory:";
  if (path !== ":memory:" && !path.startsWith("file:")) {
    await mkdir(dirname(path), { recursive: true });
  }
  const db = await openSqliteDriver(path);
  try {
    // Other connections (the store's, other programs) write the same file.
    if (path !== ":memory:") db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec(MESSAGES_TABLE);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * The chat's table in an open SQLite database (created when missing). Its writes are
 * handed to the open views before they resolve, so a caller's frames come before its
 * call's return. `close` closes the database.
 *
 * @example
 * ```ts
 * import { openChatDatabase, sqliteChat } from "./chat_sqlite.ts";
 * const chat = sqliteChat(await openChatDatabase({ kind: "memory" }));
 * await chat.post({ id: "m1", room: "general", author: "anon", text: "hi", created_at: 0 });
 * await chat.close();
 * ```
 */
export function sqliteChat(db: SqliteDriver): ChatTable {
  db.exec(MESSAGES_TABLE);
  const insert = db.prepare(
    "INSERT INTO messages (id, room, author, text, created_at) VALUES (?, ?, ?, ?, ?)",
  );
  const edit = db.prepare("UPDATE messages SET text = ? WHERE id = ? RETURNING id");
  const remove = db.prepare("DELETE FROM messages WHERE id = ? RETURNING id");
  // Our own writes are handed to the open views at once, not at the watcher's next tick.
  const flush = () => changeWatcher(db).flush();
  return {
    room: (room) =>
      sqliteTable<MessageValue>({
        db,
        table: "messages",
        key: "id",
        orderBy: [{ column: "created_at", desc: true }, { column: "id", desc: true }],
        where: "room = :room",
        params: { room },
        columns: ["room", "author", "text", "created_at"],
      }),
    post(row) {
      insert.run(row.id, row.room, row.author, row.text, row.created_at);
      flush();
      return Promise.resolve();
    },
    edit(id, text) {
      const found = Boolean(edit.get(text, id));
      if (found) flush();
      return Promise.resolve(found);
    },
    remove(id) {
      const found = Boolean(remove.get(id));
      if (found) flush();
      return Promise.resolve(found);
    },
    close() {
      db.close();
      return Promise.resolve();
    },
  };
}
