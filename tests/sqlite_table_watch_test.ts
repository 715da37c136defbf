/**
 * Table bindings beyond the happy path: the change watcher reads nothing while nothing
 * listens, trims what every reader has seen, recovers from trimmed changes and is shared
 * by the tables of one database; bad bindings fail clearly; the read side of the list
 * contract holds (clamping, copies, versions, unsubscribing, closing).
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isSockSyncError } from "../src/errors.ts";
import type { ListChange } from "../src/store.ts";
import { changeWatcher } from "../stores/sqlite/changes.ts";
import {
  openSqliteDriver,
  type SqliteDriver,
  type SqliteStatement,
} from "../stores/sqlite/driver.ts";
import { sqliteTable, type SqliteTableOptions } from "../stores/sqlite/table/mod.ts";
import { waitUntil } from "./helpers/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "socksync-watch-"));
let files = 0;
after(() => rmSync(dir, { recursive: true, force: true }));

const SCHEMA = `
PRAGMA journal_mode = WAL;
PRAGMA busy_timeout = 5000;
CREATE TABLE messages (id TEXT PRIMARY KEY, room TEXT NOT NULL, author TEXT NOT NULL,
  text TEXT NOT NULL, created_at BIGINT NOT NULL);`;

/** A driver that counts every statement it runs. */
function counting(driver: SqliteDriver): { driver: SqliteDriver; count: () => number } {
  let count = 0;
  const wrap = (s: SqliteStatement): SqliteStatement => ({
    run: (...p) => (count++, s.run(...p)),
    get: (...p) => (count++, s.get(...p)),
    all: (...p) => (count++, s.all(...p)),
  });
  return {
    driver: {
      name: driver.name,
      exec: (sql) => (count++, driver.exec(sql)),
      prepare: (sql) => wrap(driver.prepare(sql)),
      close: () => driver.close(),
    },
    count: () => count,
  };
}

async function open() {
  const path = join(dir, `w${files++}.db`);
  const setup = await openSqliteDriver(path);
  setup.exec(SCHEMA);
  setup.close();
  const counted = counting(await openSqliteDriver(path));
  const other = await openSqliteDriver(path);
  other.exec("PRAGMA busy_timeout = 5000");
  return {
    path,
    db: counted.driver,
    count: counted.count,
    other,
    close() {
      changeWatcher(counted.driver).close();
      counted.driver.close();
      other.close();
    },
  };
}

const room = (db: SqliteDriver, name = "general", extra: Partial<SqliteTableOptions> = {}) =>
  sqliteTable({
    db,
    table: "messages",
    key: "id",
    orderBy: [{ column: "created_at", desc: true }, { column: "id", desc: true }],
    where: "room = :room",
    params: { room: name },
    columns: ["author", "text", "created_at"],
    ...extra,
  });

const insert = (db: SqliteDriver, id: string, at = 1, where = "general") =>
  db.prepare("INSERT INTO messages VALUES (?, ?, 'ann', 'hi', ?)").run(id, where, at);
const changeRows = (db: SqliteDriver) =>
  Number(db.prepare("SELECT COUNT(*) AS n FROM socksync_changes").get()?.n);

/**
 * A watcher on a file of its own that listens all along, so its timer ticks like any listening
 * one: once it saw two writes made one after the other (two of its ticks at least), a timer of
 * the same interval started before them — one that should not be running — would have ticked
 * too. An event to wait for instead of a fixed pause that a loaded machine may outlast.
 */
async function witness() {
  const w = await open();
  let heard = 0;
  const stop = room(w.db).subscribe(() => heard++);
  let writes = 0;
  return {
    async ticks(): Promise<void> {
      for (let i = 0; i < 2; i++) {
        const before = heard;
        insert(w.other, `t${writes++}`);
        await waitUntil(() => heard > before, { what: "the witness to see its write" });
      }
    },
    close(): void {
      stop();
      w.close();
    },
  };
}

function codeOf(error: unknown): number | undefined {
  return isSockSyncError(error) ? error.code : undefined;
}

