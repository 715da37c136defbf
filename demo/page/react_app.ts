/// <reference lib="dom" />
/**
 * The `/react/` demo page: the same counter and todos as `/`, written with
 * `socksync/react` and `createElement` (no JSX build step).
 *
 * @module
 */
import { createElement as h, type FormEvent, useEffect, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import { createHooks } from "../../src/ui/react/mod.ts";
import { membersText, TypingSignal, typingText } from "./presence.ts";
import {
  CHAT_PAGE_SIZE,
  connectionNote,
  connectPage,
  failure,
  type Note,
  NOTES_PAGE_SIZE,
  PAGE_SIZES,
  ROOMS,
  type Todo,
} from "./connect_page.ts";
import { signIn, signOut } from "./notes.ts";

// The hooks take their types from the client's: the demo server's declarations.
const client = connectPage();
const { useCall, useConnection, useList, useVar } = createHooks(client);

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
  const counter = useVar("counter");
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
                change.update("todos", id, (todo) => ({ ...todo, done: !todo.done })),
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
  const todos = useList("todos", { pageSize });
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

function Chat(props: { report: Report }) {
  const [room, setRoom] = useState(ROOMS[0]);
  const messages = useList("messages", { pageSize: CHAT_PAGE_SIZE, params: { room } });
  const post = useCall("post_message");
  const members = useList("room_members", { pageSize: 50, params: { room } });
  const setPresence = useCall("set_presence");
  // Not being in the room yet (its view is opening) is no failure worth showing.
  const typing = useRef<TypingSignal>(undefined as unknown as TypingSignal);
  typing.current ??= new TypingSignal((args) => setPresence(args).catch(() => {}));
  const [text, setText] = useState("");
  const [author, setAuthor] = useState("");
  const values = members.items.map((item) => item.value);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const value = text.trim();
    if (!value) return;
    setText("");
    typing.current.stop(room);
    const name = author.trim();
    const args = name ? { room, text: value, author: name } : { room, text: value };
    const shown = { room, author: name || "anon", text: value, created_at: Date.now() };
    void run(
      props.report,
      "post_message",
      () =>
        post(args, { optimistic: (change) => void change.insert("messages", { value: shown }) }),
    );
  };
  return h("section", { className: "card chat", "data-testid": "chat" }, [
    h("h2", { key: "h" }, [
      "Chat ",
      h(
        "span",
        { key: "t", className: "muted", "data-testid": "chat-total" },
        messages.ready ? `(${messages.total})` : "",
      ),
    ]),
    h(
      "nav",
      { key: "tabs", className: "tabs", role: "tablist" },
      ROOMS.map((name) =>
        h("button", {
          key: name,
          className: "tab",
          type: "button",
          role: "tab",
          "data-testid": `room-${name}`,
          "aria-selected": name === room,
          onClick: () => {
            typing.current.stop(room);
            setRoom(name);
          },
        }, `#${name}`)
      ),
    ),
    h("p", { key: "presence", className: "presence muted" }, [
      h("span", { key: "m", "data-testid": "chat-members" }, membersText(values, members.total)),
      " ",
      h(
        "span",
        { key: "t", className: "typing", "data-testid": "chat-typing" },
        typingText(values, typing.current.me),
      ),
    ]),
    h("form", { key: "form", autoComplete: "off", onSubmit: submit }, [
      h("input", {
        key: "author",
        className: "author",
        "data-testid": "chat-author",
        placeholder: "anon",
        maxLength: 64,
        "aria-label": "Your name",
        value: author,
        onChange: (event: { target: HTMLInputElement }) => setAuthor(event.target.value),
        onBlur: () => typing.current.rename(room, author),
      }),
      h("input", {
        key: "text",
        "data-testid": "chat-input",
        placeholder: `Message #${room} — Enter posts`,
        maxLength: 2000,
        required: true,
        value: text,
        onChange: (event: { target: HTMLInputElement }) => {
          setText(event.target.value);
          if (event.target.value) typing.current.input(room, author);
          else typing.current.stop(room);
        },
      }),
      h("button", { key: "send", type: "submit", "data-testid": "chat-send" }, "Post"),
    ]),
    h(
      "ul",
      { key: "list", className: "messages", "data-testid": "chat-list", "data-room": room },
      messages.items.map((item) =>
        h("li", { key: item.id, "data-testid": "chat-message", "data-id": item.id }, [
          h("div", { key: "meta", className: "meta" }, [
            h("b", { key: "who" }, item.value.author),
            h("time", { key: "when" }, new Date(item.value.created_at).toLocaleTimeString()),
          ]),
          h("div", { key: "text", className: "text", "data-testid": "chat-text" }, item.value.text),
        ])
      ),
    ),
    messages.ready && messages.total === 0
      ? h("p", { key: "empty", className: "empty" }, "No messages here yet.")
      : null,
    h("nav", { key: "pager", className: "pager" }, [
      h("button", {
        key: "prev",
        type: "button",
        "data-testid": "chat-prev",
        "aria-label": "Newer messages",
        disabled: messages.page === 0,
        onClick: () => messages.setPage(Math.max(0, messages.page - 1)),
      }, "‹"),
      h(
        "span",
        { key: "info", "data-testid": "chat-page" },
        `Page ${messages.page + 1} of ${messages.pageCount}`,
      ),
      h("button", {
        key: "next",
        type: "button",
        "data-testid": "chat-next",
        "aria-label": "Older messages",
        disabled: messages.page + 1 >= messages.pageCount,
        onClick: () => messages.setPage(messages.page + 1),
      }, "›"),
    ]),
  ]);
}

