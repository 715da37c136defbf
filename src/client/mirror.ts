/**
 * Mirrors: this side's copy of a var or a list view that the other side
 * provides, built only from the frames it sends. A mirror outlives a
 * connection, so a reconnecting client can subscribe the same mirror again.
 * Each offers an immutable snapshot per change and `subscribe` (see
 * `mirror_core.ts`); the mutable fields (`value`, `items`, `total`, …) keep
 * what the other side sent, without optimistic changes.
 *
 * @module
 */
import type * as v from "valibot";
import { encodeSubscribe } from "../protocol/encode.ts";
import { INVALID_ARGUMENTS, INVALID_FUNC, INVALID_TYPE, SockSyncError } from "../errors.ts";
import type { ListItem } from "../store.ts";
import { MirrorBase, type MirrorState } from "./mirror_base.ts";
import type { MirrorFrame } from "../protocol/schemas.ts";
import type { MirroredList, MirroredVar } from "../peer/mirrored.ts";

export type { Overlay } from "./mirror_base.ts";

/**
 * A var mirror's snapshot.
 *
 * @example
 * ```ts
 * import type { VarSnapshot } from "./mirror.ts";
 * const snapshot: VarSnapshot<number> = { value: 3, ready: true, status: "ready" };
 * ```
 */
export interface VarSnapshot<T> {
  /** The value; `undefined` until the first one arrived. */
  readonly value: T | undefined;
  /** Whether a value has arrived. */
  readonly ready: boolean;
  /**
   * `loading` until the first answer, `ready` once it arrived, `error` while
   * the last answer was an error (see `error`): a failed view is never an
   * empty one.
   */
  readonly status: "loading" | "ready" | "error";
  /** The last error the other side sent about this var, until the next change. */
  readonly error?: SockSyncError;
}

/**
 * This side's copy of a var the other side provides.
 *
 * @example
 * ```ts
 * import { VarMirror } from "./mirror.ts";
 * const counter = new VarMirror<number>("counter");
 * counter.subscribe(({ value, ready }) => console.log(ready ? value : "loading"));
 * ```
 */
export class VarMirror<T = unknown> extends MirrorBase<VarSnapshot<T>> implements MirroredVar {
  /** Always `"var"`. */
  readonly type = "var" as const;
  /** The last value received; `undefined` until the first `set`. */
  value: T | undefined = undefined;
  readonly #schema: v.GenericSchema<unknown, T> | undefined;

  /**
   * The mirror of the var `name`.
   *
   * @param name the var's name on the wire
   * @param schema validates incoming values (an invalid one is refused with code 6)
   */
  constructor(name: string, schema?: v.GenericSchema<unknown, T>) {
    super(name);
    this.#schema = schema;
  }

  /** Applies a `set` frame. */
  protected update(frame: MirrorFrame): void {
    if (frame.func !== "set" || frame.type !== "var") {
      throw new SockSyncError(
        INVALID_FUNC,
        `${frame.func} does not apply to a var`,
      );
    }
    if (this.#schema) {
      // Through the schema's Standard Schema interface (what `v.safeParse` runs), so that a
      // client that passes no schema carries none of valibot.
      const parsed = this.#schema["~standard"].validate(frame.value);
      if (parsed instanceof Promise || parsed.issues) {
        throw new SockSyncError(
          INVALID_ARGUMENTS,
          `invalid value for var ${this.name}`,
        );
      }
      this.value = parsed.value;
    } else {
      this.value = frame.value as T;
    }
  }

  /** The value (`MirrorBase` adds readiness and error). */
  protected base(): { value: T | undefined } {
    return { value: this.value };
  }
}

/**
 * Options of a list view.
 *
 * @example
 * ```ts
 * import type { ListViewOptions } from "./mirror.ts";
 * const options: ListViewOptions = { page: 0, pageSize: 20 };
 * ```
 */
export interface ListViewOptions {
  /** The zero-based page to open. Default 0. */
  page?: number;
  /** The page size to ask for; the provider caps it. Default: the provider's maximum. */
  pageSize?: number;
  /** The params of a parameterized list (a JSON object); frames are matched by them. */
  params?: Readonly<Record<string, unknown>>;
}

/**
 * One item of a list snapshot; `pending` marks an optimistic item that the
 * other side has not confirmed yet.
 *
 * @example
 * ```ts
 * import type { SnapshotItem } from "./mirror.ts";
 * const item: SnapshotItem<string> = { id: "a", value: "milk" };
 * ```
 */
export interface SnapshotItem<T> {
  /** The item's id. */
  readonly id: string;
  /** The item's value. */
  readonly value: T;
  /** Set on an item that an optimistic change inserted or changed. */
  readonly pending?: true;
}

