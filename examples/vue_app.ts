/// <reference lib="dom" />
import { createApp, defineComponent, h } from "vue";
import { connect } from "socksync";
import { socksync, useCall, useList, useVar } from "socksync/vue";

interface Todo {
  text: string;
  done: boolean;
}

const App = defineComponent(() => {
  const counter = useVar<number>("counter"); // reactive { value, ready, error }
  const todos = useList<Todo>("todos", { pageSize: 10 }); // { items, total, page, pageCount, setPage, … }
  const increment = useCall("increment");
  const add = useCall<{ text: string }>("add_todo");
  const addMilk = () =>
    add({ text: "milk" }, {
      // Shown at once; replaced by the server's rows on return, rolled back on an error.
      optimistic: (change) => void change.insert("todos", { value: { text: "milk", done: false } }),
    });
  return () =>
    h("main", [
      h("button", { onClick: () => increment() }, `${counter.value ?? "…"} +1`),
      h("button", { onClick: addMilk }, "Add milk"),
      h("ul", todos.items.map((todo) => h("li", { key: todo.id }, todo.value.text))),
      h("button", {
        onClick: () => todos.setPage(todos.page + 1),
      }, `${todos.total} todos, next page`),
    ]);
});

const client = connect(`ws://${location.host}/ws/socksync`);
createApp(App).use(socksync(client)).mount("#app");
