/**
 * The demo: a shared counter, a shared todo list and a chat whose messages
 * live in a plain SQL table (SQLite, or PostgreSQL with a PostgreSQL store), with the functions a client calls to change
 * them. {@linkcode createDemoHub} builds the hub from any store (tests reuse
 * it); {@linkcode createDemoApp} adds the HTTP routes.
 *
 * @module
 */
import { Hono } from "hono";
import * as v from "valibot";
import { type ApiOf, ErrorCode, Hub, type Limits, SockSyncError } from "../mod.ts";
import type { Store } from "../src/store.ts";
import { addChat, type ChatTable } from "./chat.ts";
import { addNotes, Notebook, PRIVATE_NAMES } from "./notes.ts";
import { addLoginRoutes, type LoginOptions } from "./login.ts";
import type { DemoSession, Sessions } from "./session.ts";
import type { RevocationBus } from "../src/server/auth.ts";
import { isAdminName } from "../src/server/admin.ts";
import { addPresence } from "./chat_presence.ts";
import { MemoryPresenceStore } from "../stores/memory/mod.ts";

/**
 * The schema of one todo.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { Todo } from "./app.ts";
 * v.parse(Todo, { text: "milk", done: false });
 * ```
 */
export const Todo = v.object({ text: v.string(), done: v.boolean() });

/**
 * One todo.
 *
 * @example
 * ```ts
 * import type { TodoValue } from "./app.ts";
 * const todo: TodoValue = { text: "milk", done: false };
 * ```
 */
export type TodoValue = v.InferOutput<typeof Todo>;

/** Larger pages are refused, so one client cannot ask for the whole table. */
const MAX_PAGE_SIZE = 50;

const Integer = v.pipe(v.number(), v.integer());
const ItemId = v.object({ id: v.string() });

/**
 * Options of {@linkcode createDemoHub}.
 *
 * @example
 * ```ts
 * import type { DemoHubOptions } from "./app.ts";
 * import { openChat } from "./chat.ts";
 * const options: DemoHubOptions = { chat: await openChat({ kind: "memory" }) };
 * ```
 */
export interface DemoHubOptions {
  /** The chat's `messages` table (see `chat.ts`); without it, no chat. */
  chat?: ChatTable;
  /** Count and time what the hub does (for `/metrics` and `/admin/`). Default `true`. */
  metrics?: boolean;
  /** The hub's limits (default: the hub's defaults). */
  limits?: Partial<Limits>;
  /** Checks session tokens sent over the socket; without it, only cookies at the upgrade. */
  sessions?: Sessions;
  /** Carries revocations to the other instances. */
  revocations?: RevocationBus;
}

/**
 * A demo connection's context: whether it is an admin's (see `admin.ts`)
 * and its user's session, if signed in.
 *
 * @example
 * ```ts
 * import type { DemoIdentity } from "./app.ts";
 * const anonymous: DemoIdentity = { admin: false };
 * ```
 */
export type DemoIdentity = { admin?: boolean; session?: DemoSession } | undefined;

/**
 * Builds the demo hub on a store: var `counter`, list `todos` (newest first)
 * and the functions `increment`, `add_todo`, `toggle_todo`, `delete_todo`
 * and `echo`; with a chat table also list `messages` (params `{ room }`)
 * and `post_message`, `edit_message` and `delete_message`, and the room's
 * presence: list `room_members` and `set_presence` (see `chat_presence.ts`); the
 * signed-in user's notes: list `my_notes`, `add_note` and `delete_note` (error
 * 1 without a session). A connection's session comes from the cookie at the
 * upgrade, or from a token sent over the socket; the connection closes with
 * 4001 when the session expires or is signed out.
 *
 * @example
 * ```ts
 * import { memoryStore } from "../stores/memory/mod.ts";
 * import { createDemoHub } from "./app.ts";
 * const hub = createDemoHub(memoryStore());
 * await hub.close();
 * ```
 */
export function createDemoHub(store: Store, options: DemoHubOptions = {}): Hub<DemoIdentity> {
  const sessions = options.sessions;
  // A store shared by instances (Redis, PostgreSQL) also remembers call answers for all of them.
  const hub = new Hub<DemoIdentity>({
    vars: store.vars,
    callMemory: { store: store.calls },
    limits: options.limits,
    metrics: options.metrics ?? true,
    // The admin vars (see demo/admin.ts) only for connections that signed in as admin; the notes
    // only for those with a session.
    authorize: (context, { name }) =>
      (!isAdminName(name) || context?.admin === true) &&
      (context?.session !== undefined || !PRIVATE_NAMES.has(name)),
    authenticate: sessions
      ? async (credentials, current) => {
        const token = typeof credentials === "object" && credentials !== null
          ? (credentials as { token?: unknown }).token
          : credentials;
        const session = await sessions.verify(token);
        return session && { context: { ...current, session }, expiresAt: session.exp };
      }
      : undefined,
    expiresAt: (context) => context?.session?.exp,
    sessionKeys: (context) => {
      const session = context?.session;
      return session ? [`session:${session.sid}`, `user:${session.name}`] : [];
    },
    revocations: options.revocations,
  });
  declareDemo(hub, store);
  if (options.chat) {
    addChat(hub, options.chat);
    addPresence(hub, store.presence?.() ?? new MemoryPresenceStore());
  }
  // In the store, so that instances sharing a Redis or PostgreSQL store show a user the same notes.
  const notebook = new Notebook((user) => store.list(`notes:${user}`));
  addNotes(hub, notebook, (context) => context?.session?.name);
  return hub;
}

