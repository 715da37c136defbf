/**
 * `Infinity` turns every limit off, and `0` the two timers (`callTimeout`,
 * `idleTimeout`), as the docs say; `drainPollInterval` is no limit and must
 * be a finite number above 0.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as v from "valibot";
import { DEFAULT_LIMITS, Hub, type Limits } from "../mod.ts";
import { Peer } from "../src/peer/mod.ts";
import { connect } from "../src/client/client.ts";
import { RawSocket, webSocketClass } from "./helpers/raw_socket.ts";
import { serveHub } from "./helpers/serve_hub.ts";
import { scriptCommand } from "./helpers/spawn_server.ts";
import { ROOT } from "./helpers/spawn_server.ts";
import { waitUntil } from "./helpers/wait.ts";

/** A hub whose "slow" function answers after 100 ms, longer than a 1 ms timer. */
function slowHub(limits: Partial<Limits> = {}): Hub {
  const hub = new Hub({ limits });
  hub.function("slow", {
    handler: () => new Promise((resolve) => setTimeout(() => resolve("done"), 100)),
  });
  return hub;
}

for (const off of [Infinity, 0, 2 ** 32]) {
  test(`callTimeout ${off}: a client's calls wait for their answer`, async () => {
    const hub = slowHub();
    const { server, url } = await serveHub(hub);
    const WebSocket = await webSocketClass();
    const client = connect(url, { WebSocket, reconnect: false, limits: { callTimeout: off } });
    try {
      assert.equal(await client.call("slow"), "done");
      assert.equal(await client.call("slow", undefined, { timeout: off }), "done");
    } finally {
      client.close();
      await server.close();
      await hub.close();
    }
  });
}

test("callTimeout Infinity on a hub: the calls it makes wait for their answer", async () => {
  const hub = new Hub({ limits: { callTimeout: Infinity } });
  let answer: Promise<unknown> | undefined;
  const { server, url } = await serveHub(hub, {
    onConnect: (peer) => answer = peer.call("slow"),
  });
  const WebSocket = await webSocketClass();
  const client = connect(url, { WebSocket, reconnect: false, hub: slowHub() });
  try {
    await waitUntil(() => answer, { what: "the hub's call" });
    assert.equal(await answer, "done");
  } finally {
    client.close();
    await server.close();
    await hub.close();
  }
});

test("idleTimeout 0 or Infinity and callTimeout 0 or Infinity leave no timer running", async () => {
  const [command, ...args] = scriptCommand("tests/helpers/timers_off_child.ts");
  const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  child.stdout!.on("data", (chunk) => output += String(chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  // A spinning 1 ms timer would keep the child alive for ever.
  const timer = setTimeout(() => child.kill(), 20_000);
  try {
    const code = await exited;
    assert.equal(output.trim(), "started", "no call rejected");
    assert.equal(code, 0, "the child exited by itself");
  } finally {
    clearTimeout(timer);
    child.kill();
  }
});

test("Infinity turns every other limit off", async () => {
  const limits: Partial<Limits> = {};
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
    if (key !== "drainPollInterval") limits[key] = Infinity;
  }
  const hub = new Hub({ limits });
  hub.var("counter", { schema: v.number(), initial: 1 });
  hub.function("echo", { handler: (args) => args });
  const { server, url } = await serveHub(hub);
  const raw = await RawSocket.open(url);
  try {
    await raw.next((f) => f.func === "subscribe" && f.name === "echo");
    // Past every default: depth, frame size, rate, burst and strikes.
    let deep: unknown = 1;
    for (let i = 0; i < DEFAULT_LIMITS.maxDepth * 2; i++) deep = [deep];
    assert.deepEqual((await raw.call("echo", deep, "deep")).value, deep);
    const big = "x".repeat(DEFAULT_LIMITS.maxFrameBytes + 1);
    assert.equal((await raw.call("echo", big, "big")).value, big);
    const count = DEFAULT_LIMITS.messageBurst + 100;
    for (let i = 0; i < count; i++) {
      raw.send({ func: "call", type: "function", name: "echo", id: `n${i}`, args: i });
    }
    for (let i = 0; i < count; i++) {
      assert.equal((await raw.next((f) => f.id === `n${i}`)).func, "return");
    }
    raw.send({ func: "subscribe", type: "var", name: "counter" });
    assert.equal((await raw.next((f) => f.func === "set")).value, 1);
    const peer = [...hub.peers][0];
    assert.equal(peer.limits.idleTimeout, Infinity);
  } finally {
    await raw.close();
    await server.close();
    await hub.close();
  }
});

test("drainPollInterval must be a finite number above 0", () => {
  for (const bad of [0, Infinity]) {
    assert.throws(() => new Hub({ limits: { drainPollInterval: bad } }), RangeError);
    const socket = { send() {}, close() {}, readyState: 1 };
    assert.throws(() => new Peer({ socket, limits: { drainPollInterval: bad } }), RangeError);
  }
  assert.equal(new Hub({ limits: { drainPollInterval: 5 } }).limits.drainPollInterval, 5);
});
