/// <reference lib="dom" />
import { createApp, defineComponent, h } from "vue";
import { connect, optimisticCalls } from "socksync";
import { createHooks } from "socksync/vue";
// Types only: no server code in the bundle.
import type { Api } from "./server.ts";

// `optimisticCalls`: its calls may show a change before the reply (`optimistic` below).
const client = connect<Api>(`ws://${location.host}/ws/socksync`, { optimisticCalls });
// Typed from the server's declarations: a wrong name, params, args or result is a compile error.
const { useCall, useList, useVar } = createHooks(client);

const App = defineComponent(() => {
  const counter = useVar("counter"); // reactive { value: number | undefined, ready, error }
  const todos = useList("todos", { pageSize: 10 }); // { items, total, page, pageCount, setPage, … }
  const increment = useCall("increment");
  const add = useCall("add_todo"); // (args: { text: string }, options?) => Promise<{ id: string }>
  const addMilk = () =>
    add({ text: "milk" }, {
      // Shown at once; replaced by the server's rows on return, rolled back on an error.
      optimistic: (change) => void change.insert("todos", { value: { text: "milk", done: false } }),
    });
  return () =>
    h("main", [
      h("button", { onClick: () => increment({ by: 1 }) }, `${counter.value ?? "…"} +1`),
      h("button", { onClick: addMilk }, "Add milk"),
      h("ul", todos.items.map((todo) => h("li", { key: todo.id }, todo.value.text))),
      h("button", {
        onClick: () => todos.setPage(todos.page + 1),
      }, `${todos.total} todos, next page`),
    ]);
});

createApp(App).mount("#app");