describe("SQLite change watcher", () => {
  test("runs no statement and records nothing while nothing listens", async () => {
    const { db, count, other, close } = await open();
    const clock = await witness();
    try {
      const source = room(db);
      const idle = count();
      insert(other, "a");
      await clock.ticks();
      assert.equal(count(), idle, "statements while nothing ever listened");
      assert.equal(changeRows(other), 0, "the triggers recorded with no reader");

      const stop = source.subscribe(() => {});
      const listening = count();
      await waitUntil(() => count() > listening + 1, { what: "the timer's checks" });
      stop();
      const stopped = count();
      insert(other, "b");
      other.prepare("DELETE FROM messages WHERE id = 'a'").run();
      await clock.ticks();
      assert.equal(count(), stopped, "statements after the last listener left");
      assert.ok(changeRows(other) <= 1, "nothing recorded (one kept row at most)");
    } finally {
      clock.close();
      close();
    }
  });

  test("notices writes through its own connection without a flush", async () => {
    const { db, close } = await open();
    try {
      const source = room(db);
      const seen: string[] = [];
      const stop = source.subscribe((c) => c.op === "insert" && seen.push(c.id));
      insert(db, "own");
      await waitUntil(() => seen.length === 1, { what: "the own write", timeout: 5000 });
      assert.deepEqual(seen, ["own"]);
      stop();
    } finally {
      close();
    }
  });

  test("trims what every reader has seen, and keeps what one has not", async () => {
    const a = await open();
    const b = await openSqliteDriver(a.path);
    b.exec("PRAGMA busy_timeout = 5000");
    try {
      const seenA: string[] = [];
      const seenB: string[] = [];
      const stopA = room(a.db).subscribe((c) => c.op === "insert" && seenA.push(c.id));
      const sourceB = room(b);
      const stopB = sourceB.subscribe((c) => c.op === "insert" && seenB.push(c.id));
      for (let i = 0; i < 20; i++) insert(a.other, `m${i}`, i);
      stopA(); // A leaves and trims: B has not read yet, so its rows stay.
      assert.ok(changeRows(a.other) >= 20);
      sourceB.flush();
      assert.equal(seenB.length, 20);
      stopB();
      assert.ok(changeRows(a.other) <= 1, "trimmed once no reader needs the rows");
      assert.equal(seenA.length, 0);
    } finally {
      changeWatcher(b).close();
      b.close();
      a.close();
    }
  });

  test("changes trimmed before they were read reset the query", async () => {
    const { db, other, close } = await open();
    try {
      const source = room(db);
      const changes: ListChange[] = [];
      const stop = source.subscribe((change) => changes.push(change));
      insert(other, "a", 1);
      insert(other, "b", 2);
      other.exec(
        "DELETE FROM socksync_changes WHERE seq < (SELECT MAX(seq) FROM socksync_changes)",
      );
      source.flush();
      assert.deepEqual(changes.map((c) => c.op), ["reset"]);
      const page = await source.page(0, 10);
      assert.deepEqual(page.items.map((i) => i.id), ["b", "a"]);
      assert.equal(page.version, changes[0].version);
      stop();
    } finally {
      close();
    }
  });

  test("a reader expired by another process registers again and resets", async () => {
    const { db, other, close } = await open();
    try {
      changeWatcher(db, { maintainMs: 50 });
      const source = room(db);
      const changes: ListChange[] = [];
      const stop = source.subscribe((change) => changes.push(change));
      // Another process decided this reader was dead: nothing is recorded any more.
      other.exec("DELETE FROM socksync_change_readers");
      insert(other, "lost", 1);
      await waitUntil(() => changes.some((c) => c.op === "reset"), { what: "the reset" });
      assert.deepEqual((await source.page(0, 10)).items.map((i) => i.id), ["lost"]);
      insert(other, "later", 2);
      await waitUntil(() => changes.some((c) => c.op === "insert" && c.id === "later"), {
        what: "a change recorded again",
      });
      stop();
    } finally {
      close();
    }
  });

  test("tables of one database share one watcher", async () => {
    const { db, other, close } = await open();
    try {
      db.exec("CREATE TABLE notes (n INTEGER PRIMARY KEY, body TEXT NOT NULL)");
      const notes = sqliteTable({ db, table: "notes", key: "n", columns: ["body"] });
      const messages = room(db);
      const seen: string[] = [];
      const stops = [
        notes.subscribe((c) => seen.push(`notes ${c.op}`)),
        messages.subscribe((c) => seen.push(`messages ${c.op}`)),
      ];
      other.exec("INSERT INTO notes (n, body) VALUES (7, 'x')");
      insert(other, "a");
      notes.flush(); // one flush reads both tables' changes
      assert.deepEqual(seen.sort(), ["messages insert", "notes insert"]);
      assert.deepEqual(await notes.get("7"), { id: "7", value: { body: "x" } });
      for (const stop of stops) stop();
    } finally {
      close();
    }
  });
});

