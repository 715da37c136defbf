/**
 * The `/vue/` and `/react/` demo pages (built with `socksync/vue` and
 * `socksync/react`) in real headless Chromium, driven by playwright-core:
 * - a tab on each stays in sync with the other (counter, todos, paging);
 * - with a full page of todos, a todo added at the top never shows the page
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

const skip = browserSkip("browser_bindings_test");

test("a /vue/ tab and a /react/ tab stay in sync", { skip, timeout: 120_000 }, async () => {
  await withBrowser(async ({ open }) => {
    const vue = await open("vue");
    const react = await open("react");
    for (const page of [vue, react]) await textIs(page, "counter", "0");

    await vue.click(ID("increment"));
    await vue.click(ID("increment"));
    await textIs(react, "counter", "2");
    await react.click(ID("increment"));
    await textIs(vue, "counter", "3");
    await textIs(react, "counter", "3");

    for (const text of ["Buy oat milk", "Write the README"]) await addTodo(vue, text);
    await addTodo(react, "Ship SockSync");
    const newestFirst = ["Ship SockSync", "Write the README", "Buy oat milk"];
    await todosAre(vue, newestFirst);
    await todosAre(react, newestFirst);
    await textIs(react, "total", "(3)");

    await row(react, "Buy oat milk").locator(ID("todo-toggle")).click();
    await waitFor(
      vue,
      "Buy oat milk done on /vue/",
      `[...document.querySelectorAll('${
        ID("todo-item")
      }')].some((li) => li.classList.contains("done") && li.textContent.includes("Buy oat milk"))`,
    );
    await row(vue, "Write the README").locator(ID("todo-delete")).click();
    await todosAre(react, ["Ship SockSync", "Buy oat milk"]);

    // Paging on /react/: page size 5, four more todos make two pages.
    await react.selectOption(ID("page-size"), "5");
    for (const text of ["Review PR #3", "Try it on Bun", "Try it on Deno", "Try it on Node"]) {
      await addTodo(vue, text);
    }
    await textIs(react, "page-info", "Page 1 of 2");
    await react.click(ID("page-next"));
    await textIs(react, "page-info", "Page 2 of 2");
    await todosAre(react, ["Buy oat milk"]);
    await textIs(react, "total", "(6)");
    await textIs(vue, "page-info", "Page 1 of 1");
  });
});

for (const [watched, writer] of [["vue", "react"], ["react", "vue"]] as const) {
  topInsertCase(watched, writer, skip);
}

for (const kind of ["vue", "react"] as const) optimisticCase(kind, skip);

chatCase("vue", "react", skip);

for (const kind of ["vue", "react"] as const) connectionNoteCase(kind, skip);

for (const kind of ["vue", "react"] as const) notesCase(kind, skip);
