/**
 * Who is in each chat room: {@linkcode addPresence} declares the list `room_members`
 * (params `{ room }`, value `{ name, typing }`, oldest arrival first, pages of at most
 * 50) and the function `set_presence`. A connection is a member of room R while it
 * views `messages` of R (any page), as `"anon"`, not typing, until it says otherwise.
 *
 * @module
 */
import * as v from "valibot";
import type { Hub } from "../mod.ts";
import type { PresenceStore } from "../src/store.ts";
import { Room } from "./chat_schema.ts";

/**
 * A member's name: 1 to 32 characters.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { MemberName } from "./chat_presence.ts";
 * v.parse(MemberName, "ann");
 * ```
 */
export const MemberName = v.pipe(v.string(), v.minLength(1), v.maxLength(32));

/**
 * The state of one member of a room, as a `room_members` item's value.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { Member } from "./chat_presence.ts";
 * v.parse(Member, { name: "anon", typing: false });
 * ```
 */
export const Member = v.object({ name: MemberName, typing: v.boolean() });

/** Larger pages are refused, as for `messages`. */
const MAX_PAGE_SIZE = 50;

/**
 * Declares `room_members` and `set_presence { room, name?, typing? }` → `{}` (error 1
 * when the connection is not in that room) on a hub that has `messages` already.
 *
 * @example
 * ```ts
 * import { Hub } from "../mod.ts";
 * import { MemoryPresenceStore } from "../stores/memory/mod.ts";
 * import { addChat, openChat } from "./chat.ts";
 * import { addPresence } from "./chat_presence.ts";
 * const chat = await openChat({ kind: "memory" });
 * const hub = new Hub();
 * addChat(hub, chat);
 * addPresence(hub, new MemoryPresenceStore());
 * await hub.close();
 * await chat.close();
 * ```
 */
export function addPresence<C>(hub: Hub<C>, store: PresenceStore) {
  const members = hub.presence("room_members", {
    params: v.object({ room: Room }),
    state: Member,
    initial: { name: "anon", typing: false },
    store,
    joinWith: "messages",
    maxPageSize: MAX_PAGE_SIZE,
  });
  const setPresence = hub.function("set_presence", {
    args: v.object({ room: Room, name: v.optional(MemberName), typing: v.optional(v.boolean()) }),
    handler: async ({ room, name, typing }, { peer }) => {
      const change: { name?: string; typing?: boolean } = {};
      if (name !== undefined) change.name = name;
      if (typing !== undefined) change.typing = typing;
      await members.update(peer, { room }, change);
      return {};
    },
  });
  return { roomMembers: members.list, setPresence };
}
