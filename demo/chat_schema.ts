/**
 * What every home of the demo's chat shares: the schemas of a room, a message and the
 * functions' arguments, and {@linkcode ChatTable}, the `messages` table as the chat's
 * functions and views use it (SQLite in `chat_sqlite.ts`, PostgreSQL in
 * `chat_postgres.ts`).
 *
 * @module
 */
import * as v from "valibot";
import type { ListSource } from "../src/store.ts";

/**
 * A room name: 1 to 64 characters.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { Room } from "./chat_schema.ts";
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
 * import { Message } from "./chat_schema.ts";
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
 * import type { MessageValue } from "./chat_schema.ts";
 * const message: MessageValue = { room: "general", author: "anon", text: "hi", created_at: 0 };
 * ```
 */
export type MessageValue = v.InferOutput<typeof Message>;

/**
 * A message's text: 1 to 2,000 characters.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { Text } from "./chat_schema.ts";
 * v.parse(Text, "hello");
 * ```
 */
export const Text = v.pipe(v.string(), v.minLength(1), v.maxLength(2000));

/**
 * An author's name: 1 to 64 characters.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { Author } from "./chat_schema.ts";
 * v.parse(Author, "ann");
 * ```
 */
export const Author = v.pipe(v.string(), v.minLength(1), v.maxLength(64));

/**
 * A message id as callers send it: 1 to 64 characters.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { MessageId } from "./chat_schema.ts";
 * v.parse(MessageId, "V1StGXR8_Z5jdHi6B-myT");
 * ```
 */
export const MessageId = v.pipe(v.string(), v.minLength(1), v.maxLength(64));

/**
 * One row of `messages`.
 *
 * @example
 * ```ts
 * import type { MessageRow } from "./chat_schema.ts";
 * const row: MessageRow = { id: "m1", room: "general", author: "anon", text: "hi", created_at: 0 };
 * ```
 */
export interface MessageRow extends MessageValue {
  /** The key (a nanoid for messages the demo writes). */
  id: string;
}

/**
 * The `messages` table as the chat uses it. Writes resolve once the row is written;
 * each view hears of it through the database's change capture.
 *
 * @example
 * ```ts
 * import type { ChatTable } from "./chat_schema.ts";
 * const hello = (chat: ChatTable) =>
 *   chat.post({ id: "m1", room: "general", author: "anon", text: "hello", created_at: Date.now() });
 * ```
 */
export interface ChatTable {
  /** The messages of one room, newest first: a live query over the table. */
  room(room: string): ListSource<MessageValue>;
  /** Inserts a message. */
  post(row: MessageRow): Promise<void>;
  /** Sets a message's text; false when no message has this id. */
  edit(id: string, text: string): Promise<boolean>;
  /** Deletes a message; false when no message has this id. */
  remove(id: string): Promise<boolean>;
  /** Closes the connections it opened. */
  close(): Promise<void>;
}
