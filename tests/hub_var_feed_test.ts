/**
 * The hub's var feed across hubs on one store: a var written through another
 * hub (another connection to the same SQLite file, as another server would)
 * reaches this hub's subscribers, for as long as any var of this hub has one,
 * and no longer reaches a subscriber that left.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { Hub } from "../mod.ts";
import type { Subscriber } from "../src/peer/socket.ts";
import { openSqliteStore } from "../stores/sqlite/mod.ts";
import type { Frame } from "./helpers/raw_socket.ts";
import { waitUntil } from "./helpers/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "socksync-hub-feed-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function recorder(): Subscriber & { frames: Frame[]; values: () => unknown[] } {
  const frames: Frame[] = [];
  return {
    frames,
    values: () => frames.map((f) => f.value),
    sendText: (text) => void frames.push(JSON.parse(text)),
  };
}

describe("the hub's var feed", () => {
  test("a var written through another hub on the same store reaches this hub's subscribers while any var has one", async () => {
    const path = join(dir, "vars.db");
    const here = await openSqliteStore({ path });
    const there = await openSqliteStore({ path });
    const hub = new Hub({ vars: here.vars });
    const other = new Hub({ vars: there.vars });
    const number = { schema: v.number(), initial: 0 };
    const x = hub.var("x", number);
    const y = hub.var("y", number);
    const otherX = other.var("x", number);
    const otherY = other.var("y", number);
    const rx = recorder();
    const ry = recorder();
    try {
      await x.subscribe(rx);
      await y.subscribe(ry);
      assert.deepEqual([rx.values(), ry.values()], [[0], [0]]);

      await otherX.set(1);
      await waitUntil(() => rx.values().includes(1), { what: "x = 1 written by the other hub" });
      assert.deepEqual(rx.values(), [0, 1]);

      // x's only subscriber leaves; y still holds the feed.
      await x.unsubscribe(rx);
      await otherX.set(2);
      await otherY.set(3);
      // The feed reports changes in the order they were made: once y = 3 arrived, x = 2 would have.
      await waitUntil(() => ry.values().includes(3), { what: "y = 3 after x lost its subscriber" });
      assert.deepEqual(ry.values(), [0, 3]);
      assert.deepEqual(rx.values(), [0, 1], "nothing for a subscriber that left");
    } finally {
      await hub.close();
      await other.close();
      await here.close();
      await there.close();
    }
  });
});
