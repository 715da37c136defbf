/**
 * What the Chromium tests of the demo's framework pages (`/vue/`, `/react/`,
 * `/svelte/`) share: when they run, a fresh demo server with a browser, the
 * page helpers, and the cases more than one file runs (a todo added at the
 * top of a full page, an optimistic row before its reply, the chat's rooms).
 * playwright-core drives Chromium from Node, so these run under Node only.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { Client } from "../../src/client/client.ts";
import { detectRuntime } from "../../src/serve/serve.ts";
import { ROOT, type SpawnedServer, spawnServer } from "./spawn_server.ts";
import { waitUntil } from "./wait.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

type Playwright = typeof import("playwright-core");
type Browser = Awaited<ReturnType<Playwright["chromium"]["launch"]>>;
/** A browser tab. */
export type Page = Awaited<ReturnType<Browser["newPage"]>>;
/** A framework demo page: `/vue/`, `/react/`, `/svelte/`. */
export type Kind = "vue" | "react" | "svelte";
/** A demo page: a framework one, or `""` for the plain page `/`. */
export type AnyKind = Kind | "";

/** The path of a demo page: `/vue/`, …, `/` for `""`. */
const pathOf = (kind: AnyKind): string => kind ? `/${kind}/` : "/";

/**
 * Why the browser tests of `file` cannot run here (warned once), or
 * `undefined`; under CI a missing Chromium fails instead.
 */
export function browserSkip(file: string): string | undefined {
  const runtime = detectRuntime();
  let reason: string | undefined;
  if (!("item" in Client.prototype)) {
    reason =
      "the client has no snapshot mirrors yet (client.item, getSnapshot): the pages cannot bind";
  } else if (runtime !== "node") {
    reason =
      `browser test runs under Node only (playwright-core drives Chromium from Node; this is ${runtime})`;
  } else if (!existsSync(CHROMIUM) && process.env.CI !== "true") {
    // Under CI the test runs and fails below, loudly.
    reason = `Chromium not found at ${CHROMIUM}: apt-get install -y chromium`;
  }
  if (reason) console.warn(`SKIPPED ${file}: ${reason}`);
  return reason;
}

/** The selector of the element with `testid`. */
export const ID = (testid: string): string => `[data-testid="${testid}"]`;

/** What {@linkcode withBrowser} hands to its function. */
export interface BrowserContext {
  /** The demo server. */
  server: SpawnedServer;
  /**
   * Opens a tab on `/kind/` (after `before`) and waits until its badge says
   * connected; with `isolated`, in a browser context of its own (its own
   * cookies: another user).
   */
  open: (
    kind: AnyKind,
    before?: (page: Page) => Promise<void>,
    options?: { isolated?: boolean },
  ) => Promise<Page>;
}

/** Runs `fn` with a fresh demo server and a browser; closes both after. */
export async function withBrowser(fn: (ctx: BrowserContext) => Promise<void>): Promise<void> {
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
      open: async (kind, before, options) => {
        const page = options?.isolated
          ? await (await browser.newContext({ viewport: { width: 760, height: 900 } })).newPage()
          : await context.newPage();
        page.on("pageerror", (error) => errors.push(`${pathOf(kind)}: ${error}`));
        await before?.(page);
        await page.goto(`${server.url}${pathOf(kind)}`);
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

/** Waits (10 s at most) until `check`, evaluated in `page`, is true. */
export function waitFor(page: Page, what: string, check: string): Promise<unknown> {
  return page.waitForFunction(check, undefined, { timeout: 10_000 }).catch((error) => {
    throw new Error(`waiting for ${what}: ${error.message}`);
  });
}

/** Waits until the element with `testid` shows `text`. */
export const textIs = (page: Page, testid: string, text: string): Promise<unknown> =>
  waitFor(
    page,
    `${testid} = ${text}`,
    `document.querySelector('${ID(testid)}')?.textContent === ${JSON.stringify(text)}`,
  );

/** Waits until the todos shown are `expected`, in order. */
export const todosAre = (page: Page, expected: string[]): Promise<unknown> =>
  waitFor(
    page,
    `todos ${expected.join(", ")}`,
    `JSON.stringify([...document.querySelectorAll('${
      ID("todo-text")
    }')].map((e) => e.textContent)) === ${JSON.stringify(JSON.stringify(expected))}`,
  );

/** Types a todo and presses Enter, as a user does. */
export async function addTodo(page: Page, text: string): Promise<void> {
  await page.fill(ID("todo-input"), text);
  await page.press(ID("todo-input"), "Enter");
}

/** The todo row holding `text`. */
export const row = (page: Page, text: string): ReturnType<Page["locator"]> =>
  page.locator(ID("todo-item"), { hasText: text });

/** Records, at every DOM mutation of the page's app, the todo texts and the total shown. */
export const OBSERVE = `(() => {
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

/**
 * With a full page of todos on `/watched/`, a todo added at the top from
 * `/writer/` never shows the page one row short, nor the new row with a
 * stale total.
 */
export function topInsertCase(watched: Kind, writer: Kind, skip: string | undefined): void {
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

/**
 * On `/kind/`, an optimistic row shows while every frame from the server is
 * held back (so before the reply), stays once they arrive, and a refused
 * call's row goes again with the error shown.
 */
export function optimisticCase(kind: Kind, skip: string | undefined): void {
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

/**
 * A chat message posted on `/first/` shows on `/second/` in its room only;
 * one posted on `/second/` in another room shows on `/first/` once it opens
 * that room.
 */
export function chatCase(first: Kind, second: Kind, skip: string | undefined): void {
  test(`chat: a message posted on /${first}/ shows on /${second}/ in its room only`, {
    skip: skip ?? noChat,
    timeout: 120_000,
  }, async () => {
    await withBrowser(async ({ open }) => {
      const a = await open(first);
      const b = await open(second);
      const messages = (page: Page, expected: string[]) =>
        waitFor(
          page,
          `messages ${expected.join(", ")}`,
          `JSON.stringify([...document.querySelectorAll('${
            ID("chat-text")
          }')].map((e) => e.textContent)) === ${JSON.stringify(JSON.stringify(expected))}`,
        );
      for (const page of [a, b]) await textIs(page, "chat-total", "(0)");
      await a.fill(ID("chat-input"), "hello general");
      await a.press(ID("chat-input"), "Enter");
      await messages(b, ["hello general"]);
      await messages(a, ["hello general"]);

      await b.click(ID("room-random"));
      await textIs(b, "chat-total", "(0)");
      await b.fill(ID("chat-input"), "hello random");
      await b.press(ID("chat-input"), "Enter");
      await messages(b, ["hello random"]);
      // The first page still shows #general: the random room's message is not there.
      await textIs(a, "chat-total", "(1)");
      await messages(a, ["hello general"]);
      await a.click(ID("room-random"));
      await messages(a, ["hello random"]);
    });
  });
}

