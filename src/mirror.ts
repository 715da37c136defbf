/**
 * Mirrors: this side's copy of a var or a list view that the other side
 * provides, built only from the frames it sends. A mirror outlives a
 * connection, so a reconnecting client can subscribe the same mirror again.
 *
 * @module
 */
import * as v from "valibot";
import { encodeSubscribe } from "./encode.ts";
import { ErrorCode, SockSyncError } from "./errors.ts";
import type { ListItem } from "./store.ts";
import type { MessageWithFunc } from "./protocol.ts";

/**
 * A frame that changes a mirror, already validated by the protocol schemas.
 *
 * @example
 * ```ts
 * import type { MirrorFrame } from "./mirror.ts";
 * const f: MirrorFrame = { func: "set_count", type: "list", name: "todos", total_item_count: 3 };
 * ```
 */
export type MirrorFrame =
  | MessageWithFunc<"set">
  | MessageWithFunc<"set_all">
  | MessageWithFunc<"set_count">
  | MessageWithFunc<"insert">
  | MessageWithFunc<"delete">;

type Listener = () => void;

/** What var and list mirrors share: a name, listeners, readiness and the last error. */
abstract class Mirror {
  /** The group's name on the wire. */
  readonly name: string;
  /** Whether the first value or page has arrived since the last subscribe. */
  ready = false;
  /**
   * The last error the other side sent about this mirror (an unknown name, a
   * refused subscribe, an invalid page size, …); cleared by the next change.
   */
  error: SockSyncError | undefined = undefined;
  readonly #listeners = new Set<Listener>();

  constructor(name: string) {
    this.name = name;
  }

  /** The protocol type of the group. */
  abstract readonly type: "var" | "list";

  /** The encoded `subscribe` frame for this mirror. */
  abstract subscribeFrame(): string;

  /** Applies one frame from the other side; throws a `SockSyncError` when it does not fit. */
  abstract apply(frame: MirrorFrame): void;

  /** Calls `listener` after every change; returns the function that removes it. */
  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Records an error the other side sent about this mirror and tells every
   * listener (`ready` is unchanged: the last value, if any, still stands).
   */
  fail(error: SockSyncError): void {
    this.error = error;
    this.#tell();
  }

  /** Tells every listener; a throwing listener does not stop the others. */
  protected changed(): void {
    this.ready = true;
    this.error = undefined;
    this.#tell();
  }

  #tell(): void {
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch (error) {
        console.error(error);
      }
    }
  }
}

/**
 * This side's copy of a var the other side provides.
 *
 * @example
 * ```ts
 * import { VarMirror } from "./mirror.ts";
 * const counter = new VarMirror<number>("counter");
 * counter.onChange(() => console.log(counter.value));
 * ```
 */
export class VarMirror<T = unknown> extends Mirror {
  /** Always `"var"`. */
  readonly type = "var" as const;
  /** The last value received; `undefined` until the first `set`. */
  value: T | undefined = undefined;
  readonly #schema: v.GenericSchema<unknown, T> | undefined;

  /**
   * @param name the var's name on the wire
   * @param schema validates incoming values (an invalid one is refused with code 6)
   */
  constructor(name: string, schema?: v.GenericSchema<unknown, T>) {
    super(name);
    this.#schema = schema;
  }

  /** The encoded `subscribe` frame for this var. */
  subscribeFrame(): string {
    return encodeSubscribe("var", this.name);
  }

  /** Applies a `set` frame. */
  apply(frame: MirrorFrame): void {
    if (frame.func !== "set" || frame.type !== "var") {
      throw new SockSyncError(
        ErrorCode.InvalidFunc,
        `${frame.func} does not apply to a var`,
      );
    }
    if (this.#schema) {
      const parsed = v.safeParse(this.#schema, frame.value);
      if (!parsed.success) {
        throw new SockSyncError(
          ErrorCode.InvalidArguments,
          `invalid value for var ${this.name}`,
        );
      }
      this.value = parsed.output;
    } else {
      this.value = frame.value as T;
    }
    this.changed();
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
 * This side's copy of one page of a list the other side provides.
 *
 * @example
 * ```ts
 * import { ListMirror } from "./mirror.ts";
 * const todos = new ListMirror<{ text: string }>("todos", { page: 0, pageSize: 20 });
 * todos.onChange(() => console.log(todos.total, todos.items.length));
 * ```
 */
export class ListMirror<T = unknown> extends Mirror {
  /** Always `"list"`. */
  readonly type = "list" as const;
  /** The items of the current page, in order. */
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
    const size = this.pageSize ?? (this.items.length || 1);
    return Math.max(1, Math.ceil(this.total / size));
  }

  /** The encoded `subscribe` frame for this view, with its page (our protocol extension). */
  subscribeFrame(): string {
    return encodeSubscribe("list", this.name, {
      page: this.page || undefined,
      pageSize: this.pageSize,
      params: this.params,
    });
  }

  /** Applies `set_all`, `set_count`, `insert`, `delete` or `set`. */
  apply(frame: MirrorFrame): void {
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
            ErrorCode.InvalidType,
            "a list takes set with type list",
          );
        }
        const item = this.items.find((item) => item.id === frame.id);
        if (item) item.value = frame.value as T;
        break;
      }
    }
    this.changed();
  }
}
