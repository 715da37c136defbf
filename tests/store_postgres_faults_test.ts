import { after, describe } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { openPostgresStore } from "../stores/postgres/mod.ts";
import { listenerName } from "../stores/postgres/driver.ts";
import {
  all,
  mirror,
  postgresHarness,
  privateServer,
  privateServerBin,
} from "./helpers/postgres.ts";
import { waitUntil } from "./helpers/wait.ts";
import type { ListChange, Store } from "../src/store.ts";

// Faults: connections killed, unreadable notifications, bad URLs, locks, the
// database restarting (on a private server).
const { admin, open, schema, skip, storeTest, cleanup } = await postgresHarness();

describe("PostgreSQL store faults", { skip }, () => {
  after(cleanup);

  storeTest("listening connection killed: a reset, then convergence", async () => {
    const channelSchema = `${schema}_kill`;
    const a = await open({ schema: channelSchema });
    const b = await open({ schema: channelSchema });
    const la = a.list<string>("l");
    const lb = b.list<string>("l");
    const changes: ListChange<string>[] = [];
    const values: [string, unknown][] = [];
    const stop = la.subscribe((change) => changes.push(change));
    const stopVars = a.vars.subscribe!((name, value) => values.push([name, value]));
    const ma = mirror(la);
    try {
      await la.insert(0, "before");
      await b.vars.set("v", 1);
      await waitUntil(() => changes.length >= 1 && values.length >= 1, { what: "first changes" });
      // Both stores listen on the same channel: kill both listening connections (known by
      // their name: list writes run on them too, so their last statement may be another).
      const killed = await admin!.unsafe(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = left($1, 63)`,
        [listenerName(`${channelSchema}.changes`)],
      );
      assert.equal(killed.length, 2);
      // Missed while deaf (or not): either way the reset covers them.
      await lb.insert(1, "meanwhile");
      await b.vars.set("v", 2);
      await waitUntil(() => changes.some((change) => change.op === "reset"), {
        what: "a reset",
      });
      await waitUntil(() => values.some(([, value]) => value === 2), { what: "var value again" });
      await lb.insert(0, "after");
      const truth = await all(lb);
      assert.deepEqual(truth, ["after", "before", "meanwhile"]);
      await waitUntil(async () => JSON.stringify(await ma.settled()) === JSON.stringify(truth), {
        what: "the mirror to converge",
      });
      assert.deepEqual(await all(la), truth);
    } finally {
      stop();
      stopVars();
      ma.stop();
    }
  });

  storeTest(
    "a write whose listening connection is killed under it runs again once nothing committed",
    async () => {
      const store = await open({ prefix: "lost_" });
      const list = store.list<string>("l");
      await list.insert(0, "a");
      const changes: ListChange<string>[] = [];
      const stop = list.subscribe((change) => changes.push(change));
      const view = mirror(list);
      let release!: () => void;
      const released = new Promise<void>((resolve) => release = resolve);
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => locked = resolve);
      const holder = admin!.begin("", async (tx) => {
        await tx.unsafe(`LOCK TABLE "${schema}"."lost_lists" IN ACCESS EXCLUSIVE MODE`);
        locked();
        await released;
      });
      const listening = listenerName(`${schema}.lost_changes`);
      try {
        await isLocked;
        // The write waits for the lock on the listening connection (writes run there while
        // it is idle); that connection is killed under it.
        const written = list.insert(1, "b");
        const waiting = await waitUntil(
          () =>
            admin!.unsafe(
              `SELECT pid FROM pg_stat_activity
               WHERE application_name = left($1, 63) AND wait_event_type = 'Lock'`,
              [listening],
            ).then(([row]) => row),
          { what: "the write waiting on the lock" },
        );
        await admin!.unsafe("SELECT pg_terminate_backend($1)", [waiting.pid as number]);
        // Nothing committed (the version did not move): the write runs again, and succeeds
        // once the lock is gone.
        await waitUntil(
          () =>
            admin!.unsafe(
              `SELECT 1 FROM pg_stat_activity WHERE application_name = 'socksync'
               AND wait_event_type = 'Lock' AND query LIKE '%lost_lists%'`,
            ).then((rows) => rows.length > 0),
          { what: "the store to ask for the version" },
        );
        release();
        const item = await written;
        assert.equal(item.value, "b");
        assert.deepEqual(await all(list), ["a", "b"]);
        await waitUntil(async () => JSON.stringify(await view.settled()) === '["a","b"]', {
          what: "the subscriber to converge",
        });
      } finally {
        release();
        await holder;
        stop();
        view.stop();
      }
    },
  );

  storeTest("an unreadable notification is logged once and leads to a reset", async () => {
    const store = await open({ prefix: "bad_" });
    const list = store.list<string>("l");
    await list.insert(0, "x");
    const changes: ListChange<string>[] = [];
    const stop = list.subscribe((change) => changes.push(change));
    const errors: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void errors.push(args);
    try {
      for (const bad of ["{not json", '{"list":1}', "[]"]) {
        await admin!.unsafe("SELECT pg_notify($1, $2)", [`${schema}.bad_changes`, bad]);
      }
      // One resync per unreadable notification, one after the other.
      await waitUntil(() => changes.filter((c) => c.op === "reset").length >= 3, {
        what: "the resets",
      });
      await list.insert(1, "y");
      await waitUntil(() => changes.some((c) => c.op === "insert"), { what: "the next change" });
      assert.equal(errors.length, 1);
      assert.deepEqual(changes.at(-1), {
        op: "insert",
        index: 1,
        id: (changes.at(-1) as { id: string }).id,
        value: "y",
        total: 2,
        version: 2,
      });
    } finally {
      console.error = original;
      stop();
    }
  });

  storeTest(
    "a malformed URL is code 6; an unreachable database and a closed store code 8",
    async () => {
      await assert.rejects(
        openPostgresStore({ url: "postgres://postgres@127.0.0.1:1/postgres", timeoutMs: 1000 }),
        (error: { code?: number; message: string }) =>
          error.code === 8 && error.message.startsWith("store unavailable"),
      );
      for (const bad of ["garbage", "http://127.0.0.1:5432/", "postgres://u:secret@[bad/"]) {
        await assert.rejects(
          openPostgresStore({ url: bad }),
          (error: { code?: number; message: string }) =>
            error.code === 6 && error.message.startsWith("not a PostgreSQL URL") &&
            !error.message.includes("secret"),
        );
      }
      // A store whose connections are cut while in use: ending its pool stands for the
      // database going away (a restart is tested with the listening connection above).
      const store = await open({ prefix: "down_" });
      await store.close();
      await assert.rejects(store.list("x").count(), (error: { code?: number }) => error.code === 8);
      await assert.rejects(store.vars.get("x"), (error: { code?: number }) => error.code === 8);
    },
  );

  const bin = privateServerBin();
  storeTest(
    "the database restarting: code 8 while down, every subscriber converges once it is back",
    {
      // Under CI (run as root, PostgreSQL installed) it must run: no silent skip there.
      skip: bin || process.env.CI === "true"
        ? false
        : "needs root and the PostgreSQL server binaries",
      timeout: 120_000,
    },
    async () => {
      assert.ok(bin, "CI runs this as root with the PostgreSQL server binaries (.ci/run)");
      const server = await privateServer(bin);
      const opened: Store[] = [];
      try {
        const a = await openPostgresStore({ url: server.url, timeoutMs: 1000 });
        opened.push(a);
        const b = await openPostgresStore({ url: server.url, timeoutMs: 1000 });
        opened.push(b);
        const ma = mirror(a.list<string>("l"));
        const values: [string, unknown][] = [];
        a.vars.subscribe!((name, value) => values.push([name, value]));
        await a.list<string>("l").insert(0, "before");
        await b.vars.set("v", 1);
        await waitUntil(() => ma.state.version === 1 && values.length === 1, {
          what: "first changes",
        });
        await server.stop();
        const down = (error: { code?: number; message: string }) =>
          error.code === 8 && error.message.startsWith("store unavailable");
        await assert.rejects(a.list("l").insert(0, "x"), down);
        await assert.rejects(a.list("l").page(0, 10), down);
        await assert.rejects(a.vars.update!("v", () => 3), down);
        await assert.rejects(b.vars.get("v"), down);
        await server.start();
        // Readiness, bounded on its own: another instance writes as soon as it can (a's listener
        // may or may not be back yet).
        await waitUntil(
          () => b.list<string>("l").insert(1, "after").then(() => true, () => false),
          { what: "a write after the restart", timeout: 30_000 },
        );
        await b.vars.set("v", 2);
        const truth = ["before", "after"];
        // Both deadlines count from the moment the writes landed, side by side: a slow one does
        // not shrink the other's.
        await Promise.all([
          waitUntil(
            async () => JSON.stringify(await ma.settled()) === JSON.stringify(truth),
            { what: "the subscriber to converge within 5 s", timeout: 5000 },
          ),
          waitUntil(() => values.some(([, value]) => value === 2), {
            what: "the var within 5 s",
            timeout: 5000,
          }),
        ]);
        assert.deepEqual(await all(a.list("l")), truth);
        ma.stop();
      } finally {
        for (const store of opened) await store.close();
        await server.remove();
      }
    },
  );

  storeTest(
    "a statement blocked by a lock fails with code 8 after the timeout, then works",
    async () => {
      const store = await open({ prefix: "locked_", timeoutMs: 1000 });
      const list = store.list<string>("l");
      await list.insert(0, "a");
      let release!: () => void;
      const released = new Promise<void>((resolve) => release = resolve);
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => locked = resolve);
      const holder = admin!.begin("", async (tx) => {
        await tx.unsafe(`LOCK TABLE "${schema}"."locked_lists" IN ACCESS EXCLUSIVE MODE`);
        locked();
        await released;
      });
      try {
        await isLocked;
        await assert.rejects(
          list.insert(1, "b"),
          (error: { code?: number; message: string }) =>
            error.code === 8 && error.message.startsWith("store unavailable"),
        );
        await assert.rejects(list.count(), (error: { code?: number }) => error.code === 8);
      } finally {
        release();
        await holder;
      }
      await list.insert(1, "c");
      assert.deepEqual(await all(list), ["a", "c"]);
    },
  );
});
