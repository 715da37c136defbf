/**
 * What the stores share: the listener set, the error every store failure
 * becomes, the retry loop of a compare-and-set `update`, and the import of
 * an optional driver package with an error that says how to install it.
 *
 * @module
 */
import { ErrorCode, SockSyncError } from "../../src/errors.ts";

/**
 * The listeners of one list or var store. `emit` calls each in the order
 * they were added, over a copy of the set, so a listener that unsubscribes
 * (or subscribes another) while being called changes nothing this round.
 *
 * @example
 * ```ts
 * import { Listeners } from "./shared.ts";
 * const listeners = new Listeners<[string]>();
 * const stop = listeners.add((text) => console.log(text));
 * listeners.emit("hello");
 * stop();
 * ```
 */
export class Listeners<A extends unknown[]> {
  #set = new Set<(...args: A) => void>();

  /** How many listeners there are. */
  get size(): number {
    return this.#set.size;
  }

  /** Adds a listener; returns the function that removes it (harmless to call twice). */
  add(listener: (...args: A) => void): () => void {
    // A wrapper per call: the same function subscribed twice is two subscriptions.
    const entry = (...args: A) => listener(...args);
    this.#set.add(entry);
    return () => void this.#set.delete(entry);
  }

  /** Calls every listener with `args`. */
  emit(...args: A): void {
    for (const listener of [...this.#set]) listener(...args);
  }

  /** Removes every listener. */
  clear(): void {
    this.#set.clear();
  }
}

/**
 * The error a store operation fails with when the backend cannot do it:
 * code 8, `store unavailable: …`.
 *
 * @example
 * ```ts
 * import { storeError } from "./shared.ts";
 * const error = storeError(new Error("disk full"));
 * error.message; // "store unavailable: disk full"
 * ```
 */
export function storeError(cause: unknown): SockSyncError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new SockSyncError(ErrorCode.Other, `store unavailable: ${message}`);
}

/**
 * The error of an operation on a closed store (code 8).
 *
 * @example
 * ```ts
 * import { storeClosed } from "./shared.ts";
 * storeClosed().code; // 8
 * ```
 */
export function storeClosed(): SockSyncError {
  return new SockSyncError(ErrorCode.Other, "store closed");
}

/**
 * How many times a compare-and-set `update` tries before it gives up.
 *
 * @example
 * ```ts
 * import { UPDATE_ATTEMPTS } from "./shared.ts";
 * console.log(`gives up after ${UPDATE_ATTEMPTS} conflicts`);
 * ```
 */
export const UPDATE_ATTEMPTS = 100;

/**
 * What an attempt of {@linkcode retryOnConflict} returns when another writer
 * got there first.
 *
 * @example
 * ```ts
 * import { CONFLICT } from "./shared.ts";
 * const outcome: number | typeof CONFLICT = CONFLICT;
 * ```
 */
export const CONFLICT: unique symbol = Symbol("conflict");

/**
 * Runs `attempt` (1, 2, …) until it returns something other than
 * {@linkcode CONFLICT}, at most {@linkcode UPDATE_ATTEMPTS} times; past the
 * second conflict it waits a random few milliseconds first, so writers that
 * keep colliding in lockstep are spread apart. Gives up with code 8,
 * `${what} changed too often to update`.
 *
 * @example
 * ```ts
 * import { CONFLICT, retryOnConflict } from "./shared.ts";
 * let stored = 0;
 * const result = await retryOnConflict("var n", (attempt) =>
 *   Promise.resolve(attempt < 2 ? CONFLICT : ++stored)
 * );
 * ```
 */
export async function retryOnConflict<R>(
  what: string,
  attempt: (n: number) => Promise<R | typeof CONFLICT>,
): Promise<R> {
  for (let n = 1;; n++) {
    const outcome = await attempt(n);
    if (outcome !== CONFLICT) return outcome;
    if (n >= UPDATE_ATTEMPTS) {
      throw new SockSyncError(ErrorCode.Other, `${what} changed too often to update`);
    }
    if (n > 2) {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** n, 50)));
    }
  }
}

/**
 * An optional driver package a store entry point needs.
 *
 * @example
 * ```ts
 * import type { DriverNeed } from "./shared.ts";
 * const need: DriverNeed = { entry: "socksync/stores/redis", pkg: "ioredis" };
 * ```
 */
