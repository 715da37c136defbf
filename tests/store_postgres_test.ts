import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { listSourceConformance, varStoreConformance } from "../src/testing.ts";
import { openPostgresStore } from "../stores/postgres.ts";
import { openPgClient, type PgSql } from "../stores/postgres_driver.ts";
import { waitUntil } from "./helpers/wait.ts";
import type { ListChange, ListSource, Store } from "../src/store.ts";

const url = process.env.POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
// Every run gets schemas of its own, dropped at the end.
const schema = `socksync_test_${Math.random().toString(36).slice(2, 10)}`;

async function reachable(): Promise<PgSql | undefined> {
  try {
    const sql = await openPgClient(url, { max: 2, connect_timeout: 2, onnotice: () => {} });
    try {
      await sql.unsafe("SELECT 1");
      return sql;
    } catch {
      await sql.end({ timeout: 0 });
    }
  } catch {
    // No driver, or no server.
  }
  return undefined;
}

const admin = await reachable();
const skip = admin ? false : `no PostgreSQL at ${url}`;
if (!admin) {
  if (process.env.CI === "true") {
    test("PostgreSQL is reachable (CI=true)", () => assert.fail(`no PostgreSQL at ${url}`));
  } else {
    console.log(`SKIPPED: PostgreSQL suites (no PostgreSQL at ${url})`);
  }
}

const stores: Store[] = [];
const schemas = new Set<string>();
async function open(
  options: { schema?: string; prefix?: string; timeoutMs?: number } = {},
): Promise<Store> {
  const name = options.schema ?? schema;
  schemas.add(name);
  // Few connections each: the suite must not crowd a shared server.
  const store = await openPostgresStore({
    url,
    schema: name,
    timeoutMs: 5000,
    maxConnections: 3,
    ...options,
  });
  stores.push(store);
  return store;
}
let shared: Promise<Store> | undefined;
let lists = 0;

listSourceConformance(
  "PostgreSQL list",
  async () => (await (shared ??= open())).list(`l${lists++}`),
  { skip, modelOperations: 150 },
);
varStoreConformance("PostgreSQL vars", async () => (await (shared ??= open())).vars, { skip });

/** The values of a whole list. */
async function all<T>(list: ListSource<T>): Promise<T[]> {
  return (await list.page(0, 100_000)).items.map((item) => item.value);
}

/**
 * A subscriber's mirror of a list: applies every change to an array, and on
 * a reset reads the list again, as a list view does.
 */
function mirror<T>(list: ListSource<T>) {
  const state = { items: [] as { id: string; value: T }[], version: 0, resets: 0 };
  let reading: Promise<void> | undefined;
  const reread = () => {
    reading = list.page(0, 100_000).then((page) => {
      state.items = page.items;
      state.version = page.version;
    }, () => {});
  };
  const stop = list.subscribe((change: ListChange<T>) => {
    if (change.op === "reset") {
      state.resets++;
      return reread();
    }
    if (change.version <= state.version) return;
    if (change.op === "insert") state.items.splice(change.index, 0, change);
    if (change.op === "set") state.items[change.index] = { id: change.id, value: change.value };
    if (change.op === "delete") state.items.splice(change.index, 1);
    state.version = change.version;
  });
  return {
    state,
    stop,
    async settled() {
      await reading;
      return state.items.map((item) => item.value);
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A private PostgreSQL server (its own data directory and port), so that a
 * test can stop and restart it without disturbing anyone else. Needs the
 * server binaries and root (the server runs as the postgres user).
 */
function privateServerBin(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const version = readdirSync(root).sort((a, b) => Number(b) - Number(a))[0];
  const bin = version && join(root, version, "bin");
  return bin && existsSync(join(bin, "initdb")) ? bin : undefined;
}

async function privateServer(bin: string) {
  const dir = mkdtempSync(join(tmpdir(), "socksync-pg-"));
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
  chownSync(dir, uid, gid);
  const data = join(dir, "data");
  const as = (args: string[]) => ["-u", "postgres", "--", ...args];
  execFileSync(
    "runuser",
    as([join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]),
    {
      stdio: "ignore",
    },
  );
  const port = await freePort();
  const ctl = (args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn("runuser", as([join(bin, "pg_ctl"), "-D", data, "-w", ...args]), {
        stdio: "ignore",
      });
      child.once("error", reject);
      child.once("exit", (code) =>
        code === 0 ? resolve() : reject(new Error(`pg_ctl ${args[0]}: ${code}`)));
    });
  let running = false;
  const server = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
      await ctl(["start", "-l", join(dir, "log"), "-o", options]);
      running = true;
    },
    async stop() {
      if (!running) return;
      running = false;
      // Fast shutdown: every connection is cut, nothing committed is lost.
      await ctl(["stop", "-m", "fast"]);
    },
    async remove() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** Runs a script on Node, Deno or Bun from the repository's root; resolves its exit code and output. */
function runOn(runtime: "node" | "deno" | "bun", script: string) {
  const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);
  const [command, args] = runtime === "node"
    ? ["node", ["--import", "tsx", "--input-type=module", "-e", script]]
    : runtime === "deno"
    ? [bin("deno"), ["eval", script]]
    : [bin("bun"), ["-e", script]];
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (chunk) => output += chunk);
    child.stderr!.on("data", (chunk) => output += chunk);
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, output }));
  });
}

