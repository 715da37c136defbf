/**
 * A store's listener that throws breaks neither the write that caused the
 * change nor the other listeners: the throw is logged (console.error).
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ListChange, Store } from "../src/store.ts";
import { storeKinds } from "./helpers/stores.ts";
import { postgresHarness } from "./helpers/postgres.ts";
import { waitUntil } from "./helpers/wait.ts";

const TITLE = "the write succeeds, the other listeners hear it, the throw is logged";

async function throwingListener(store: Store): Promise<void> {
  const boom = new Error("listener failed");
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args);
  try {
    const list = store.list<string>("l");
    const heard: ListChange<string>[] = [];
    const stopBoom = list.subscribe(() => {
      throw boom;
    });
    const stop = list.subscribe((change) => heard.push(change));
    const item = await list.insert(0, "milk");
    await waitUntil(() => heard.length === 1, { what: "the other listener" });
    assert.equal(heard[0].op, "insert");
    assert.deepEqual(await list.get(item.id), item);
    await waitUntil(() => logged.length === 1, { what: "the logged throw" });
    assert.deepEqual(logged, [[boom]]);
    stopBoom();
    stop();
  } finally {
    console.error = original;
  }
}

for (const { kind, open } of await storeKinds("throwing listeners")) {
  describe(`${kind} store: a listener that throws`, () => {
    test(TITLE, async () => {
      const { store, cleanup } = await open();
      try {
        await throwingListener(store);
      } finally {
        await cleanup();
      }
    });
  });
}

const pg = await postgresHarness();
describe("postgres store: a listener that throws", { skip: pg.skip }, () => {
  after(() => pg.cleanup());
  pg.storeTest(TITLE, async () => throwingListener(await pg.open()));
});