describe("SQLite table binding errors", () => {
  test("a missing table or column is named; a bad WHERE is code 8 without its SQL", async () => {
    const { db, close } = await open();
    try {
      assert.throws(() => room(db, "general", { table: "mesages" }), /table "mesages"/);
      assert.throws(() => room(db, "general", { columns: ["txt"] }), /column "txt"/);
      assert.throws(() => room(db, "general", { orderBy: [{ column: "when" }] }), /column "when"/);
      assert.throws(
        () => room(db, "general", { where: "room = :room AND secret_col > 1" }),
        (error: unknown) => {
          assert.equal(codeOf(error), 8);
          assert.doesNotMatch((error as Error).message, /secret_col|SELECT/);
          return true;
        },
      );
      assert.throws(() => room(db, "general", { params: {} }), (error: unknown) => {
        assert.equal(codeOf(error), 6);
        assert.match((error as Error).message, /room/);
        return true;
      });
      assert.throws(() => room(db, "general", { where: "room = ?" }), /named placeholders/);
    } finally {
      close();
    }
  });

  test("writes by position are refused; a failing query is code 8 and nothing breaks", async () => {
    const { db, other, close } = await open();
    try {
      const source = room(db);
      for (const attempt of [source.insert(), source.set(), source.delete()]) {
        await assert.rejects(attempt, (error: unknown) => codeOf(error) === 1);
      }
      const stop = source.subscribe(() => {});
      insert(other, "a");
      other.exec("ALTER TABLE messages RENAME COLUMN text TO body");
      await assert.rejects(source.page(0, 10), (error: unknown) => {
        assert.equal(codeOf(error), 8);
        assert.doesNotMatch((error as Error).message, /SELECT|hi/);
        return true;
      });
      other.exec("ALTER TABLE messages RENAME COLUMN body TO text");
      assert.deepEqual((await source.page(0, 10)).items.map((i) => i.id), ["a"]);
      stop();
    } finally {
      close();
    }
  });
});

describe("SQLite table binding: the read side of the list contract", () => {
  test("clamps, hands out copies, counts versions by one, unsubscribes and closes", async () => {
    const { db, other, close } = await open();
    try {
      for (let i = 0; i < 5; i++) insert(other, `m${i}`, i);
      const source = room(db);
      const ids = async (offset: number, limit: number) => {
        const page = await source.page(offset, limit);
        assert.equal(page.total, 5);
        return page.items.map((item) => item.id);
      };
      for (const live of [false, true]) {
        const stop = live ? source.subscribe(() => {}) : () => {};
        assert.deepEqual(await ids(0, 2), ["m4", "m3"]);
        assert.deepEqual(await ids(3, 100), ["m1", "m0"]);
        assert.deepEqual(await ids(-3, 2), ["m4", "m3"]);
        assert.deepEqual(await ids(5, 2), []);
        assert.deepEqual(await ids(100, 5), []);
        assert.deepEqual(await ids(0, 0), []);
        assert.deepEqual(await ids(0, -1), []);
        assert.equal(await source.count(), 5);
        assert.equal(await source.indexOf("m1"), 3);
        assert.equal(await source.indexOf("nope"), -1);
        assert.equal(await source.get("nope"), undefined);
        const item = await source.get("m2");
        (item!.value as { text: string }).text = "changed";
        assert.equal(((await source.get("m2"))!.value as { text: string }).text, "hi");
        stop();
      }

      const first: ListChange[] = [];
      const second: ListChange[] = [];
      const stopFirst = source.subscribe((c) => first.push(c));
      source.subscribe((c) => second.push(c));
      const { version } = await source.page(0, 0);
      insert(other, "m9", 9);
      other.prepare("UPDATE messages SET created_at = -1 WHERE id = 'm4'").run();
      source.flush();
      assert.deepEqual(first.map((c) => [c.op, c.version]), [
        ["insert", version + 1],
        ["delete", version + 2],
        ["insert", version + 3],
      ]);
      assert.deepEqual(first.map((c) => "index" in c && c.index), [0, 1, 5]);
      stopFirst();
      other.prepare("DELETE FROM messages WHERE id = 'm9'").run();
      source.flush();
      assert.equal(first.length, 3);
      assert.equal(second.length, 4);
      await source.close();
      insert(other, "m10", 10);
      source.flush();
      assert.equal(second.length, 4);
      assert.equal(source.live, false);
    } finally {
      close();
    }
  });
});