export interface DriverNeed {
  /** The entry point that needs it, e.g. `socksync/stores/redis`. */
  entry: string;
  /** The npm package, e.g. `ioredis`. */
  pkg: string;
  /** The version range to install, e.g. `12` for `better-sqlite3@12` (default: none). */
  version?: string;
  /** What would do instead, e.g. `node:sqlite (Deno, Bun, Node >= 22.13)`. */
  otherwise?: string;
}

/**
 * The command that installs a package with this runtime's package manager.
 *
 * @example
 * ```ts
 * import { installCommand } from "./shared.ts";
 * installCommand("ioredis"); // "npm install ioredis" on Node
 * ```
 */
export function installCommand(spec: string): string {
  const runtime = globalThis as { Deno?: unknown; Bun?: unknown };
  if (runtime.Bun !== undefined) return `bun add ${spec}`;
  if (runtime.Deno !== undefined) return `deno add npm:${spec}`;
  return `npm install ${spec}`;
}

/**
 * The error for a driver package that could not be loaded: it names the
 * entry point, the package and the command that installs it, and keeps the
 * loader's error as `cause` (its first line in the message).
 *
 * @example
 * ```ts
 * import { missingDriver } from "./shared.ts";
 * const error = missingDriver({ entry: "socksync/stores/redis", pkg: "ioredis" }, new Error("not found"));
 * error.message.startsWith("socksync/stores/redis needs the ioredis package: npm install ioredis");
 * ```
 */
export function missingDriver(need: DriverNeed, cause: unknown): Error {
  const spec = need.version ? `${need.pkg}@${need.version}` : need.pkg;
  const either = need.otherwise ? `${need.otherwise} or ` : "";
  const why = (cause instanceof Error ? cause.message : String(cause)).split("\n")[0];
  const error = new Error(
    `${need.entry} needs ${either}the ${need.pkg} package: ${installCommand(spec)}` +
      ` (loading it failed: ${why})`,
    { cause },
  );
  error.name = "MissingDriverError";
  return error;
}

/**
 * Whether `error` is {@linkcode missingDriver}'s.
 *
 * @example
 * ```ts
 * import { isMissingDriver, missingDriver } from "./shared.ts";
 * isMissingDriver(missingDriver({ entry: "x", pkg: "y" }, "gone")); // true
 * ```
 */
export function isMissingDriver(error: unknown): error is Error {
  return error instanceof Error && error.name === "MissingDriverError";
}

/**
 * Loads an optional driver package with `load` (a dynamic `import`), and
 * turns a failure into {@linkcode missingDriver}'s error instead of the
 * resolver's stack trace.
 *
 * @example
 * ```ts
 * import { importDriver } from "./shared.ts";
 * const nanoid = await importDriver(
 *   { entry: "my-store", pkg: "nanoid" },
 *   () => import("nanoid"),
 * );
 * ```
 */
export async function importDriver<M>(need: DriverNeed, load: () => Promise<M>): Promise<M> {
  try {
    return await load();
  } catch (error) {
    throw missingDriver(need, error);
  }
}

/**
 * What a store resyncs after its change feed was cut: its lists and its vars.
 *
 * @example
 * ```ts
 * import type { Resyncable } from "./shared.ts";
 * const parts: Resyncable = { lists: () => [], vars: { reset: async () => {} }, closed: () => false };
 * ```
 */
export interface Resyncable {
  /** The list sources open now. */
  lists: () => Iterable<{ reset(): Promise<void> }>;
  /** The var store. */
  vars: { reset(): Promise<void> };
  /** Whether the store is closed (then nothing is resynced). */
  closed: () => boolean;
}

/**
 * A resync for a store whose change feed may have missed changes: every list
 * listener gets a reset and every var listener every value again. Asked while
 * running, it runs once more after; never twice at once. A failure (the server
 * is down again) is left to the next reconnect, which asks again.
 *
 * @example
 * ```ts
 * import { serialResync } from "./shared.ts";
 * const resync = serialResync({ lists: () => [], vars: { reset: async () => {} }, closed: () => false });
 * await resync();
 * ```
 */
export function serialResync(parts: Resyncable): () => Promise<void> {
  let resyncing = false;
  let again = false;
  return async () => {
    if (resyncing) return void (again = true);
    resyncing = true;
    try {
      do {
        again = false;
        if (parts.closed()) return;
        try {
          await Promise.all([...parts.lists()].map((list) => list.reset()));
          await parts.vars.reset();
        } catch {
          // Down again: the next reconnect resyncs again.
        }
      } while (again);
    } finally {
      resyncing = false;
    }
  };
}
