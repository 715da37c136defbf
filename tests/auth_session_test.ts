/**
 * Authentication over the socket, on the running runtime: the client's
 * `auth` option and the hub's `authenticate`; expiry closes with 4001, a
 * refresh ahead of it keeps every mirror; a new context re-checks live
 * subscriptions; `hub.revoke` closes within a second; credentials known
 * stale are never sent again; `auth` without `socketAuth` is refused before
 * any socket opens.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { connect, Hub, socketAuth } from "../mod.ts";
import type { AccessRequest } from "../src/peer/peer.ts";
import type { AuthOption } from "../src/client/auth.ts";
import { RawSocket, webSocketClass } from "./helpers/raw_socket.ts";
import { waitUntil } from "./helpers/wait.ts";
import { serveHub } from "./helpers/serve_hub.ts";

interface User {
  user: string;
  token: string;
}

/** Issues tokens; records every token the hub was asked about, in order. */
class Issuer {
  readonly tokens = new Map<string, { user: string; expiresAt: number }>();
  readonly asked: string[] = [];
  #n = 0;
  issue(user: string, ttl: number): string {
    const token = `t${++this.#n}-${user}`;
    this.tokens.set(token, { user, expiresAt: Date.now() + ttl });
    return token;
  }
}

/** Users may read `secret_<user>` only; `whoami` answers the context's user. */
function authorize(context: User | undefined, request: AccessRequest): boolean {
  if (request.name === "whoami" || request.name === "public") return true;
  return context !== undefined && request.name === `secret_${context.user}`;
}

async function withAuthHub(
  fn: (
    fx: { issuer: Issuer; hub: Hub<User | undefined>; url: string; upgrades: () => number },
  ) => Promise<void>,
): Promise<void> {
  const issuer = new Issuer();
  const hub = new Hub<User | undefined>({
    authorize,
    authenticate: (credentials) => {
      const token = String(credentials);
      issuer.asked.push(token);
      const found = issuer.tokens.get(token);
      if (!found) return undefined;
      return { context: { user: found.user, token }, expiresAt: found.expiresAt };
    },
    sessionKeys: (context) => context ? [`user:${context.user}`, `token:${context.token}`] : [],
  });
  for (const user of ["ada", "bob"]) {
    hub.var(`secret_${user}`, { schema: v.string(), initial: `${user}'s secret` });
  }
  hub.var("public", { schema: v.number(), initial: 0 });
  hub.function("whoami", { handler: (_args, { context }) => context?.user ?? null });
  let upgrades = 0;
  const { server, url } = await serveHub(hub, (peer) => {
    upgrades++;
    peer.acceptCalls();
  });
  try {
    await fn({ issuer, hub, url, upgrades: () => upgrades });
  } finally {
    await server.close();
    await hub.close();
  }
}

async function client(url: string, auth: AuthOption, extra: Record<string, unknown> = {}) {
  const WebSocket = await webSocketClass();
  const errors: string[] = [];
  const closes: { code: number; reason: string; at: number }[] = [];
  const c = connect(url, {
    WebSocket,
    auth,
    socketAuth,
    reconnect: { minDelay: 50, maxDelay: 200 },
    onError: (error) => errors.push(error.message),
    onDisconnect: (info) => closes.push({ ...info, at: Date.now() }),
    ...extra,
  });
  return { c, errors, closes };
}