/**
 * A list view's snapshot.
 *
 * @example
 * ```ts
 * import type { ListSnapshot } from "./mirror.ts";
 * const empty: ListSnapshot<string> = {
 *   items: [], total: 0, page: 0, pageSize: 20, pageCount: 1, ready: false, status: "loading",
 * };
 * ```
 */
export interface ListSnapshot<T> {
  /** The page's items, in order. */
  readonly items: readonly SnapshotItem<T>[];
  /** The number of items in the whole list. */
  readonly total: number;
  /** The page shown, counted from 0. */
  readonly page: number;
  /** The page size (the provider's answer once it arrived; 0 before). */
  readonly pageSize: number;
  /** The number of pages (at least 1). */
  readonly pageCount: number;
  /** Whether the first page has arrived. */
  readonly ready: boolean;
  /**
   * `loading` until the first answer, `ready` once it arrived, `error` while
   * the last answer was an error (see `error`): a failed view is never an
   * empty one.
   */
  readonly status: "loading" | "ready" | "error";
  /** The last error the other side sent about this view, until the next change. */
  readonly error?: SockSyncError;
}

/**
 * This side's copy of one page of a list the other side provides.
 *
 * @example
 * ```ts
 * import { ListMirror } from "./mirror.ts";
 * const todos = new ListMirror<{ text: string }>("todos", { page: 0, pageSize: 20 });
 * todos.subscribe(({ total, items }) => console.log(total, items.length));
 * ```
 */
export class ListMirror<T = unknown> extends MirrorBase<ListSnapshot<T>> implements MirroredList {
  /** Always `"list"`. */
  readonly type = "list" as const;
  /** The items of the current page, in order (items are replaced, never changed). */
  items: ListItem<T>[] = [];
  /** The number of items in the whole list. */
  total = 0;
  /** The current page (the provider's answer once it arrives). */
  page: number;
  /** The page size asked for; the provider's answer once it arrives. */
  pageSize: number | undefined;
  /** The params of this view of a parameterized list, else `undefined`. */
  readonly params: Readonly<Record<string, unknown>> | undefined;

  /**
   * The mirror of one page of the list `name`.
   *
   * @param name the list's name on the wire
   * @param options the page to open
   */
  constructor(name: string, options: ListViewOptions = {}) {
    super(name);
    this.page = options.page ?? 0;
    this.pageSize = options.pageSize;
    this.params = options.params;
  }

  /** The number of pages at the current page size (at least 1). */
  get pageCount(): number {
    return countPages(this.total, this.pageSize ?? this.items.length);
  }

  /** The encoded `subscribe` frame for this view, with its page (our protocol extension). */
  override subscribeFrame(): string {
    return encodeSubscribe("list", this.name, {
      page: this.page || undefined,
      pageSize: this.pageSize,
      params: this.params,
      more: true,
    });
  }

  /** Applies `set_all`, `set_count`, `insert`, `delete` or `set`. */
  protected update(frame: MirrorFrame): void {
    switch (frame.func) {
      case "set_all":
        this.items = frame.items as ListItem<T>[];
        this.total = frame.total_item_count;
        this.page = frame.page;
        if (frame.page_size !== undefined) this.pageSize = frame.page_size;
        break;
      case "set_count":
        this.total = frame.total_item_count;
        break;
      case "insert": {
        const offset = this.page * (this.pageSize ?? 0);
        const at = Math.min(
          Math.max(frame.index - offset, 0),
          this.items.length,
        );
        this.items.splice(at, 0, { id: frame.id, value: frame.value as T });
        break;
      }
      case "delete": {
        const at = this.items.findIndex((item) => item.id === frame.id);
        if (at >= 0) this.items.splice(at, 1);
        break;
      }
      case "set": {
        if (frame.type !== "list") {
          throw new SockSyncError(
            INVALID_TYPE,
            "a list takes set with type list",
          );
        }
        const at = this.items.findIndex((item) => item.id === frame.id);
        // A new object: the snapshots that hold the old one stay as they were.
        if (at >= 0) this.items[at] = { id: frame.id, value: frame.value as T };
        break;
      }
    }
  }

  /** The page, its items, the total and the page count (`MirrorBase` adds readiness and error). */
  protected base(): Omit<ListSnapshot<T>, keyof MirrorState> {
    const pageSize = this.pageSize ?? (this.ready ? this.items.length : 0);
    return {
      items: Object.freeze([...this.items]),
      total: this.total,
      page: this.page,
      pageSize,
      pageCount: countPages(this.total, pageSize),
    };
  }
}

/**
 * The number of pages of `total` items at `pageSize` (at least 1).
 */
export function countPages(total: number, pageSize: number): number {
  return Math.max(1, Math.ceil(total / (pageSize || 1)));
}
