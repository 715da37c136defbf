/// <reference lib="dom" />
/**
 * The `/react/` demo page: the same counter and todos as `/`, written with
 * `socksync/react` and `createElement` (no JSX build step).
 *
 * @module
 */
import { createElement as h, type FormEvent, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { SockSyncProvider, useCall, useList, useVar } from "../../src/react.ts";
import { connectPage, failure, PAGE_SIZES, type Todo } from "./connect_page.ts";

type Report = (error: string) => void;

/** Runs a call; a failure is reported to the page's error line. */
async function run<R>(report: Report, name: string, call: () => Promise<R>): Promise<void> {
  try {
    await call();
    report("");
  } catch (reason) {
    report(failure(name, reason));
  }
}

function Counter(props: { report: Report }) {
  const counter = useVar<number>("counter");
  const increment = useCall("increment");
  return h("section", { className: "card counter" }, [
    h("h2", { key: "h" }, "Counter"),
    h("div", { key: "row", className: "counter-row" }, [
      h("output", { key: "out", "data-testid": "counter" }, String(counter.value ?? "–")),
      h("button", {
        key: "inc",
        type: "button",
        "data-testid": "increment",
        onClick: () =>
          run(props.report, "increment", () =>
            increment(undefined, {
              optimistic: (change) => change.set("counter", (n?: number) => (n ?? 0) + 1),
            })),
      }, "+1"),
    ]),
    h(
      "p",
      { key: "hint", className: "hint" },
      "Open this page in a second tab: both stay in sync.",
    ),
  ]);
}

function TodoRow(props: { id: string; todo: Todo; report: Report }) {
  const toggle = useCall("toggle_todo");
  const remove = useCall("delete_todo");
  const { id, todo, report } = props;
  return h(
    "li",
    { "data-testid": "todo-item", "data-id": id, className: todo.done ? "done" : "" },
    [
      h("input", {
        key: "box",
        type: "checkbox",
        checked: todo.done,
        "data-testid": "todo-toggle",
        "aria-label": `done: ${todo.text}`,
        onChange: () =>
          run(report, "toggle_todo", () =>
            toggle({ id }, {
              optimistic: (change) =>
                change.update("todos", id, (todo: Todo) => ({ ...todo, done: !todo.done })),
            })),
      }),
      h("span", { key: "text", className: "text", "data-testid": "todo-text" }, todo.text),
      h("button", {
        key: "del",
        type: "button",
        className: "delete",
        "data-testid": "todo-delete",
        "aria-label": `delete: ${todo.text}`,
        onClick: () =>
          run(
            report,
            "delete_todo",
            () => remove({ id }, { optimistic: (change) => change.remove("todos", id) }),
          ),
      }, "×"),
    ],
  );
}

function Todos(props: { report: Report }) {
  const [pageSize, setPageSize] = useState(10);
  const todos = useList<Todo>("todos", { pageSize });
  const add = useCall("add_todo");
  const [text, setText] = useState("");
  const { report } = props;
  // A page emptied by deletes elsewhere: step back to the last page that exists.
  const stepBack = todos.ready && todos.items.length === 0 && todos.page > 0 &&
    todos.page >= todos.pageCount;
  useEffect(() => {
    if (stepBack) todos.setPage(todos.pageCount - 1);
  }, [stepBack, todos]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const value = text.trim();
    if (!value) return;
    setText("");
    void run(report, "add_todo", () =>
      add({ text: value }, {
        optimistic: (change) =>
          void change.insert("todos", { value: { text: value, done: false } }),
      }));
  };
  return h("section", { className: "card todos" }, [
    h("h2", { key: "h" }, [
      "Todos ",
      h(
        "span",
        { key: "t", className: "muted", "data-testid": "total" },
        todos.ready ? `(${todos.total})` : "",
      ),
    ]),
    h("form", { key: "form", autoComplete: "off", onSubmit: submit }, [
      h("input", {
        key: "in",
        "data-testid": "todo-input",
        placeholder: "What needs doing?",
        maxLength: 200,
        required: true,
        value: text,
        onChange: (event: { target: HTMLInputElement }) => setText(event.target.value),
      }),
      h("button", { key: "add", type: "submit", "data-testid": "todo-add" }, "Add"),
    ]),
    h(
      "ul",
      { key: "list", "data-testid": "todo-list" },
      todos.items.map((item) =>
        h(TodoRow, { key: item.id, id: item.id, todo: item.value, report })
      ),
    ),
    todos.ready && todos.total === 0
      ? h("p", { key: "empty", className: "empty" }, "Nothing to do yet.")
      : null,
    h("nav", { key: "pager", className: "pager" }, [
      h("button", {
        key: "prev",
        type: "button",
        "data-testid": "page-prev",
        "aria-label": "Previous page",
        disabled: todos.page === 0,
        onClick: () => todos.setPage(Math.max(0, todos.page - 1)),
      }, "‹"),
      h(
        "span",
        { key: "info", "data-testid": "page-info" },
        `Page ${todos.page + 1} of ${todos.pageCount}`,
      ),
      h("button", {
        key: "next",
        type: "button",
        "data-testid": "page-next",
        "aria-label": "Next page",
        disabled: todos.page + 1 >= todos.pageCount,
        onClick: () => todos.setPage(todos.page + 1),
      }, "›"),
      h("label", { key: "size" }, [
        "Page size ",
        h(
          "select",
          {
            key: "select",
            "data-testid": "page-size",
            value: String(pageSize),
            onChange: (event: { target: HTMLSelectElement }) =>
              setPageSize(Number(event.target.value)),
          },
          PAGE_SIZES.map((size) => h("option", { key: size, value: String(size) }, String(size))),
        ),
      ]),
    ]),
  ]);
}

function App() {
  const [error, setError] = useState("");
  return [
    h(Counter, { key: "counter", report: setError }),
    h(Todos, { key: "todos", report: setError }),
    h("p", {
      key: "error",
      className: "error",
      "data-testid": "error",
      role: "alert",
      hidden: !error,
    }, error),
  ];
}

const client = connectPage();
createRoot(document.getElementById("app")!).render(h(SockSyncProvider, { client }, h(App)));
