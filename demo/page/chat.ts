/// <reference lib="dom" />
/**
 * The demo page's Chat card: one live view of the list `messages` for the room shown
 * (params `{ room }`), swapped for another when the room tab changes.
 *
 * @module
 */
import type { Client, ListView } from "../../src/client/client.ts";
import { membersText, type MemberValue, TypingSignal, typingText } from "./presence.ts";

interface Message {
  room: string;
  author: string;
  text: string;
  created_at: number;
}

const PAGE_SIZE = 10;

/**
 * Wires the Chat card of the page to a client; `run` makes a call and shows its failure.
 *
 * @example
 * ```ts
 * import { connect } from "../../src/client/client.ts";
 * import { mountChat } from "./chat.ts";
 * const client = connect("ws://127.0.0.1:8080/ws/socksync");
 * mountChat(client, (name, args) => client.call(name, args));
 * ```
 */
export function mountChat(
  client: Client,
  run: (name: string, args?: unknown) => Promise<unknown>,
): void {
  const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
  const form = $<HTMLFormElement>("chat-form");
  const input = $<HTMLInputElement>("chat-input");
  const author = $<HTMLInputElement>("chat-author");
  const list = $<HTMLUListElement>("chat-list");
  const empty = $<HTMLParagraphElement>("chat-empty");
  const total = $<HTMLSpanElement>("chat-total");
  const pageInfo = $<HTMLSpanElement>("chat-page");
  const prev = $<HTMLButtonElement>("chat-prev");
  const next = $<HTMLButtonElement>("chat-next");
  const tabs = [...document.querySelectorAll<HTMLButtonElement>(".tabs .tab")];
  const membersLine = $<HTMLSpanElement>("chat-members");
  const typingLine = $<HTMLSpanElement>("chat-typing");

  let room = "";
  let view: ListView<Message> | undefined;
  let members: ListView<MemberValue> | undefined;
  // Not being in the room yet (the view is opening) is no failure worth showing.
  const typing = new TypingSignal((args) => client.call("set_presence", args).catch(() => {}));

  function renderMembers(): void {
    if (!members) return;
    const values = members.items.map((item) => item.value);
    membersLine.textContent = membersText(values, members.total);
    typingLine.textContent = typingText(values, typing.me);
  }

  function render(): void {
    if (!view) return;
    // A page emptied by deletes elsewhere: step back to the last page that exists.
    if (view.items.length === 0 && view.page > 0 && view.page >= view.pageCount) {
      view.setPage(view.pageCount - 1);
      return;
    }
    list.replaceChildren(...view.items.map((item) => renderMessage(item.id, item.value)));
    empty.hidden = view.total > 0;
    total.textContent = `(${view.total})`;
    pageInfo.textContent = `Page ${view.page + 1} of ${Math.max(1, view.pageCount)}`;
    prev.disabled = view.page === 0;
    next.disabled = view.page + 1 >= view.pageCount;
  }

  function show(next: string): void {
    if (next === room) return;
    if (room) typing.stop(room);
    room = next;
    for (const tab of tabs) tab.setAttribute("aria-selected", String(tab.dataset.room === room));
    input.placeholder = `Message #${room} — Enter posts`;
    list.dataset.room = room;
    if (view) client.release(view as ListView<unknown>);
    if (members) client.release(members as ListView<unknown>);
    list.replaceChildren();
    total.textContent = "";
    view = client.list<Message>("messages", { page: 0, pageSize: PAGE_SIZE, params: { room } });
    view.onChange(render);
    members = client.list<MemberValue>("room_members", { page: 0, pageSize: 50, params: { room } });
    members.onChange(renderMembers);
  }

  for (const tab of tabs) tab.addEventListener("click", () => show(tab.dataset.room!));
  prev.addEventListener("click", () => view?.setPage(Math.max(0, view.page - 1)));
  next.addEventListener("click", () => view?.setPage(view.page + 1));
  // A form submits on Enter in its text box.
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    typing.stop(room);
    const name = author.value.trim();
    void run("post_message", name ? { room, text, author: name } : { room, text });
  });
  author.addEventListener("change", () => typing.rename(room, author.value));
  input.addEventListener("input", () => {
    if (input.value) typing.input(room, author.value);
    else typing.stop(room);
  });
  show("general");

  function renderMessage(id: string, message: Message): HTMLLIElement {
    const li = document.createElement("li");
    li.dataset.testid = "chat-message";
    li.dataset.id = id;
    const meta = document.createElement("div");
    meta.className = "meta";
    const who = document.createElement("b");
    who.textContent = message.author;
    const when = document.createElement("time");
    when.dateTime = new Date(message.created_at).toISOString();
    when.textContent = new Date(message.created_at).toLocaleTimeString();
    meta.append(who, when);
    const text = document.createElement("div");
    text.className = "text";
    text.dataset.testid = "chat-text";
    text.textContent = message.text;
    li.append(meta, text);
    return li;
  }
}
