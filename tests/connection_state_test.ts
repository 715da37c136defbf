/**
 * The client's connection state: `connecting`, `open`, `reconnecting` with
 * the next attempt's time and the last disconnect reason, `closed`; and the
 * `useConnection` of both bindings follows it.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hub } from "../src/server/hub.ts";
import { connect } from "../src/client/client.ts";
import type { ConnectionState } from "../src/client/state.ts";
import { serveHub } from "./helpers/serve_hub.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";
import { startFaultProxy } from "./helpers/fault_proxy.ts";
import { waitUntil } from "./helpers/wait.ts";

test("state: connecting, open, reconnecting with the next attempt and the reason, open, closed", async () => {
  const hub = new Hub();
  hub.function("echo", { handler: (args) => args });
  const { server } = await serveHub(hub);
  const proxy = await startFaultProxy({ target: server.port });
  const client = connect(proxy.url("/ws/socksync"), {
    WebSocket: await webSocketClass(),
    reconnect: { minDelay: 300, maxDelay: 300 },
  });
  const seen: ConnectionState[] = [];
  const stop = client.connection.subscribe((state) => seen.push(state));
  try {
    assert.equal(seen[0].status, "connecting");
    await client.ready();
    assert.equal(client.state.status, "open");
    const cutAt = Date.now();
    proxy.cutAll();
    const waiting = await waitUntil(() => seen.find((s) => s.nextAttempt !== undefined), {
      what: "a reconnecting state with the next attempt",
    });
    assert.equal(waiting.status, "reconnecting");
    assert.equal(waiting.lastDisconnect?.code, 1006);
    assert.ok(waiting.nextAttempt! >= cutAt && waiting.nextAttempt! <= Date.now() + 1_000);
    // A call made while offline waits for the connection.
    assert.equal(await client.call("echo", "queued"), "queued");
    assert.equal(client.state.status, "open");
    assert.equal(client.state.lastDisconnect?.code, 1006, "the last reason stays");
    client.close();
    assert.equal(client.state.status, "closed");
    assert.equal(seen.at(-1)!.status, "closed");
    const statuses = seen.map((s) => s.status).filter((s, i, all) => s !== all[i - 1]);
    assert.deepEqual(statuses, ["connecting", "open", "reconnecting", "open", "closed"]);
  } finally {
    stop();
    client.close();
    await proxy.close();
    await server.close();
    await hub.close();
  }
});
