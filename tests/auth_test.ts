/**
 * Auth over a real server on the running runtime: the app's Hono middleware
 * refuses upgrades (401/403) before any WebSocket exists and builds the
 * connection's context; the hub's `authorize` hook refuses subscribe, get,
 * set and call with error 1 without revealing names; the guard refuses
 * foreign origins (403) and upgrades past `maxConnections` (503); handler
 * failures reach `onError`, never the client.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import * as v from "valibot";
import { Hub, VarMirror } from "../mod.ts";
import type { Peer } from "../src/peer/mod.ts";
import { socksync } from "../src/serve/mount.ts";
import type { AccessRequest } from "../src/peer/peer.ts";
import { loadAdapter, serve } from "../src/serve/serve.ts";
import { RawSocket } from "./helpers/raw_socket.ts";
import { waitUntil } from "./helpers/wait.ts";
import { handshake } from "./helpers/serve_hub.ts";

interface User {
  name: string;
  role: "admin" | "guest";
}
type Env = { Variables: { user: User } };

const USERS = new Map<string, User>([
  ["t-alice", { name: "alice", role: "admin" }],
  ["t-bob", { name: "bob", role: "guest" }],
]);
const BANNED = "t-mallory";
const ORIGIN = "https://app.example";

/** The guest may see "public" and call "whoami"; the admin anything. */
function authorize(context: User, request: AccessRequest): boolean {
  if (context.role === "admin") return true;
  if (request.name === "explode") throw new Error("authorize bug");
  return request.name === "public" || request.name === "whoami";
}

interface Fixture {
  hub: Hub<User>;
  port: number;
  url(token: string): string;
  peers: Peer[];
  mirrors: Map<Peer, VarMirror<string>>;
  errors: { error: unknown; info: { peer?: Peer<unknown> } }[];
  clients: RawSocket[];
}

async function withApp(
  fn: (fx: Fixture) => Promise<void>,
  maxConnections = 100,
): Promise<void> {
  const errors: Fixture["errors"] = [];
  const hub = new Hub<User>({
    authorize,
    onError: (error, info) => errors.push({ error, info }),
    limits: { maxConnections },
  });
  hub.var("public", { schema: v.number(), initial: 1 });
  hub.var("secret", { schema: v.string(), initial: "s3cr3t" });
  hub.function("whoami", { handler: (_args, { context }) => context.name });
  hub.function("admin_only", { handler: () => "ok" });
  hub.function("leaky", {
    handler: () => {
      throw new Error("password=hunter2 at db.internal:5432");
    },
  });
  const app = new Hono<Env>();
  const adapter = await loadAdapter(app);
  // The application's own auth: a bearer token in the Authorization header,
  // or in `?token=` for browsers, which cannot set headers on a WebSocket.
  app.use("/ws/*", async (c, next) => {
    const header = c.req.header("authorization");
    const token = header?.startsWith("Bearer ")
      ? header.slice("Bearer ".length)
      : c.req.query("token");
    if (token === BANNED) return c.text("forbidden", 403);
    const user = token === undefined ? undefined : USERS.get(token);
    if (!user) return c.text("unauthorized", 401);
    c.set("user", user);
    await next();
  });
  const peers: Peer[] = [];
  const mirrors = new Map<Peer, VarMirror<string>>();
  app.get(
    "/ws/socksync",
    socksync(hub, {
      upgradeWebSocket: adapter.upgradeWebSocket,
      guard: { allowedOrigins: [ORIGIN] },
      context: (c) => c.get("user"),
      onConnect(peer) {
        peers.push(peer);
        peer.acceptCalls();
        // The server mirrors each client's "status" var (peers are symmetric).
        const status = new VarMirror<string>("status", v.string());
        mirrors.set(peer, status);
        peer.mirror(status);
      },
    }),
  );
  const listener = await adapter.listen({ port: 0, hostname: "127.0.0.1" });
  const clients: RawSocket[] = [];
  try {
    await fn({
      hub,
      port: listener.port,
      url: (token) => `ws://127.0.0.1:${listener.port}/ws/socksync?token=${token}`,
      peers,
      mirrors,
      errors,
      clients,
    });
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await listener.close();
    await hub.close();
  }
}

