/**
 * Heartbeats on a bad network: connections a proxy stalls (half-open: open
 * at both ends, nothing forwarded) are noticed by the client within 10 s and
 * by the server within 15 s with the default limits; the clients reconnect
 * and converge, the server frees the stalled connections, and the others
 * stay connected throughout. Runs against a server on the test's runtime.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CLIENT_LIMITS, DEFAULT_LIMITS } from "../src/peer/limits.ts";
import { withFleet } from "./helpers/flaky_fleet.ts";
import { waitUntil } from "./helpers/wait.ts";

const CLIENTS = 9;
// Timers fire a little late on a loaded machine: the bounds allow for it, no more.
const SLACK = 1_500;

test("stalled connections: the client notices within 10 s, the server within 15 s", {
  timeout: 60_000,
}, async (t) => {
  assert.equal(CLIENT_LIMITS.idleTimeout, 10_000);
  assert.equal(DEFAULT_LIMITS.idleTimeout, 15_000);
  await withFleet({ clients: CLIENTS, proxy: { latency: [20, 80] } }, async (fleet) => {
    const { proxy, clients } = fleet;
    const before = new Set(fleet.peers());
    assert.equal(before.size, CLIENTS);
    // A third of the connections go half-open.
    const stalled = proxy.open.filter((_, i) => i % 3 === 0);
    const stalledAt = Date.now();
    for (const connection of stalled) connection.stall();
    // Writes the stalled clients miss: they must catch up after reconnecting.
    const writer = clients[1].client;
    for (let i = 0; i < 5; i++) await writer.call("increment", { by: 1 });
    await writer.call("add_todo", { text: "while stalled" });

    const gone = () => clients.filter((c) => c.drops.length > 0);
    await waitUntil(() => gone().length === stalled.length, {
      what: "every stalled client to notice",
      timeout: CLIENT_LIMITS.idleTimeout + SLACK,
    });
    const clientTimes = gone().map((c) => c.drops[0].at - stalledAt);
    for (const c of gone()) {
      assert.equal(c.drops[0].code, 4000);
      assert.match(c.drops[0].reason, /no heartbeat: nothing heard from the server for 10000 ms/);
    }
    await fleet.converge("every mirror, the stalled clients reconnected");
    const detached = () => [...before].filter((peer) => peer.detached).length;
    await waitUntil(() => detached() === stalled.length, {
      what: "the server to free the stalled connections",
      timeout: DEFAULT_LIMITS.idleTimeout + SLACK - (Date.now() - stalledAt),
    });
    const serverTime = Date.now() - stalledAt;
    assert.equal(fleet.peers().size, CLIENTS, "one connection per client on the server");
    // Nobody else dropped.
    assert.equal(gone().length, stalled.length);
    t.diagnostic(
      `client detection ${Math.min(...clientTimes)}–${Math.max(...clientTimes)} ms, ` +
        `server freed all ${stalled.length} by ${serverTime} ms`,
    );
  });
});
