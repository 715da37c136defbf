/**
 * The rank index of table bindings (stores/table/rank_index.ts) against a sorted array, and
 * its value order against SQLite's own ORDER BY.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { compareSqlValues, RankIndex } from "../stores/table/rank_index.ts";
import type { SqlValue } from "../stores/table/sql_value.ts";
import { openSqliteDriver } from "../stores/sqlite/driver.ts";

describe("RankIndex", () => {
  test("matches a sorted array over random inserts and removals", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3000 })), { maxLength: 3000 }),
        fc.integer({ min: 0, max: 2000 }),
        (ops, preload) => {
          const compare = (a: { n: number }, b: { n: number }) => a.n - b.n;
          const model = Array.from({ length: preload }, (_, i) => ({ n: i * 2 + 0.5 }));
          const index = RankIndex.from([...model], compare);
          for (const [add, n] of ops) {
            const existing = model.findIndex((e) => e.n === n);
            if (add && existing < 0) {
              const entry = { n };
              const at = model.findIndex((e) => e.n > n);
              const rank = at < 0 ? model.length : at;
              model.splice(rank, 0, entry);
              assert.equal(index.insert(entry), rank);
            } else if (!add && model.length > 0) {
              const victim = model[n % model.length];
              assert.equal(index.remove(victim), n % model.length);
              model.splice(n % model.length, 1);
              assert.equal(index.remove(victim), -1);
            }
          }
          assert.equal(index.size, model.length);
          assert.deepEqual([...index.from(0)], model);
          for (let i = 0; i < model.length; i += 97) {
            assert.equal(index.at(i), model[i]);
            assert.equal(index.rankOf(model[i]), i);
            assert.deepEqual([...index.from(i)], model.slice(i));
          }
          assert.equal(index.at(model.length), undefined);
          assert.equal(index.rankOf({ n: -1 }), -1);
        },
      ),
      { numRuns: 30 },
    );
  });

  test("orders values exactly as SQLite's ORDER BY does", async () => {
    const db = await openSqliteDriver(":memory:");
    try {
      db.exec("CREATE TABLE v (i INTEGER PRIMARY KEY, x)");
      const insert = db.prepare("INSERT INTO v (i, x) VALUES (?, ?)");
      const value = fc.oneof(
        fc.constant(null),
        fc.integer({ min: -5, max: 5 }),
        fc.double({ noNaN: true, noDefaultInfinity: true, min: -5, max: 5 }),
        fc.string({ unit: "grapheme", maxLength: 4 }),
        fc.constantFrom("", "a", "\uFFFF", "\uE000", "😀", "\uD7FF"),
        fc.uint8Array({ maxLength: 3 }),
      );
      fc.assert(
        fc.property(fc.array(value, { maxLength: 40 }), (values) => {
          db.exec("DELETE FROM v");
          values.forEach((x, i) => insert.run(i, x as SqlValue));
          const sqlite = db.prepare("SELECT i FROM v ORDER BY x, i").all().map((r) => Number(r.i));
          const ours = values.map((_, i) => i).sort((a, b) =>
            compareSqlValues(values[a] as SqlValue, values[b] as SqlValue) || a - b
          );
          assert.deepEqual(ours, sqlite);
        }),
        { numRuns: 200 },
      );
    } finally {
      db.close();
    }
  });
});
