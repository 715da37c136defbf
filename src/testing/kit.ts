/**
 * What the conformance kit's case groups share: the options, sample values,
 * an error-code matcher, a change recorder that waits with a deadline, a
 * seeded random generator, and the case runners that make a fresh store for
 * each case and close it afterwards.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { isSockSyncError } from "../errors.ts";
import type { ListChange, ListSource, VarStore } from "../store.ts";

/**
 * Options for `listSourceConformance` and `varStoreConformance`.
 *
 * @example
 * ```ts
 * import type { ConformanceOptions } from "./kit.ts";
 * const options: ConformanceOptions = { skip: "no Redis", eventTimeoutMs: 5000 };
 * ```
 */
export interface ConformanceOptions {
  /** Skips the whole suite (a string says why). */
  skip?: boolean | string;
  /** How long to wait for change events before failing, in ms (default 10000). */
  eventTimeoutMs?: number;
  /** How many random operations to check against an array model (default 200). */
  modelOperations?: number;
  /**
   * Var stores only: opens another store on the same data, as a second
   * process would. With it the kit checks that `subscribe` reports that
   * store's writes (and not the subscriber's own), and that its stop
   * function really stops them.
   */
  makeOther?: () => Promise<VarStore> | VarStore;
}

/**
 * Makes a store for one case.
 *
 * @example
 * ```ts
 * import type { Maker } from "./kit.ts";
 * const make: Maker<number> = () => 1;
 * ```
 */
export type Maker<S> = () => Promise<S> | S;

/**
 * A 1 MB string.
 */
export const LARGE: string = "x".repeat(1024 * 1024);

/**
 * Values that break naive encodings: emoji, right-to-left text, NUL,
 * escapes, combining marks, nested unicode keys.
 */
export const UNICODE: unknown[] = [
  "👩‍👩‍👧‍👦 🎉",
  "مرحبا بالعالم",
  "שלום",
  "a\u0000b",
  "\u0000",
  'line\nbreak\ttab \\ "quote" \'',
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ̈ a\u0301",
  { "ключ": ["値", "\u202Eright-to-left\u202C", null, 1.5, true] },
];

/**
 * An `assert.rejects` matcher: a `SockSyncError` with this code.
 */
export function isCode(code: number): (error: unknown) => boolean {
  return (error: unknown): boolean => {
    assert.ok(isSockSyncError(error), `expected a SockSyncError, got ${error}`);
    assert.equal(error.code, code, `expected code ${code}: ${error.message}`);
    return true;
  };
}

/**
 * Records what a listener hears and waits, with a deadline, until enough
 * has arrived.
 */
export class Recorder<E> {
  /** Everything recorded, in order. */
  readonly changes: E[] = [];
  #wake: (() => void) | undefined;

  readonly timeoutMs: number;

  /** @param timeoutMs how long `waitFor` and `waitUntil` wait */
  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  /** Records one entry (usable as a list listener). */
  readonly record = (entry: E): void => {
    this.changes.push(entry);
    this.#wake?.();
  };

  /** Resolves the first `count` entries once they arrived. */
  async waitFor(count: number): Promise<E[]> {
    await this.waitUntil((changes) => changes.length >= count, `${count} changes`);
    return this.changes.slice(0, count);
  }

  /** Resolves once `done(changes)` holds; rejects after the timeout. */
  async waitUntil(done: (changes: E[]) => boolean, what: string): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const check = () => done(this.changes) && resolve();
        this.#wake = check;
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `waited ${this.timeoutMs} ms for ${what}, got ${JSON.stringify(this.changes)}`,
              ),
            ),
          this.timeoutMs,
        );
        check();
      });
    } finally {
      clearTimeout(timer);
      this.#wake = undefined;
    }
  }
}

/**
 * A small seeded generator (mulberry32), so a failing model run can be replayed.
 */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Every value of a list, in order.
 */
export async function values<T>(source: ListSource<T>): Promise<T[]> {
  return (await source.page(0, 1_000_000)).items.map((item) => item.value);
}

/**
 * What a list case group gets: a way to register a case on a fresh list,
 * and the options.
 */
export interface ListKit {
  /** Registers a case that runs `body` on a fresh, empty list, then closes it. */
  check(title: string, body: (source: ListSource<unknown>) => Promise<void>): void;
  /** Makes a fresh, empty list (the caller closes it). */
  make: Maker<ListSource<unknown>>;
  /** A recorder for change events, with the suite's timeout. */
  recorder(): Recorder<ListChange<unknown>>;
  /** How many random operations the model case runs. */
  modelOperations: number;
}

/**
 * The {@linkcode ListKit} for one `listSourceConformance` suite.
 */
export function listKit(make: Maker<ListSource<unknown>>, options: ConformanceOptions): ListKit {
  const timeoutMs = options.eventTimeoutMs ?? 10_000;
  return {
    make,
    modelOperations: options.modelOperations ?? 200,
    recorder: () => new Recorder<ListChange<unknown>>(timeoutMs),
    check(title, body) {
      test(title, async () => {
        const source = await make();
        try {
          await body(source);
        } finally {
          await source.close?.();
        }
      });
    },
  };
}

/**
 * What a var case group gets: a way to register a case on a store, fresh
 * var names, and the options.
 */
export interface VarKit {
  /** Registers a case that runs `body` on a store, then closes it. */
  check(title: string, body: (store: VarStore) => Promise<void>): void;
  /** Makes a store (the caller closes it). */
  make: Maker<VarStore>;
  /** A var name no case used before. */
  fresh(): string;
  /** A recorder for `[name, value]` reports, with the suite's timeout. */
  recorder(): Recorder<[string, unknown]>;
  /** See {@linkcode ConformanceOptions.makeOther}. */
  makeOther?: Maker<VarStore>;
}

/**
 * The {@linkcode VarKit} for one `varStoreConformance` suite.
 */
export function varKit(make: Maker<VarStore>, options: ConformanceOptions): VarKit {
  const timeoutMs = options.eventTimeoutMs ?? 10_000;
  let counter = 0;
  return {
    make,
    makeOther: options.makeOther,
    fresh: () => `conformance-${Math.random().toString(36).slice(2)}-${counter++}`,
    recorder: () => new Recorder<[string, unknown]>(timeoutMs),
    check(title, body) {
      test(title, async () => {
        const store = await make();
        try {
          await body(store);
        } finally {
          await store.close?.();
        }
      });
    },
  };
}
