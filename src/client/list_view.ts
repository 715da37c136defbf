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
  readonly #move: (view: ListView<T>, page: number, size?: number) => void;
  readonly #close: ((view: ListView<T>) => void) | undefined;

  /**
   * A view of the list `name`, opened by a client.
   *
   * @param name the list's name on the wire
   * @param options the page to open
   * @param move asks for another page (the client's `getPage`)
   * @param close tells the client this opener is done with the view
   */
  constructor(
    name: string,
    options: ListViewOptions,
    move: (view: ListView<T>, page: number, size?: number) => void,
    close?: (view: ListView<T>) => void,
  ) {
    super(name, options);
    this.#move = move;
    this.#close = close;
  }

  /**
   * Done with this view: once every `client.list` call that returned it
   * closed it, it is unsubscribed.
   */
  close(): void {
    this.#close?.(this);
  }

  /** Shows another page (and optionally another page size); throws a `RangeError` on invalid ones. */
  setPage(page: number, pageSize?: number): void {
    this.#move(this, page, pageSize);
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
