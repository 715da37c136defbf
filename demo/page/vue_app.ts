/// <reference lib="dom" />
/**
 * The `/vue/` demo page: the same counter and todos as `/`, written with
 * `socksync/vue` and render functions (no build plugin, no template compiler).
 *
 * @module
 */
import { createApp, defineComponent, h, type PropType, ref } from "vue";
import { createHooks } from "../../src/ui/vue/mod.ts";
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
const error = ref("");

/** Runs a call; a failure shows in the page's error line. */
async function run<R>(name: string, call: () => Promise<R>): Promise<R | undefined> {
  try {
    const result = await call();
    error.value = "";
    return result;
  } catch (reason) {
    error.value = failure(name, reason);
    return undefined;
  }
}

// The connection's state, through the binding; nothing is disabled while offline.
const ConnectionNote = defineComponent(() => {
  const connection = useConnection();
  return () => {
    const note = connectionNote(connection);
    return h("p", {
      class: "note",
      "data-testid": "connection-note",
      "data-status": connection.status,
      role: "status",
      hidden: !note,
    }, note);
  };
});

const Counter = defineComponent(() => {
  const counter = useVar("counter");
  const increment = useCall("increment");
  return () =>
    h("section", { class: "card counter" }, [
      h("h2", "Counter"),
      h("div", { class: "counter-row" }, [
        h("output", { "data-testid": "counter" }, String(counter.value ?? "–")),
        h("button", {
          type: "button",
          "data-testid": "increment",
          onClick: () =>
            run("increment", () =>
              increment(undefined, {
                optimistic: (change) => change.set("counter", (n?: number) => (n ?? 0) + 1),
              })),
        }, "+1"),
      ]),
      h("p", { class: "hint" }, "Open this page in a second tab: both stay in sync."),
    ]);
});

const TodoRow = defineComponent({
  props: {
    id: { type: String, required: true },
    todo: { type: Object as PropType<Todo>, required: true },
  },
  setup(props) {
    const toggle = useCall("toggle_todo");
    const remove = useCall("delete_todo");
    return () =>
      h("li", {
        "data-testid": "todo-item",
        "data-id": props.id,
        class: { done: props.todo.done },
      }, [
        h("input", {
          type: "checkbox",
          checked: props.todo.done,
          "data-testid": "todo-toggle",
          "aria-label": `done: ${props.todo.text}`,
          onChange: () =>
            run("toggle_todo", () =>
              toggle({ id: props.id }, {
                optimistic: (change) =>
                  change.update("todos", props.id, (todo) => ({ ...todo, done: !todo.done })),
              })),
        }),
        h("span", { class: "text", "data-testid": "todo-text" }, props.todo.text),
        h("button", {
          type: "button",
          class: "delete",
          "data-testid": "todo-delete",
          "aria-label": `delete: ${props.todo.text}`,
          onClick: () =>
            run("delete_todo", () =>
              remove({ id: props.id }, {
                optimistic: (change) => change.remove("todos", props.id),
              })),
        }, "×"),
      ]);
  },
});

const Todos = defineComponent(() => {
  const pageSize = ref(10);
  const todos = useList("todos", { pageSize });
  const add = useCall("add_todo");
  const text = ref("");
  const submit = (event: Event) => {
    event.preventDefault();
    const value = text.value.trim();
    if (!value) return;
    text.value = "";
    void run("add_todo", () =>
      add({ text: value }, {
        optimistic: (change) =>
          void change.insert("todos", { value: { text: value, done: false } }),
      }));
  };
  return () => {
    // A page emptied by deletes elsewhere: step back to the last page that exists.
    if (
      todos.ready && todos.items.length === 0 && todos.page > 0 && todos.page >= todos.pageCount
    ) {
      todos.setPage(todos.pageCount - 1);
    }
    return h("section", { class: "card todos" }, [
      h("h2", [
        "Todos ",
        h(
          "span",
          { class: "muted", "data-testid": "total" },
          todos.ready ? `(${todos.total})` : "",
        ),
      ]),
      h("form", { autocomplete: "off", onSubmit: submit }, [
        h("input", {
          "data-testid": "todo-input",
          placeholder: "What needs doing?",
          maxlength: 200,
          required: true,
          value: text.value,
          onInput: (event: Event) => text.value = (event.target as HTMLInputElement).value,
        }),
        h("button", { type: "submit", "data-testid": "todo-add" }, "Add"),
      ]),
      h(
        "ul",
        { "data-testid": "todo-list" },
        todos.items.map((item) => h(TodoRow, { key: item.id, id: item.id, todo: item.value })),
      ),
      todos.ready && todos.total === 0 ? h("p", { class: "empty" }, "Nothing to do yet.") : null,
      h("nav", { class: "pager" }, [
        h("button", {
          type: "button",
          "data-testid": "page-prev",
          "aria-label": "Previous page",
          disabled: todos.page === 0,
          onClick: () => todos.setPage(Math.max(0, todos.page - 1)),
        }, "‹"),
        h("span", { "data-testid": "page-info" }, `Page ${todos.page + 1} of ${todos.pageCount}`),
        h("button", {
          type: "button",
          "data-testid": "page-next",
          "aria-label": "Next page",
          disabled: todos.page + 1 >= todos.pageCount,
          onClick: () => todos.setPage(todos.page + 1),
        }, "›"),
        h("label", [
          "Page size ",
          h(
            "select",
            {
              "data-testid": "page-size",
              value: String(pageSize.value),
              onChange: (event: Event) =>
                pageSize.value = Number((event.target as HTMLSelectElement).value),
            },
            PAGE_SIZES.map((size) => h("option", { value: String(size) }, String(size))),
          ),
        ]),
      ]),
    ]);
  };
});

