/**
 * The Chat card's presence, shared by the plain, Vue and React pages: the line
 * "3 here: ann, bob, anon" from a page of `room_members`, the line "ann is typing…",
 * and {@linkcode TypingSignal}, which tells the server when this tab types (typing set
 * on input, cleared on post or after 3 s without a key).
 *
 * @module
 */

/** A `room_members` item's value. */
export interface MemberValue {
  name: string;
  typing: boolean;
}

/** How many names the members line shows before "…". */
const SHOWN = 5;
/** Typing stops counting after this long without a key. */
export const TYPING_IDLE_MS = 3000;

/**
 * "3 here: ann, bob, anon" (the first names of the page, oldest arrival first).
 *
 * @example
 * ```ts
 * import { membersText } from "./presence.ts";
 * membersText([{ name: "ann", typing: false }], 1); // "1 here: ann"
 * ```
 */
export function membersText(members: MemberValue[], total: number): string {
  if (total === 0) return "";
  const names = members.slice(0, SHOWN).map((m) => m.name).join(", ");
  return `${total} here: ${names}${total > SHOWN ? ", …" : ""}`;
}

/**
 * "ann is typing…", "ann and bob are typing…": the others typing (this tab's own
 * entry, while it types, is left out by its name).
 *
 * @example
 * ```ts
 * import { typingText } from "./presence.ts";
 * typingText([{ name: "ann", typing: true }], { name: "bob", typing: false }); // "ann is typing…"
 * ```
 */
export function typingText(members: MemberValue[], me: MemberValue): string {
  const typing = members.filter((m) => m.typing).map((m) => m.name);
  if (me.typing) {
    const mine = typing.indexOf(me.name);
    if (mine >= 0) typing.splice(mine, 1);
  }
  if (typing.length === 0) return "";
  if (typing.length === 1) return `${typing[0]} is typing…`;
  if (typing.length === 2) return `${typing[0]} and ${typing[1]} are typing…`;
  return `${typing.length} people are typing…`;
}

/**
 * Tells the server (`set_presence`) that this tab types in a room, and that it stopped.
 *
 * @example
 * ```ts
 * import { TypingSignal } from "./presence.ts";
 * const typing = new TypingSignal((args) => console.log(args));
 * typing.input("general", "ann");
 * typing.stop("general");
 * ```
 */
export class TypingSignal {
  /** What this tab last told the server. */
  readonly me: MemberValue = { name: "anon", typing: false };
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #send: (args: { room: string; name?: string; typing?: boolean }) => unknown;

  /** @param send calls `set_presence` (its failures are the caller's to ignore) */
  constructor(send: (args: { room: string; name?: string; typing?: boolean }) => unknown) {
    this.#send = send;
  }

  /** A key was typed in `room`, by `name` (empty: anon). */
  input(room: string, name: string): void {
    const shown = name.trim().slice(0, 32) || "anon";
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.stop(room), TYPING_IDLE_MS);
    if (this.me.typing && this.me.name === shown) return;
    this.me.typing = true;
    this.me.name = shown;
    this.#send({ room, name: shown, typing: true });
  }

  /** The name field changed: the members list shows it. */
  rename(room: string, name: string): void {
    const shown = name.trim().slice(0, 32) || "anon";
    if (shown === this.me.name) return;
    this.me.name = shown;
    this.#send({ room, name: shown });
  }

  /** Posted, left the room, or idle: no longer typing. */
  stop(room: string): void {
    clearTimeout(this.#timer);
    if (!this.me.typing) return;
    this.me.typing = false;
    this.#send({ room, typing: false });
  }
}
