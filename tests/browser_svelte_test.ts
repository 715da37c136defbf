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
 *   goes again with the error shown;
 * - the page's note, through its binding's `useConnection`, says when the
 *   connection is offline and goes once it is back;
 * - the Notes card: a signed-in user's notes show to that user only.
 * The setup and the cases both files run are in tests/helpers/browser_demo.ts.
 * Runs under Node only (playwright-core drives Chromium from Node).
 */
import { test } from "node:test";
import {
  addTodo,
  browserSkip,
  chatCase,
  connectionNoteCase,
  ID,
  notesCase,
  optimisticCase,
  row,
  textIs,
  todosAre,
  topInsertCase,
  waitFor,
  withBrowser,
} from "./helpers/browser_demo.ts";

const skip = browserSkip("browser_svelte_test");

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

for (const [watched, writer] of [["svelte", "vue"], ["react", "svelte"]] as const) {
  topInsertCase(watched, writer, skip);
}

optimisticCase("svelte", skip);

chatCase("svelte", "vue", skip);

connectionNoteCase("svelte", skip);

notesCase("svelte", skip);
