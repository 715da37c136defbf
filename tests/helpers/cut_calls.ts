/**
 * The cut check of the bad-network tests: clients make random calls
 * (increments, new todos) while connections are cut at random, then the
 * store is checked: the counter grew by exactly the acknowledged increments,
 * every acknowledged todo is there once, and no rejected call was applied.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Client } from "../../src/client/client.ts";
import type { Store } from "../../src/store.ts";

/** What a cut run did. */
export interface CutStats {
  cuts: number;
  /** Calls that returned. */
  acknowledged: number;
  /** Calls that were rejected. */
  failed: number;
  /** How much the counter grew in the store. */
  growth: number;
  /** The sum of the acknowledged increments. */
  acknowledgedGrowth: number;
}

/** Options of {@linkcode cutWhileCalling}. */
export interface CutOptions {
  rand: () => number;
  /** The clients that call (each in its own loop, one call at a time). */
  clients: Client[];
  /** Cuts one connection. */
  cut(rand: () => number): void;
  /** The store behind the server(s), read before and after. */
  store: Store;
  /** How long calls are made and connections cut, in ms. */
  duration: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls and cuts for `duration` ms, then checks the store (asserting) and
 * resolves the figures.
 */
export async function cutWhileCalling(options: CutOptions): Promise<CutStats> {
  const { rand, store } = options;
  const before = (await store.vars.get("counter") ?? 0) as number;
  const tag = Math.floor(rand() * 1e9).toString(36);
  const stats: CutStats = { cuts: 0, acknowledged: 0, failed: 0, growth: 0, acknowledgedGrowth: 0 };
  const added: string[] = [];
  const refused: string[] = [];
  const errors: string[] = [];
  let stop = false;
  let n = 0;
  const caller = async (client: Client) => {
    while (!stop) {
      const increment = rand() < 0.6;
      const by = 1 + Math.floor(rand() * 3);
      const text = `cut-${tag}-${n++}`;
      try {
        if (increment) await client.call("increment", { by });
        else await client.call("add_todo", { text });
        stats.acknowledged++;
        if (increment) stats.acknowledgedGrowth += by;
        else added.push(text);
      } catch (error) {
        stats.failed++;
        errors.push((error as Error).message);
        if (!increment) refused.push(text);
      }
    }
  };
  const cutter = async () => {
    while (!stop) {
      await sleep(150 + rand() * 450);
      if (!stop) {
        options.cut(rand);
        stats.cuts++;
      }
    }
  };
  const callers = options.clients.map(caller);
  const cutting = cutter();
  await sleep(options.duration);
  stop = true;
  await Promise.all([...callers, cutting]);

  stats.growth = ((await store.vars.get("counter") ?? 0) as number) - before;
  assert.ok(stats.cuts > 0 && stats.acknowledged > 0, "calls were made and connections cut");
  assert.equal(
    stats.growth,
    stats.acknowledgedGrowth,
    `the counter grew by the acknowledged increments (${stats.failed} calls failed: ${
      errors.slice(0, 3).join("; ")
    })`,
  );
  const { items } = await store.list<{ text: string }>("todos").page(0, 100_000);
  const count = new Map<string, number>();
  for (const item of items) count.set(item.value.text, (count.get(item.value.text) ?? 0) + 1);
  for (const text of added) assert.equal(count.get(text), 1, `acknowledged todo ${text} once`);
  for (const text of refused) {
    assert.equal(count.get(text), undefined, `refused todo ${text} absent`);
  }
  return stats;
}
