/**
 * The connected peers of a hub, linked through the peers themselves (their
 * `hubPrev` and `hubNext` fields) rather than held in a `Set`: a server
 * keeps many idle connections, and a `Set` entry per connection is memory a
 * raw WebSocket server does not spend (about 57 bytes on Bun, where the two
 * fields take 16). The hub hands out a `Set` copy of it (`hub.peers`).
 *
 * @module
 */

/** A peer as its hub's list links it: see {@linkcode PeerList}. */
export interface HubLinked {
  /** The peer before it in its hub's list; `undefined` for the first. */
  hubPrev: HubLinked | undefined;
  /** The peer after it in its hub's list; `undefined` for the last. */
  hubNext: HubLinked | undefined;
}

/**
 * A hub's connected peers, in the order they connected. A peer is in at
 * most one list (its hub's). Iterating while peers leave is safe: the next
 * peer is read before the current one is handed out.
 */
export class PeerList<P extends HubLinked> implements Iterable<P> {
  #head: P | undefined = undefined;
  #tail: P | undefined = undefined;
  #size = 0;
  readonly #mine: (peer: P) => boolean;

  /**
   * @param mine whether a peer belongs to this list's hub: a linked peer of
   * another hub is not in this list
   */
  constructor(mine: (peer: P) => boolean) {
    this.#mine = mine;
  }

  /** How many peers are in the list. */
  get size(): number {
    return this.#size;
  }

  /** Whether `peer` is in this list. */
  has(peer: P): boolean {
    return this.#head === peer || (peer.hubPrev !== undefined && this.#mine(peer));
  }

  /** Appends `peer` (not in any list yet). */
  add(peer: P): void {
    if (this.has(peer)) return;
    peer.hubPrev = this.#tail;
    peer.hubNext = undefined;
    if (this.#tail) this.#tail.hubNext = peer;
    else this.#head = peer;
    this.#tail = peer;
    this.#size++;
  }

  /** Removes `peer`; whether it was in the list. */
  delete(peer: P): boolean {
    if (!this.has(peer)) return false;
    const prev = peer.hubPrev as P | undefined;
    const next = peer.hubNext as P | undefined;
    if (prev) prev.hubNext = next;
    else this.#head = next;
    if (next) next.hubPrev = prev;
    else this.#tail = prev;
    peer.hubPrev = peer.hubNext = undefined;
    this.#size--;
    return true;
  }

  *values(): Generator<P> {
    let peer = this.#head;
    while (peer !== undefined) {
      const next = peer.hubNext as P | undefined;
      yield peer;
      peer = next;
    }
  }

  [Symbol.iterator](): Iterator<P> {
    return this.values();
  }
}
