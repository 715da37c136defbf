/**
 * The demo page in a real browser: headless Chromium (Debian's), driven by
 * playwright-core, with two tabs that must stay in sync (counter, todos and
 * the chat, whose rooms are views of one list with params), and the Notes
 * card (one user's notes, seen by that user only). With
 * SOCKSYNC_SCREENSHOT=1 it saves the README's screenshot, docs/demo.png
 * (a plain test run leaves the tree as it was). Runs under Node only.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { detectRuntime } from "../src/serve/serve.ts";
import { ROOT, spawnServer } from "./helpers/spawn_server.ts";
import { notesCase } from "./helpers/browser_demo.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const runtime = detectRuntime();

function skipReason(): string | undefined {
  if (runtime !== "node") {
    return `browser test runs under Node only (playwright-core drives Chromium from Node; this is ${runtime})`;
  }
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === "true") return undefined; // fail below, loudly
    return `Chromium not found at ${CHROMIUM}: apt-get install -y chromium`;
  }
  return undefined;
}

const skip = skipReason();
if (skip) console.warn(`SKIPPED browser_test: ${skip}`);

test(
  "two tabs of the demo page stay in sync",
  { skip, timeout: 120_000 },
  async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `CI=true but Chromium is missing at ${CHROMIUM}`,
    );
    const { chromium } = await import("playwright-core");
    type Page = Awaited<
      ReturnType<Awaited<ReturnType<typeof chromium.launch>>["newPage"]>
    >;

    const server = await spawnServer({ runtime: "node" });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const context = await browser.newContext({
        viewport: { width: 760, height: 700 },
      });
      const a = await context.newPage();
      const b = await context.newPage();
      const errors: string[] = [];
      for (const page of [a, b]) {
        page.on("pageerror", (error) => errors.push(String(error)));
        await page.goto(server.url);
      }
      const text = (page: Page, testid: string) =>
        page.locator(`[data-testid="${testid}"]`).first().textContent();
      const waitFor = (
        page: Page,
        what: string,
        check: string,
        arg?: unknown,
      ) =>
        page.waitForFunction(check, arg, { timeout: 10_000 }).catch((error) => {
          throw new Error(`waiting for ${what}: ${error.message}`);
        });
      const todoTexts = (page: Page) => page.locator('[data-testid="todo-text"]').allTextContents();
      const waitTodos = (page: Page, expected: string[]) =>
        waitFor(
          page,
          `todos ${expected.join(", ")}`,
          `JSON.stringify([...document.querySelectorAll('[data-testid="todo-text"]')].map((e) => e.textContent)) === ${
            JSON.stringify(JSON.stringify(expected))
          }`,
        );

      for (const page of [a, b]) {
        await waitFor(
          page,
          "connected",
          `document.querySelector('[data-testid="status"]').dataset.state === "connected"`,
        );
        await waitFor(
          page,
          "counter 0",
          `document.querySelector('[data-testid="counter"]').textContent === "0"`,
        );
      }

      await a.click('[data-testid="increment"]');
      await a.click('[data-testid="increment"]');
      await waitFor(
        b,
        "counter 2 on b",
        `document.querySelector('[data-testid="counter"]').textContent === "2"`,
      );
      // Each tab gets its own push; a may render a moment after b.
      await waitFor(
        a,
        "counter 2 on a",
        `document.querySelector('[data-testid="counter"]').textContent === "2"`,
      );
      assert.equal(await text(a, "counter"), "2");

      for (
        const todo of ["Buy oat milk", "Write the README", "Ship SockSync"]
      ) {
        await a.fill('[data-testid="todo-input"]', todo);
        await a.click('[data-testid="todo-add"]');
      }
      const newestFirst = ["Ship SockSync", "Write the README", "Buy oat milk"];
      await waitTodos(b, newestFirst);
      await waitTodos(a, newestFirst);

      // Toggle in b, see it in a.
      await b.locator('[data-testid="todo-item"]', { hasText: "Buy oat milk" })
        .locator('[data-testid="todo-toggle"]').click();
      await waitFor(
        a,
        "Buy oat milk done on a",
        `[...document.querySelectorAll('[data-testid="todo-item"]')].some((li) => li.classList.contains("done") && li.textContent.includes("Buy oat milk"))`,
      );

      // Delete in a, gone in b.
      await a.fill('[data-testid="todo-input"]', "Delete me");
      await a.click('[data-testid="todo-add"]');
      await waitTodos(b, ["Delete me", ...newestFirst]);
      await a.locator('[data-testid="todo-item"]', { hasText: "Delete me" })
        .locator('[data-testid="todo-delete"]').click();
      await waitTodos(b, newestFirst);

      // Paging in b: page size 5, six more todos make two pages.
      await b.selectOption('[data-testid="page-size"]', "5");
      for (const todo of ["Review PR #3", "Try it on Bun", "Try it on Deno"]) {
        await a.fill('[data-testid="todo-input"]', todo);
        await a.click('[data-testid="todo-add"]');
      }
      await waitFor(
        b,
        "page 1 of 2",
        `document.querySelector('[data-testid="page-info"]').textContent === "Page 1 of 2"`,
      );
      assert.equal((await todoTexts(b)).length, 5);
      await b.click('[data-testid="page-next"]');
      await waitFor(
        b,
        "page 2 of 2",
        `document.querySelector('[data-testid="page-info"]').textContent === "Page 2 of 2"`,
      );
      assert.deepEqual(await todoTexts(b), ["Buy oat milk"]);
      assert.equal(await text(b, "total"), "(6)");

      // Chat: post in a (Enter posts), see it in b; rooms are separate views.
      const chatTexts = (page: Page) => page.locator('[data-testid="chat-text"]').allTextContents();
      const waitChat = (page: Page, room: string, expected: string[]) =>
        waitFor(
          page,
          `#${room} shows ${expected.join(", ")}`,
          `document.querySelector('[data-testid="chat-list"]').dataset.room === ${
            JSON.stringify(room)
          } && JSON.stringify([...document.querySelectorAll('[data-testid="chat-text"]')].map((e) => e.textContent)) === ${
            JSON.stringify(JSON.stringify(expected))
          }`,
        );
      for (const page of [a, b]) await waitChat(page, "general", []);
      await a.fill('[data-testid="chat-author"]', "Ada");
      await a.fill('[data-testid="chat-input"]', "Hello from tab A");
      await a.press('[data-testid="chat-input"]', "Enter");
      await waitChat(b, "general", ["Hello from tab A"]);
      await b.fill('[data-testid="chat-input"]', "Hi Ada, tab B here");
      await b.click('[data-testid="chat-send"]');
      await waitChat(a, "general", ["Hi Ada, tab B here", "Hello from tab A"]);
      assert.equal(await a.locator('[data-testid="chat-message"] b').first().textContent(), "anon");

      await b.click('[data-testid="room-random"]');
      await waitChat(b, "random", []);
      await b.fill('[data-testid="chat-input"]', "Anyone tried Bun?");
      await b.press('[data-testid="chat-input"]', "Enter");
      await waitChat(b, "random", ["Anyone tried Bun?"]);
      await a.click('[data-testid="room-random"]');
      await waitChat(a, "random", ["Anyone tried Bun?"]);
      await a.click('[data-testid="room-general"]');
      await waitChat(a, "general", ["Hi Ada, tab B here", "Hello from tab A"]);
      assert.deepEqual(await chatTexts(b), ["Anyone tried Bun?"]);
      assert.equal(await text(a, "chat-total"), "(2)");

      assert.deepEqual(errors, [], "no script errors in the page");
      const shot = await a.screenshot({ fullPage: true });
      assert.ok(shot.length > 0, "the page renders to a screenshot");
      if (process.env.SOCKSYNC_SCREENSHOT === "1") {
        await mkdir(join(ROOT, "docs"), { recursive: true });
        await writeFile(join(ROOT, "docs", "demo.png"), shot);
      }
    } finally {
      await browser.close();
      await server.stop();
    }
  },
);

notesCase("", skip);
