/**
 * The conformance kit for stores (`socksync/testing`): call
 * {@linkcode listSourceConformance} or {@linkcode varStoreConformance} at the
 * top of a test file and it registers `node:test` cases that check the
 * contracts of `src/store.ts`. The cases run under `node --test`, `deno test`
 * and `bun test`.
 *
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { isSockSyncError } from "./errors.ts";
import type { ListChange, ListItem, ListListener, ListSource, VarStore } from "./store.ts";

/**
 * Options for {@linkcode listSourceConformance} and {@linkcode varStoreConformance}.
 *
 * @example
 * ```ts
 * import type { ConformanceOptions } from "./testing.ts";
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
}

type Maker<S> = () => Promise<S> | S;

const LARGE = "x".repeat(1024 * 1024);
const UNICODE = [
  "👩‍👩‍👧‍👦 🎉",
  "مرحبا بالعالم",
  "שלום",
  "a\u0000b",
  "\u0000",
  'line\nbreak\ttab \\ "quote" \'',
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ̈ a\u0301",
  { "ключ": ["値", "\u202Eright-to-left\u202C", null, 1.5, true] },
];

function isCode(code: number) {
  return (error: unknown): boolean => {
    assert.ok(isSockSyncError(error), `expected a SockSyncError, got ${error}`);
    assert.equal(error.code, code, `expected code ${code}: ${error.message}`);
    return true;
  };
}

/** Records changes and waits, with a deadline, until enough have arrived. */
class Recorder<T> {
  readonly changes: ListChange<T>[] = [];
  #wake: (() => void) | undefined;
  readonly listener: ListListener<T> = (change) => {
    this.changes.push(change);
    this.#wake?.();
  };
  constructor(readonly timeoutMs: number) {}

  async waitFor(count: number): Promise<ListChange<T>[]> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const check = () => this.changes.length >= count && resolve();
        this.#wake = check;
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `waited ${this.timeoutMs} ms for ${count} changes, got ${
                  JSON.stringify(this.changes)
                }`,
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
    return this.changes.slice(0, count);
  }
}

// A small seeded generator (mulberry32), so a failing model run can be replayed.
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function values<T>(source: ListSource<T>): Promise<T[]> {
  return (await source.page(0, 1_000_000)).items.map((item) => item.value);
}

/**
 * Registers `node:test` cases that check a {@linkcode ListSource} against the
 * contract: ordering, paging and clamping, ids, errors and their codes,
 * concurrent inserts, unicode and 1 MB values, copies, the change feed,
 * unsubscribing and closing. `makeSource` is called once per case and must
 * give a fresh, empty list; the kit closes it at the end of the case.
 *
 * @example
 * ```ts
 * import { listSourceConformance } from "./testing.ts";
 * import { MemoryListSource } from "../stores/memory.ts";
 * listSourceConformance("memory list", () => new MemoryListSource());
 * ```
 */