/** A test whose stores (opened with `open`) are closed when it ends. */
function storeTest(
  title: string,
  ...rest: [() => Promise<void>] | [
    { timeout?: number; skip?: string | false },
    () => Promise<void>,
  ]
): void {
  const [options, body] = rest.length === 1 ? [{}, rest[0]] : rest;
  // Bounded, but not by Bun's 5 s default: a busy CI machine is slow.
  test(title, { timeout: 60_000, ...options }, async () => {
    const before = stores.length;
    try {
      await body();
    } finally {
      for (const store of stores.splice(before)) await store.close();
    }
  });
}

describe("PostgreSQL store", { skip }, () => {
  after(async () => {
    for (const store of stores) await store.close();
    for (const name of schemas) {
      await admin!.unsafe(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    }
    await admin?.end({ timeout: 1 });
  });

  storeTest("two instances: random changes through both converge in every subscriber", async () => {
    const a = await open({ prefix: "conv_" });
    const b = await open({ prefix: "conv_" });
    assert.equal(a.kind, "postgres");
    const la = a.list<number>("l");
    const lb = b.list<number>("l");
    const ma = mirror(la);
    const mb = mirror(lb);
    try {
      let seed = 7;
      const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const work = async (list: ListSource<number>, n: number) => {
        for (let step = 0; step < n; step++) {
          const page = await list.page(0, 1000);
          const roll = next();
          if (roll < 0.6 || page.items.length === 0) {
            await list.insert(Math.floor(next() * (page.total + 1)), step).catch(() => {});
          } else {
            const target = page.items[Math.floor(next() * page.items.length)];
            // The other instance may have deleted it meanwhile: code 4 is fine.
            if (roll < 0.8) await list.set(target.id, -step).catch(() => {});
            else await list.delete(target.id).catch(() => {});
          }
        }
      };
      await Promise.all([work(la, 60), work(lb, 60)]);
      const truth = await all(la);
      assert.deepEqual(await all(lb), truth);
      const version = (await la.page(0, 0)).version;
      await waitUntil(() => ma.state.version >= version && mb.state.version >= version, {
        what: "both subscribers at the last version",
      });
      assert.deepEqual(await ma.settled(), truth);
      assert.deepEqual(await mb.settled(), truth);
      assert.equal(await la.count(), truth.length);
      for (const [i, item] of (await lb.page(0, 1000)).items.entries()) {
        if (i % 5 === 0) assert.equal(await la.indexOf(item.id), i);
      }
    } finally {
      ma.stop();
      mb.stop();
    }
  });

  storeTest("20 concurrent compare-and-set updates from two instances lose nothing", async () => {
    const a = await open({ prefix: "cas_" });
    const b = await open({ prefix: "cas_" });
    const item = await a.list<{ n: number }>("l").insert(0, { n: 0 });
    await a.list("l").insert(1, "other");
    const bump = (store: Store) =>
      store.list<{ n: number }>("l").update!(item.id, (current) => ({ n: current.n + 1 }));
    await Promise.all(Array.from({ length: 20 }, (_, i) => bump(i % 2 ? a : b)));
    assert.deepEqual((await b.list("l").get(item.id))?.value, { n: 20 });
    const add = (store: Store) =>
      store.vars.update!("n", (current) => ((current as number | undefined) ?? 0) + 1);
    await Promise.all(Array.from({ length: 20 }, (_, i) => add(i % 2 ? a : b)));
    assert.equal(await a.vars.get("n"), 20);
    await assert.rejects(
      a.list("l").update!("missing", (x) => x),
      (error: { code?: number }) => error.code === 4,
    );
    await assert.rejects(
      a.list("l").update!(item.id, () => {
        throw new Error("refused");
      }),
      /refused/,
    );
    assert.deepEqual((await a.list("l").get(item.id))?.value, { n: 20 });
  });

  storeTest("vars: another instance's writes are reported, own writes are not", async () => {
    const a = await open({ prefix: "vars_" });
    const b = await open({ prefix: "vars_" });
    const seenByA: [string, unknown][] = [];
    const seenByB: [string, unknown][] = [];
    const stopA = a.vars.subscribe!((name, value) => seenByA.push([name, value]));
    const stopB = b.vars.subscribe!((name, value) => seenByB.push([name, value]));
    try {
      await a.vars.set("title", "Groceries 🛒");
      await b.vars.set("big", "x".repeat(20_000));
      await waitUntil(() => seenByB.length >= 1 && seenByA.length >= 1, { what: "var reports" });
      assert.deepEqual(seenByB, [["title", "Groceries 🛒"]]);
      assert.deepEqual(seenByA, [["big", "x".repeat(20_000)]]);
      await b.vars.set("title", undefined);
      await waitUntil(() => seenByA.length >= 2, { what: "deletion reported" });
      assert.deepEqual(seenByA[1], ["title", undefined]);
      assert.equal(await a.vars.get("title"), undefined);
    } finally {
      stopA();
      stopB();
    }
  });

  storeTest("a change too big for NOTIFY reaches the other instance", async () => {
    const a = await open({ prefix: "big_" });
    const b = await open({ prefix: "big_" });
    const heard: ListChange<string>[] = [];
    const stop = b.list<string>("l").subscribe((change) => heard.push(change));
    try {
      const large = "é".repeat(10_000);
      const item = await a.list<string>("l").insert(0, large);
      await waitUntil(() => heard.length >= 1, { what: "the insert" });
      assert.deepEqual(heard[0], {
        op: "insert",
        index: 0,
        id: item.id,
        value: large,
        total: 1,
        version: 1,
      });
    } finally {
      stop();
    }
  });

  storeTest(
    "instances on Node, Deno and Bun share one database",
    { timeout: 120_000 },
    async () => {
      const mixed = `${schema}_mixed`;
      const here = await open({ schema: mixed });
      const list = here.list<string>("l");
      const watched = mirror(list);
      const writer = (who: string) => `
      import { openPostgresStore } from "./stores/postgres.ts";
      const store = await openPostgresStore({ url: ${JSON.stringify(url)}, schema: "${mixed}" });
      const list = store.list("l");
      for (let i = 0; i < 20; i++) {
        let item;
        while (!item) {
          // Another instance may shrink the list between count and insert: code 6, try again.
          const at = Math.floor(Math.random() * ((await list.count()) + 1));
          item = await list.insert(at, "${who}-" + i).catch((e) => { if (e.code !== 6) throw e; });
        }
        if (i % 4 === 0) await list.set(item.id, "${who}-" + i + "!");
        if (i % 5 === 0) await list.delete(item.id);
        await store.vars.update("n", (n) => (n ?? 0) + 1);
      }
      await store.close();`;
      try {
        const results = await Promise.all(
          (["node", "deno", "bun"] as const).map((runtime) => runOn(runtime, writer(runtime))),
        );
        for (const { code, output } of results) assert.equal(code, 0, output);
        const page = await list.page(0, 1000);
        assert.equal(page.total, 48);
        for (const runtime of ["node", "deno", "bun"]) {
          const mine = page.items.map((item) => item.value).filter((v) => v.startsWith(runtime));
          assert.equal(mine.length, 16, `${runtime}: ${mine}`);
          assert.ok(mine.includes(`${runtime}-4!`));
        }
        assert.equal(await here.vars.get("n"), 60);
        await waitUntil(() => watched.state.version >= page.version, { what: "the subscriber" });
        assert.deepEqual(await watched.settled(), page.items.map((item) => item.value));
      } finally {
        watched.stop();
      }
    },
  );

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
      // Both stores listen on the same channel: kill both listening connections.
      const killed = await admin!.unsafe(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1`,
        [`LISTEN "${channelSchema}.changes"`],
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
      skip: bin ? false : "needs root and the PostgreSQL server binaries",
      timeout: 120_000,
    },
    async () => {
      const server = await privateServer(bin!);
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
        // Another instance writes as soon as it can: a's listener may or may not be back yet.
        await waitUntil(
          () => b.list<string>("l").insert(1, "after").then(() => true, () => false),
          {
            what: "a write after the restart",
          },
        );
        await b.vars.set("v", 2);
        const truth = ["before", "after"];
        const back = Date.now();
        await waitUntil(
          async () => JSON.stringify(await ma.settled()) === JSON.stringify(truth),
          { what: "the subscriber to converge within 5 s", timeout: 5000 },
        );
        await waitUntil(() => values.some(([, value]) => value === 2), {
          what: "the var within 5 s",
          timeout: 5000 - (Date.now() - back),
        });
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

  storeTest("rebalances keys after many inserts at one spot", { timeout: 60_000 }, async () => {
    const a = await open({ prefix: "dense_" });
    const b = await open({ prefix: "dense_" });
    const list = a.list<number>("dense");
    await list.insert(0, -1);
    await list.insert(1, 1_000);
    // Forces b to load its tree now, so that it must follow the rebalance.
    assert.equal(await b.list("dense").indexOf((await list.page(1, 1)).items[0].id), 1);
    for (let i = 0; i < 600; i++) await list.insert(1 + i, i);
    const expected = [-1, ...Array.from({ length: 600 }, (_, i) => i), 1_000];
    assert.deepEqual(await all(list), expected);
    assert.deepEqual(await all(b.list("dense")), expected);
    // Without a rebalance the last keys would be about 100 characters long.
    const [{ longest }] = await admin!.unsafe(
      `SELECT max(length(key)) AS longest FROM "${schema}"."dense_items"`,
    );
    assert.ok(Number(longest) < 40, `longest key ${longest}`);
    const last = (await list.page(601, 1)).items[0];
    assert.equal(await b.list("dense").indexOf(last.id), 601);
    await b.list("dense").insert(300, 0.5);
    assert.equal((await list.page(300, 1)).items[0].value, 0.5);
  });
});
