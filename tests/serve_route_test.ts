/**
 * `serve()`'s WebSocket route answers the same with and without middleware.
 * Without middleware or `context`, an adapter may take the route's upgrades
 * itself, before Hono's router (Bun's does, for memory): the same requests
 * must get the same answers as through the Hono route (a no-op middleware
 * keeps `serve()` on it), refusals included. Over raw sockets on the running
 * runtime (the suite runs under Node, Deno and Bun).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import { Hub } from "../mod.ts";
import { serve, type ServeOptions, type Server } from "../src/serve/serve.ts";
import { TcpWebSocket } from "./helpers/tcp_websocket.ts";
import { waitUntil } from "./helpers/wait.ts";
import { type Answer, answer, UPGRADE } from "./helpers/raw_http.ts";

/** Runs `fn` on a `serve()` without middleware, then on one with a middleware that does nothing. */
async function bothRoutes(
  options: Omit<ServeOptions, "hub" | "middleware">,
  fn: (port: number, route: string, server: Server) => Promise<void>,
): Promise<void> {
  for (const route of ["without middleware", "with a no-op middleware"]) {
    const hub = new Hub();
    const server = await serve({
      ...options,
      hub,
      port: 0,
      hostname: "127.0.0.1",
      middleware: route === "with a no-op middleware" ? [(_c, next) => next()] : undefined,
    });
    try {
      await fn(server.port, route, server);
    } finally {
      await server.close();
      await hub.close();
    }
  }
}