// One sign-in's view of `my_notes`: remade (by its key) after a sign-in, since a view opened
// signed out holds error 1.
function NotesBody(props: {
  user: string;
  report: Report;
  onSignIn: (name: string) => void;
  onSignOut: () => void;
}) {
  const notes = useList("my_notes", { pageSize: NOTES_PAGE_SIZE });
  const add = useCall("add_note");
  const remove = useCall("delete_note");
  const [name, setName] = useState("");
  const [text, setText] = useState("");
  const { report } = props;
  const login = (event: FormEvent) => {
    event.preventDefault();
    const value = name.trim();
    if (value) props.onSignIn(value);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const value = text.trim();
    if (!value) return;
    setText("");
    void run(report, "add_note", () => add({ text: value }));
  };
  const row = (id: string, note: Note) =>
    h("li", { key: id, "data-testid": "note-item" }, [
      h("span", { key: "text", className: "text" }, note.text),
      h("button", {
        key: "delete",
        type: "button",
        className: "delete",
        "aria-label": `delete: ${note.text}`,
        onClick: () => run(report, "delete_note", () => remove({ id })),
      }, "×"),
    ]);
  // Error 1: no session (signed out, expired, or never signed in).
  const signedIn = notes.status !== "error";
  return [
    h("form", {
      key: "login",
      "data-testid": "notes-login",
      autoComplete: "off",
      hidden: signedIn,
      onSubmit: login,
    }, [
      h("input", {
        key: "name",
        "data-testid": "notes-name",
        placeholder: "Your name",
        maxLength: 32,
        required: true,
        "aria-label": "Your name",
        value: name,
        onChange: (event: FormEvent<HTMLInputElement>) => setName(event.currentTarget.value),
      }),
      h("button", { key: "go", type: "submit", "data-testid": "notes-sign-in" }, "Sign in"),
    ]),
    h("div", { key: "in", hidden: !signedIn }, [
      h("p", { key: "who" }, [
        "Signed in ",
        h("span", { key: "user", "data-testid": "notes-user" }, props.user),
        " ",
        h("button", {
          key: "out",
          type: "button",
          "data-testid": "notes-logout",
          onClick: props.onSignOut,
        }, "Sign out"),
      ]),
      h("form", { key: "add", autoComplete: "off", onSubmit: submit }, [
        h("input", {
          key: "text",
          "data-testid": "notes-input",
          placeholder: "A private note",
          maxLength: 1000,
          required: true,
          "aria-label": "New note",
          value: text,
          onChange: (event: FormEvent<HTMLInputElement>) => setText(event.currentTarget.value),
        }),
        h("button", { key: "go", type: "submit", "data-testid": "notes-add" }, "Add"),
      ]),
      h(
        "ul",
        { key: "list", className: "todos", "data-testid": "notes-list" },
        notes.items.map((item) => row(item.id, item.value)),
      ),
      notes.ready && notes.total === 0
        ? h("p", { key: "empty", className: "empty" }, "No notes yet.")
        : null,
    ]),
  ];
}

function Notes(props: { report: Report }) {
  const [user, setUser] = useState("");
  const [opened, setOpened] = useState(0);
  const { report } = props;
  const login = async (name: string) => {
    try {
      if (!(await signIn(client, name))) return;
      report("");
    } catch (reason) {
      return report(failure("login", reason));
    }
    setUser(name);
    setOpened((n) => n + 1);
  };
  const logout = async () => {
    setUser("");
    await run(report, "logout", signOut);
    setOpened((n) => n + 1);
  };
  return h("section", { className: "card notes", "data-testid": "notes" }, [
    h("h2", { key: "h" }, "Notes"),
    h(NotesBody, {
      key: `body-${opened}`,
      user,
      report,
      onSignIn: (name: string) => void login(name),
      onSignOut: () => void logout(),
    }),
    h("p", { key: "hint", className: "hint" }, [
      "Only you see your notes: the list ",
      h("code", { key: "code" }, "my_notes"),
      " is a per-user query keyed by the session, never by what the page sends.",
    ]),
  ]);
}

// The connection's state, through the binding; nothing is disabled while offline.
function ConnectionNote() {
  const connection = useConnection();
  const note = connectionNote(connection);
  return h("p", {
    className: "note",
    "data-testid": "connection-note",
    "data-status": connection.status,
    role: "status",
    hidden: !note,
  }, note);
}

function App() {
  const [error, setError] = useState("");
  return [
    h(ConnectionNote, { key: "connection" }),
    h(Counter, { key: "counter", report: setError }),
    h(Todos, { key: "todos", report: setError }),
    h(Chat, { key: "chat", report: setError }),
    h(Notes, { key: "notes", report: setError }),
    h("p", {
      key: "error",
      className: "error",
      "data-testid": "error",
      role: "alert",
      hidden: !error,
    }, error),
  ];
}

createRoot(document.getElementById("app")!).render(h(App));
