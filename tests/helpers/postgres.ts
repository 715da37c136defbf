/**
 * Test support for the PostgreSQL store: a harness per test file (its own
 * random schema on the shared server, dropped at the end; stores closed
 * after each test), a subscriber's mirror of a list, a private server that a
 * test may stop and restart, and scripts run on Node, Deno or Bun.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openPostgresStore } from "../../stores/postgres/mod.ts";
import { openPgClient, type PgSql } from "../../stores/postgres/driver.ts";
import type { ListChange, ListSource, Store } from "../../src/store.ts";

/** The PostgreSQL the tests use. */
export const POSTGRES_URL: string = process.env.POSTGRES_URL ??
  "postgres://postgres@127.0.0.1:5432/postgres";

async function reachable(url: string): Promise<PgSql | undefined> {
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

/** Options for the harness' `open`. */
export interface OpenOptions {
  schema?: string;
  prefix?: string;
  timeoutMs?: number;
}

/**
 * One test file's access to the shared server: `admin` (undefined when no
 * server answers: then `skip` says why, and under CI=true a failing test is
 * registered), `schema` (random, dropped with every other schema `open`
 * used when the file's tests end), `open` and `storeTest`.
 */
export async function postgresHarness() {
  const url = POSTGRES_URL;
  const admin = await reachable(url);
  const skip: string | false = admin ? false : `no PostgreSQL at ${url}`;
  if (!admin) {
    if (process.env.CI === "true") {
      test("PostgreSQL is reachable (CI=true)", () => assert.fail(`no PostgreSQL at ${url}`));
    } else {
      console.log(`SKIPPED: PostgreSQL suites (no PostgreSQL at ${url})`);
    }
  }
  const schema = `socksync_test_${Math.random().toString(36).slice(2, 10)}`;
  const stores: Store[] = [];
  const schemas = new Set<string>();
  async function open(options: OpenOptions = {}): Promise<Store> {
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
  /** Closes every store and drops every schema; call from `after`. */
  async function cleanup(): Promise<void> {
    for (const store of stores.splice(0)) await store.close();
    for (const name of schemas) {
      await admin!.unsafe(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    }
    await admin?.end({ timeout: 1 });
  }
  return { url, admin, skip, schema, open, storeTest, cleanup };
}

/** The values of a whole list. */
export async function all<T>(list: ListSource<T>): Promise<T[]> {
  return (await list.page(0, 100_000)).items.map((item) => item.value);
}

/**
 * A subscriber's mirror of a list: applies every change to an array, and on
 * a reset reads the list again, as a list view does.
 */
export function mirror<T>(list: ListSource<T>) {
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
export function privateServerBin(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const version = readdirSync(root).sort((a, b) => Number(b) - Number(a))[0];
  const bin = version && join(root, version, "bin");
  return bin && existsSync(join(bin, "initdb")) ? bin : undefined;
}

export async function privateServer(bin: string) {
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

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** Runs a script on Node, Deno or Bun from the repository's root; resolves its exit code and output. */
export function runOn(runtime: "node" | "deno" | "bun", script: string) {
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

/**
 * A fresh database with a random name on the server `admin` is connected to (the
 * demo's store and chat tables live in a database of their own), and the function
 * that drops it, cutting any connection still open.
 */
export async function tempDatabase(admin: PgSql, base: string = POSTGRES_URL) {
  const name = `socksync_test_${Math.random().toString(36).slice(2, 10)}`;
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.href,
    drop: async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}
