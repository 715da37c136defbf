/**
 * The demo's chat: messages live in a plain SQLite table, `messages`, that any program
 * may write with SQL. {@linkcode addChat} declares the live list `messages` (one view
 * per room, newest first) and the functions `post_message`, `edit_message` and
 * `delete_message`; {@linkcode openChatDatabase} opens the database it lives in.
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { nanoid } from "nanoid";
import * as v from "valibot";
import { ErrorCode, type Hub, SockSyncError } from "../mod.ts";
import { changeWatcher } from "../stores/sqlite_changes.ts";
import { openSqliteDriver, type SqliteDriver } from "../stores/sqlite_driver.ts";
import { sqliteTable } from "../stores/sqlite_table.ts";
import type { StoreConfig } from "./config.ts";

/** Larger pages are refused, so one client cannot ask for a whole room. */
const MAX_PAGE_SIZE = 50;

/**
 * A room name: 1 to 64 characters.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { Room } from "./chat.ts";
 * v.parse(Room, "general");
 * ```
 */
export const Room = v.pipe(v.string(), v.minLength(1), v.maxLength(64));

/**
 * The schema of one message, as a list item's value.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { Message } from "./chat.ts";
 * v.parse(Message, { room: "general", author: "anon", text: "hi", created_at: 0 });
 * ```
 */
export const Message = v.object({
  room: v.string(),
  author: v.string(),
  text: v.string(),
  created_at: v.number(),
});

/**
 * One message.
 *
 * @example
 * ```ts
 * import type { MessageValue } from "./chat.ts";
 * const message: MessageValue = { room: "general", author: "anon", text: "hi", created_at: 0 };
 * ```
 */
export type MessageValue = v.InferOutput<typeof Message>;

const Text = v.pipe(v.string(), v.minLength(1), v.maxLength(2000));
const Author = v.pipe(v.string(), v.minLength(1), v.maxLength(64));
const MessageId = v.pipe(v.string(), v.minLength(1), v.maxLength(64));

/**
 * The table, created when missing. Any program may write it; the demo notices.
 *
 * @example
 * ```ts
 * import { MESSAGES_TABLE } from "./chat.ts";
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
 * Opens the database the chat lives in: the store's own SQLite file for a SQLite store
 * (through a connection of its own), else an in-memory database of this process. The
 * table is created when missing.
 *
 * @example
 * ```ts
 * import { openChatDatabase } from "./chat.ts";
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
 * Declares the chat on a hub: list `messages` (params `{ room }`, newest first, pages of
 * at most 50) and the functions `post_message {room, text, author?}` → `{id}`,
 * `edit_message {id, text}` and `delete_message {id}` (an unknown id is error 4).
 *
 * @example
 * ```ts
 * import { Hub } from "../mod.ts";
 * import { addChat, openChatDatabase } from "./chat.ts";
 * const db = await openChatDatabase({ kind: "memory" });
 * const hub = new Hub();
 * addChat(hub, db);
 * await hub.close();
 * db.close();
 * ```
 */
export function addChat(hub: Hub, db: SqliteDriver) {
  db.exec(MESSAGES_TABLE);
  const messages = hub.list("messages", {
    params: v.object({ room: Room }),
    source: (params: { room: string }) =>
      sqliteTable<MessageValue>({
        db,
        table: "messages",
        key: "id",
        orderBy: [{ column: "created_at", desc: true }, { column: "id", desc: true }],
        where: "room = :room",
        params,
        columns: ["room", "author", "text", "created_at"],
      }),
    schema: Message,
    maxPageSize: MAX_PAGE_SIZE,
  });

  const insert = db.prepare(
    "INSERT INTO messages (id, room, author, text, created_at) VALUES (?, ?, ?, ?, ?)",
  );
  const edit = db.prepare("UPDATE messages SET text = ? WHERE id = ? RETURNING id");
  const remove = db.prepare("DELETE FROM messages WHERE id = ? RETURNING id");
  // Our own writes are handed to the open views at once, not at the watcher's next tick.
  const flush = () => changeWatcher(db).flush();

  const postMessage = hub.function("post_message", {
    args: v.object({ room: Room, text: Text, author: v.optional(Author) }),
    handler: ({ room, text, author }) => {
      const id = nanoid();
      insert.run(id, room, author ?? "anon", text, Date.now());
      flush();
      return { id };
    },
  });
  const editMessage = hub.function("edit_message", {
    args: v.object({ id: MessageId, text: Text }),
    handler: ({ id, text }) => {
      const found = edit.get(text, id);
      if (!found) throw new SockSyncError(ErrorCode.InvalidId, "unknown message");
      flush();
      return null;
    },
  });
  const deleteMessage = hub.function("delete_message", {
    args: v.object({ id: MessageId }),
    handler: ({ id }) => {
      const found = remove.get(id);
      if (!found) throw new SockSyncError(ErrorCode.InvalidId, "unknown message");
      flush();
      return null;
    },
  });
  return { messages, postMessage, editMessage, deleteMessage };
}
