/**
 * A PostgreSQL table query served as a list over real sockets: random plain-SQL writes
 * by another client and random page moves; every subscriber's page converges to the
 * table's (the cases are in tests/helpers/table_views.ts, shared with SQLite).
 */
import { after, test } from "node:test";
import fc from "fast-check";
import { openPostgresTables, postgresTable } from "../stores/postgres/table/mod.ts";
import { postgresHarness } from "./helpers/postgres.ts";
import { GENERAL_NEWEST_FIRST, type Message, servedViewsConverge } from "./helpers/table_views.ts";

const pg = await postgresHarness();
const schema = pg.schema;
const table = `"${schema}".messages`;
after(async () => {
  await pg.admin?.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pg.admin?.end({ timeout: 1 });
});

test(
  "a PostgreSQL table query keeps every subscriber's page exact through another client's writes",
  { skip: pg.skip, timeout: 120_000 },
  async () => {
    const other = pg.admin!;
    await other.unsafe(`CREATE SCHEMA "${schema}"`);
    await other.unsafe(`CREATE TABLE ${table} (id TEXT PRIMARY KEY, room TEXT NOT NULL,
    author TEXT NOT NULL, text TEXT NOT NULL, created_at BIGINT NOT NULL)`);
    const db = await openPostgresTables({ url: pg.url, channel: `${schema}_changes` });
    const source = postgresTable<Message>({
      db,
      table: `${schema}.messages`,
      ...GENERAL_NEWEST_FIRST,
    });
    try {
      await servedViewsConverge({
        source,
        insert: async (id, room, author, text, at) =>
          void await other.unsafe(`INSERT INTO ${table} VALUES ($1, $2, $3, $4, $5)`, [
            id,
            room,
            author,
            text,
            at,
          ]),
        remove: async (id) => void await other.unsafe(`DELETE FROM ${table} WHERE id = $1`, [id]),
        update: async (column, value, id) =>
          void await other.unsafe(`UPDATE ${table} SET ${column} = $1 WHERE id = $2`, [value, id]),
        ids: async () =>
          (await other.unsafe(`SELECT id FROM ${table} ORDER BY id`)).map((r) => String(r.id)),
        expected: async (offset, size) => {
          const items = (await other.unsafe(
            `SELECT id, room, author, text, created_at::int AS created_at FROM ${table}
             WHERE room = 'general' ORDER BY created_at DESC, id COLLATE "C" DESC
             LIMIT $1 OFFSET $2`,
            [size, offset],
          )).map(({ id, ...value }) => ({ id: String(id), value: { ...value } }));
          const [{ n }] = await other.unsafe(
            `SELECT COUNT(*)::int AS n FROM ${table} WHERE room = 'general'`,
          );
          return { items, total: Number(n) };
        },
        text: fc.string({ maxLength: 5 }).map((t) => t.replaceAll("\0", "")),
        // Half the steps reach a quiet point; the others pile up writes in flight.
        settlesAfter: (n) => n % 2 === 1,
        timeout: 10_000,
        // No shrinking: each failed run waits out its timeout.
        runs: { numRuns: 3, endOnFailure: true },
      });
    } finally {
      await db.close();
    }
  },
);
