/**
 * The demo's private notes: list `my_notes` shows the signed-in user's notes
 * only (a per-user query: its `key` and its source both come from the
 * connection's context, never from params), newest first; `add_note` and
 * `delete_note` change them. Without a session all three are refused with
 * error 1 (the hub's `authorize`); another user's note id is error 4, the
 * same as an unknown one.
 *
 * @module
 */
import * as v from "valibot";
import { ErrorCode, type Hub, SockSyncError } from "../mod.ts";
import { MemoryListSource } from "../stores/memory/mod.ts";
import type { ListSource } from "../src/store.ts";

/** Larger pages are refused. */
const MAX_PAGE_SIZE = 50;

/**
 * One note.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { Note } from "./notes.ts";
 * v.parse(Note, { text: "milk", created_at: 0 });
 * ```
 */
export const Note = v.object({ text: v.string(), created_at: v.number() });

/** One note's value. */
type NoteValue = v.InferOutput<typeof Note>;

/**
 * Every user's notes: one list per user, from `listOf` (default: in memory;
 * the demo passes its store's lists, so that instances sharing a Redis or
 * PostgreSQL store share the notes too). A note is the user's when it is in
 * the user's list: nothing else records who owns an id.
 *
 * @example
 * ```ts
 * import { Notebook } from "./notes.ts";
 * const notes = new Notebook();
 * const id = await notes.add("ada", "milk");
 * console.log(await notes.remove("bob", id)); // false: not bob's
 * ```
 */
export class Notebook {
  readonly #listOf: (user: string) => ListSource<NoteValue>;

  constructor(listOf?: (user: string) => ListSource<NoteValue>) {
    const lists = new Map<string, ListSource<NoteValue>>();
    this.#listOf = listOf ?? ((user) => {
      let list = lists.get(user);
      if (!list) lists.set(user, list = new MemoryListSource<NoteValue>());
      return list;
    });
  }

  /** The notes of one user, newest first. */
  of(user: string): ListSource<NoteValue> {
    return this.#listOf(user);
  }

  /** Adds a note at the top of the user's notes; returns its id. */
  async add(user: string, text: string): Promise<string> {
    return (await this.of(user).insert(0, { text, created_at: Date.now() })).id;
  }

  /** Deletes the user's note; false when the user has no note with this id. */
  async remove(user: string, id: string): Promise<boolean> {
    const list = this.of(user);
    if (!(await list.get(id))) return false;
    await list.delete(id);
    return true;
  }
}

/** The names only a signed-in connection may use. */
export const PRIVATE_NAMES: ReadonlySet<string> = new Set(["my_notes", "add_note", "delete_note"]);

/**
 * Declares `my_notes`, `add_note {text}` → `{id}` and `delete_note {id}` on
 * a hub; `userOf` reads the signed-in user from a connection's context
 * (`undefined`: signed out; `authorize` in `app.ts` refuses those first).
 *
 * @example
 * ```ts
 * import { Hub } from "../mod.ts";
 * import { addNotes, Notebook } from "./notes.ts";
 *  * const hub = new Hub<DemoSession | undefined>();
 * addNotes(hub, new Notebook());
 * await hub.close();
 * ```
 */
export function addNotes<C>(
  hub: Hub<C>,
  notes: Notebook,
  userOf: (context: C) => string | undefined,
) {
  const user = (context: C): string => {
    // `authorize` lets no anonymous connection this far; this is the second lock.
    const name = userOf(context);
    if (name === undefined) throw new SockSyncError(ErrorCode.InvalidFunc, "not subscribed");
    return name;
  };
  const myNotes = hub.list("my_notes", {
    // No params: whose notes is the connection's business, never the subscriber's.
    params: v.optional(v.strictObject({})),
    key: (_params, context) => user(context),
    source: (_params, context) => notes.of(user(context)),
    schema: Note,
    maxPageSize: MAX_PAGE_SIZE,
  });
  const addNote = hub.function("add_note", {
    args: v.strictObject({ text: v.pipe(v.string(), v.minLength(1), v.maxLength(1000)) }),
    handler: async ({ text }, { context }) => ({ id: await notes.add(user(context), text) }),
  });
  const deleteNote = hub.function("delete_note", {
    args: v.strictObject({ id: v.pipe(v.string(), v.maxLength(64)) }),
    handler: async ({ id }, { context }) => {
      if (!(await notes.remove(user(context), id))) {
        throw new SockSyncError(ErrorCode.InvalidId, "unknown note");
      }
      return null;
    },
  });
  return { myNotes, addNote, deleteNote };
}
