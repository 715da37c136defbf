/**
 * A map from ids to entries that carry their id: an open-addressing table
 * (linear probing) of each id's hash in an `Int32Array`, beside the entries.
 * A `Map` keyed by the id compares the id looked up with every key in its
 * bucket, reading each of those strings; one keyed by the hash still reads a
 * bucket, then each entry of its chain, scattered over a big table. On a big
 * index (a 1M-item list) each of those reads is a cache miss. Here a probe
 * reads a few neighbouring hashes in one cache line and only an entry whose
 * hash matches (adding an id to 1M, caches flushed: 3.4–4.7 µs with number
 * keys in a `Map`, 2.5–2.7 µs here). The table holds one entry per hash: an id
 * whose hash another id already holds goes to a second, plain `Map` (rare,
 * and still O(1), however many ids share a hash).
 *
 * @module
 */

// Hashes start from a number drawn once per process (ids may come from users):
// ids of up to 64 characters picked to share a table slot in one process do
// not in the next. A hardening only: FNV-1a is no keyed hash.
const SEED = crypto.getRandomValues(new Uint32Array(1))[0];

/**
 * The number an id is kept under (FNV-1a from a per-process seed, 30 bits so
 * V8 keeps it as a small integer on every platform). A long id is hashed by
 * its length and its first and last 32 characters: ids that only differ in
 * between go to the second map, which stays correct.
 */
export function idHash(id: string): number {
  const length = id.length;
  let h = Math.imul(0x811c9dc5 ^ SEED ^ length, 0x01000193);
  if (length <= 64) {
    for (let i = 0; i < length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  } else {
    for (let i = 0; i < 32; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
    for (let i = length - 32; i < length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  }
  return h & 0x3fffffff;
}

// The smallest table (a power of two); it doubles past half full and halves
// below an eighth full, so a probe mostly stops within a slot or two.
const MIN_CAPACITY = 16;

/**
 * Entries by id (each entry's own `id`): `get`, `has`, `set`, `delete` and
 * `size` as on a `Map`.
 */
export class IdMap<E extends { readonly id: string }> {
  // Each slot's idHash + 1, or 0 when the slot is free.
  #hashes = new Int32Array(MIN_CAPACITY);
  // Each slot's entry (undefined when free).
  #entries: (E | undefined)[] = new Array(MIN_CAPACITY).fill(undefined);
  // 32 - log2(capacity): a slot is the top bits of the hash times a constant
  // (Fibonacci hashing), which spreads ids whose hashes differ in few bits.
  #shift = 32 - Math.log2(MIN_CAPACITY);
  // The entries in the table.
  #size = 0;
  // Entries whose hash an entry of the table already has, by id.
  readonly #clashes = new Map<string, E>();

  /** The number of entries. */
  get size(): number {
    return this.#size + this.#clashes.size;
  }

  #slotOf(hash: number): number {
    return Math.imul(hash, 0x9e3779b1) >>> this.#shift;
  }

  // The slot of the table's entry with this hash (one at most), or -1.
  #find(hash: number): number {
    const hashes = this.#hashes;
    const mask = hashes.length - 1;
    const tag = hash + 1;
    for (let i = this.#slotOf(hash);; i = (i + 1) & mask) {
      const held = hashes[i];
      if (held === tag) return i;
      if (held === 0) return -1;
    }
  }

  /** The entry with this id, or `undefined`. */
  get(id: string): E | undefined {
    // (Callers without types may look up anything: no entry, as a Map answers.)
    if (typeof id !== "string") return undefined;
    const at = this.#find(idHash(id));
    if (at >= 0 && this.#entries[at]!.id === id) return this.#entries[at];
    return this.#clashes.size === 0 ? undefined : this.#clashes.get(id);
  }

  /** Whether an entry has this id. */
  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /** Puts `entry` under its id, replacing an entry with the same id. */
  set(entry: E): void {
    const id = entry.id;
    const hash = idHash(id);
    const tag = hash + 1;
    let hashes = this.#hashes;
    let mask = hashes.length - 1;
    let i = this.#slotOf(hash);
    for (;; i = (i + 1) & mask) {
      const held = hashes[i];
      if (held === 0) break;
      if (held === tag) {
        if (this.#entries[i]!.id === id) this.#entries[i] = entry;
        else this.#clashes.set(id, entry);
        return;
      }
    }
    // The id may wait in the clashes from when another id held its hash.
    if (this.#clashes.size !== 0) this.#clashes.delete(id);
    if ((this.#size + 1) * 2 > hashes.length) {
      this.#resize(hashes.length * 2);
      hashes = this.#hashes;
      mask = hashes.length - 1;
      for (i = this.#slotOf(hash); hashes[i] !== 0; i = (i + 1) & mask);
    }
    hashes[i] = tag;
    this.#entries[i] = entry;
    this.#size++;
  }

  /** Removes an entry that is in the map. */
  remove(entry: E): void {
    const at = this.#find(idHash(entry.id));
    if (at >= 0 && this.#entries[at] === entry) this.#free(at);
    else if (this.#clashes.size !== 0) this.#clashes.delete(entry.id);
  }

  /** Removes the entry with this id; whether there was one. */
  delete(id: string): boolean {
    if (typeof id !== "string") return false;
    const at = this.#find(idHash(id));
    if (at >= 0 && this.#entries[at]!.id === id) {
      this.#free(at);
      return true;
    }
    return this.#clashes.size !== 0 && this.#clashes.delete(id);
  }

  // Empties slot `at`, then moves back each entry after it (up to a free
  // slot) that may sit there: its probe from its own slot passes `at`. No
  // markers for removed entries, so probes never lengthen with churn.
  #free(at: number): void {
    const hashes = this.#hashes;
    const entries = this.#entries;
    const mask = hashes.length - 1;
    let hole = at;
    for (let i = (at + 1) & mask; hashes[i] !== 0; i = (i + 1) & mask) {
      const home = this.#slotOf(hashes[i] - 1);
      // Stays when its home lies cyclically in (hole, i].
      if (hole < i ? home > hole && home <= i : home > hole || home <= i) continue;
      hashes[hole] = hashes[i];
      entries[hole] = entries[i];
      hole = i;
    }
    hashes[hole] = 0;
    entries[hole] = undefined;
    if (--this.#size * 8 < hashes.length && hashes.length > MIN_CAPACITY) {
      this.#resize(hashes.length / 2);
    }
  }

  #resize(capacity: number): void {
    const hashes = this.#hashes;
    const entries = this.#entries;
    this.#hashes = new Int32Array(capacity);
    this.#entries = new Array(capacity).fill(undefined);
    this.#shift = 32 - Math.log2(capacity);
    const mask = capacity - 1;
    for (let j = 0; j < hashes.length; j++) {
      const tag = hashes[j];
      if (tag === 0) continue;
      let i = this.#slotOf(tag - 1);
      while (this.#hashes[i] !== 0) i = (i + 1) & mask;
      this.#hashes[i] = tag;
      this.#entries[i] = entries[j];
    }
  }
}
