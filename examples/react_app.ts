/// <reference lib="dom" />
import { createElement as h } from "react";
import { createRoot } from "react-dom/client";
import { connect } from "socksync";
import { SockSyncProvider, useCall, useList, useVar } from "socksync/react";

interface Todo {
  text: string;
  done: boolean;
}

function App() {
  const counter = useVar<number>("counter"); // { value, ready, error }
  const todos = useList<Todo>("todos", { pageSize: 10 }); // { items, total, page, pageCount, setPage, … }
  const increment = useCall("increment");
  const add = useCall<{ text: string }>("add_todo");
  const addMilk = () =>
    add({ text: "milk" }, {
      // Shown at once; replaced by the server's rows on return, rolled back on an error.
      optimistic: (change) => void change.insert("todos", { value: { text: "milk", done: false } }),
    });
  return h("main", null, [
    h("button", { key: "inc", onClick: () => increment() }, `${counter.value ?? "…"} +1`),
    h("button", { key: "add", onClick: addMilk }, "Add milk"),
    h("ul", { key: "list" }, todos.items.map((todo) => h("li", { key: todo.id }, todo.value.text))),
    h(
      "button",
      { key: "next", onClick: () => todos.setPage(todos.page + 1) },
      `${todos.total} todos, next page`,
    ),
  ]);
}

const client = connect(`ws://${location.host}/ws/socksync`);
createRoot(document.getElementById("app")!).render(h(SockSyncProvider, { client }, h(App)));
