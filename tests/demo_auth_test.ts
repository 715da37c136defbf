/**
 * The demo's sign-in contract on the demo server of every runtime:
 * `POST /login` and `POST /logout`, the session cookie and the bearer token,
 * `my_notes`, `add_note` and `delete_note` (error 1 signed out, error 4 for
 * another user's note as for an unknown one), expiry and sign-out closing
 * with 4001; and sign-out reaching another instance through Redis and
 * PostgreSQL within 2 s.
 */
import { after, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { type Frame, RawSocket } from "./helpers/raw_socket.ts";
import { type ServerRuntime, type SpawnedServer, spawnServer } from "./helpers/spawn_server.ts";
import { freePort } from "./helpers/free_port.ts";
import { startRedis, stopProcess } from "./helpers/stores.ts";
import { postgresHarness, tempDatabase } from "./helpers/postgres.ts";

const RUNTIMES: ServerRuntime[] = ["node", "deno", "bun"];

async function login(server: SpawnedServer, body: unknown) {
  const response = await fetch(`${server.url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const cookie = response.headers.get("set-cookie") ?? "";
  return { status: response.status, json: await response.json(), cookie };
}

/** A raw socket past the function subscriptions the demo announces on connect. */
async function open(server: SpawnedServer, headers?: Record<string, string>): Promise<RawSocket> {
  const socket = await RawSocket.open(server.wsUrl, headers);
  // The probe's answer comes after every function subscription.
  socket.send({ func: "get", type: "var", name: "socksync:probe" });
  await socket.next((f) => f.func === "error" && f.name === "socksync:probe");
  const offered: string[] = [];
  for (;;) {
    const at = await socket.next((f) => f.func === "subscribe", 50).catch(() => undefined);
    if (!at) break;
    offered.push(String(at.name));
  }
  assert.ok(offered.includes("socksync:auth"), `offered ${offered}`);
  return socket;
}

async function signIn(server: SpawnedServer, name: string, ttl?: number) {
  const { json } = await login(server, ttl === undefined ? { name } : { name, ttl });
  const socket = await open(server);
  const answer = await socket.call("socksync:auth", json.token);
  assert.equal(answer.func, "return", JSON.stringify(answer));
  return { socket, token: json.token as string, expiresAt: json.expiresAt as number };
}

const refusal = (frame: Frame) => ({ ...frame, id: undefined });

async function contract(t: TestContext, server: SpawnedServer): Promise<void> {
  await t.test("POST /login validates and sets an HttpOnly, SameSite=Lax session cookie", async () => {
    for (const bad of [{}, { name: "" }, { name: "x".repeat(33) }, { name: "a", ttl: -1 }]) {
      assert.equal((await login(server, bad)).status, 400, JSON.stringify(bad));
    }
    const before = Date.now();
    const { status, json, cookie } = await login(server, { name: "ada", ttl: 120 });
    assert.equal(status, 200);
    assert.equal(typeof json.token, "string");
    assert.ok(json.expiresAt >= before + 119_000 && json.expiresAt <= Date.now() + 120_000);
    assert.match(cookie, /^socksync_session=[^;]+;/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.match(cookie, /Max-Age=120/);
    assert.equal(cookie.split(";")[0], `socksync_session=${json.token}`);
    const fallback = await login(server, { name: "bob" });
    assert.ok(Math.abs(fallback.json.expiresAt - Date.now() - 3_600_000) < 5_000);
  });

  await t.test("signed out: my_notes, add_note and delete_note are error 1", async () => {
    const socket = await open(server);
    try {
      socket.send({ func: "subscribe", type: "list", name: "my_notes" });
      const sub = await socket.next((f) => f.name === "my_notes");
      assert.equal(sub.error_code, 1);
      assert.equal((await socket.call("add_note", { text: "x" })).error_code, 1);
      assert.equal((await socket.call("delete_note", { id: "x" })).error_code, 1);
      // A forged token changes nothing.
      assert.equal((await socket.call("socksync:auth", "forged.token")).error_code, 1);
      assert.equal((await socket.call("add_note", { text: "x" })).error_code, 1);
    } finally {
      await socket.close();
    }
  });

  await t.test("notes: own notes only, newest first; another user's id is error 4 like an unknown one", async () => {
    const ada = await signIn(server, "ada");
    const bob = await signIn(server, "bob");
    try {
      ada.socket.send({ func: "subscribe", type: "list", name: "my_notes", page_size: 50 });
      const empty = await ada.socket.next((f) => f.name === "my_notes" && f.func === "set_all");
      assert.deepEqual(empty.items, []);
      const first = await ada.socket.call("add_note", { text: "first" });
      const second = await ada.socket.call("add_note", { text: "second" });
      const id = (second.value as { id: string }).id;
      assert.equal(typeof id, "string");
      const page = await ada.socket.call("echo", null).then(() =>
        ada.socket.send({ func: "get", type: "list", name: "my_notes", page: 0, page_size: 50 })
      ).then(() => ada.socket.next((f) => f.name === "my_notes" && f.func === "set_all"));
      const texts = (page.items as { value: { text: string; created_at: number } }[])
        .map((item) => item.value.text);
      assert.deepEqual(texts, ["second", "first"]);
      assert.equal(
        typeof (page.items as { value: { created_at: number } }[])[0].value.created_at,
        "number",
      );
      const theft = await bob.socket.call("delete_note", { id }, "same");
      const unknown = await bob.socket.call("delete_note", { id: "no-such-note" }, "same");
      assert.equal(theft.error_code, 4);
      assert.deepEqual(refusal(theft), refusal(unknown));
      bob.socket.send({ func: "subscribe", type: "list", name: "my_notes" });
      const bobs = await bob.socket.next((f) => f.name === "my_notes" && f.func === "set_all");
      assert.deepEqual(bobs.items, []);
      assert.equal((await bob.socket.call("add_note", { text: "b", owner: "ada" })).error_code, 6);
      assert.equal((await ada.socket.call("delete_note", { id })).func, "return");
      assert.ok(first.func === "return");
    } finally {
      await ada.socket.close();
      await bob.socket.close();
    }
  });

  await t.test("POST /logout closes the session's connections (cookie and token) with 4001", async () => {
    const { json } = await login(server, { name: "carol" });
    const viaCookie = await open(server, { cookie: `socksync_session=${json.token}` });
    const viaToken = await open(server);
    await viaToken.call("socksync:auth", json.token);
    viaCookie.send({ func: "subscribe", type: "list", name: "my_notes" });
    const page = await viaCookie.next((f) => f.name === "my_notes");
    assert.equal(page.func, "set_all", "the cookie signs the connection in");
    const started = Date.now();
    const out = await fetch(`${server.url}/logout`, {
      method: "POST",
      headers: { cookie: `socksync_session=${json.token}` },
    });
    assert.equal(out.status, 200);
    assert.match(out.headers.get("set-cookie") ?? "", /socksync_session=;.*Max-Age=0/);
    await out.body?.cancel();
    const closes = await Promise.all([viaCookie.closed, viaToken.closed]);
    const took = Date.now() - started;
    console.log(`${server.url}: sign-out to close ${took} ms`);
    assert.ok(took < 1000, `took ${took} ms`);
    for (const close of closes) {
      assert.deepEqual(close, { code: 4001, reason: "authentication revoked" });
    }
    // The token is dead: refused over a socket and at the upgrade.
    const again = await open(server);
    assert.equal((await again.call("socksync:auth", json.token)).error_code, 1);
    await again.close();
    const cookieAgain = await open(server, { cookie: `socksync_session=${json.token}` });
    assert.equal((await cookieAgain.call("add_note", { text: "x" })).error_code, 1);
    await cookieAgain.close();
  });

  await t.test("a session that expires closes its connection with 4001", async () => {
    const { socket, expiresAt } = await signIn(server, "dave", 1);
    const closed = await socket.closed;
    const late = Date.now() - expiresAt;
    console.log(`${server.url}: expiry to close ${late} ms`);
    assert.deepEqual(closed, { code: 4001, reason: "authentication expired" });
    assert.ok(late > -50 && late < 1000, `closed ${late} ms after the expiry`);
  });
}

describe("demo sign-in contract", () => {
  for (const runtime of RUNTIMES) {
    test(`on ${runtime}`, { timeout: 60_000 }, async (t) => {
      const server = await spawnServer({ runtime });
      try {
        await contract(t, server);
      } finally {
        await server.stop();
      }
    });
  }
});

/**
 * Two instances on one store: a user's notes are the same on both (added on
 * one, listed and deleted on the other; another user's delete still error 4);
 * a sign-out on the first closes the session on the second, and an instance
 * started after it refuses the token too.
 */
async function acrossInstances(store: string): Promise<void> {
  const env = { SOCKSYNC_STORE: store, SOCKSYNC_SECRET: `secret-${Math.random()}` };
  const a = await spawnServer({ runtime: "deno", env });
  const b = await spawnServer({ runtime: "bun", env });
  try {
    const { json } = await login(a, { name: "erin" });
    const onB = await open(b);
    assert.equal((await onB.call("socksync:auth", json.token)).func, "return");

    // The notes live in the shared store: added on one instance, they are the user's on the other.
    const onA = await open(a);
    assert.equal((await onA.call("socksync:auth", json.token)).func, "return");
    const added = await onA.call("add_note", { text: `on a ${Math.random()}` });
    assert.equal(added.func, "return", JSON.stringify(added));
    const id = (added.value as { id: string }).id;
    onB.send({ func: "subscribe", type: "list", name: "my_notes" });
    const shown = await onB.next((f) => f.name === "my_notes" && f.func === "set_all");
    assert.deepEqual((shown.items as { id: string }[]).map((item) => item.id), [id]);
    const other = (await login(b, { name: "frank" })).json.token;
    const frank = await open(b);
    assert.equal((await frank.call("socksync:auth", other)).func, "return");
    assert.equal((await frank.call("delete_note", { id })).error_code, 4);
    await frank.close();
    const removed = await onB.call("delete_note", { id });
    assert.equal(removed.func, "return", JSON.stringify(removed));
    onA.send({ func: "subscribe", type: "list", name: "my_notes" });
    const left = await onA.next((f) => f.name === "my_notes" && f.func === "set_all");
    assert.deepEqual(left.items, []);

    const started = Date.now();
    const out = await fetch(`${a.url}/logout`, {
      method: "POST",
      headers: { authorization: `Bearer ${json.token}` },
    });
    await out.body?.cancel();
    const closed = await onB.closed;
    const took = Date.now() - started;
    console.log(`${store.split(":")[0]}: sign-out on one instance to close on another ${took} ms`);
    assert.deepEqual(closed, { code: 4001, reason: "authentication revoked" });
    assert.ok(took < 2000, `took ${took} ms`);
    // The other instance refuses the token from now on.
    const again = await open(b);
    assert.equal((await again.call("socksync:auth", json.token)).error_code, 1);
    await again.close();
    // So does an instance started after the sign-out: it reads the sign-outs from the store.
    const c = await spawnServer({ runtime: "node", env });
    try {
      const late = await open(c);
      assert.equal((await late.call("socksync:auth", json.token)).error_code, 1);
      const fresh = (await login(c, { name: "erin" })).json.token;
      assert.equal((await late.call("socksync:auth", fresh)).func, "return");
      await late.close();
    } finally {
      await c.stop();
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

const noRedis = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status !== 0;
test("sign-out reaches another instance through Redis", {
  skip: noRedis && "no redis-server binary",
  timeout: 60_000,
}, async () => {
  const port = await freePort();
  const redis = await startRedis(port);
  try {
    await acrossInstances(`redis://127.0.0.1:${port}`);
  } finally {
    await stopProcess(redis);
  }
});

const pg = await postgresHarness();
after(() => pg.cleanup());
test("sign-out reaches another instance through PostgreSQL", {
  skip: pg.skip,
  timeout: 60_000,
}, async () => {
  const db = await tempDatabase(pg.admin!);
  try {
    await acrossInstances(db.url);
  } finally {
    await db.drop();
  }
});
