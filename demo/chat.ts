/**
 * The demo's chat: messages live in a plain table, `messages`, that any program may
 * write with SQL. {@linkcode addChat} declares the live list `messages` (one view per
 * room, newest first) and the functions `post_message`, `edit_message` and
 * `delete_message`; {@linkcode openChat} opens the table next to the store: in
 * PostgreSQL for a PostgreSQL store (shared by every instance), else in SQLite.
 *
 * @module
 */
import { nanoid } from "nanoid";
import * as v from "valibot";
import { ErrorCode, type Hub, SockSyncError } from "../mod.ts";
import { Author, type ChatTable, Message, MessageId, Room, Text } from "./chat_schema.ts";
import { openChatDatabase, sqliteChat } from "./chat_sqlite.ts";
import type { StoreConfig } from "./config.ts";

export { Message, Room } from "./chat_schema.ts";
export type { ChatTable, MessageRow, MessageValue } from "./chat_schema.ts";

/** Larger pages are refused, so one client cannot ask for a whole room. */
const MAX_PAGE_SIZE = 50;

/**
 * Opens the chat's table for a store: in the store's PostgreSQL database for a
 * PostgreSQL store, in the store's SQLite file for a SQLite store, else in an
 * in-memory SQLite database of this process (each instance its own chat).
 *
 * @example
 * ```ts
 * import { openChat } from "./chat.ts";
 * const chat = await openChat({ kind: "memory" });
 * await chat.close();
 * ```
 */
export async function openChat(store: StoreConfig): Promise<ChatTable> {
  if (store.kind === "postgres") {
    // Imported only when chosen: the other stores run without the PostgreSQL driver.
    return await (await import("./chat_postgres.ts")).openPostgresChat({ url: store.url });
  }
  return sqliteChat(await openChatDatabase(store));
}

/**
 * Declares the chat on a hub: list `messages` (params `{ room }`, newest first, pages of
 * at most 50) and the functions `post_message {room, text, author?}` → `{id}`,
 * `edit_message {id, text}` and `delete_message {id}` (an unknown id is error 4).
 *
 * @example
 * ```ts
 * import { Hub } from "../mod.ts";
 * import { addChat, openChat } from "./chat.ts";
 * const chat = await openChat({ kind: "memory" });
 * const hub = new Hub();
 * addChat(hub, chat);
 * await hub.close();
 * await chat.close();
 * ```
 */
export function addChat<C>(hub: Hub<C>, chat: ChatTable) {
  const messages = hub.list("messages", {
    params: v.object({ room: Room }),
    source: (params: { room: string }) => chat.room(params.room),
    schema: Message,
    maxPageSize: MAX_PAGE_SIZE,
  });
  const postMessage = hub.function("post_message", {
    args: v.object({ room: Room, text: Text, author: v.optional(Author) }),
    handler: async ({ room, text, author }) => {
      const id = nanoid();
      await chat.post({ id, room, author: author ?? "anon", text, created_at: Date.now() });
      return { id };
    },
  });
  const editMessage = hub.function("edit_message", {
    args: v.object({ id: MessageId, text: Text }),
    handler: async ({ id, text }) => {
      if (!(await chat.edit(id, text))) {
        throw new SockSyncError(ErrorCode.InvalidId, "unknown message");
      }
      return null;
    },
  });
  const deleteMessage = hub.function("delete_message", {
    args: v.object({ id: MessageId }),
    handler: async ({ id }) => {
      if (!(await chat.remove(id))) {
        throw new SockSyncError(ErrorCode.InvalidId, "unknown message");
      }
      return null;
    },
  });
  return { messages, postMessage, editMessage, deleteMessage };
}
