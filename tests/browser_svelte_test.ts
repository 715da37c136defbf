/**
 * The `/svelte/` demo page (built with `socksync/svelte`) in real headless
 * Chromium, driven by playwright-core, beside `/vue/` and `/react/`:
 * - a tab on each of the three stays in sync with the others (counter,
 *   todos, paging, chat rooms);
 * - with a full page of todos, a todo added at the top never shows /svelte/
 *   one row short, nor the new row with a stale total: a MutationObserver
 *   records the list at every DOM mutation;
 * - an optimistic row shows while every frame from the server is held back
 *   (so before the reply), stays once they arrive, and a refused call's row
 *   goes again with the error shown.
 * Runs under Node only (playwright-core drives Chromium from Node).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { Client } from "../src/client/client.ts";
import { detectRuntime } from "../src/serve/serve.ts";
import { ROOT, type SpawnedServer, spawnServer } from "./helpers/spawn_server.ts";
import { waitUntil } from "./helpers/wait.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const runtime = detectRuntime();

function skipReason(): string | undefined {
  if (!("item" in Client.prototype)) {
    return "the client has no snapshot mirrors yet (client.item, getSnapshot): the pages cannot bind";
  }
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
if (skip) console.warn(`SKIPPED browser_svelte_test: ${skip}`);

type Playwright = typeof import("playwright-core");
type Browser = Awaited<ReturnType<Playwright["chromium"]["launch"]>>;
type Page = Awaited<ReturnType<Browser["newPage"]>>;
type Kind = "vue" | "react" | "svelte";

const ID = (testid: string) => `[data-testid="${testid}"]`;

/** Runs `fn` with a fresh demo server and a browser; closes both after. */
async function withBrowser(
  fn: (ctx: {
    server: SpawnedServer;
    open: (kind: Kind, before?: (page: Page) => Promise<void>) => Promise<Page>;
  }) => Promise<void>,
): Promise<void> {
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
    await fn({
      server,
      open: async (kind, before) => {
        const page = await context.newPage();
        page.on("pageerror", (error) => errors.push(`${kind}: ${error}`));
        await before?.(page);
        await page.goto(`${server.url}/${kind}/`);
        await waitFor(
          page,
          `${kind} connected`,
          `document.querySelector('${ID("status")}').dataset.state === "connected"`,
        );
        return page;
      },
    });
    assert.deepEqual(errors, [], "no script errors in the pages");
  } finally {
    await browser.close();
    await server.stop();
  }
}

function waitFor(page: Page, what: string, check: string): Promise<unknown> {
  return page.waitForFunction(check, undefined, { timeout: 10_000 }).catch((error) => {
    throw new Error(`waiting for ${what}: ${error.message}`);
  });
}

const textIs = (page: Page, testid: string, text: string) =>
  waitFor(
    page,
    `${testid} = ${text}`,
    `document.querySelector('${ID(testid)}')?.textContent === ${JSON.stringify(text)}`,
  );

const todosAre = (page: Page, expected: string[]) =>
  waitFor(
    page,
    `todos ${expected.join(", ")}`,
    `JSON.stringify([...document.querySelectorAll('${
      ID("todo-text")
    }')].map((e) => e.textContent)) === ${JSON.stringify(JSON.stringify(expected))}`,
  );

/** Types a todo and presses Enter, as a user does. */
async function addTodo(page: Page, text: string): Promise<void> {
  await page.fill(ID("todo-input"), text);
  await page.press(ID("todo-input"), "Enter");
}

const row = (page: Page, text: string) => page.locator(ID("todo-item"), { hasText: text });

test("a /svelte/ tab stays in sync with a /vue/ tab and a /react/ tab", {
  skip,
  timeout: 120_000,
}, async () => {
  await withBrowser(async ({ open }) => {
    const svelte = await open("svelte");
    const vue = await open("vue");
    const react = await open("react");
    const all = [svelte, vue, react];
    for (const page of all) await textIs(page, "counter", "0");

    await svelte.click(ID("increment"));
    await svelte.click(ID("increment"));
    await textIs(vue, "counter", "2");
    await textIs(react, "counter", "2");
    await vue.click(ID("increment"));
    for (const page of all) await textIs(page, "counter", "3");

    for (const text of ["Buy oat milk", "Write the README"]) await addTodo(svelte, text);
    await addTodo(react, "Ship SockSync");
    const newestFirst = ["Ship SockSync", "Write the README", "Buy oat milk"];
    for (const page of all) await todosAre(page, newestFirst);
    await textIs(svelte, "total", "(3)");

    await row(svelte, "Buy oat milk").locator(ID("todo-toggle")).click();
    for (const page of [vue, react]) {
      await waitFor(
        page,
        "Buy oat milk done",
        `[...document.querySelectorAll('${
          ID("todo-item")
        }')].some((li) => li.classList.contains("done") && li.textContent.includes("Buy oat milk"))`,
      );
    }
    await row(vue, "Write the README").locator(ID("todo-delete")).click();
    await todosAre(svelte, ["Ship SockSync", "Buy oat milk"]);
    await row(svelte, "Ship SockSync").locator(ID("todo-delete")).click();
    await todosAre(react, ["Buy oat milk"]);

    // Paging on /svelte/: page size 5, five more todos make two pages.
    await svelte.selectOption(ID("page-size"), "5");
    for (
      const text of ["Review PR #3", "Try it on Bun", "Try it on Deno", "Try it on Node", "Ship"]
    ) {
      await addTodo(react, text);
    }
    await textIs(svelte, "page-info", "Page 1 of 2");
    await svelte.click(ID("page-next"));
    await textIs(svelte, "page-info", "Page 2 of 2");
    await todosAre(svelte, ["Buy oat milk"]);
    await textIs(svelte, "total", "(6)");
    await textIs(vue, "page-info", "Page 1 of 1");
  });
});

