/**
 * A subscriber's copy of one list view, built only from raw frames as PROTOCOL.md says
 * a receiver applies them (`set_all`, `insert` at `index − page × page_size`, `delete`,
 * `set`, `set_count`). Tests compare it with what the list should hold.
 *
 * @module
 */
import type { Frame } from "./raw_socket.ts";

/**
 * One item of a page.
 *
 * @example
 * ```ts
 * import type { MirrorItem } from "./page_mirror.ts";
 * const item: MirrorItem = { id: "m1", value: { text: "hi" } };
 * ```
 */
export interface MirrorItem {
  /** The item id. */
  id: string;
  /** Its value. */
  value: unknown;
}

/**
 * The page a view shows, kept from frames.
 *
 * @example
 * ```ts
 * import { PageMirror } from "./page_mirror.ts";
 * const mirror = new PageMirror();
 * mirror.apply({ func: "set_all", page: 0, page_size: 2, total_item_count: 0, items: [] });
 * mirror.total; // 0
 * ```
 */
export class PageMirror {
  /** The page (from the last `set_all`). */
  page = -1;
  /** The page size (from the last `set_all`). */
  pageSize = 0;
  /** The list's total. */
  total = -1;
  /** The page's items, in order. */
  items: MirrorItem[] = [];
  /** Frames applied so far. */
  frames = 0;

  /** Applies one list frame; throws on a frame a correct provider never sends. */
  apply(frame: Frame): void {
    this.frames++;
    switch (frame.func) {
      case "set_all":
        this.page = Number(frame.page);
        this.pageSize = Number(frame.page_size);
        this.total = Number(frame.total_item_count);
        this.items = (frame.items as MirrorItem[]).map(({ id, value }) => ({ id, value }));
        return;
      case "set_count":
        this.total = Number(frame.total_item_count);
        return;
      case "insert": {
        const local = Number(frame.index) - this.page * this.pageSize;
        if (local < 0 || local > this.items.length) {
          throw new Error(
            `insert at ${frame.index} outside page ${this.page}: ${JSON.stringify(frame)}`,
          );
        }
        this.items.splice(local, 0, { id: String(frame.id), value: frame.value });
        return;
      }
      case "delete": {
        const at = this.items.findIndex((item) => item.id === frame.id);
        if (at < 0) throw new Error(`delete of an item not on the page: ${JSON.stringify(frame)}`);
        this.items.splice(at, 1);
        return;
      }
      case "set": {
        const item = this.items.find((item) => item.id === frame.id);
        if (!item) throw new Error(`set of an item not on the page: ${JSON.stringify(frame)}`);
        item.value = frame.value;
        return;
      }
      default:
        throw new Error(`not a list frame: ${JSON.stringify(frame)}`);
    }
  }
}
