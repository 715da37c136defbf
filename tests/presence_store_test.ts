/**
 * A store's presence under concurrent joins, updates and leaves of one
 * scope: none fails (a join whose count went stale, or two joins of one key,
 * must still land) and the members are those the calls say.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Store } from "../src/store.ts";
import { storeKinds } from "./helpers/stores.ts";
import { postgresHarness } from "./helpers/postgres.ts";

const TITLE = "concurrent joins, updates and leaves all land; the members are what they say";

async function concurrentPresence(store: Store): Promise<void> {
  const presence = store.presence?.();
  assert.ok(presence, `the ${store.kind} store has presence`);
  const scope = `room:${Math.random()}`;
  try {
    for (const key of ["a", "b", "c", "d", "e"]) await presence.join(scope, key, { key, n: 0 });
    // Started together: each join reads the count while leaves take members away.
    await Promise.all([
      presence.leave(scope, "a"),
      presence.join(scope, "f", { key: "f", n: 0 }),
      presence.join(scope, "f", { key: "f", n: 0 }),
      presence.leave(scope, "b"),
      presence.join(scope, "g", { key: "g", n: 0 }),
      presence.set(scope, "c", { key: "c", n: 1 }),
      presence.leave(scope, "d"),
      presence.join(scope, "h", { key: "h", n: 0 }),
      presence.leave(scope, "absent"),
    ]);
    const members = presence.members<{ key: string; n: number }>(scope);
    try {
      const { items, total } = await members.page(0, 100);
      assert.equal(total, items.length);
      assert.deepEqual(
        items.map((item) => item.value).sort((x, y) => x.key.localeCompare(y.key)),
        [{ key: "c", n: 1 }, { key: "e", n: 0 }, { key: "f", n: 0 }, { key: "g", n: 0 }, {
          key: "h",
          n: 0,
        }],
      );
    } finally {
      await members.close?.();
    }
  } finally {
    await presence.close();
  }
}

for (const { kind, open } of await storeKinds("presence under concurrency")) {
  // SQLite has no presence of its own: a process uses the memory one.
  describe(`${kind} store: presence`, { skip: kind === "sqlite" && "no presence store" }, () => {
    test(TITLE, async () => {
      const { store, cleanup } = await open();
      try {
        await concurrentPresence(store);
      } finally {
        await cleanup();
      }
    });
  });
}

const pg = await postgresHarness();
describe("postgres store: presence", { skip: pg.skip }, () => {
  after(() => pg.cleanup());
  pg.storeTest(TITLE, async () => concurrentPresence(await pg.open()));
});