// Records, at every DOM mutation of the page's app, the todo texts and the total shown.
const OBSERVE = `(() => {
  const seen = [];
  const record = () => seen.push({
    texts: [...document.querySelectorAll('${ID("todo-text")}')].map((e) => e.textContent),
    total: document.querySelector('${ID("total")}')?.textContent ?? "",
  });
  new MutationObserver(record).observe(document.getElementById("app"), {
    childList: true, subtree: true, characterData: true, attributes: true,
  });
  record();
  globalThis.__seen = seen;
})()`;

for (const [watched, writer] of [["svelte", "vue"], ["react", "svelte"]] as const) {
  test(`a todo added at the top of a full page never shows /${watched}/ one row short`, {
    skip,
    timeout: 120_000,
  }, async () => {
    await withBrowser(async ({ open }) => {
      const page = await open(watched);
      const other = await open(writer);
      await page.selectOption(ID("page-size"), "5");
      const first = ["one", "two", "three", "four", "five", "six"];
      for (const text of first) await addTodo(other, text);
      await todosAre(page, ["six", "five", "four", "three", "two"]);
      await textIs(page, "total", "(6)");

      await page.evaluate(OBSERVE);
      await addTodo(other, "top");
      await todosAre(page, ["top", "six", "five", "four", "three"]);
      await textIs(page, "total", "(7)");
      const seen = await page.evaluate(() =>
        (globalThis as unknown as { __seen: { texts: string[]; total: string }[] }).__seen
      );
      assert.ok(seen.length >= 2, `the observer saw ${seen.length} states`);
      const bad = seen.filter((s) =>
        s.texts.length !== 5 || (s.texts.includes("top") && s.total !== "(7)") ||
        (!s.texts.includes("top") && s.total !== "(6)")
      );
      assert.deepEqual(
        bad,
        [],
        `states with a short page or a stale total: ${JSON.stringify(seen)}`,
      );
    });
  });
}

for (const kind of ["svelte"] as const) {
  test(`/${kind}/: an optimistic row shows before the reply; a refused one goes again`, {
    skip,
    timeout: 120_000,
  }, async () => {
    await withBrowser(async ({ open }) => {
      // Between the page and the server: frames from the server can be held
      // back, and the call to refuse gets arguments the server's schema refuses.
      let hold = false;
      const held: string[] = [];
      let release = () => {};
      const page = await open(kind, (page) =>
        page.routeWebSocket(/\/ws\/socksync$/, (ws) => {
          const upstream = ws.connectToServer();
          ws.onMessage((frame) =>
            upstream.send(String(frame).replace('"text":"refuse me"', '"text":42'))
          );
          upstream.onMessage((frame) => hold ? held.push(String(frame)) : ws.send(String(frame)));
          release = () => {
            hold = false;
            for (const frame of held.splice(0)) ws.send(frame);
          };
        }));
      await textIs(page, "total", "(0)");

      hold = true;
      await addTodo(page, "fast");
      await todosAre(page, ["fast"]);
      // The reply came and is held: the row showed before the page got it.
      await waitUntil(() => held.some((frame) => frame.includes('"return"')), {
        what: "the reply to add_todo, held back",
      });
      await todosAre(page, ["fast"]);
      release();
      await textIs(page, "total", "(1)");
      await todosAre(page, ["fast"]);

      await page.evaluate(OBSERVE);
      await addTodo(page, "refuse me");
      await waitFor(page, "the error line", `!document.querySelector('${ID("error")}').hidden`);
      await todosAre(page, ["fast"]);
      const seen = await page.evaluate(() =>
        (globalThis as unknown as { __seen: { texts: string[] }[] }).__seen
      );
      assert.ok(
        seen.some((s) => s.texts[0] === "refuse me"),
        `the refused row never showed: ${JSON.stringify(seen)}`,
      );
      assert.match(await page.locator(ID("error")).textContent() ?? "", /add_todo failed/);
    });
  });
}

// The chat comes with demo/chat.ts (list `messages`, params `{ room }`).
const noChat = existsSync(join(ROOT, "demo", "chat.ts")) ? false : "the demo has no chat";

test("chat: a message posted on /svelte/ shows on /vue/ in its room only", {
  skip: skip ?? noChat,
  timeout: 120_000,
}, async () => {
  await withBrowser(async ({ open }) => {
    const svelte = await open("svelte");
    const vue = await open("vue");
    const messages = (page: Page, expected: string[]) =>
      waitFor(
        page,
        `messages ${expected.join(", ")}`,
        `JSON.stringify([...document.querySelectorAll('${
          ID("chat-text")
        }')].map((e) => e.textContent)) === ${JSON.stringify(JSON.stringify(expected))}`,
      );
    for (const page of [svelte, vue]) await textIs(page, "chat-total", "(0)");
    await svelte.fill(ID("chat-input"), "hello general");
    await svelte.press(ID("chat-input"), "Enter");
    await messages(vue, ["hello general"]);
    await messages(svelte, ["hello general"]);

    await vue.click(ID("room-random"));
    await textIs(vue, "chat-total", "(0)");
    await vue.fill(ID("chat-input"), "hello random");
    await vue.press(ID("chat-input"), "Enter");
    await messages(vue, ["hello random"]);
    // /svelte/ still shows #general: the random room's message is not there.
    await textIs(svelte, "chat-total", "(1)");
    await messages(svelte, ["hello general"]);
    await svelte.click(ID("room-random"));
    await messages(svelte, ["hello random"]);
  });
});
