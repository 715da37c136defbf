/**
 * A map from ids to entries that carry their id, keyed inside by a number
 * made from the id instead of the id itself. A `Map` with string keys
 * compares the id looked up with every key in its bucket, reading each of
 * those strings; on a big index (a 1M-item list) each is a cache miss, and
 * adding an id costs ≈ 5 µs against ≈ 1.5 µs with number keys, which are
 * compared where they are stored. Two ids with the same number share nothing:
 * the later one goes to a second, plain `Map` (rare, and still O(1)).
 *
 * @module
 */

/**
 * The number an id is kept under (FNV-1a, 30 bits so V8 keeps it as a small
 * integer on every platform). A long id is hashed by its length and its
 * first and last 32 characters: ids that only differ in between go to the
 * second map, which stays correct.
 */
export function idHash(id: string): number {
  const length = id.length;
  let h = Math.imul(0x811c9dc5 ^ length, 0x01000193);
  if (length <= 64) {
    for (let i = 0; i < length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  } else {
    for (let i = 0; i < 32; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
    for (let i = length - 32; i < length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  }
  return h & 0x3fffffff;
}

/**
 * Entries by id (each entry's own `id`): `get`, `has`, `set`, `delete` and
 * `size` as on a `Map`.
 */
export class IdMap<E extends { readonly id: string }> {
  // Most entries, by idHash(id).
  readonly #byHash = new Map<number, E>();
  // Entries whose hash an entry of #byHash already has, by id.
  readonly #clashes = new Map<string, E>();

  /** The number of entries. */
  get size(): number {
    return this.#byHash.size + this.#clashes.size;
  }

  /** The entry with this id, or `undefined`. */
  get(id: string): E | undefined {
    // (Callers without types may look up anything: no entry, as a Map answers.)
    if (typeof id !== "string") return undefined;
    const entry = this.#byHash.get(idHash(id));
    if (entry !== undefined && entry.id === id) return entry;
    return this.#clashes.size === 0 ? undefined : this.#clashes.get(id);
  }

  /** Whether an entry has this id. */
  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /** Puts `entry` under its id, replacing an entry with the same id. */
  set(entry: E): void {
    const hash = idHash(entry.id);
    const held = this.#byHash.get(hash);
    if (held !== undefined && held.id !== entry.id) this.#clashes.set(entry.id, entry);
    else {
      if (held === undefined && this.#clashes.size !== 0) this.#clashes.delete(entry.id);
      this.#byHash.set(hash, entry);
    }
  }

  /** Removes an entry that is in the map (no lookup when no ids clash). */
  remove(entry: E): void {
    const hash = idHash(entry.id);
    if (this.#clashes.size === 0 || this.#byHash.get(hash) === entry) this.#byHash.delete(hash);
    else this.#clashes.delete(entry.id);
  }

  /** Removes the entry with this id; whether there was one. */
  delete(id: string): boolean {
    if (typeof id !== "string") return false;
    const hash = idHash(id);
    const held = this.#byHash.get(hash);
    if (held !== undefined && held.id === id) return this.#byHash.delete(hash);
    return this.#clashes.size !== 0 && this.#clashes.delete(id);
  }
}
