/**
 * The mirrors of a client: found by key, counted by opener, subscribed on
 * every connection.
 *
 * @module
 */
import type { ItemMirror } from "./item_mirror.ts";
import { checkPage } from "./list_view.ts";
import type { ListMirror, VarMirror } from "./mirror.ts";
import type { ClientPeer as Peer } from "../peer/consumer_peer.ts";

/**
 * A mirror a client keeps: a var, a list view or a list item.
 */
export type ClientMirror = VarMirror<unknown> | ListMirror<unknown> | ItemMirror<unknown>;

/**
 * A client's mirrors, on whatever connection is open.
 */
export class ClientMirrors {
  readonly #peer: () => Peer | undefined;
  readonly #mirrors = new Map<string, ClientMirror>();
  // How many opened each list view or item mirror and did not close it yet.
  readonly #opened = new Map<ClientMirror, number>();
  // A view's page is remembered here so a reconnect reopens the page the user
  // last asked for, even when its answer never arrived.
  readonly #wantedPages = new Map<ListMirror<unknown>, { page: number; size?: number }>();

  /** @param peer the peer of the open connection, if any */
  constructor(peer: () => Peer | undefined) {
    this.#peer = peer;
  }

  /** The mirror with this key. */
  get(key: string): ClientMirror | undefined {
    return this.#mirrors.get(key);
  }

  /**
   * The mirror with this key, made (and subscribed if connected) when there
   * is none, counted as opened once more.
   */
  keep<M extends ClientMirror>(key: string, make: () => M): M {
    let mirror = this.#mirrors.get(key) as M | undefined;
    if (!mirror) {
      this.#mirrors.set(key, mirror = make());
      this.#peer()?.mirror(mirror);
    }
    this.#opened.set(mirror, (this.#opened.get(mirror) ?? 0) + 1);
    return mirror;
  }

  /** One opener is done: the last one releases the mirror. */
  close(mirror: ClientMirror): void {
    const left = (this.#opened.get(mirror) ?? 0) - 1;
    if (left > 0) this.#opened.set(mirror, left);
    else this.release(mirror);
  }

  /** Stops mirroring at once, however many opened it. */
  release(mirror: ClientMirror): void {
    if (this.#mirrors.get(mirror.key) !== mirror) return;
    this.#mirrors.delete(mirror.key);
    this.#opened.delete(mirror);
    this.#wantedPages.delete(mirror as ListMirror<unknown>);
    this.#peer()?.unmirror(mirror);
  }

  /** Moves a list view to another page (and optionally page size). */
  getPage(view: ListMirror<unknown>, page: number, pageSize?: number): void {
    checkPage(page, pageSize);
    const size = pageSize ?? this.#wantedPages.get(view)?.size ?? view.pageSize;
    this.#wantedPages.set(view, { page, size });
    this.#peer()?.getPage(view, page, size);
  }

  /** Subscribes every mirror on a new connection, views on the page last asked for. */
  subscribeAll(peer: Peer): void {
    for (const mirror of this.#mirrors.values()) {
      const view = mirror as ListMirror<unknown>;
      const wanted = this.#wantedPages.get(view);
      if (wanted) {
        view.page = wanted.page;
        if (wanted.size !== undefined) view.pageSize = wanted.size;
      }
      peer.mirror(mirror);
    }
  }

  /** Every mirror (what optimistic changes search). */
  values(): IterableIterator<ClientMirror> {
    return this.#mirrors.values();
  }
}