describe("serve()'s WebSocket route, with and without middleware", () => {
  test("the same requests upgrade, reach the app or are refused", async () => {
    const app = new Hono().all("*", (c) => c.text(`app: ${c.req.method} ${c.req.path}`));
    const seen: Record<string, Answer[]> = {};
    const cases: [string, string, string[], string?][] = [
      ["upgrade", "/ws/socksync", UPGRADE],
      ["upgrade with a query", "/ws/socksync?room=1", UPGRADE],
      ["upgrade, percent-encoded path", "/ws/%73ocksync", UPGRADE],
      ["upgrade, trailing slash", "/ws/socksync/", UPGRADE],
      ["upgrade, longer path", "/ws/socksyncx", UPGRADE],
      ["upgrade, foreign origin", "/ws/socksync", [...UPGRADE, "Origin: https://evil.example"]],
      ["upgrade, own origin", "/ws/socksync", [...UPGRADE, "Origin: http://127.0.0.1:PORT"]],
      ["upgrade by POST", "/ws/socksync", UPGRADE, "POST"],
      ["plain GET", "/ws/socksync", []],
      ["plain GET, foreign origin", "/ws/socksync", ["Origin: https://evil.example"]],
    ];
    await bothRoutes({ app, guard: { logRefused: false } }, async (port, route) => {
      for (const [name, target, lines, method] of cases) {
        const fixed = lines.map((line) => line.replace("PORT", String(port)));
        (seen[name] ??= []).push(await answer(port, target, fixed, method));
      }
      // What either route must answer, not only the same.
      const [upgraded, query, , slash, , foreign, own, , plain, plainForeign] = cases.map((
        [name],
      ) => seen[name].at(-1)!);
      assert.equal(upgraded.status, 101, route);
      assert.equal(query.status, 101, route);
      assert.equal(own.status, 101, route);
      assert.deepEqual([slash.status, slash.body], [200, "app: GET /ws/socksync/"], route);
      assert.deepEqual([foreign.status, foreign.body], [403, "origin not allowed"], route);
      assert.deepEqual([plain.status, plain.body], [200, "app: GET /ws/socksync"], route);
      assert.deepEqual(
        [plainForeign.status, plainForeign.body],
        [403, "origin not allowed"],
        route,
      );
    });
    for (const [name] of cases) {
      const [without, withMiddleware] = seen[name];
      assert.deepEqual(without, withMiddleware, name);
    }
  });

  // Headers included: `retry-after` on every runtime (Node's and Deno's upgrade path once left
  // out all but `content-type`).
  test("past maxConnections: 503 with retry-after, the same on both", async () => {
    const seen: Answer[] = [];
    await bothRoutes({ guard: { maxConnections: 1 } }, async (port, route, server) => {
      const first = await TcpWebSocket.open(port);
      await waitUntil(() => server.connections === 1, { what: "the first connection to count" });
      const refused = await answer(port, "/ws/socksync", UPGRADE);
      await first.close();
      assert.equal(refused.status, 503, route);
      assert.equal(refused.body, "too many connections", route);
      assert.equal(refused.headers["retry-after"], "5", route);
      seen.push(refused);
    });
    assert.deepEqual(seen[0], seen[1]);
  });

  // Hono answers HEAD with its GET route's answer without the body; on Node and Deno
  // `@hono/node-server`'s Response once made that a 500 when the GET's answer had no options.
  test("HEAD reaches the app's GET routes: their status and headers, no body", async () => {
    const app = new Hono()
      .get("/", (c) => c.text("hello"))
      .get("/teapot", (c) => c.json({ short: true }, 418, { "x-kind": "teapot" }));
    await bothRoutes({ app }, async (port, route) => {
      const root = await answer(port, "/", [], "HEAD");
      // (Not its content-type: Bun's `new Response("hello")` gives it only when sending a body.)
      assert.equal(root.status, 200, route);
      const teapot = await answer(port, "/teapot", [], "HEAD");
      assert.equal(teapot.status, 418, route);
      assert.equal(teapot.headers["x-kind"], "teapot", route);
      assert.match(teapot.headers["content-type"], /^application\/json/, route);
      const missing = await answer(port, "/nothing", [], "HEAD");
      assert.equal(missing.status, 404, route);
    });
  });

  // A file or event stream left unread would stay open (a file descriptor) for good.
  test("HEAD cancels the body of the GET it is answered from", async () => {
    let cancelled = 0;
    const app = new Hono().get("/stream", (c) =>
      c.body(
        new ReadableStream({
          pull: (controller) => controller.enqueue(new TextEncoder().encode("tick\n")),
          cancel: () => void cancelled++,
        }),
        200,
        { "content-type": "text/event-stream" },
      ));
    await bothRoutes({ app }, async (port, route) => {
      const before = cancelled;
      const head = await answer(port, "/stream", [], "HEAD");
      assert.equal(head.status, 200, route);
      assert.equal(head.headers["content-type"], "text/event-stream", route);
      await waitUntil(() => cancelled === before + 1, {
        what: `the GET's body cancelled (${route})`,
      });
    });
  });

  // The upgrade is refused as Hono answers an error, whichever route takes it.
  test("a guard option that throws: the same 500 on both", async () => {
    const seen: Answer[] = [];
    const allowedOrigins = () => {
      throw new Error("origin list unavailable");
    };
    await bothRoutes({ guard: { allowedOrigins } }, async (port, route) => {
      const refused = await answer(port, "/ws/socksync", [
        ...UPGRADE,
        "Origin: https://a.example",
      ]);
      assert.equal(refused.status, 500, route);
      seen.push(refused);
    });
    assert.deepEqual(seen[0], seen[1]);
  });

  // Logging marks the origin as logged before it calls `logRefused`: asking the guard again
  // would answer the first refusal 403 instead of 500.
  test("a logRefused that throws: the same answers on both", async () => {
    const seen: number[][] = [];
    const logRefused = () => {
      throw new Error("log unavailable");
    };
    await bothRoutes({ guard: { logRefused } }, async (port, route) => {
      const statuses = [];
      for (let i = 0; i < 2; i++) {
        const refused = await answer(port, "/ws/socksync", [
          ...UPGRADE,
          "Origin: https://evil.example",
        ]);
        statuses.push(refused.status);
      }
      assert.deepEqual(statuses, [500, 403], route);
      seen.push(statuses);
    });
    assert.deepEqual(seen[0], seen[1]);
  });

  test("the guard is asked once per request, upgrade or not", async () => {
    let asked = 0;
    const allowedOrigins = () => {
      asked++;
      return true;
    };
    const app = new Hono().get("*", (c) => c.text("app"));
    await bothRoutes({ app, guard: { allowedOrigins } }, async (port, route) => {
      const origin = "Origin: https://a.example";
      for (const lines of [[...UPGRADE, origin], [origin]]) {
        const before = asked;
        const answered = await answer(port, "/ws/socksync", lines);
        assert.ok(answered.status === 101 || answered.status === 200, route);
        assert.equal(asked - before, 1, `${route}: ${answered.status}`);
      }
    });
  });
});
