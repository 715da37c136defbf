/**
 * The demo's operator routes, on the demo server of the running runtime:
 * without `SOCKSYNC_ADMIN_TOKEN` there is no admin page; with it, `/admin/`
 * and the admin vars are refused without signing in, a wrong token is
 * refused, and the token never reaches the server's output. Under Node, the
 * admin page in Chromium shows the connection count change (and leaves a
 * screenshot at docs/admin.png with SOCKSYNC_SCREENSHOT=1).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { detectRuntime } from "../src/serve/serve.ts";
import { RawSocket } from "./helpers/raw_socket.ts";
import { ROOT, type ServerRuntime, spawnServer } from "./helpers/spawn_server.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const runtime = detectRuntime() as ServerRuntime;
const TOKEN = `token-${Math.random().toString(36).slice(2)}`;

test("no admin page without SOCKSYNC_ADMIN_TOKEN", { timeout: 60_000 }, async () => {
  const server = await spawnServer({ runtime });
  try {
    assert.equal((await fetch(`${server.url}/admin/`)).status, 404);
    const metrics = await fetch(`${server.url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^socksync_connections 0$/m);
  } finally {
    await server.stop();
  }
});

test("the admin page and vars are refused without the token", { timeout: 60_000 }, async () => {
  const server = await spawnServer({ runtime, env: { SOCKSYNC_ADMIN_TOKEN: TOKEN } });
  try {
    const page = await fetch(`${server.url}/admin/`);
    assert.equal(page.status, 401);
    assert.match(await page.text(), /Sign in/);
    assert.equal((await fetch(`${server.url}/admin/app.js`)).status, 401);
    const wrong = await fetch(`${server.url}/admin/login`, {
      method: "POST",
      body: new URLSearchParams({ token: "guess" }),
      redirect: "manual",
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get("set-cookie"), null);
    // A connection without the session cookie gets error 1, as for any name it may not use.
    const raw = await RawSocket.open(server.wsUrl);
    try {
      raw.send({ func: "subscribe", type: "var", name: "socksync.admin.overview" });
      const refused = await raw.next((f) => f.func === "error");
      assert.equal(refused.error_code, 1);
    } finally {
      await raw.close();
    }
    const right = await fetch(`${server.url}/admin/login`, {
      method: "POST",
      body: new URLSearchParams({ token: TOKEN }),
      redirect: "manual",
    });
    assert.equal(right.status, 303);
    const cookie = right.headers.get("set-cookie") ?? "";
    assert.match(cookie, /^socksync_admin=[0-9a-f]{48};.*HttpOnly/);
    assert.ok(!cookie.includes(TOKEN));
    const signedIn = await fetch(`${server.url}/admin/`, {
      headers: { cookie: cookie.split(";")[0] },
    });
    assert.equal(signedIn.status, 200);
    assert.match(await signedIn.text(), /data-testid="connections"/);
    assert.ok(!server.output().includes(TOKEN), "the token reached the server's output");
  } finally {
    await server.stop();
  }
});

function browserSkip(): string | undefined {
  if (runtime !== "node") {
    return `runs under Node only (playwright-core drives Chromium); this is ${runtime}`;
  }
  if (!existsSync(CHROMIUM) && process.env.CI !== "true") return `no Chromium at ${CHROMIUM}`;
  return undefined;
}

test("the admin page in Chromium shows the connection count change", {
  skip: browserSkip(),
  timeout: 120_000,
}, async () => {
  const { chromium } = await import("playwright-core");
  const server = await spawnServer({ runtime: "node", env: { SOCKSYNC_ADMIN_TOKEN: TOKEN } });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  const others: RawSocket[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.goto(`${server.url}/admin/`);
    await page.fill('[data-testid="token"]', TOKEN);
    await page.click('[data-testid="sign-in"]');
    const connections = page.locator('[data-testid="connections"]');
    // The condition runs in the page, given as text (the test itself has no DOM types).
    const shows = (testid: string, check: string) =>
      page.waitForFunction(
        `document.querySelector('[data-testid="${testid}"]')?.textContent${check}`,
      );
    // The admin page's own connection.
    await shows("connections", `=== "1"`);
    for (let i = 0; i < 3; i++) {
      const raw = await RawSocket.open(server.wsUrl);
      raw.send({ func: "subscribe", type: "var", name: "counter" });
      raw.send({ func: "subscribe", type: "list", name: "todos" });
      raw.send({ func: "call", type: "function", name: "increment", id: `i${i}` });
      others.push(raw);
    }
    await shows("connections", `=== "4"`);
    assert.equal(await connections.textContent(), "4");
    await shows("groups", `?.includes("todos")`);
    if (process.env.SOCKSYNC_SCREENSHOT === "1") {
      // A few seconds of history for the plots, then the picture for the docs (only when
      // asked, so that a test run leaves the tree clean).
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await page.screenshot({ path: join(ROOT, "docs", "admin.png"), fullPage: true });
    }
    await others.pop()!.close();
    await shows("connections", `=== "3"`);
    assert.deepEqual(errors, []);
  } finally {
    for (const raw of others) await raw.close();
    await browser.close();
    await server.stop();
  }
});
