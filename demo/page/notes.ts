/// <reference lib="dom" />
/**
 * The demo page's Notes card: sign in by name (`POST /login` sets the session
 * cookie, and its token authenticates the open socket at once), then the
 * live list `my_notes` shows the signed-in user's notes only; sign out
 * (`POST /logout`) closes the session's connections with 4001.
 *
 * @module
 */
import type { Client, ListView } from "../../src/client/client.ts";

interface Note {
  text: string;
  created_at: number;
}

/**
 * The session token this page got from `POST /login`, for the client's
 * `auth` option (`undefined`: rely on the session cookie, if any).
 *
 * @example
 * ```ts
 * import { pageSession } from "./notes.ts";
 * const auth = () => pageSession.token;
 * ```
 */
export const pageSession: { token: string | undefined } = { token: undefined };

/**
 * Signs in as `name` (`POST /login` sets the session cookie) and
 * authenticates the open socket with the new token at once, then drops the
 * view of `my_notes` opened signed out (the page opens a new one); resolves
 * whether the server took the name. The `/vue/`, `/react/` and `/svelte/`
 * pages share it with `/`.
 *
 * @example
 * ```ts
 * import { connect } from "../../src/client/client.ts";
 * import { socketAuth } from "../../src/client/auth.ts";
 * import { pageSession, signIn } from "./notes.ts";
 * const client = connect("ws://127.0.0.1:8080/ws/socksync", {
 *   auth: () => pageSession.token,
 *   socketAuth,
 * });
 * await signIn(client, "ada");
 * ```
 */
export async function signIn(
  client: Pick<Client, "authenticate" | "list" | "release">,
  name: string,
): Promise<boolean> {
  const response = await fetch("/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
  if (!response.ok) return false;
  pageSession.token = (await response.json()).token;
  // The socket opened before the sign-in: give it the new identity.
  await client.authenticate();
  // A view of my_notes opened signed out holds error 1, and views are shared by name: drop it
  // now, so that the page's next view subscribes afresh.
  client.release(client.list("my_notes"));
  return true;
}

/**
 * Signs out (`POST /logout`): the server closes this session's sockets
 * (4001) and the client reconnects signed out.
 *
 * @example
 * ```ts
 * import { signOut } from "./notes.ts";
 * await signOut();
 * ```
 */
export async function signOut(): Promise<void> {
  pageSession.token = undefined;
  await fetch("/logout", { method: "POST" });
}

/**
 * Wires the Notes card to a client created with `auth: () => pageSession.token`
 * (and `socketAuth`).
 *
 * @example
 * ```ts
 * import { connect } from "../../src/client/client.ts";
 * import { socketAuth } from "../../src/client/auth.ts";
 * import { mountNotes, pageSession } from "./notes.ts";
 * const client = connect("ws://127.0.0.1:8080/ws/socksync", {
 *   auth: () => pageSession.token,
 *   socketAuth,
 * });
 * mountNotes(client, (name, args) => client.call(name, args));
 * ```
 */
export function mountNotes(
  client: Client,
  run: (name: string, args?: unknown) => Promise<unknown>,
): void {
  const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
  const loginForm = $<HTMLFormElement>("notes-login");
  const nameInput = $<HTMLInputElement>("notes-name");
  const signedIn = $<HTMLDivElement>("notes-signed-in");
  const who = $<HTMLSpanElement>("notes-user");
  const logoutButton = $<HTMLButtonElement>("notes-logout");
  const form = $<HTMLFormElement>("notes-form");
  const input = $<HTMLInputElement>("notes-input");
  const list = $<HTMLUListElement>("notes-list");
  const empty = $<HTMLParagraphElement>("notes-empty");

  let view: ListView<Note> | undefined;
  let stop: (() => void) | undefined;
  const show = (on: boolean) => {
    loginForm.hidden = on;
    signedIn.hidden = !on;
  };
  const render = () => {
    if (!view) return;
    // Error 1: no session (signed out, expired, or never signed in).
    if (view.error) return show(false);
    show(true);
    list.replaceChildren(...view.items.map((item) => renderNote(item.id, item.value)));
    empty.hidden = view.total > 0;
  };
  const open = () => {
    stop?.();
    if (view) client.release(view);
    view = client.list<Note>("my_notes", { pageSize: 20 });
    stop = view.onChange(render);
    render();
  };
  const renderNote = (id: string, note: Note): HTMLLIElement => {
    const li = document.createElement("li");
    li.dataset.testid = "note-item";
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = note.text;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "delete";
    remove.setAttribute("aria-label", `delete: ${note.text}`);
    remove.textContent = "×";
    remove.addEventListener("click", () => void run("delete_note", { id }));
    li.append(text, remove);
    return li;
  };

  loginForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    if (!name) return;
    if (!(await signIn(client, name))) return;
    who.textContent = name;
    // Look again: the view opened signed out holds error 1.
    open();
  });
  logoutButton.addEventListener("click", async () => {
    who.textContent = "";
    await signOut();
    open();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    void run("add_note", { text });
  });
  // After a reconnect (a sign-out, an expiry) the view is subscribed again; show what it gets.
  client.onConnect(render);
  open();
}