export function listSourceConformance(
  name: string,
  makeSource: Maker<ListSource<unknown>>,
  options: ConformanceOptions = {},
): void {
  const timeoutMs = options.eventTimeoutMs ?? 10_000;
  const modelOperations = options.modelOperations ?? 200;
  const skip = options.skip ?? false;

  function check(
    title: string,
    body: (source: ListSource<unknown>) => Promise<void>,
  ): void {
    test(title, async () => {
      const source = await makeSource();
      try {
        await body(source);
      } finally {
        await source.close?.();
      }
    });
  }

  describe(name, { skip }, () => {
    check("starts empty", async (source) => {
      assert.equal(await source.count(), 0);
      const page = await source.page(0, 10);
      assert.deepEqual(page.items, []);
      assert.equal(page.total, 0);
      assert.ok(Number.isInteger(page.version) && page.version >= 0);
    });

    check("inserts at the requested index", async (source) => {
      const ids: Record<string, string> = {};
      for (
        const [index, value] of [[0, "b"], [1, "d"], [0, "a"], [2, "c"], [
          4,
          "e",
        ]] as const
      ) {
        const item = await source.insert(index, value);
        assert.equal(item.value, value);
        ids[value] = item.id;
      }
      assert.deepEqual(await values(source), ["a", "b", "c", "d", "e"]);
      assert.equal(await source.count(), 5);
      for (const [i, value] of ["a", "b", "c", "d", "e"].entries()) {
        assert.equal(await source.indexOf(ids[value]), i);
        assert.deepEqual(await source.get(ids[value]), {
          id: ids[value],
          value,
        });
      }
    });

    check("pages at the edges", async (source) => {
      for (let i = 0; i < 5; i++) await source.insert(i, i);
      const page = async (offset: number, limit: number) => {
        const result = await source.page(offset, limit);
        assert.equal(result.total, 5);
        return result.items.map((item) => item.value);
      };
      assert.deepEqual(await page(0, 2), [0, 1]);
      assert.deepEqual(await page(2, 2), [2, 3]);
      assert.deepEqual(await page(4, 2), [4]);
      assert.deepEqual(await page(3, 100), [3, 4]);
      assert.deepEqual(await page(0, 5), [0, 1, 2, 3, 4]);
      assert.deepEqual(await page(5, 2), []);
    });

    check("clamps offsets and limits", async (source) => {
      for (let i = 0; i < 5; i++) await source.insert(i, i);
      const page = async (offset: number, limit: number) => {
        const result = await source.page(offset, limit);
        assert.equal(result.total, 5);
        return result.items.map((item) => item.value);
      };
      assert.deepEqual(await page(-3, 2), [0, 1]);
      assert.deepEqual(await page(100, 5), []);
      assert.deepEqual(await page(0, 0), []);
      assert.deepEqual(await page(0, -1), []);
      assert.deepEqual(await page(-10, -10), []);
    });

    check("creates unique ids and keeps given ones", async (source) => {
      const generated = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const item = await source.insert(0, i);
        assert.equal(typeof item.id, "string");
        assert.ok(item.id.length > 0);
        generated.add(item.id);
      }
      assert.equal(generated.size, 20);
      const given = await source.insert(3, "given", "my-id");
      assert.deepEqual(given, { id: "my-id", value: "given" });
      assert.equal(await source.indexOf("my-id"), 3);
      assert.deepEqual(await source.get("my-id"), given);
    });

    check(
      "rejects a duplicate id with code 6 and changes nothing",
      async (source) => {
        const first = await source.insert(0, "first");
        await source.insert(1, "second", "taken");
        const before = await source.page(0, 10);
        await assert.rejects(source.insert(0, "again", "taken"), isCode(6));
        await assert.rejects(source.insert(2, "again", first.id), isCode(6));
        assert.deepEqual(await source.page(0, 10), before);
        assert.deepEqual(await source.get("taken"), {
          id: "taken",
          value: "second",
        });
      },
    );

    check(
      "rejects an index out of range with code 6 and changes nothing",
      async (source) => {
        await source.insert(0, "a");
        await source.insert(1, "b");
        const before = await source.page(0, 10);
        for (const index of [-1, 3, 100, 1.5, Number.NaN]) {
          await assert.rejects(source.insert(index, "bad"), isCode(6));
        }
        assert.deepEqual(await source.page(0, 10), before);
      },
    );

    check(
      "unknown ids: undefined, -1, code 4 and no change",
      async (source) => {
        await source.insert(0, "a", "known");
        const before = await source.page(0, 10);
        const recorder = new Recorder<unknown>(timeoutMs);
        const stop = source.subscribe(recorder.listener);
        try {
          assert.equal(await source.get("missing"), undefined);
          assert.equal(await source.indexOf("missing"), -1);
          await assert.rejects(source.set("missing", "x"), isCode(4));
          await assert.rejects(source.delete("missing"), isCode(4));
          assert.deepEqual(await source.page(0, 10), before);
          // The next change must be the only event: failures reported nothing.
          await source.delete("known");
          const [change] = await recorder.waitFor(1);
          assert.deepEqual(change, {
            op: "delete",
            index: 0,
            id: "known",
            total: 0,
            version: before.version + 1,
          });
          assert.equal(recorder.changes.length, 1);
        } finally {
          stop();
        }
      },
    );

    check("gets, sets and deletes by id", async (source) => {
      const a = await source.insert(0, { n: 1 });
      const b = await source.insert(1, { n: 2 });
      const c = await source.insert(2, { n: 3 });
      await source.set(b.id, { n: 20, tags: ["x"] });
      assert.deepEqual(await source.get(b.id), {
        id: b.id,
        value: { n: 20, tags: ["x"] },
      });
      await source.delete(a.id);
      assert.equal(await source.get(a.id), undefined);
      assert.equal(await source.indexOf(a.id), -1);
      assert.equal(await source.indexOf(b.id), 0);
      assert.equal(await source.indexOf(c.id), 1);
      assert.equal(await source.count(), 2);
      await assert.rejects(source.set(a.id, 1), isCode(4));
      await assert.rejects(source.delete(a.id), isCode(4));
      // A deleted id may be used again.
      await source.insert(2, "back", a.id);
      assert.equal(await source.indexOf(a.id), 2);
    });

    check("concurrent inserts at one index lose nothing", async (source) => {
      await source.insert(0, "end");
      const made = await Promise.all(
        Array.from({ length: 40 }, (_, i) => source.insert(0, `v${i}`)),
      );
      assert.equal(await source.count(), 41);
      assert.equal(new Set(made.map((item) => item.id)).size, 40);
      const all = await values(source);
      assert.equal(all.at(-1), "end");
      assert.deepEqual(
        [...all.slice(0, -1)].sort(),
        made.map((item) => item.value).sort(),
      );
      await Promise.all(
        made.slice(0, 20).map((item) => source.delete(item.id)),
      );
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => source.insert(1, `w${i}`)),
      );
      assert.equal(await source.count(), 31);
      const page = await source.page(0, 100);
      assert.equal(new Set(page.items.map((item) => item.id)).size, 31);
      for (const [i, item] of page.items.entries()) {
        assert.equal(await source.indexOf(item.id), i);
      }
    });

    check("stores unicode, NUL characters and odd ids", async (source) => {
      const ids = ["🎉", "مرحبا", "a\u0000b", "with space", "x:y/z", "\u202E"];
      for (const [i, value] of UNICODE.entries()) {
        await source.insert(i, value, ids[i]);
      }
      assert.deepEqual(await values(source), UNICODE);
      for (const [i, id] of ids.entries()) {
        assert.deepEqual(await source.get(id), { id, value: UNICODE[i] });
        assert.equal(await source.indexOf(id), i);
      }
      await source.set("a\u0000b", "\u0000\u0000");
      assert.deepEqual(await source.get("a\u0000b"), {
        id: "a\u0000b",
        value: "\u0000\u0000",
      });
      await source.delete("🎉");
      assert.equal(await source.indexOf("مرحبا"), 0);
    });

    check("stores 1 MB values", async (source) => {
      const item = await source.insert(0, LARGE);
      await source.insert(1, { text: LARGE, n: 1 });
      assert.equal((await source.get(item.id))?.value, LARGE);
      const page = await source.page(0, 2);
      assert.equal(page.items[0].value, LARGE);
      assert.deepEqual(page.items[1].value, { text: LARGE, n: 1 });
      await source.set(item.id, LARGE + "!");
      assert.equal((await source.get(item.id))?.value, LARGE + "!");
    });

    check("hands out copies, not its own objects", async (source) => {
      const value = { list: [1, 2], nested: { a: "b" } };
      const item = await source.insert(0, value) as ListItem<typeof value>;
      value.list.push(3);
      item.value.list.push(4);
      const got = (await source.get(item.id)) as ListItem<typeof value>;
      got.value.nested.a = "changed";
      const paged = (await source.page(0, 1)).items[0] as ListItem<
        typeof value
      >;
      paged.value.list.length = 0;
      assert.deepEqual((await source.get(item.id))?.value, {
        list: [1, 2],
        nested: { a: "b" },
      });
    });

    check(
      "reports every change once, in order, version +1 each",
      async (source) => {
        const start = (await source.page(0, 0)).version;
        const recorder = new Recorder<unknown>(timeoutMs);
        const stop = source.subscribe(recorder.listener);
        try {
          await source.insert(0, "a", "A");
          await source.insert(1, { b: 1 }, "B");
          await source.insert(0, "c", "C");
          await source.set("B", { b: 2 });
          await source.delete("A");
          await source.set("C", null);
          await source.delete("C");
          const v = (n: number) => start + n;
          assert.deepEqual(await recorder.waitFor(7), [
            {
              op: "insert",
              index: 0,
              id: "A",
              value: "a",
              total: 1,
              version: v(1),
            },
            {
              op: "insert",
              index: 1,
              id: "B",
              value: { b: 1 },
              total: 2,
              version: v(2),
            },
            {
              op: "insert",
              index: 0,
              id: "C",
              value: "c",
              total: 3,
              version: v(3),
            },
            {
              op: "set",
              index: 2,
              id: "B",
              value: { b: 2 },
              total: 3,
              version: v(4),
            },
            { op: "delete", index: 1, id: "A", total: 2, version: v(5) },
            {
              op: "set",
              index: 0,
              id: "C",
              value: null,
              total: 2,
              version: v(6),
            },
            { op: "delete", index: 0, id: "C", total: 1, version: v(7) },
          ]);
          const page = await source.page(0, 10);
          assert.equal(page.version, v(7));
          assert.deepEqual(page.items, [{ id: "B", value: { b: 2 } }]);
        } finally {
          stop();
        }
      },
    );

    check(
      "reports concurrent changes with consecutive versions",
      async (source) => {
        const start = (await source.page(0, 0)).version;
        const recorder = new Recorder<unknown>(timeoutMs);
        const stop = source.subscribe(recorder.listener);
        try {
          await Promise.all(
            Array.from({ length: 30 }, (_, i) => source.insert(0, i)),
          );
          const changes = await recorder.waitFor(30);
          assert.deepEqual(
            changes.map((change) => change.version),
            Array.from({ length: 30 }, (_, i) => start + i + 1),
          );
          assert.deepEqual(
            changes.map((change) => "total" in change && change.total),
            Array.from({ length: 30 }, (_, i) => i + 1),
          );
        } finally {
          stop();
        }
      },
    );

    check("unsubscribe stops events", async (source) => {
      const gone = new Recorder<unknown>(timeoutMs);
      const kept = new Recorder<unknown>(timeoutMs);
      const stopGone = source.subscribe(gone.listener);
      const stopKept = source.subscribe(kept.listener);
      try {
        await source.insert(0, "one");
        await kept.waitFor(1);
        await gone.waitFor(1);
        stopGone();
        await source.insert(0, "two");
        await kept.waitFor(2);
        assert.equal(gone.changes.length, 1);
        stopGone(); // a second call is harmless
      } finally {
        stopKept();
      }
    });

    check("matches an array model over random operations", async (source) => {
      const next = random(0x5eed);
      const model: { id: string; value: unknown }[] = [];
      for (let step = 0; step < modelOperations; step++) {
        const roll = next();
        const at = Math.floor(next() * (model.length + 1));
        if (roll < 0.55 || model.length === 0) {
          const id = next() < 0.3 ? `m${step}` : undefined;
          const item = await source.insert(at, { step }, id);
          if (id) assert.equal(item.id, id);
          model.splice(at, 0, { id: item.id, value: { step } });
        } else if (roll < 0.75) {
          const target = model[Math.min(at, model.length - 1)];
          await source.set(target.id, [step]);
          target.value = [step];
        } else if (roll < 0.95) {
          const index = Math.min(at, model.length - 1);
          await source.delete(model[index].id);
          model.splice(index, 1);
        } else {
          const index = Math.min(at, model.length - 1);
          assert.equal(await source.indexOf(model[index].id), index);
        }
      }
      assert.deepEqual((await source.page(0, model.length + 5)).items, model);
      for (let i = 0; i < 10; i++) {
        const offset = Math.floor(next() * (model.length + 2));
        const limit = Math.floor(next() * 8);
        const page = await source.page(offset, limit);
        assert.deepEqual(page.items, model.slice(offset, offset + limit));
      }
      for (const [i, item] of model.entries()) {
        if (i % 7 === 0) assert.equal(await source.indexOf(item.id), i);
      }
    });

    test("closes", async () => {
      const source = await makeSource();
      await source.insert(0, "x");
      await source.close?.();
      await source.close?.();
    });
  });
}