/** Opens a raw client and takes the frames the server sends on connect. */
async function open(fx: Fixture, token: string): Promise<RawSocket> {
  const client = await RawSocket.open(fx.url(token));
  fx.clients.push(client);
  // Three function subscriptions, then the subscribe of the status mirror.
  for (let i = 0; i < 4; i++) await client.next();
  return client;
}

/** Waits (bounded) until the hub has `count` peers. */
async function settle(hub: Hub<User>, count: number): Promise<void> {
  await waitUntil(() => hub.peers.size === count, { what: `${count} peers` });
}

describe("auth", () => {
  test("the app's middleware refuses upgrades with 401/403 before any WebSocket exists", async () => {
    await withApp(async (fx) => {
      const http = `http://127.0.0.1:${fx.port}/ws/socksync`;
      const none = await fetch(http);
      assert.equal(none.status, 401);
      await none.body?.cancel();
      const banned = await fetch(`${http}?token=${BANNED}`);
      assert.equal(banned.status, 403);
      await banned.body?.cancel();
      assert.equal(await handshake(fx.port, {}), 401);
      assert.equal(
        await handshake(fx.port, { authorization: "Bearer wrong" }),
        401,
      );
      assert.equal(fx.peers.length, 0);
      assert.equal(fx.hub.peers.size, 0);
      // The same handshake with a valid bearer token is upgraded.
      assert.equal(
        await handshake(fx.port, { authorization: "Bearer t-alice" }),
        101,
      );
      await assert.rejects(RawSocket.open(fx.url("nope")));
      await settle(fx.hub, 0);
    });
  });

  test("serve() runs its middleware before the upgrade and its result becomes the context", async () => {
    const hub = new Hub<User>();
    hub.function("whoami", { handler: (_args, { context }) => context.name });
    const server = await serve<User>({
      hub,
      port: 0,
      middleware: [async (c, next) => {
        const user = USERS.get(c.req.query("token") ?? "");
        if (!user) return c.text("unauthorized", 401);
        c.set("user", user);
        await next();
      }],
      context: (c) => c.get("user") as User,
    });
    const client = await RawSocket.open(`ws://127.0.0.1:${server.port}/ws/socksync?token=t-bob`);
    try {
      assert.equal(await handshake(server.port, {}), 401);
      assert.equal(await handshake(server.port, {}, "/ws/socksync?token=nope"), 401);
      assert.equal(hub.peers.size, 1);
      await client.next(); // the server accepts calls to whoami
      client.send({ func: "call", type: "function", name: "whoami", id: "w" });
      assert.equal((await client.next()).value, "bob");
    } finally {
      await client.close();
      await server.close();
      await hub.close();
    }
  });

  test("the middleware's result is the connection's context, in handlers and authorize", async () => {
    await withApp(async (fx) => {
      const alice = await open(fx, "t-alice");
      const bob = await open(fx, "t-bob");
      for (const [client, name] of [[alice, "alice"], [bob, "bob"]] as const) {
        client.send({ func: "call", type: "function", name: "whoami", id: "w" });
        assert.deepEqual(await client.next(), {
          func: "return",
          type: "function",
          name: "whoami",
          id: "w",
          value: name,
        });
      }
      assert.deepEqual(
        fx.peers.map((p) => (p.context as User).name).sort(),
        ["alice", "bob"],
      );
    });
  });

  test("a refused subscribe, get or call gets error 1, the same for a name that exists and one that does not", async () => {
    await withApp(async (fx) => {
      const bob = await open(fx, "t-bob");
      const replies: Record<string, unknown>[] = [];
      for (const name of ["secret", "no_such_thing"]) {
        for (
          const frame of [
            { func: "subscribe", type: "var", name },
            { func: "get", type: "var", name },
            { func: "subscribe", type: "list", name },
            { func: "call", type: "function", name, id: "c" },
          ]
        ) {
          bob.send(frame);
          const reply = await bob.next();
          assert.equal(reply.error_code, 1, JSON.stringify(reply));
          assert.equal(reply.message, "not subscribed");
          replies.push({ ...reply, name: "*" });
        }
      }
      assert.deepEqual(replies.slice(0, 4), replies.slice(4));
      // A call to a function that exists but is refused looks like any unknown one.
      bob.send({ func: "call", type: "function", name: "admin_only", id: "a" });
      assert.equal((await bob.next()).error_code, 1);
      // What the guest is allowed still works, and the admin gets everything.
      bob.send({ func: "subscribe", type: "var", name: "public" });
      assert.equal((await bob.next()).value, 1);
      const alice = await open(fx, "t-alice");
      alice.send({ func: "subscribe", type: "var", name: "secret" });
      assert.equal((await alice.next()).value, "s3cr3t");
      alice.send({ func: "call", type: "function", name: "admin_only", id: "a" });
      assert.equal((await alice.next()).value, "ok");
      // Without authorize a subscribe of an unknown name is 3; allowed, it still is.
      alice.send({ func: "subscribe", type: "var", name: "no_such_thing" });
      assert.equal((await alice.next()).error_code, 3);
    });
  });

  test("a refused set to a server mirror gets error 1 and changes nothing", async () => {
    await withApp(async (fx) => {
      const bob = await open(fx, "t-bob");
      const alice = await open(fx, "t-alice");
      const [bobPeer, alicePeer] = fx.peers;
      bob.send({ func: "set", type: "var", name: "status", value: "pwned" });
      const refused = await bob.next();
      assert.equal(refused.error_code, 1);
      assert.equal(refused.message, "not subscribed");
      assert.equal(fx.mirrors.get(bobPeer)!.value, undefined);
      alice.send({ func: "set", type: "var", name: "status", value: "busy" });
      // No reply to an accepted set: the next frame answers the next request.
      alice.send({ func: "call", type: "function", name: "whoami", id: "w" });
      assert.equal((await alice.next()).func, "return");
      assert.equal(fx.mirrors.get(alicePeer)!.value, "busy");
    });
  });

  test("an authorize hook that throws refuses, and the throw goes to onError", async () => {
    await withApp(async (fx) => {
      const bob = await open(fx, "t-bob");
      bob.send({ func: "subscribe", type: "var", name: "explode" });
      assert.equal((await bob.next()).error_code, 1);
      assert.equal(fx.errors.length, 1);
      assert.match(String(fx.errors[0].error), /authorize bug/);
    });
  });

  test("handler failures reach onError with details; the client sees only error 8 'internal error'", async () => {
    await withApp(async (fx) => {
      const alice = await open(fx, "t-alice");
      alice.send({ func: "call", type: "function", name: "leaky", id: "l" });
      const reply = await alice.next();
      assert.deepEqual(reply, {
        func: "error",
        error_code: 8,
        message: "internal error",
        type: "function",
        name: "leaky",
        id: "l",
      });
      assert.doesNotMatch(JSON.stringify(reply), /hunter2|db\.internal/);
      assert.equal(fx.errors.length, 1);
      assert.match(String(fx.errors[0].error), /hunter2/);
      assert.equal((fx.errors[0].info.peer?.context as User).name, "alice");
    });
  });

  test("the guard refuses a foreign Origin with 403; allowed and absent origins pass", async () => {
    await withApp(async (fx) => {
      const auth = { authorization: "Bearer t-alice" };
      assert.equal(
        await handshake(fx.port, { ...auth, origin: "https://evil.example" }),
        403,
      );
      assert.equal(await handshake(fx.port, { ...auth, origin: "null" }), 403);
      assert.equal(await handshake(fx.port, { ...auth, origin: ORIGIN }), 101);
      assert.equal(await handshake(fx.port, auth), 101);
      const evil = await fetch(
        `http://127.0.0.1:${fx.port}/ws/socksync?token=t-alice`,
        { headers: { origin: "https://evil.example" } },
      );
      assert.equal(evil.status, 403);
      await evil.body?.cancel();
      await settle(fx.hub, 0);
    });
  });

  test("the guard refuses upgrades past maxConnections with 503", async () => {
    await withApp(async (fx) => {
      await open(fx, "t-alice");
      await settle(fx.hub, 1);
      assert.equal(
        await handshake(fx.port, { authorization: "Bearer t-bob" }),
        503,
      );
      await fx.clients.pop()!.close();
      await settle(fx.hub, 0);
      await open(fx, "t-bob");
      await settle(fx.hub, 1);
    }, 1);
  });
});