describe("authentication over the socket", () => {
  test("a token authenticates the connection before any mirror subscribes", async () => {
    await withAuthHub(async ({ issuer, url }) => {
      const { c } = await client(url, issuer.issue("ada", 60_000));
      try {
        const secret = c.var<string>("secret_ada");
        await waitUntil(() => secret.value === "ada's secret", { what: "ada's secret" });
        assert.equal(secret.error, undefined);
        assert.equal(await c.call("whoami"), "ada");
        const other = c.var<string>("secret_bob");
        await waitUntil(() => other.error, { what: "bob's secret refused" });
        assert.equal(other.error!.code, 1);
        assert.equal(other.value, undefined);
      } finally {
        c.close();
      }
    });
  });

  test("the connection state reads open only once the connection has signed in", async () => {
    await withAuthHub(async ({ issuer, url }) => {
      const { c } = await client(url, issuer.issue("ada", 60_000));
      const askedWhenOpen: number[] = [];
      const stop = c.connection.subscribe(({ status }) => {
        if (status === "open") askedWhenOpen.push(issuer.asked.length);
      });
      try {
        await c.ready();
        await waitUntil(() => askedWhenOpen.length > 0, { what: "the open state" });
        assert.deepEqual(askedWhenOpen, [1], "open before the server was asked");
        assert.equal(c.connected, true);
        assert.equal(await c.call("whoami"), "ada");
      } finally {
        stop();
        c.close();
      }
    });
  });

  test("refused credentials: error 1 to the call, the connection keeps its identity", async () => {
    await withAuthHub(async ({ issuer, url }) => {
      const raw = await RawSocket.open(url);
      try {
        const announced = await raw.next((f) => f.name === "socksync:auth");
        assert.deepEqual(announced, { func: "subscribe", type: "function", name: "socksync:auth" });
        const refused = await raw.call("socksync:auth", "forged");
        assert.equal(refused.func, "error");
        assert.equal(refused.error_code, 1);
        assert.equal(refused.message, "authentication failed");
        const token = issuer.issue("bob", 60_000);
        const accepted = await raw.call("socksync:auth", token);
        assert.equal(accepted.func, "return");
        const expiresIn = (accepted.value as { expires_in: number }).expires_in;
        assert.ok(expiresIn > 50_000 && expiresIn <= 60_000, `expires_in ${expiresIn}`);
        // A later refusal does not take bob's identity away.
        assert.equal((await raw.call("socksync:auth", "forged-again")).error_code, 1);
        raw.send({ func: "subscribe", type: "var", name: "secret_bob" });
        const value = await raw.next((f) => f.name === "secret_bob");
        assert.equal(value.value, "bob's secret");
      } finally {
        await raw.close();
      }
    });
  });

  test("expiry without refresh closes with 4001, and the stale token is never sent again", async () => {
    await withAuthHub(async ({ issuer, url, upgrades }) => {
      const token = issuer.issue("ada", 600);
      const { c, closes, errors } = await client(url, token);
      try {
        await c.ready();
        const expiresAt = issuer.tokens.get(token)!.expiresAt;
        await waitUntil(() => closes.length > 0, { what: "the expiry close" });
        assert.equal(closes[0].code, 4001);
        assert.equal(closes[0].reason, "authentication expired");
        const late = closes[0].at - expiresAt;
        console.log(`expiry-to-close: ${late} ms`);
        assert.ok(late >= -5 && late < 1000, `closed ${late} ms after the expiry`);
        // A fixed token is stale now: the client reports it and opens no socket again.
        await waitUntil(() => errors.some((e) => e.includes("stale")), { what: "stale error" });
        await new Promise((resolve) => setTimeout(resolve, 500));
        assert.equal(upgrades(), 1);
        assert.deepEqual(issuer.asked, [token]);
        assert.equal(c.connected, false);
      } finally {
        c.close();
      }
    });
  });

  test("a function is asked again after 4001; a stale answer opens no socket", async () => {
    await withAuthHub(async ({ issuer, url, upgrades }) => {
      const first = issuer.issue("ada", 500);
      let answer = first;
      let asked = 0;
      const { c, closes } = await client(url, () => {
        asked++;
        return answer;
      });
      try {
        const secret = c.var<string>("secret_ada");
        await waitUntil(() => secret.value, { what: "the first connection" });
        // The refresh gets the same token: not sent again, so the connection expires.
        await waitUntil(() => closes.length > 0, { what: "the expiry close" });
        assert.equal(closes[0].code, 4001);
        const askedAtClose = asked;
        // Asked again on every attempt, but the stale token opens no socket.
        await waitUntil(() => asked >= askedAtClose + 2, { what: "auth asked again" });
        assert.equal(upgrades(), 1);
        assert.deepEqual(issuer.asked, [first]);
        answer = issuer.issue("ada", 60_000);
        await waitUntil(() => c.connected && secret.value === "ada's secret" && !secret.error, {
          what: "reconnected with the fresh token",
        });
        assert.equal(upgrades(), 2);
        assert.deepEqual(issuer.asked, [first, answer]);
      } finally {
        c.close();
      }
    });
  });

  test("a refresh ahead of the expiry keeps the connection and every mirror", async () => {
    await withAuthHub(async ({ issuer, hub, url }) => {
      let issued = 0;
      const { c, closes } = await client(url, () => {
        issued++;
        return issuer.issue("ada", 700);
      });
      try {
        const secret = c.var<string>("secret_ada");
        const pub = c.var<number>("public");
        await waitUntil(() => secret.value && pub.value === 0, { what: "mirrors" });
        // Three lifetimes pass: only refreshes keep the connection.
        await new Promise((resolve) => setTimeout(resolve, 2_200));
        assert.deepEqual(closes, []);
        assert.ok(issued >= 4, `auth asked ${issued} times`);
        (hub.vars.get("public")! as unknown as { set(n: number): Promise<void> }).set(7);
        await waitUntil(() => pub.value === 7, { what: "a change after the refreshes" });
        assert.equal(secret.error, undefined);
        assert.equal([...hub.peers].length, 1);
      } finally {
        c.close();
      }
    });
  });

  test("a new identity re-checks live subscriptions: those now refused end with error 1", async () => {
    await withAuthHub(async ({ issuer, url }) => {
      const raw = await RawSocket.open(url);
      try {
        await raw.next((f) => f.name === "socksync:auth");
        await raw.call("socksync:auth", issuer.issue("ada", 60_000));
        raw.send({ func: "subscribe", type: "var", name: "secret_ada" });
        raw.send({ func: "subscribe", type: "var", name: "public" });
        await raw.next((f) => f.name === "secret_ada" && f.func === "set");
        await raw.next((f) => f.name === "public" && f.func === "set");
        const back = await raw.call("socksync:auth", issuer.issue("bob", 60_000));
        assert.equal(back.func, "return");
        const ended = await raw.next((f) => f.func === "error" && f.name === "secret_ada");
        assert.deepEqual(ended, {
          func: "error",
          error_code: 1,
          message: "not subscribed",
          type: "var",
          name: "secret_ada",
        });
        // Ended on the server too: a get is refused, and public is still held.
        raw.send({ func: "get", type: "var", name: "secret_ada" });
        assert.equal((await raw.next((f) => f.name === "secret_ada")).error_code, 1);
        raw.send({ func: "get", type: "var", name: "public" });
        assert.equal((await raw.next((f) => f.name === "public")).value, 0);
      } finally {
        await raw.close();
      }
    });
  });

  test("auth without socketAuth: a TypeError, and no socket opens", async () => {
    await withAuthHub(async ({ issuer, url, upgrades }) => {
      const WebSocket = await webSocketClass();
      assert.throws(
        () => connect(url, { WebSocket, auth: issuer.issue("ada", 60_000) }),
        (error) => error instanceof TypeError && /socketAuth/.test(error.message),
      );
      // A client that opens proves the server would have seen the first one's upgrade by now.
      const { c } = await client(url, () => undefined);
      try {
        await c.ready();
        assert.equal(upgrades(), 1, "only the second client's socket opened");
      } finally {
        c.close();
      }
    });
  });

  test("hub.revoke closes every connection of a key with 4001 within a second", async () => {
    await withAuthHub(async ({ issuer, hub, url }) => {
      const ada = await client(url, issuer.issue("ada", 60_000));
      const ada2 = await client(url, issuer.issue("ada", 60_000));
      const bob = await client(url, issuer.issue("bob", 60_000));
      try {
        for (const { c } of [ada, ada2, bob]) await c.ready();
        const started = Date.now();
        assert.equal(hub.revoke("user:ada"), 2);
        await waitUntil(() => ada.closes.length > 0 && ada2.closes.length > 0, {
          what: "ada's connections closed",
        });
        const took = Math.max(ada.closes[0].at, ada2.closes[0].at) - started;
        console.log(`revocation (same instance): ${took} ms`);
        assert.ok(took < 1000, `took ${took} ms`);
        assert.equal(ada.closes[0].code, 4001);
        assert.equal(ada.closes[0].reason, "authentication revoked");
        assert.deepEqual(bob.closes, []);
        assert.equal(await bob.c.call("whoami"), "bob");
      } finally {
        for (const { c } of [ada, ada2, bob]) c.close();
      }
    });
  });
});