/** Declares the counter, the todos and their functions on `hub`; returns what it declared. */
function declareDemo<C>(hub: Hub<C>, store: Store) {
  const counter = hub.var("counter", { schema: Integer, initial: 0 });
  const todos = hub.list("todos", {
    source: store.list<TodoValue>("todos"),
    schema: Todo,
    maxPageSize: MAX_PAGE_SIZE,
  });

  const increment = hub.function("increment", {
    args: v.optional(v.object({ by: v.optional(Integer) })),
    handler: (args) => counter.update((n) => n + (args?.by ?? 1)),
  });
  const addTodo = hub.function("add_todo", {
    args: v.object({ text: v.string(), index: v.optional(Integer) }),
    handler: async ({ text, index }) => {
      const item = await todos.insert(index ?? 0, { text, done: false });
      return { id: item.id };
    },
  });
  const toggleTodo = hub.function("toggle_todo", {
    args: ItemId,
    // An atomic update: two clients (or two instances) toggling at once flip it twice.
    handler: async ({ id }) =>
      (await todos.update(id, (todo) => ({ ...todo, done: !todo.done }))).value.done,
  });
  const deleteTodo = hub.function("delete_todo", {
    args: ItemId,
    handler: async ({ id }) => {
      if (!(await todos.get(id))) {
        throw new SockSyncError(ErrorCode.InvalidId, "unknown todo");
      }
      await todos.delete(id);
      return null;
    },
  });
  const echo = hub.function("echo", { args: v.unknown(), handler: (args) => args });
  return { counter, todos, increment, addTodo, toggleTodo, deleteTodo, echo };
}

/**
 * The demo's API, for the pages' typed clients: `import type` it, so that no
 * server code reaches the browser.
 *
 * @example
 * ```ts
 * import type { DemoApi } from "./app.ts";
 * import { connect } from "../mod.ts";
 * const client = connect<DemoApi>("ws://127.0.0.1:8080/ws/socksync");
 * const added: Promise<{ id: string }> = client.call("add_todo", { text: "milk" });
 * ```
 */
export type DemoApi = ApiOf<
  & ReturnType<typeof declareDemo>
  & ReturnType<typeof addChat>
  & ReturnType<typeof addPresence>
  & ReturnType<typeof addNotes>
>;

/**
 * The demo page, as the server hands it out.
 *
 * @example
 * ```ts
 * import type { DemoPage } from "./app.ts";
 * const page: DemoPage = { html: "<!doctype html>", script: "", style: "" };
 * ```
 */
export interface DemoPage {
  /** `GET /`. */
  html: string;
  /** `GET /app.js`, already bundled for browsers. */
  script: string;
  /** `GET /app.css`. */
  style: string;
}

/**
 * Options of {@linkcode createDemoApp}.
 *
 * @example
 * ```ts
 * import { memoryStore } from "../stores/memory/mod.ts";
 * import { createDemoHub, type DemoAppOptions } from "./app.ts";
 * const store = memoryStore();
 * const options: DemoAppOptions = { hub: createDemoHub(store), store, runtime: "node" };
 * ```
 */
export interface DemoAppOptions {
  /** The demo hub (its connections are counted by `/health`). */
  hub: Hub<DemoIdentity>;
  /** The store behind it (its kind is reported by `/health`). */
  store: Store;
  /** The runtime serving, reported by `/health`. */
  runtime: string;
  /** The page; without it `GET /` answers 404. */
  page?: DemoPage;
  /** With sessions: `POST /login` and `POST /logout` (see `login.ts`). */
  sessions?: Sessions;
  /** Tells the other instances that a session ended. */
  publishLogout?: LoginOptions["publishLogout"];
}

/**
 * The demo's HTTP routes: `GET /health`, `GET /`, `GET /app.js`, `GET /app.css`,
 * and with sessions `POST /login` and `POST /logout`.
 * The WebSocket route is mounted by `serve()`.
 *
 * @example
 * ```ts
 * import { memoryStore } from "../stores/memory/mod.ts";
 * import { createDemoApp, createDemoHub } from "./app.ts";
 * const store = memoryStore();
 * const app = createDemoApp({ hub: createDemoHub(store), store, runtime: "deno" });
 * const health = await (await app.request("/health")).json();
 * ```
 */
export function createDemoApp(options: DemoAppOptions): Hono {
  const { hub, store, runtime, page, sessions } = options;
  const app = new Hono();
  if (sessions) addLoginRoutes(app, { hub, sessions, publishLogout: options.publishLogout });
  app.get("/health", (c) =>
    c.json({
      ok: true,
      runtime,
      store: store.kind,
      connections: hub.peers.size,
    }));
  if (page) {
    app.get("/", (c) => c.html(page.html));
    app.get("/app.js", (c) => {
      c.header("content-type", "text/javascript; charset=utf-8");
      return c.body(page.script);
    });
    app.get("/app.css", (c) => {
      c.header("content-type", "text/css; charset=utf-8");
      return c.body(page.style);
    });
  }
  return app;
}
