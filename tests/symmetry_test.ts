/**
 * Peers are symmetric: a "client" provides a var and a function, and the
 * "server" subscribes to the var and calls the function.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { ErrorCode, Hub, type SockSyncError, VarMirror } from "../mod.ts";
import { Peer } from "../src/peer/mod.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";
import { serveHub } from "./helpers/serve_hub.ts";

function until(mirror: VarMirror<string>, value: string): Promise<void> {
  return new Promise((resolve) => {
    if (mirror.value === value) return resolve();
    const stop = mirror.onChange(() => {
      if (mirror.value === value) {
        stop();
        resolve();
      }
    });
  });
}

test("the server subscribes to a client's var and calls a client's function", async () => {
  const serverHub = new Hub();
  const mood = new VarMirror<string>("mood", v.string());
  let serverPeer: Peer | undefined;
  let answer: Promise<unknown> | undefined;
  let refused: Promise<unknown> | undefined;
  const { server, url } = await serveHub(serverHub, (peer) => {
    serverPeer = peer;
    peer.mirror(mood);
    // Called before the client accepted calls: the call waits for its subscribe.
    answer = peer.call("ping", { n: 41 }, { timeout: 5000 });
    refused = peer.call("not_offered", {}, { timeout: 300 });
  });
  const clientHub = new Hub();
  const clientMood = clientHub.var("mood", {
    schema: v.string(),
    initial: "happy",
  });
  clientHub.function("ping", {
    args: v.object({ n: v.number() }),
    handler: ({ n }, { context }) => ({ pong: n + 1, context }),
  });
  const WS = await webSocketClass();
  const socket = new WS(url);
  const client = clientHub.connect(socket, { context: "client-side" });
  socket.addEventListener(
    "message",
    (event) => client.receive((event as MessageEvent).data),
  );
  const closed = new Promise((resolve) => socket.addEventListener("close", resolve));
  try {
    await new Promise((resolve) => socket.addEventListener("open", resolve));
    client.acceptCalls("ping");
    assert.deepEqual(await answer, { pong: 42, context: "client-side" });
    await assert.rejects(
      refused!,
      (error: SockSyncError) => error.code === ErrorCode.Other,
    );
    await until(mood, "happy");
    await clientMood.set("sad");
    await until(mood, "sad");
    assert.equal(mood.value, "sad");
    assert.ok(serverPeer && !serverPeer.detached);
  } finally {
    socket.close();
    await closed;
    client.detach();
    await server.close();
    await serverHub.close();
  }
});

test("a pending call rejects when the connection closes", async () => {
  const hub = new Hub();
  hub.function("never", { handler: () => new Promise(() => {}) });
  hub.function("ready", { handler: () => true });
  const { server, url } = await serveHub(hub);
  const WS = await webSocketClass();
  const socket = new WS(url);
  const peer = new Peer({ socket });
  socket.addEventListener(
    "message",
    (event) => peer.receive((event as MessageEvent).data),
  );
  socket.addEventListener("close", () => peer.detach());
  try {
    await new Promise((resolve) => socket.addEventListener("open", resolve));
    // Once "ready" returned, "never" was accepted too, so the call below is really sent.
    assert.equal(await peer.call("ready"), true);
    const pending = peer.call("never", undefined, { timeout: 10_000 });
    assert.ok(peer.canCall("never"));
    socket.close();
    await assert.rejects(
      pending,
      (error: SockSyncError) => error.code === ErrorCode.Other && /closed/.test(error.message),
    );
  } finally {
    await server.close();
    await hub.close();
  }
});
