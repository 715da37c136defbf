/**
 * Cases for read-only sorted sources (a query over data written elsewhere,
 * such as `sqliteTable`): random writes to the backing data, after which
 * every page, count, lookup and the change feed agree with a reference
 * query.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { isSockSyncError } from "../errors.ts";
import type { ListChange, ListItem, ListSource } from "../store.ts";
import { random } from "./kit.ts";

/**
 * The backing data of one case and the source under test over it.
 *
 * @example
 * ```ts
 * import type { SortedFixture } from "./sorted_cases.ts";
 * import { MemoryListSource } from "../../stores/memory/mod.ts";
 * const rows: { id: string; value: number }[] = [];
 * const fixture: SortedFixture<number> = {
 *   source: () => new MemoryListSource<number>(),
 *   write: (next) => void rows.push({ id: String(next()), value: next() }),
 *   reference: () => [...rows].sort((a, b) => a.value - b.value),
 * };
 * ```
 */
export interface SortedFixture<T> {
  /** Makes a source over the backing data (the kit closes it). */
  source(): Promise<ListSource<T>> | ListSource<T>;
  /**
   * Makes one random write to the backing data, the way the application
   * would (its own SQL, its ORM): inserts, deletes, edits of values, edits
   * that move an item or take it in or out of the query. `next()` gives
   * numbers in [0, 1), seeded, so a failing run replays.
   */
  write(next: () => number, step: number): Promise<void> | void;
  /** The reference query: every item the source must hold, in order. */
  reference(): Promise<ListItem<T>[]> | ListItem<T>[];
  /**
   * Lets the source notice writes now (say, `source.flush()` for a binding
   * that watches on a timer); optional: without it the kit waits.
   */
  settle?(source: ListSource<T>): Promise<void> | void;
  /** Releases the backing data. */
  close?(): Promise<void> | void;
}

/**
 * Options of `sortedSourceConformance`.
 *
 * @example
 * ```ts
 * import type { SortedConformanceOptions } from "./sorted_cases.ts";
 * const options: SortedConformanceOptions = { writes: 100, eventTimeoutMs: 5_000 };
 * ```
 */
export interface SortedConformanceOptions {
  /** Skips the whole suite (a string says why). */
  skip?: boolean | string;
  /** Random writes per case (default 150). */
  writes?: number;
  /** How long to wait for the source to catch up with a write, in ms (default 10000). */
  eventTimeoutMs?: number;
  /** The seed of the random writes (default a fixed one). */
  seed?: number;
}

type Item = ListItem<unknown>;

/** Applies a change to an array, as a mirror of the whole list would. */
function applyChange(model: Item[], change: ListChange<unknown>): "reset" | void {
  if (change.op === "reset") return "reset";
  if (change.op === "insert") {
    model.splice(change.index, 0, { id: change.id, value: change.value });
  } else if (change.op === "delete") {
    assert.equal(model[change.index]?.id, change.id, "delete: wrong index for its id");
    model.splice(change.index, 1);
  } else {
    assert.equal(model[change.index]?.id, change.id, "set: wrong index for its id");
    model[change.index] = { id: change.id, value: change.value };
  }
  assert.equal(model.length, change.total, `${change.op}: wrong total`);
}

async function until(ms: number, what: string, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Registers the sorted-source cases; `sortedSourceConformance` in
 * `socksync/testing` wraps them in a suite.
 */
export function sortedCases<T>(
  make: () => Promise<SortedFixture<T>> | SortedFixture<T>,
  options: SortedConformanceOptions,
): void {
  const writes = options.writes ?? 150;
  const timeout = options.eventTimeoutMs ?? 10_000;
  const seed = options.seed ?? 0x50e7;
  const run = (title: string, body: (f: SortedFixture<T>, s: ListSource<T>) => Promise<void>) =>
    test(title, async () => {
      const fixture = await make();
      const source = await fixture.source();
      try {
        await body(fixture, source);
      } finally {
        await source.close?.();
        await fixture.close?.();
      }
    });

  /** Checks pages, count, get and indexOf against the reference. */
  const agrees = async (source: ListSource<T>, expected: Item[], next: () => number) => {
    const all = await source.page(0, expected.length + 5);
    assert.deepEqual(all.items, expected);
    assert.equal(all.total, expected.length);
    assert.equal(await source.count(), expected.length);
    for (let i = 0; i < 4; i++) {
      const offset = Math.floor(next() * (expected.length + 2));
      const limit = 1 + Math.floor(next() * 6);
      const page = await source.page(offset, limit);
      assert.deepEqual(
        page.items,
        expected.slice(offset, offset + limit),
        `page(${offset}, ${limit})`,
      );
      assert.equal(page.total, expected.length);
    }
    if (expected.length > 0) {
      const at = Math.floor(next() * expected.length);
      assert.deepEqual(await source.get(expected[at].id), expected[at]);
      assert.equal(await source.indexOf(expected[at].id), at);
    }
  };

  run(
    "pages equal the reference after every random write (nothing listening)",
    async (f, source) => {
      const next = random(seed);
      for (let step = 0; step < writes; step++) {
        await f.write(next, step);
        await f.settle?.(source);
        if (step % 5 === 4) await agrees(source, await f.reference(), next);
      }
      await agrees(source, await f.reference(), next);
      assert.equal(await source.indexOf("no such id, surely"), -1);
      assert.equal(await source.get("no such id, surely"), undefined);
    },
  );

  run("its change feed alone keeps an array equal to the reference", async (f, source) => {
    const next = random(seed + 1);
    const model: Item[] = [];
    // Changes a page read already holds are skipped, as a view skips them.
    let version = Number.MAX_SAFE_INTEGER;
    let resets = 0;
    const failures: unknown[] = [];
    const stop = source.subscribe((change) => {
      try {
        if (change.version <= version) return;
        version = change.version;
        if (applyChange(model, change) === "reset") resets++;
      } catch (error) {
        failures.push(error);
      }
    });
    try {
      const first = await source.page(0, 1_000_000);
      model.push(...first.items);
      version = first.version;
      for (let step = 0; step < writes; step++) {
        await f.write(next, step);
        await f.settle?.(source);
        const expected = await f.reference();
        let seen = resets;
        await until(timeout, `the feed to match the reference after write ${step}`, async () => {
          if (failures.length > 0) throw failures[0];
          if (resets !== seen) {
            // A reset: the listener re-reads everything, as a view would.
            seen = resets;
            const read = await source.page(0, 1_000_000);
            model.splice(0, model.length, ...read.items);
            version = Math.max(version, read.version);
          }
          return JSON.stringify(model) === JSON.stringify(expected);
        });
        if (step % 10 === 9) await agrees(source, expected, next);
      }
    } finally {
      stop();
    }
    assert.deepEqual(failures, []);
  });

  run("is read-only: insert, set and delete reject with a SockSyncError", async (_f, source) => {
    const refused = (error: unknown) => isSockSyncError(error);
    await assert.rejects(source.insert(0, undefined as T), refused);
    await assert.rejects(source.set("x", undefined as T), refused);
    await assert.rejects(source.delete("x"), refused);
  });
}
