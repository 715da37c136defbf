/// <reference lib="dom" />
import { createElement as h } from "react";
import { createRoot } from "react-dom/client";
import { connect, optimisticCalls } from "socksync";
import { createHooks } from "socksync/react";
// Types only: no server code in the bundle.
import type { Api } from "./server.ts";

// `optimisticCalls`: its calls may show a change before the reply (`optimistic` below).
const client = connect<Api>(`ws://${location.host}/ws/socksync`, { optimisticCalls });
// Typed from the server's declarations: a wrong name, params, args or result is a compile error.
const { useCall, useList, useVar } = createHooks(client);

function App() {
  const counter = useVar("counter"); // { value: number | undefined, ready, error }
  const todos = useList("todos", { pageSize: 10 }); // { items, total, page, pageCount, setPage, … }
  const increment = useCall("increment");
  const add = useCall("add_todo"); // (args: { text: string }, options?) => Promise<{ id: string }>
  const addMilk = () =>
    add({ text: "milk" }, {
      // Shown at once; replaced by the server's rows on return, rolled back on an error.
      optimistic: (change) => void change.insert("todos", { value: { text: "milk", done: false } }),
    });
  return h("main", null, [
    h("button", { key: "inc", onClick: () => increment({ by: 1 }) }, `${counter.value ?? "…"} +1`),
    h("button", { key: "add", onClick: addMilk }, "Add milk"),
    h("ul", { key: "list" }, todos.items.map((todo) => h("li", { key: todo.id }, todo.value.text))),
    h(
      "button",
      { key: "next", onClick: () => todos.setPage(todos.page + 1) },
      `${todos.total} todos, next page`,
    ),
  ]);
}

createRoot(document.getElementById("app")!).render(h(App));
