/**
 * The connected peers of a hub, linked through the peers themselves (their
 * `hubPrev` and `hubNext` fields) rather than held in a `Set`: a server
 * keeps many idle connections, and a `Set` entry per connection is memory a
 * raw WebSocket server does not spend (about 57 bytes on Bun, where the two
 * fields take 16). Read as a live `ReadonlySet`.
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
export class PeerList<P extends HubLinked> implements ReadonlySet<P> {
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

  *values(): SetIterator<P> {
    let peer = this.#head;
    while (peer !== undefined) {
      const next = peer.hubNext as P | undefined;
      yield peer;
      peer = next;
    }
  }

  keys(): SetIterator<P> {
    return this.values();
  }

  *entries(): SetIterator<[P, P]> {
    for (const peer of this.values()) yield [peer, peer];
  }

  [Symbol.iterator](): SetIterator<P> {
    return this.values();
  }

  forEach(callback: (value: P, key: P, set: ReadonlySet<P>) => void, thisArg?: unknown): void {
    for (const peer of this.values()) callback.call(thisArg, peer, peer, this);
  }

  // The set operations of ES2025, written out (not every runtime SockSync runs on has them).
  union<U>(other: SetLike<U>): Set<P | U> {
    const out = new Set<P | U>(this);
    for (const value of iterate(other.keys())) out.add(value);
    return out;
  }

  intersection<U>(other: SetLike<U>): Set<P & U> {
    return new Set([...this].filter((peer) => other.has(peer as P & U))) as Set<P & U>;
  }

  difference<U>(other: SetLike<U>): Set<P> {
    return new Set([...this].filter((peer) => !other.has(peer as unknown as U)));
  }

  symmetricDifference<U>(other: SetLike<U>): Set<P | U> {
    const out = new Set<P | U>(this.difference(other));
    for (const value of iterate(other.keys())) {
      if (!this.has(value as unknown as P)) out.add(value);
    }
    return out;
  }

  isSubsetOf(other: SetLike<unknown>): boolean {
    return [...this].every((peer) => other.has(peer));
  }

  isSupersetOf(other: SetLike<unknown>): boolean {
    for (const value of iterate(other.keys())) if (!this.has(value as P)) return false;
    return true;
  }

  isDisjointFrom(other: SetLike<unknown>): boolean {
    return [...this].every((peer) => !other.has(peer));
  }
}

/** What the set operations take (`ReadonlySetLike` of ES2025). */
interface SetLike<T> {
  readonly size: number;
  has(value: T): boolean;
  keys(): Iterator<T>;
}

function iterate<T>(iterator: Iterator<T>): Iterable<T> {
  return { [Symbol.iterator]: () => iterator };
}
