/**
 * An order-statistic index over entries sorted by a comparator: ranks, inserts and
 * removals in O(log n), positions in O(log n). A live table query keeps one over its
 * rows' (sort key, id). Also {@linkcode compareSqlValues}, SQLite's own order of values.
 *
 * It is a list of sorted blocks plus a Fenwick tree over the block sizes (the counted
 * tree of `counted_tree.ts` is positional only: it cannot find where a key belongs).
 * Each entry also maps to its block, so a rank lookup compares no keys: one map
 * read, a pointer scan of one block and a Fenwick sum. Key comparisons touch the
 * entries themselves, scattered in memory, and a binary search over a million of
 * them costs a cache miss per step.
 *
 * @module
 */
import type { SqlValue } from "./sql_value.ts";

// Blocks split above this size; the memmove of one splice stays cheap.
const MAX_BLOCK = 512;

/**
 * A sorted multiset of distinct entries with ranks.
 */
export class RankIndex<E> {
  readonly #compare: (a: E, b: E) => number;
  #blocks: E[][] = [];
  // Which block holds each entry, and where each block stands (kept by #rebuild).
  readonly #blockOf = new Map<E, E[]>();
  #blockAt = new Map<E[], number>();
  // #tree[i] (1-based) sums the sizes of a range of blocks ending at block i - 1.
  #tree: number[] = [0];
  #size = 0;

  /**
   * An empty index.
   *
   * @param compare a total order; 0 only for the same entry
   */
  constructor(compare: (a: E, b: E) => number) {
    this.#compare = compare;
  }

  /**
   * An index over entries already in order, built in O(n).
   */
  static from<E>(sorted: E[], compare: (a: E, b: E) => number): RankIndex<E> {
    const index = new RankIndex(compare);
    for (let i = 0; i < sorted.length; i += MAX_BLOCK / 2) {
      const block = sorted.slice(i, i + MAX_BLOCK / 2);
      index.#blocks.push(block);
      for (const entry of block) index.#blockOf.set(entry, block);
    }
    index.#size = sorted.length;
    index.#rebuild();
    return index;
  }

  /** The number of entries. */
  get size(): number {
    return this.#size;
  }

  /** Adds an entry (not in the index yet) and returns its rank. */
  insert(entry: E): number {
    if (this.#blocks.length === 0) {
      const first = [entry];
      this.#blocks.push(first);
      this.#blockOf.set(entry, first);
      this.#size = 1;
      this.#rebuild();
      return 0;
    }
    const b = this.#blockFor(entry);
    const block = this.#blocks[b];
    const at = this.#lowerBound(block, entry);
    block.splice(at, 0, entry);
    this.#blockOf.set(entry, block);
    this.#size++;
    const rank = this.#before(b) + at;
    if (block.length > MAX_BLOCK) {
      const moved = block.splice(MAX_BLOCK / 2);
      for (const e of moved) this.#blockOf.set(e, moved);
      this.#blocks.splice(b + 1, 0, moved);
      this.#rebuild();
    } else {
      this.#add(b, 1);
    }
    return rank;
  }

  /** Removes an entry and returns the rank it had, or -1 when it is not in the index. */
  remove(entry: E): number {
    const [b, at] = this.#find(entry);
    if (b < 0) return -1;
    const rank = this.#before(b) + at;
    const block = this.#blocks[b];
    block.splice(at, 1);
    this.#blockOf.delete(entry);
    this.#size--;
    if (block.length === 0) {
      this.#blocks.splice(b, 1);
      this.#rebuild();
    } else {
      this.#add(b, -1);
    }
    return rank;
  }

  /** The rank of an entry, or -1 when it is not in the index. */
  rankOf(entry: E): number {
    const [b, at] = this.#find(entry);
    return b < 0 ? -1 : this.#before(b) + at;
  }

