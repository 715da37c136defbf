/**
 * Same origin by default: a browser upgrade (one with an `Origin` header) is
 * accepted only from the origin the request was sent to, unless
 * `allowedOrigins` lists it; anything else gets HTTP 403 before any
 * WebSocket exists. Over real sockets on the running runtime (the suite runs
 * under Node, Deno and Bun), through `serve()` and through the `socksync()`
 * mount helper.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import { Hub } from "../mod.ts";
import { type GuardOptions, originAllowed } from "../src/serve/upgrade_guard.ts";
import { socksync } from "../src/serve/mount.ts";
import { loadAdapter, serve } from "../src/serve/serve.ts";
import { TcpWebSocket } from "./helpers/tcp_websocket.ts";
import { type Answer, answer, UPGRADE } from "./helpers/raw_http.ts";
import { ConfigError, parseConfig } from "../demo/config.ts";

/** The HTTP status of an upgrade with these headers (101: a WebSocket opened). */
async function status(port: number, headers: Record<string, string>): Promise<number> {
  const { status, client } = await TcpWebSocket.handshake(port, headers);
  await client?.close();
  return status;
}

async function withServe(guard: GuardOptions | undefined, fn: (port: number) => Promise<void>) {
  const hub = new Hub();
  const server = await serve({ hub, port: 0, hostname: "127.0.0.1", guard });
  try {
    await fn(server.port);
  } finally {
    await server.close();
    await hub.close();
  }
}

describe("origin check in serve()", () => {
  test("default: foreign origin 403, same origin and no origin upgrade", async () => {
    await withServe(undefined, async (port) => {
      assert.equal(await status(port, { origin: "https://evil.example" }), 403);
      assert.equal(await status(port, { origin: `http://localhost:${port}` }), 403);
      assert.equal(await status(port, { origin: `https://127.0.0.1:${port}` }), 403);
      assert.equal(await status(port, { origin: "null" }), 403);
      assert.equal(await status(port, { origin: `http://127.0.0.1:${port}` }), 101);
      assert.equal(await status(port, {}), 101);
    });
  });

  test("listed and wildcard origins upgrade; others still get 403", async () => {
    const guard = { allowedOrigins: ["http://localhost:5173", "https://*.example.com"] };
    await withServe(guard, async (port) => {
      assert.equal(await status(port, { origin: "http://localhost:5173" }), 101);
      assert.equal(await status(port, { origin: "https://app.example.com" }), 101);
      assert.equal(await status(port, { origin: "https://a.b.example.com" }), 101);
      assert.equal(await status(port, { origin: `http://127.0.0.1:${port}` }), 101);
      assert.equal(await status(port, { origin: "https://example.com" }), 403);
      assert.equal(await status(port, { origin: "https://evilexample.com" }), 403);
      assert.equal(await status(port, { origin: "http://app.example.com" }), 403);
      assert.equal(await status(port, { origin: "https://app.example.com:8443" }), 403);
      assert.equal(await status(port, { origin: "http://localhost:5174" }), 403);
    });
  });

  test('allowedOrigins: "*" opts out: every origin upgrades', async () => {
    await withServe({ allowedOrigins: "*" }, async (port) => {
      assert.equal(await status(port, { origin: "https://evil.example" }), 101);
      assert.equal(await status(port, {}), 101);
    });
  });

  test("behind a proxy: the forwarded host and scheme are the server's own origin", async () => {
    await withServe(undefined, async (port) => {
      const proxied = { host: `127.0.0.1:${port}`, "x-forwarded-host": "app.example.org" };
      const https = { ...proxied, "x-forwarded-proto": "https" };
      assert.equal(await status(port, { ...https, origin: "https://app.example.org" }), 101);
      assert.equal(await status(port, { ...https, origin: "http://app.example.org" }), 403);
      assert.equal(await status(port, { ...proxied, origin: "http://app.example.org" }), 101);
      assert.equal(await status(port, { ...https, origin: `http://127.0.0.1:${port}` }), 403);
      const forwarded = { forwarded: 'for=10.0.0.1;proto=https;host="app.example.org"' };
      assert.equal(await status(port, { ...forwarded, origin: "https://app.example.org" }), 101);
      assert.equal(await status(port, { ...forwarded, origin: "https://evil.example" }), 403);
      // A proxy that passes the Host header on needs no forwarded header for the host.
      const host = { host: "app.example.org", "x-forwarded-proto": "https" };
      assert.equal(await status(port, { ...host, origin: "https://app.example.org" }), 101);
    });
  });
});