const Chat = defineComponent(() => {
  const room = ref(ROOMS[0]);
  const messages = useList("messages", {
    pageSize: CHAT_PAGE_SIZE,
    params: () => ({ room: room.value }),
  });
  const post = useCall("post_message");
  const members = useList("room_members", {
    pageSize: 50,
    params: () => ({ room: room.value }),
  });
  const setPresence = useCall("set_presence");
  // Not being in the room yet (its view is opening) is no failure worth showing.
  const typing = new TypingSignal((args) => setPresence(args).catch(() => {}));
  const typingShown = ref(false);
  const text = ref("");
  const author = ref("");
  const submit = (event: Event) => {
    event.preventDefault();
    const value = text.value.trim();
    if (!value) return;
    text.value = "";
    typing.stop(room.value);
    const name = author.value.trim();
    const args = name
      ? { room: room.value, text: value, author: name }
      : { room: room.value, text: value };
    const shown = { room: room.value, author: name || "anon", text: value, created_at: Date.now() };
    void run(
      "post_message",
      () =>
        post(args, { optimistic: (change) => void change.insert("messages", { value: shown }) }),
    );
  };
  return () =>
    h("section", { class: "card chat", "data-testid": "chat" }, [
      h("h2", [
        "Chat ",
        h(
          "span",
          { class: "muted", "data-testid": "chat-total" },
          messages.ready ? `(${messages.total})` : "",
        ),
      ]),
      h(
        "nav",
        { class: "tabs", role: "tablist" },
        ROOMS.map((name) =>
          h("button", {
            class: "tab",
            type: "button",
            role: "tab",
            "data-testid": `room-${name}`,
            "aria-selected": String(name === room.value),
            onClick: () => {
              typing.stop(room.value);
              room.value = name;
            },
          }, `#${name}`)
        ),
      ),
      h("p", { class: "presence muted" }, [
        h(
          "span",
          { "data-testid": "chat-members" },
          membersText(members.items.map((i) => i.value), members.total),
        ),
        " ",
        h(
          "span",
          { class: "typing", "data-testid": "chat-typing", "data-mine": String(typingShown.value) },
          typingText(members.items.map((i) => i.value), typing.me),
        ),
      ]),
      h("form", { autocomplete: "off", onSubmit: submit }, [
        h("input", {
          class: "author",
          "data-testid": "chat-author",
          placeholder: "anon",
          maxlength: 64,
          "aria-label": "Your name",
          value: author.value,
          onInput: (event: Event) => author.value = (event.target as HTMLInputElement).value,
          onChange: () => typing.rename(room.value, author.value),
        }),
        h("input", {
          "data-testid": "chat-input",
          placeholder: `Message #${room.value} — Enter posts`,
          maxlength: 2000,
          required: true,
          value: text.value,
          onInput: (event: Event) => {
            text.value = (event.target as HTMLInputElement).value;
            if (text.value) typing.input(room.value, author.value);
            else typing.stop(room.value);
            typingShown.value = typing.me.typing;
          },
        }),
        h("button", { type: "submit", "data-testid": "chat-send" }, "Post"),
      ]),
      h(
        "ul",
        { class: "messages", "data-testid": "chat-list", "data-room": room.value },
        messages.items.map((item) =>
          h("li", { key: item.id, "data-testid": "chat-message", "data-id": item.id }, [
            h("div", { class: "meta" }, [
              h("b", item.value.author),
              h("time", new Date(item.value.created_at).toLocaleTimeString()),
            ]),
            h("div", { class: "text", "data-testid": "chat-text" }, item.value.text),
          ])
        ),
      ),
      messages.ready && messages.total === 0
        ? h("p", { class: "empty" }, "No messages here yet.")
        : null,
      h("nav", { class: "pager" }, [
        h("button", {
          type: "button",
          "data-testid": "chat-prev",
          "aria-label": "Newer messages",
          disabled: messages.page === 0,
          onClick: () => messages.setPage(Math.max(0, messages.page - 1)),
        }, "‹"),
        h(
          "span",
          { "data-testid": "chat-page" },
          `Page ${messages.page + 1} of ${messages.pageCount}`,
        ),
        h("button", {
          type: "button",
          "data-testid": "chat-next",
          "aria-label": "Older messages",
          disabled: messages.page + 1 >= messages.pageCount,
          onClick: () => messages.setPage(messages.page + 1),
        }, "›"),
      ]),
    ]);
});