  /** The entry at `rank`, or `undefined` outside 0..size-1. */
  at(rank: number): E | undefined {
    if (!(rank >= 0 && rank < this.#size)) return undefined;
    // Fenwick descent: the last block whose preceding sizes sum to at most `rank`.
    let b = 0;
    let rest = rank;
    for (let step = highestBit(this.#blocks.length); step > 0; step >>= 1) {
      const next = b + step;
      if (next <= this.#blocks.length && this.#tree[next] <= rest) {
        b = next;
        rest -= this.#tree[next];
      }
    }
    return this.#blocks[b][rest];
  }

  /** The entries in order from `rank` on. */
  *from(rank: number): Generator<E> {
    let i = Math.max(0, rank);
    for (const block of this.#blocks) {
      if (i >= block.length) {
        i -= block.length;
        continue;
      }
      for (; i < block.length; i++) yield block[i];
      i = 0;
    }
  }

  #find(entry: E): [number, number] {
    const block = this.#blockOf.get(entry);
    if (!block) return [-1, -1];
    return [this.#blockAt.get(block)!, block.indexOf(entry)];
  }

  // The first block whose last entry is not before `entry` (else the last block).
  #blockFor(entry: E): number {
    let low = 0;
    let high = this.#blocks.length - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const block = this.#blocks[mid];
      if (this.#compare(block[block.length - 1], entry) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  #lowerBound(block: E[], entry: E): number {
    let low = 0;
    let high = block.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#compare(block[mid], entry) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  // The number of entries in blocks before block `b`.
  #before(b: number): number {
    let sum = 0;
    for (let i = b; i > 0; i -= i & -i) sum += this.#tree[i];
    return sum;
  }

  #add(b: number, delta: number): void {
    for (let i = b + 1; i < this.#tree.length; i += i & -i) this.#tree[i] += delta;
  }

  // O(blocks), after a split or a dropped block: once per ~MAX_BLOCK/2 changes at most.
  #rebuild(): void {
    const n = this.#blocks.length;
    const at = new Map<E[], number>();
    for (let i = 0; i < n; i++) at.set(this.#blocks[i], i);
    this.#blockAt = at;
    const tree = new Array<number>(n + 1).fill(0);
    for (let i = 1; i <= n; i++) {
      tree[i] += this.#blocks[i - 1].length;
      const parent = i + (i & -i);
      if (parent <= n) tree[parent] += tree[i];
    }
    this.#tree = tree;
  }
}

function highestBit(n: number): number {
  let bit = 1;
  while (bit * 2 <= n) bit *= 2;
  return n > 0 ? bit : 0;
}

// SQLite's storage classes in sort order: NULL, numbers, text, blob.
const rankOfType = (value: SqlValue): number =>
  value === null
    ? 0
    : typeof value === "number" || typeof value === "bigint"
    ? 1
    : typeof value === "string"
    ? 2
    : 3;

/**
 * Compares two values the way SQLite's ORDER BY does with the BINARY collation: NULL
 * first, then numbers, then text by UTF-8 bytes (code points), then blobs by bytes.
 */
export function compareSqlValues(a: SqlValue, b: SqlValue): number {
  // The common cases first: both numbers, or both text.
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "string" && typeof b === "string") return compareText(a, b);
  const ta = rankOfType(a);
  const tb = rankOfType(b);
  if (ta !== tb) return ta - tb;
  if (ta === 1) return a! < b! ? -1 : a! > b! ? 1 : 0;
  if (ta === 2) return compareText(a as string, b as string);
  if (ta === 3) return compareBytes(a as Uint8Array, b as Uint8Array);
  return 0;
}

// UTF-16 code units order differs from code points (UTF-8 bytes) only where a
// surrogate meets a unit at or above U+E000.
function compareText(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}
const codePointRank = (unit: number): number =>
  unit >= 0xD800 && unit <= 0xDFFF ? unit + 0x2000 : unit >= 0xE000 ? unit - 0x800 : unit;

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
