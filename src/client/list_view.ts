/**
 * A list view: a list mirror that can move between pages itself.
 *
 * @module
 */
import { ListMirror, type ListViewOptions } from "./mirror.ts";

/**
 * A list mirror that knows its client, so it can move between pages itself.
 *
 * @example
 * ```ts
 * import { connect } from "./client.ts";
 * const client = connect("ws://127.0.0.1:8080/ws/socksync");
 * const todos = client.list<{ text: string }>("todos", { pageSize: 10 });
 * const off = todos.subscribe(({ page, items }) => console.log(page, items));
 * todos.setPage(1);
 * off();
 * todos.close();
 * ```
 */
export class ListView<T = unknown> extends ListMirror<T> {
  readonly #opener: {
    getPage(view: ListView<T>, page: number, pageSize?: number): void;
    close(view: ListView<T>): void;
  };

  /**
   * A view of the list `name`, opened by a client.
   *
   * @param name the list's name on the wire
   * @param options the page to open
   * @param opener the client's mirrors: they move the view and count who opened it
   */
  constructor(
    name: string,
    options: ListViewOptions,
    opener: {
      getPage(view: ListView<T>, page: number, pageSize?: number): void;
      close(view: ListView<T>): void;
    },
  ) {
    super(name, options);
    this.#opener = opener;
  }

  /**
   * Done with this view: once every `client.list` call that returned it
   * closed it, it is unsubscribed.
   */
  close(): void {
    this.#opener.close(this);
  }

  /** Shows another page (and optionally another page size); throws a `RangeError` on invalid ones. */
  setPage(page: number, pageSize?: number): void {
    this.#opener.getPage(this, page, pageSize);
  }
}

/**
 * Throws a `RangeError` unless `page` is an integer >= 0 and `pageSize` an
 * integer >= 1 (either may be absent).
 */
export function checkPage(page: number | undefined, pageSize: number | undefined): void {
  if (page !== undefined && !(Number.isSafeInteger(page) && page >= 0)) {
    throw new RangeError(`socksync: page must be an integer >= 0, got ${page}`);
  }
  if (pageSize !== undefined && !(Number.isSafeInteger(pageSize) && pageSize >= 1)) {
    throw new RangeError(`socksync: pageSize must be an integer >= 1, got ${pageSize}`);
  }
}