/**
 * `/kind/` shows its connection's state through its binding's
 * `useConnection`: no note while open; when the connection is closed from
 * the server's side, an offline note with the close code, then none again
 * once it is back, with the header badge connected.
 */
export function connectionNoteCase(kind: Kind, skip: string | undefined): void {
  test(`/${kind}/: the page notes the connection going offline and coming back`, {
    skip,
    timeout: 120_000,
  }, async () => {
    await withBrowser(async ({ open }) => {
      const routes: { close(options: { code: number; reason: string }): Promise<void> }[] = [];
      const page = await open(kind, (page) =>
        page.routeWebSocket(/\/ws\/socksync$/, (ws) => {
          ws.connectToServer();
          routes.push(ws);
        }));
      const note = `document.querySelector('${ID("connection-note")}')`;
      await waitFor(
        page,
        "no note while open",
        `${note}.dataset.status === "open" && ${note}.hidden`,
      );
      await routes.at(-1)!.close({ code: 4000, reason: "gone" });
      await waitFor(
        page,
        "the offline note",
        `${note}.dataset.status === "reconnecting" && !${note}.hidden && ` +
          `${note}.textContent.includes("Offline, reconnecting (last disconnect: 4000 gone)")`,
      );
      await waitFor(
        page,
        "the note gone again",
        `${note}.dataset.status === "open" && ${note}.hidden`,
      );
      await waitFor(
        page,
        "the badge connected",
        `document.querySelector('${ID("status")}').dataset.state === "connected"`,
      );
      assert.equal(routes.length, 2, "one reconnection");
    });
  });
}

/**
 * The Notes card on `/kind/`: signed out it offers the sign-in; signed in
 * (`POST /login`, then the socket authenticated with its token) a note added
 * shows, newest first, to its author only: another user in another browser
 * never sees it; a second tab of the author's browser (the session cookie)
 * does; a delete goes everywhere; sign-out ends the session in both tabs.
 */
export function notesCase(kind: AnyKind, skip: string | undefined): void {
  const path = pathOf(kind);
  test(`${path}: the Notes card shows a user's notes to that user only`, {
    skip,
    timeout: 120_000,
  }, async () => {
    await withBrowser(async ({ open }) => {
      const signedOut = (page: Page, what: string) =>
        waitFor(
          page,
          `${what} signed out`,
          `!document.querySelector('${ID("notes-login")}').hidden && ` +
            `document.querySelector('${ID("notes-list")}').offsetParent === null`,
        );
      const notesAre = (page: Page, expected: string[]) =>
        waitFor(
          page,
          `notes ${expected.join(", ")}`,
          `document.querySelector('${ID("notes-login")}').hidden && ` +
            `document.querySelector('${ID("notes-list")}').offsetParent !== null && ` +
            `JSON.stringify([...document.querySelectorAll('${
              ID("note-item")
            } .text')].map((e) => e.textContent)) === ${JSON.stringify(JSON.stringify(expected))}`,
        );
      const signIn = async (page: Page, name: string) => {
        await page.fill(ID("notes-name"), name);
        await page.press(ID("notes-name"), "Enter");
        await textIs(page, "notes-user", name);
      };
      const addNote = async (page: Page, text: string) => {
        await page.fill(ID("notes-input"), text);
        await page.press(ID("notes-input"), "Enter");
      };

      const ada = await open(kind);
      const bob = await open(kind, undefined, { isolated: true });
      await signedOut(ada, "ada");
      await signedOut(bob, "bob");

      await signIn(ada, "ada");
      await notesAre(ada, []);
      await signIn(bob, "bob");
      await notesAre(bob, []);
      await addNote(ada, "milk");
      await addNote(ada, "eggs");
      await notesAre(ada, ["eggs", "milk"]);
      await addNote(bob, "bob's secret");
      await notesAre(bob, ["bob's secret"]);
      // Bob's note shown means his view answered after ada's notes existed: none of hers is there.
      await notesAre(ada, ["eggs", "milk"]);

      // A second tab of ada's browser: her session cookie signs its socket in at the upgrade.
      const again = await open(kind);
      await notesAre(again, ["eggs", "milk"]);
      await ada.locator(ID("note-item"), { hasText: "milk" }).locator("button").click();
      await notesAre(again, ["eggs"]);
      await notesAre(ada, ["eggs"]);
      await notesAre(bob, ["bob's secret"]);

      // Sign-out ends the session: its sockets close (4001) and come back signed out.
      await ada.click(ID("notes-logout"));
      await signedOut(ada, "ada");
      await signedOut(again, "ada's second tab");
      await notesAre(bob, ["bob's secret"]);
    });
  });
}
