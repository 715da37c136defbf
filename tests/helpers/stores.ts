/**
 * Test support: every store kind the repository ships, each opened fresh
 * (SQLite in a temporary file, Redis under a throwaway key prefix) and
 * removed again by `cleanup`.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { type ChildProcess, spawn } from "node:child_process";
import { waitUntil } from "./wait.ts";
import { Redis } from "ioredis";
import type { Store } from "../../src/store.ts";
import { memoryStore } from "../../stores/memory/mod.ts";
import { openSqliteStore } from "../../stores/sqlite/mod.ts";
import { openRedisStore } from "../../stores/redis/mod.ts";

/** The Redis the tests use. */
export const REDIS_URL: string = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** A fresh store and the function that closes and removes it. */
export interface OpenedStore {
  store: Store;
  cleanup(): Promise<void>;
}

/** One kind of store. */
export interface StoreKind {
  kind: "memory" | "sqlite" | "redis";
  open(): Promise<OpenedStore>;
}

/** Whether a Redis answers at this URL (within about 2 s). */
export async function redisReachable(url: string = REDIS_URL): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    retryStrategy: () => null,
  });
  probe.on("error", () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** Deletes every key under a prefix. */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const admin = new Redis(REDIS_URL);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      if (keys.length) await admin.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    admin.disconnect();
  }
}

/**
 * The store kinds to run a suite against. Without Redis the Redis kind is
 * left out with one loud SKIPPED line; with `CI=true` a failing test says so.
 */
export async function storeKinds(suite: string): Promise<StoreKind[]> {
  const kinds: StoreKind[] = [
    {
      kind: "memory",
      open: () => Promise.resolve({ store: memoryStore(), cleanup: () => Promise.resolve() }),
    },
    {
      kind: "sqlite",
      async open() {
        const dir = mkdtempSync(join(tmpdir(), "socksync-sqlite-"));
        const store = await openSqliteStore({ path: join(dir, "test.db") });
        return {
          store,
          async cleanup() {
            await store.close();
            rmSync(dir, { recursive: true, force: true });
          },
        };
      },
    },
  ];
  if (await redisReachable()) {
    kinds.push({
      kind: "redis",
      async open() {
        const prefix = `socksync-test:${Math.random().toString(36).slice(2)}:`;
        const store = await openRedisStore({ url: REDIS_URL, prefix });
        return {
          store,
          async cleanup() {
            await store.close();
            await deleteRedisPrefix(prefix);
          },
        };
      },
    });
  } else if (process.env.CI === "true") {
    test(`${suite}: Redis is reachable (CI=true)`, () => assert.fail(`no Redis at ${REDIS_URL}`));
  } else {
    console.log(`SKIPPED: ${suite} on Redis (no Redis at ${REDIS_URL})`);
  }
  return kinds;
}

/** A private redis-server without persistence: a restart loses everything. */
export async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ], { stdio: "ignore" });
  await waitUntil(() => redisReachable(`redis://127.0.0.1:${port}`), {
    what: `redis-server on port ${port}`,
  });
  return child;
}

/** Kills a child process and waits until it exited. */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}
