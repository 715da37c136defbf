/**
 * The Chat card's presence in real headless Chromium (playwright-core), on `/`,
 * `/vue/`, `/react/` and `/svelte/`: two tabs of one page open the same room; each
 * shows both members; one tab names itself and types, the other shows "… is typing"
 * and, once the first posts, no longer. Runs under Node only.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import process from "node:process";
import { detectRuntime } from "../src/serve/serve.ts";
import { spawnServer } from "./helpers/spawn_server.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const runtime = detectRuntime();

function skipReason(): string | undefined {
  if (runtime !== "node") return `browser test runs under Node only (this is ${runtime})`;
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === "true") return undefined; // fail below, loudly
    return `Chromium not found at ${CHROMIUM}: apt-get install -y chromium`;
  }
  return undefined;
}

const skip = skipReason();
if (skip) console.warn(`SKIPPED browser_presence_test: ${skip}`);

type Page = Awaited<
  ReturnType<Awaited<ReturnType<typeof import("playwright-core")["chromium"]["launch"]>>["newPage"]>
>;
const ID = (testid: string) => `[data-testid="${testid}"]`;

function waitFor(page: Page, what: string, check: string): Promise<unknown> {
  return page.waitForFunction(check, undefined, { timeout: 10_000 }).catch((error) => {
    throw new Error(`waiting for ${what}: ${error.message}`);
  });
}

const textIs = (page: Page, testid: string, text: string) =>
  waitFor(
    page,
    `${testid} = ${JSON.stringify(text)}`,
    `document.querySelector('${ID(testid)}')?.textContent.trim() === ${JSON.stringify(text)}`,
  );

test("two tabs: one types, the other sees it", { skip, timeout: 180_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `CI=true but Chromium is missing at ${CHROMIUM}`);
  const { chromium } = await import("playwright-core");
  const server = await spawnServer({ runtime: "node" });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  const errors: string[] = [];
  try {
    const context = await browser.newContext({ viewport: { width: 760, height: 900 } });
    const paths = ["/", "/vue/", "/react/"];
    if ((await fetch(`${server.url}/svelte/`)).ok) paths.push("/svelte/");
    for (const [n, path] of paths.entries()) {
      const room = ["general", "random", "general", "random"][n];
      const open = async () => {
        const page = await context.newPage();
        page.on("pageerror", (error) => errors.push(`${path}: ${error}`));
        await page.goto(`${server.url}${path}`);
        await waitFor(
          page,
          `${path} connected`,
          `document.querySelector('${ID("status")}').dataset.state === "connected"`,
        );
        await page.click(ID(`room-${room}`));
        return page;
      };
      const typist = await open();
      const reader = await open();
      for (const page of [typist, reader]) await textIs(page, "chat-members", "2 here: anon, anon");
      const name = `ann${n}`;
      await typist.fill(ID("chat-author"), name);
      await typist.press(ID("chat-author"), "Tab");
      await typist.type(ID("chat-input"), "hel", { delay: 20 });
      await textIs(reader, "chat-typing", `${name} is typing…`);
      await textIs(reader, "chat-members", `2 here: ${name}, anon`);
      await textIs(typist, "chat-typing", "");
      await typist.press(ID("chat-input"), "Enter");
      await textIs(reader, "chat-typing", "");
      await typist.close();
      await textIs(reader, "chat-members", "1 here: anon");
      await reader.close();
    }
    assert.deepEqual(errors, [], "no script errors in the pages");
  } finally {
    await browser.close();
    await server.stop();
  }
});