describe("origin check in the socksync() mount helper", () => {
  test("same origin by default, allowedOrigins and the opt-out work the same", async () => {
    const hub = new Hub();
    const app = new Hono();
    const adapter = await loadAdapter(app);
    const { upgradeWebSocket } = adapter;
    app.get("/ws/socksync", socksync(hub, { upgradeWebSocket }));
    app.get(
      "/ws/listed",
      socksync(hub, { upgradeWebSocket, guard: { allowedOrigins: ["https://*.example.com"] } }),
    );
    app.get("/ws/any", socksync(hub, { upgradeWebSocket, guard: { allowedOrigins: "*" } }));
    const listener = await adapter.listen({ port: 0, hostname: "127.0.0.1" });
    const port = listener.port;
    const at = async (path: string, headers: Record<string, string>) => {
      const { status, client } = await TcpWebSocket.handshake(port, headers, path);
      await client?.close();
      return status;
    };
    try {
      assert.equal(await at("/ws/socksync", { origin: "https://evil.example" }), 403);
      assert.equal(await at("/ws/socksync", { origin: `http://127.0.0.1:${port}` }), 101);
      assert.equal(await at("/ws/socksync", {}), 101);
      assert.equal(await at("/ws/listed", { origin: "https://app.example.com" }), 101);
      assert.equal(await at("/ws/listed", { origin: "https://evil.example" }), 403);
      assert.equal(await at("/ws/any", { origin: "https://evil.example" }), 101);
    } finally {
      await listener.close();
      await hub.close();
    }
  });
});

/** The HTTP answer to an upgrade request from `origin` (the server closes after a refusal). */
function rawAnswer(port: number, origin: string): Promise<Answer> {
  return answer(port, "/ws/socksync", [...UPGRADE, `Origin: ${origin}`]);
}

describe("a refused origin", () => {
  test("gets 403 with its body, and is logged once naming allowedOrigins", async () => {
    const logged: string[] = [];
    await withServe({ logRefused: (message) => logged.push(message) }, async (port) => {
      for (let i = 0; i < 3; i++) {
        const refused = await rawAnswer(port, "http://localhost:5173");
        assert.equal(refused.status, 403);
        assert.equal(refused.body, "origin not allowed");
      }
      await rawAnswer(port, "https://other.example");
    });
    assert.deepEqual(logged, [
      "socksync: refused a WebSocket upgrade from origin http://localhost:5173 (403 origin not " +
      "allowed): not this server's own origin. To allow it, list it in the guard's " +
      'allowedOrigins, e.g. serve({ guard: { allowedOrigins: ["http://localhost:5173"] } }) ' +
      "(further refusals of this origin are not logged)",
      "socksync: refused a WebSocket upgrade from origin https://other.example (403 origin not " +
      "allowed): not this server's own origin. To allow it, list it in the guard's " +
      'allowedOrigins, e.g. serve({ guard: { allowedOrigins: ["https://other.example"] } }) ' +
      "(further refusals of this origin are not logged)",
    ]);
  });

  test("the demo takes allowed origins from SOCKSYNC_ALLOWED_ORIGINS", async () => {
    const config = parseConfig({
      SOCKSYNC_ALLOWED_ORIGINS: "http://localhost:5173, https://*.example.com",
    });
    assert.deepEqual(config.allowedOrigins, ["http://localhost:5173", "https://*.example.com"]);
    assert.equal(parseConfig({}).allowedOrigins, undefined);
    assert.throws(() => parseConfig({ SOCKSYNC_ALLOWED_ORIGINS: "localhost:5173" }), ConfigError);
    await withServe({ allowedOrigins: config.allowedOrigins }, async (port) => {
      assert.equal(await status(port, { origin: "http://localhost:5173" }), 101);
      assert.equal(await status(port, { origin: "http://localhost:5174" }), 403);
    });
  });
});

describe("originAllowed", () => {
  const request = (origin: string | undefined, url = "http://app.example:8080/ws") =>
    new Request(url, { headers: origin === undefined ? {} : { origin } });

  test("compares scheme, host and port, ignoring case and default ports", () => {
    assert.equal(originAllowed({}, request("http://APP.example:8080")), true);
    assert.equal(originAllowed({}, request("http://app.example")), false);
    assert.equal(originAllowed({}, request("https://app.example", "https://app.example/ws")), true);
    assert.equal(
      originAllowed({}, request("https://app.example:443", "https://app.example/ws")),
      true,
    );
    assert.equal(originAllowed({}, request("not an origin")), false);
  });

  test("requireOrigin refuses a request without Origin; a predicate decides the rest", () => {
    assert.equal(originAllowed({}, request(undefined)), true);
    assert.equal(originAllowed({ requireOrigin: true }, request(undefined)), false);
    const predicate = { allowedOrigins: (origin: string) => origin.endsWith(".test") };
    assert.equal(originAllowed(predicate, request("https://a.test")), true);
    assert.equal(originAllowed(predicate, request("https://a.example")), false);
    assert.equal(originAllowed(predicate, request("http://app.example:8080")), true);
  });
});
