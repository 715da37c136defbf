/**
 * Item mirrors: this side's copy of one item of a list the other side
 * provides (the protocol's list `subscribe` with an `id`), for a record
 * shown on its own.
 *
 * @module
 */
import { INVALID_ID, type SockSyncError } from "../errors.ts";
import { MirrorBase } from "./mirror_base.ts";
import { itemKey } from "../protocol/mirror_keys.ts";
import type { MirrorFrame } from "../protocol/schemas.ts";
import type { MirroredItem } from "../peer/mirrored.ts";

/**
 * An item mirror's snapshot.
 *
 * @example
 * ```ts
 * import type { ItemSnapshot } from "./item_mirror.ts";
 * const gone: ItemSnapshot<string> = {
 *   value: undefined, exists: false, ready: true, status: "ready",
 * };
 * ```
 */
export interface ItemSnapshot<T> {
  /** The item's value; `undefined` until it arrived, and once it is gone. */
  readonly value: T | undefined;
  /** Whether the item exists (false before it arrived, when unknown, or deleted). */
  readonly exists: boolean;
  /** Whether the other side has answered: with the item, or saying there is none. */
  readonly ready: boolean;
  /**
   * `loading` until the first answer, `ready` once it arrived, `error` while
   * the last answer was an error (see `error`): a failed view is never an
   * empty one.
   */
  readonly status: "loading" | "ready" | "error";
  /** The last error the other side sent about this item (code 4: no such item). */
  readonly error?: SockSyncError;
}

/**
 * This side's copy of one list item.
 *
 * @example
 * ```ts
 * import { ItemMirror } from "./item_mirror.ts";
 * const todo = new ItemMirror<{ text: string }>("todos", "V1StGXR8");
 * todo.subscribe(({ value, exists }) => console.log(exists ? value?.text : "gone"));
 * ```
 */
export class ItemMirror<T = unknown> extends MirrorBase<ItemSnapshot<T>> implements MirroredItem {
  /** Always `"list"`: an item is subscribed as part of its list. */
  readonly type = "list" as const;
  /** The item's id. */
  readonly id: string;
  /** The item's value; `undefined` until it arrived, and once it is gone. */
  value: T | undefined = undefined;
  /** Whether the item exists. */
  exists = false;
  readonly #opener: { close(mirror: ItemMirror<T>): void } | undefined;

  /**
   * The mirror of the item `id` of the list `name`.
   *
   * @param name the list's name on the wire
   * @param id the item's id
   * @param opener the client's mirrors, told when an opener is done with it (without one,
   *   `close` does nothing)
   */
  constructor(name: string, id: string, opener?: { close(mirror: ItemMirror<T>): void }) {
    super(name);
    this.id = id;
    this.#opener = opener;
  }

  /**
   * Done with this mirror: once every `client.item` call that returned it
   * closed it, it is unsubscribed.
   */
  close(): void {
    this.#opener?.close(this);
  }

  /** `item:`, the list's name and the id. */
  override get key(): string {
    return itemKey(this.name, this.id);
  }

  /**
   * Records an error about this item; code 4 (no such item) also means the
   * item does not exist, which is an answer.
   */
  override fail(error: SockSyncError): void {
    if (error.code === INVALID_ID) {
      this.ready = true;
      this.exists = false;
      this.value = undefined;
    }
    super.fail(error);
  }

  /** Applies the item's `set` or `delete`. */
  protected update(frame: MirrorFrame): void {
    if (frame.func === "set" && frame.type === "list") {
      this.value = frame.value as T;
      this.exists = true;
    } else if (frame.func === "delete") {
      this.value = undefined;
      this.exists = false;
    }
  }

  /** The value and existence (`MirrorBase` adds readiness and error). */
  protected base(): { value: T | undefined; exists: boolean } {
    return { value: this.value, exists: this.exists };
  }
}
