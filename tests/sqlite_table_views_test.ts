/**
 * A SQLite table query served as a list over real sockets: random plain-SQL writes on
 * another connection and random page moves; every subscriber's page converges to the
 * table's (the cases are in tests/helpers/table_views.ts, shared with PostgreSQL).
 */
import { test } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { openSqliteDriver } from "../stores/sqlite/driver.ts";
import { changeWatcher } from "../stores/sqlite/changes.ts";
import { sqliteTable } from "../stores/sqlite/table/mod.ts";
import { GENERAL_NEWEST_FIRST, type Message, servedViewsConverge } from "./helpers/table_views.ts";

test("a table query keeps every subscriber's page exact through another connection's writes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "socksync-views-"));
  const path = join(dir, "chat.db");
  const db = await openSqliteDriver(path);
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;
    CREATE TABLE messages (id TEXT PRIMARY KEY, room TEXT NOT NULL, author TEXT NOT NULL,
      text TEXT NOT NULL, created_at BIGINT NOT NULL);`);
  const other = await openSqliteDriver(path);
  other.exec("PRAGMA busy_timeout = 5000");
  const source = sqliteTable<Message>({
    db,
    table: "messages",
    ...GENERAL_NEWEST_FIRST,
  });
  try {
    await servedViewsConverge({
      source,
      insert: (id, room, author, text, at) =>
        void other.prepare("INSERT INTO messages VALUES (?, ?, ?, ?, ?)")
          .run(id, room, author, text, at),
      remove: (id) => void other.prepare("DELETE FROM messages WHERE id = ?").run(id),
      update: (column, value, id) =>
        void other.prepare(`UPDATE messages SET ${column} = ? WHERE id = ?`).run(value, id),
      ids: () =>
        other.prepare("SELECT id FROM messages ORDER BY id").all().map((r) => String(r.id)),
      expected: (offset, size) => {
        const items = other.prepare(
          `SELECT id, room, author, text, created_at FROM messages WHERE room = 'general'
           ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
        ).all(size, offset).map(({ id, ...value }) => ({ id: String(id), value: { ...value } }));
        const total = Number(
          other.prepare("SELECT COUNT(*) AS n FROM messages WHERE room = 'general'").get()?.n,
        );
        return { items, total };
      },
      text: fc.string({ maxLength: 5 }),
      // Most steps hand the change over at once; every fourth waits for the timer.
      afterStep: (n) => {
        if (n % 4 !== 3) source.flush();
      },
      settlesAfter: () => true,
      timeout: 5000,
      runs: { numRuns: 3 },
    });
  } finally {
    changeWatcher(db).close();
    db.close();
    other.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