// One sign-in's view of `my_notes`: remade (by its key) after a sign-in, since a view opened
// signed out holds error 1.
const NotesBody = defineComponent({
  props: { user: { type: String, required: true } },
  emits: { signIn: (_name: string) => true, signOut: () => true },
  setup(props, { emit }) {
    const notes = useList("my_notes", { pageSize: NOTES_PAGE_SIZE });
    const add = useCall("add_note");
    const remove = useCall("delete_note");
    const name = ref("");
    const text = ref("");
    const login = (event: Event) => {
      event.preventDefault();
      const value = name.value.trim();
      if (value) emit("signIn", value);
    };
    const submit = (event: Event) => {
      event.preventDefault();
      const value = text.value.trim();
      if (!value) return;
      text.value = "";
      void run("add_note", () => add({ text: value }));
    };
    const row = (id: string, note: Note) =>
      h("li", { key: id, "data-testid": "note-item" }, [
        h("span", { class: "text" }, note.text),
        h("button", {
          type: "button",
          class: "delete",
          "aria-label": `delete: ${note.text}`,
          onClick: () => run("delete_note", () => remove({ id })),
        }, "×"),
      ]);
    return () => {
      // Error 1: no session (signed out, expired, or never signed in).
      const signedIn = notes.status !== "error";
      return [
        h("form", {
          "data-testid": "notes-login",
          autocomplete: "off",
          hidden: signedIn,
          onSubmit: login,
        }, [
          h("input", {
            "data-testid": "notes-name",
            placeholder: "Your name",
            maxlength: 32,
            required: true,
            "aria-label": "Your name",
            value: name.value,
            onInput: (event: Event) => name.value = (event.target as HTMLInputElement).value,
          }),
          h("button", { type: "submit", "data-testid": "notes-sign-in" }, "Sign in"),
        ]),
        h("div", { hidden: !signedIn }, [
          h("p", [
            "Signed in ",
            h("span", { "data-testid": "notes-user" }, props.user),
            " ",
            h("button", {
              type: "button",
              "data-testid": "notes-logout",
              onClick: () => emit("signOut"),
            }, "Sign out"),
          ]),
          h("form", { autocomplete: "off", onSubmit: submit }, [
            h("input", {
              "data-testid": "notes-input",
              placeholder: "A private note",
              maxlength: 1000,
              required: true,
              "aria-label": "New note",
              value: text.value,
              onInput: (event: Event) => text.value = (event.target as HTMLInputElement).value,
            }),
            h("button", { type: "submit", "data-testid": "notes-add" }, "Add"),
          ]),
          h(
            "ul",
            { class: "todos", "data-testid": "notes-list" },
            notes.items.map((item) => row(item.id, item.value)),
          ),
          notes.ready && notes.total === 0 ? h("p", { class: "empty" }, "No notes yet.") : null,
        ]),
      ];
    };
  },
});

const Notes = defineComponent(() => {
  const user = ref("");
  const opened = ref(0);
  const login = async (name: string) => {
    if (!(await run("login", () => signIn(client, name)))) return;
    user.value = name;
    opened.value++;
  };
  const logout = async () => {
    user.value = "";
    await run("logout", signOut);
    opened.value++;
  };
  return () =>
    h("section", { class: "card notes", "data-testid": "notes" }, [
      h("h2", "Notes"),
      h(NotesBody, { key: opened.value, user: user.value, onSignIn: login, onSignOut: logout }),
      h("p", { class: "hint" }, [
        "Only you see your notes: the list ",
        h("code", "my_notes"),
        " is a per-user query keyed by the session, never by what the page sends.",
      ]),
    ]);
});

const App = defineComponent(() => () => [
  h(ConnectionNote),
  h(Counter),
  h(Todos),
  h(Chat),
  h(Notes),
  h(
    "p",
    { class: "error", "data-testid": "error", role: "alert", hidden: !error.value },
    error.value,
  ),
]);

createApp(App).mount("#app");
