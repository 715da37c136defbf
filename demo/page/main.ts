/// <reference lib="dom" />
/**
 * The demo page's script, bundled for browsers at server start. It only uses
 * the SockSync client: a var mirror, list views (the chat's with params) and calls.
 *
 * @module
 */
import { connect } from "../../src/client/client.ts";
import { socketAuth } from "../../src/client/auth.ts";
import { mountChat } from "./chat.ts";
import { mountNotes, pageSession } from "./notes.ts";
import { showConnection } from "./status_badge.ts";

interface Todo {
  text: string;
  done: boolean;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $<HTMLSpanElement>("status");
const counterOut = $<HTMLOutputElement>("counter");
const incrementButton = $<HTMLButtonElement>("increment");
const addForm = $<HTMLFormElement>("add-form");
const todoInput = $<HTMLInputElement>("todo-input");
const todoList = $<HTMLUListElement>("todo-list");
const empty = $<HTMLParagraphElement>("empty");
const total = $<HTMLSpanElement>("total");
const pageInfo = $<HTMLSpanElement>("page-info");
const prev = $<HTMLButtonElement>("page-prev");
const next = $<HTMLButtonElement>("page-next");
const pageSize = $<HTMLSelectElement>("page-size");
const errorLine = $<HTMLParagraphElement>("error");

const scheme = location.protocol === "https:" ? "wss" : "ws";
const client = connect(`${scheme}://${location.host}/ws/socksync`, {
  reconnect: { minDelay: 250, maxDelay: 5000 },
  limits: { callTimeout: 10_000 },
  // The token of a sign-in on this page; before one, the session cookie (if any) counts.
  auth: () => pageSession.token,
  socketAuth,
});
// Nothing is disabled while offline: calls wait for the connection, within their timeout.
showConnection(client.connection, status);
const counter = client.var<number>("counter");
const todos = client.list<Todo>("todos", {
  page: 0,
  pageSize: Number(pageSize.value),
});

/** Runs a call; shows its failure instead of throwing into the void. */
async function run(name: string, args?: unknown): Promise<unknown> {
  try {
    const value = await client.call(name, args);
    errorLine.hidden = true;
    return value;
  } catch (error) {
    errorLine.textContent = `${name} failed: ${error instanceof Error ? error.message : error}`;
    errorLine.hidden = false;
    return undefined;
  }
}

counter.onChange(() => {
  counterOut.value = String(counter.value ?? "–");
});
incrementButton.addEventListener("click", () => void run("increment"));

addForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = todoInput.value.trim();
  if (!text) return;
  todoInput.value = "";
  void run("add_todo", { text });
});

function renderTodo(id: string, todo: Todo): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset.testid = "todo-item";
  li.dataset.id = id;
  li.classList.toggle("done", todo.done);
  const box = document.createElement("input");
  box.type = "checkbox";
  box.checked = todo.done;
  box.dataset.testid = "todo-toggle";
  box.setAttribute("aria-label", `done: ${todo.text}`);
  box.addEventListener("change", () => void run("toggle_todo", { id }));
  const text = document.createElement("span");
  text.className = "text";
  text.dataset.testid = "todo-text";
  text.textContent = todo.text;
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "delete";
  remove.dataset.testid = "todo-delete";
  remove.setAttribute("aria-label", `delete: ${todo.text}`);
  remove.textContent = "×";
  remove.addEventListener("click", () => void run("delete_todo", { id }));
  li.append(box, text, remove);
  return li;
}

todos.onChange(() => {
  // A page emptied by deletes elsewhere: step back to the last page that exists.
  if (
    todos.items.length === 0 && todos.page > 0 && todos.page >= todos.pageCount
  ) {
    todos.setPage(todos.pageCount - 1);
    return;
  }
  todoList.replaceChildren(
    ...todos.items.map((item) => renderTodo(item.id, item.value)),
  );
  empty.hidden = todos.total > 0;
  total.textContent = `(${todos.total})`;
  pageInfo.textContent = `Page ${todos.page + 1} of ${todos.pageCount}`;
  prev.disabled = todos.page === 0;
  next.disabled = todos.page + 1 >= todos.pageCount;
});
prev.addEventListener(
  "click",
  () => todos.setPage(Math.max(0, todos.page - 1)),
);
next.addEventListener("click", () => todos.setPage(todos.page + 1));
pageSize.addEventListener(
  "change",
  () => todos.setPage(0, Number(pageSize.value)),
);

mountChat(client, run);
mountNotes(client, run);
