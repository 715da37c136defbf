import { after, describe } from "node:test";
import assert from "node:assert/strict";
import { listenerName, openPgClient } from "../stores/postgres/driver.ts";
import { orderKeyBetween } from "../stores/common/order_key.ts";
import { postgresHarness } from "./helpers/postgres.ts";
import { waitUntil } from "./helpers/wait.ts";
import type { ListChange } from "../src/store.ts";

// The registry of listening stores (stores/postgres/listeners.ts): a list write publishes
// its change only while another store listens, and no store misses a change committed after
// its first read, whatever runs while it registers.
const { admin, open, schema, skip, storeTest, cleanup, url } = await postgresHarness();

describe("PostgreSQL store: listeners", { skip }, () => {
  after(cleanup);

  const table = (prefix: string, name: string) => `"${schema}"."${prefix}${name}"`;
  // Resolves once a store that opens waits for a lock (held by the transaction of `holding`).
  const openingWaits = (prefix: string) =>
    waitUntil(
      () =>
        admin!.unsafe(
          `SELECT 1 FROM pg_stat_activity WHERE application_name IN ('socksync', left($1, 63))
           AND wait_event_type = 'Lock'`,
          [listenerName(`${schema}.${prefix}changes`)],
        ).then((rows) => rows.length > 0),
      { what: "the store opening to wait for the write in flight" },
    );
  // A transaction on `admin` that runs `statements` and stays open until released.
  const holding = async (statements: [string, string[]][]) => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => release = resolve);
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => ready = resolve);
    const done = admin!.begin("", async (tx) => {
      for (const [text, params] of statements) await tx.unsafe(text, params);
      ready();
      await released;
    });
    await Promise.race([isReady, done]);
    return async () => {
      release();
      await done;
    };
  };

  storeTest("a list write is published only while another store listens", async () => {
    const prefix = "pub_";
    const channel = `${schema}.${prefix}changes`;
    const heard: string[] = [];
    const raw = await openPgClient(url, {
      max: 1,
      onnotice: () => {},
      onnotify: (_, payload) => void heard.push(payload),
    });
    try {
      await raw.unsafe(`LISTEN "${channel}"`);
      await raw.unsafe(`LISTEN "${channel}.marker"`);
      // Everything published before the marker has arrived once the marker has.
      let markers = 0;
      const flush = async () => {
        const marker = `marker ${++markers}`;
        await admin!.unsafe("SELECT pg_notify($1, $2)", [`${channel}.marker`, marker]);
        await waitUntil(() => heard.includes(marker), { what: marker });
        return heard.splice(0).filter((payload) => payload !== marker);
      };
      const a = await open({ prefix });
      const list = a.list<string>("l");
      const own: ListChange<string>[] = [];
      const stop = list.subscribe((change) => own.push(change));
      const item = await list.insert(0, "alone");
      assert.deepEqual(await flush(), []);
      // A store that died without leaving: its row goes with the next registration.
      await admin!.unsafe(`INSERT INTO ${table(prefix, "listeners")} VALUES ('ghost', 0)`);
      const b = await open({ prefix });
      await list.insert(1, "watched");
      const published = await flush();
      assert.equal(published.length, 1);
      assert.equal(JSON.parse(published[0]).value, "watched");
      await b.close();
      await list.set(item.id, "alone again");
      assert.deepEqual(await flush(), []);
      // This store's own listener heard every change, published or not, in order.
      assert.deepEqual(own.map((change) => [change.op, change.version]), [
        ["insert", 1],
        ["insert", 2],
        ["set", 3],
      ]);
      assert.deepEqual((await list.page(0, 10)).items.map((item) => item.value), [
        "alone again",
        "watched",
      ]);
      stop();
    } finally {
      await raw.end({ timeout: 1 });
    }
  });

  storeTest("a store opening while a write is in flight reads it or hears it", async () => {
    const prefix = "flight_";
    const a = await open({ prefix });
    await a.list<string>("l").insert(0, "first");
    const [{ key }] = await admin!.unsafe(`SELECT key FROM ${table(prefix, "items")}`);
    // A's next write, as it runs while A is alone: it publishes nothing.
    const release = await holding([
      [
        `UPDATE ${table(prefix, "lists")} SET version = version + 1, count = count + 1
         WHERE name = 'l'`,
        [],
      ],
      [
        `INSERT INTO ${table(prefix, "items")} (list, id, key, value)
         VALUES ('l', 'late', $1, '"late"')`,
        [orderKeyBetween(key as string, null)],
      ],
    ]);
    const opening = open({ prefix });
    // Registering waits for the write; a store that opened meanwhile reads without it.
    const early = await Promise.race([
      opening.then(async (b) => ({ b, count: await b.list("l").count() })),
      openingWaits(prefix).then(() => undefined),
    ]);
    await release();
    const b = early?.b ?? await opening;
    const heard: ListChange<unknown>[] = [];
    const stop = b.list("l").subscribe((change) => heard.push(change));
    const count = early?.count ?? await b.list("l").count();
    await waitUntil(() => count === 2 || heard.length > 0, {
      what: "the write in flight, read or heard",
    });
    stop();
  });

  storeTest("a list made while a store registers publishes to it", async () => {
    const prefix = "made_";
    const a = await open({ prefix });
    const [{ token }] = await admin!.unsafe(`SELECT token FROM ${table(prefix, "listeners")}`);
    // A's first use of list "new", as it runs while A is alone: the row names A only.
    const release = await holding([[
      `INSERT INTO ${table(prefix, "lists")} (name, version, count, listeners)
       VALUES ('new', 0, 0, ARRAY[$1])`,
      [token as string],
    ]]);
    const opening = open({ prefix });
    const early = await Promise.race([
      opening,
      openingWaits(prefix).then(() => undefined),
    ]);
    await release();
    const b = early ?? await opening;
    const heard: ListChange<string>[] = [];
    const stop = b.list<string>("new").subscribe((change) => heard.push(change));
    await a.list<string>("new").insert(0, "hello");
    await waitUntil(() => heard.length > 0, { what: "the other store's insert" });
    assert.equal(heard[0].op === "insert" && heard[0].value, "hello");
    stop();
  });
});
