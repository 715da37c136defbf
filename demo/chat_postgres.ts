/**
 * The chat's `messages` table in PostgreSQL, in the database of a PostgreSQL store, so
 * that every instance sharing it serves the same chat: a message posted through one
 * instance reaches the views of all of them through the table's trigger and
 * `LISTEN/NOTIFY`, like a row any other program writes.
 *
 * @module
 */
import { pgError } from "../stores/postgres/driver.ts";
import { openPostgresTables, postgresTable } from "../stores/postgres/table/mod.ts";
import type { ChatTable, MessageValue } from "./chat_schema.ts";

/**
 * The table, created when missing (in the connection's default schema).
 *
 * @example
 * ```ts
 * import { POSTGRES_MESSAGES_TABLE } from "./chat_postgres.ts";
 * console.log(POSTGRES_MESSAGES_TABLE.length); // two statements
 * ```
 */
export const POSTGRES_MESSAGES_TABLE: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS messages (
    id text PRIMARY KEY,
    room text NOT NULL,
    author text NOT NULL,
    text text NOT NULL,
    created_at bigint NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS messages_room_created
    ON messages (room, created_at DESC, id DESC)`,
];

/**
 * Opens the chat's table in a PostgreSQL database (created when missing; instances
 * starting at once take turns). While the database is down, writes and page reads
 * fail with error 8; views are read again once it is back.
 *
 * @example
 * ```ts ignore
 * import { openPostgresChat } from "./chat_postgres.ts";
 * const chat = await openPostgresChat({ url: "postgres://postgres@127.0.0.1:5432/app" });
 * await chat.post({ id: "m1", room: "general", author: "anon", text: "hi", created_at: 0 });
 * await chat.close();
 * ```
 */
export async function openPostgresChat(options: { url: string }): Promise<ChatTable> {
  const db = await openPostgresTables({ url: options.url, maxConnections: 4 });
  try {
    await db.sql.begin("", async (tx) => {
      // CREATE … IF NOT EXISTS is not safe against itself in another session.
      await tx.unsafe("SELECT pg_advisory_xact_lock(hashtext('socksync demo messages'))");
      for (const statement of POSTGRES_MESSAGES_TABLE) await tx.unsafe(statement);
    });
  } catch (error) {
    await db.close();
    throw pgError(error);
  }
  const run = async <R>(body: () => Promise<R>): Promise<R> => {
    try {
      return await body();
    } catch (error) {
      throw pgError(error);
    }
  };
  return {
    room: (room) =>
      postgresTable<MessageValue>({
        db,
        table: "messages",
        key: "id",
        orderBy: [{ column: "created_at", desc: true }, { column: "id", desc: true }],
        where: "room = :room",
        params: { room },
        columns: ["room", "author", "text", "created_at"],
      }),
    post: (row) =>
      run(async () => {
        await db.sql.unsafe(
          "INSERT INTO messages (id, room, author, text, created_at) VALUES ($1, $2, $3, $4, $5)",
          [row.id, row.room, row.author, row.text, String(row.created_at)],
        );
      }),
    edit: (id, text) =>
      run(async () =>
        (await db.sql.unsafe("UPDATE messages SET text = $1 WHERE id = $2 RETURNING id", [
          text,
          id,
        ])).length > 0
      ),
    remove: (id) =>
      run(async () =>
        (await db.sql.unsafe("DELETE FROM messages WHERE id = $1 RETURNING id", [id])).length > 0
      ),
    close: () => db.close(),
  };
}
