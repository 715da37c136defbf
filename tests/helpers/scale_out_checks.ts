/**
 * The scale-out checks every store shares: random changes through every
 * instance, each followed by every mirror equal to the store; concurrent
 * increments and list changes; a killed instance whose clients reconnect to
 * another one.
 *
 * @module
 */
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import type { ScaleOut, Todo } from "./scale_out.ts";
import { waitUntil } from "./wait.ts";

const RANDOM_CHANGES = 45;
const CONCURRENT_INCREMENTS = 25;
const CONCURRENT_LIST_CHANGES = 15;

/** Random and concurrent changes through every instance, every mirror checked after each. */
export async function sharedChanges(t: TestContext, s: ScaleOut): Promise<void> {
  const { store, drivers, mirrors, rand, pick } = s;
  await t.test("every mirror starts from the store", async () => {
    await s.converge("the first pages");
  });

  await t.test("random changes through every instance reach every mirror", async () => {
    for (let n = 0; n < RANDOM_CHANGES; n++) await s.change(n % 3);
  });

  await t.test("concurrent increments on all instances lose nothing, in order", async () => {
    const before = (await store.vars.get("counter") ?? 0) as number;
    for (const m of mirrors) m.seen.length = 0;
    await Promise.all(drivers.map(async (driver) => {
      for (let n = 0; n < CONCURRENT_INCREMENTS; n++) {
        await driver.call("increment", { by: 1 });
      }
    }));
    const expected = before + CONCURRENT_INCREMENTS * drivers.length;
    assert.equal(await store.vars.get("counter"), expected);
    await s.converge("the counter on every mirror");
    for (const m of mirrors) {
      const sorted = [...m.seen].sort((a, b) => a - b);
      assert.deepEqual(m.seen, sorted, `instance ${m.instance} showed values out of order`);
      assert.equal(m.seen.at(-1), expected);
    }
  });

  await t.test("concurrent list changes on all instances: every page exact", async () => {
    const list = store.list<Todo>("todos");
    await Promise.all(drivers.map(async (driver, i) => {
      for (let n = 0; n < CONCURRENT_LIST_CHANGES; n++) {
        const { items, total } = await list.page(0, 1000);
        const roll = rand();
        // Others change the list meanwhile: an id may be gone (4), an index past the end (6).
        const call = roll < 0.5 || total < 3
          ? driver.call("add_todo", {
            text: `c${i}-${n}`,
            index: Math.floor(rand() * (total + 1)),
          })
          : roll < 0.75
          ? driver.call("toggle_todo", { id: pick(items).id })
          : driver.call("delete_todo", { id: pick(items).id });
        await call.catch((error: { code?: number }) => {
          if (error.code !== 4 && error.code !== 6) throw error;
        });
      }
    }));
    await s.converge("every mirror after concurrent list changes");
  });
}

/** Instance 1 is killed: its clients reconnect through the balancer to another and converge. */
export async function killedInstance(t: TestContext, s: ScaleOut): Promise<void> {
  await t.test("a killed instance: its clients reconnect to another and converge", async () => {
    const victim = 1;
    s.alive[victim] = false;
    const orphans = s.mirrors.filter((m) => m.instance === victim);
    await s.servers[victim].stop("SIGKILL");
    await waitUntil(() => orphans.every((m) => !m.client.connected), {
      what: "the orphaned clients to notice",
    }).catch(() => {/* they may already be back */});
    await s.converge("every mirror, the orphans reconnected elsewhere");
    const health = await Promise.all(
      s.servers.filter((_, i) => s.alive[i]).map(async (server) =>
        (await (await fetch(`${server.url}/health`)).json()).connections as number
      ),
    );
    assert.equal(health.reduce((a, b) => a + b, 0), s.mirrors.length);
    // Their own calls now run on the instance they landed on.
    s.drivers[victim] = orphans[0].client;
    for (let n = 0; n < 9; n++) await s.change(n % 3);
  });
}