/**
 * Registers `node:test` cases that check a {@linkcode VarStore}: unknown vars,
 * JSON round trips (unicode, NUL, 1 MB), overwrites, copies, `subscribe` and
 * `close`. Var names are random, so `makeStore` may hand out one shared store.
 *
 * @example
 * ```ts
 * import { varStoreConformance } from "./testing.ts";
 * import { MemoryVarStore } from "../stores/memory.ts";
 * varStoreConformance("memory vars", () => new MemoryVarStore());
 * ```
 */
export function varStoreConformance(
  name: string,
  makeStore: Maker<VarStore>,
  options: ConformanceOptions = {},
): void {
  const skip = options.skip ?? false;
  let counter = 0;
  const fresh = () => `conformance-${Math.random().toString(36).slice(2)}-${counter++}`;

  function check(title: string, body: (store: VarStore) => Promise<void>) {
    test(title, async () => {
      const store = await makeStore();
      try {
        await body(store);
      } finally {
        await store.close?.();
      }
    });
  }

  describe(name, { skip }, () => {
    check("resolves undefined for a var never set", async (store) => {
      assert.equal(await store.get(fresh()), undefined);
    });

    check("round-trips JSON values", async (store) => {
      const samples: unknown[] = [
        0,
        -1,
        1.5,
        1e21,
        "",
        "text",
        true,
        false,
        null,
        [],
        {},
        [1, [2, [3]]],
        { a: { b: ["c", null] } },
        ...UNICODE,
      ];
      for (const value of samples) {
        const name = fresh();
        await store.set(name, value);
        assert.deepEqual(await store.get(name), value);
      }
    });

    check("overwrites", async (store) => {
      const name = fresh();
      await store.set(name, 1);
      await store.set(name, { two: 2 });
      assert.deepEqual(await store.get(name), { two: 2 });
    });

    check("accepts unicode names", async (store) => {
      const name = `${fresh()}-🎉-مرحبا-\u0000`;
      await store.set(name, "ok");
      assert.equal(await store.get(name), "ok");
    });

    check("stores 1 MB values", async (store) => {
      const name = fresh();
      await store.set(name, LARGE);
      assert.equal(await store.get(name), LARGE);
    });

    check("hands out copies, not its own objects", async (store) => {
      const name = fresh();
      const value = { list: [1] };
      await store.set(name, value);
      value.list.push(2);
      const got = await store.get(name) as typeof value;
      got.list.push(3);
      assert.deepEqual(await store.get(name), { list: [1] });
    });

    check("subscribe returns a working stop function", (store) => {
      if (store.subscribe) {
        const stop = store.subscribe(() => {});
        assert.equal(typeof stop, "function");
        stop();
        stop();
      }
      return Promise.resolve();
    });

    test("closes", async () => {
      const store = await makeStore();
      await store.close?.();
    });
  });
}
