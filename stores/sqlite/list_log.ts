/**
 * What the SQLite store's lists share besides the class itself: the index
 * type and its loading scan, order keys for a position, and the change log
 * rows a list writes for other processes and replays from them.
 *
 * A log row's `key` is a JSON array: the list's name, its version after the
 * change, then per op — `i` (insert): id, index, order key, value; `s` (set):
 * id, index, value; `d` (delete): id, index; `k` (every order key renumbered
 * with {@linkcode rekey}, no version bump): nothing more.
 *
 * @module
 */
import type { ListChange } from "../../src/store.ts";
import { CountedTree, type TreeEntry, type TreeLeaf } from "../common/counted_tree.ts";
import { orderKeyBetween, quickOrderKeyBetween, sequentialOrderKeys } from "../common/order_key.ts";
import { type Database, SCAN_CHUNK, SQL } from "./database.ts";

/**
 * A list's index: its ids in order, each with its order key.
 */
export type OrderIndex = CountedTree<string>;

/**
 * A value as the store keeps it: JSON text (`undefined` becomes `null`).
 */
export const json = (value: unknown): string => JSON.stringify(value ?? null);

/**
 * What a list needs from its store: the database, and a count of listeners
 * (the store reads other processes' changes while it is above zero).
 */
export interface ListHost {
  /** The database. */
  readonly db: Database;
  /** Counts one more listener; returns the function that counts it out. */
  hold(): () => void;
}

export { STORE_CHANNEL } from "./database.ts";

/**
 * A logged change of a list, as read back: `args` are what follows the
 * list's name and version in the row.
 */
export interface LoggedChange {
  /** `i`, `s`, `d` or `k` (see the module documentation). */
  op: string;
  /** The list's version after it. */
  version: number;
  /** The rest of the row. */
  args: unknown[];
}

/**
 * The `key` of a log row (the value's JSON goes in as it is, not encoded twice).
 */
export function logRow(head: unknown[], value?: string): string {
  const row = JSON.stringify(head);
  return value === undefined ? row : `${row.slice(0, -1)},${value}]`;
}

/**
 * Applies one logged change to an index that is at the version before it,
 * and returns the change to report; `undefined` (index untouched) when it
 * does not fit: an id or a position that does not match, or an order key
 * out of place.
 */
export function applyLogged<T>(
  order: OrderIndex,
  { op, version, args }: LoggedChange,
): ListChange<T> | undefined {
  const [id, index] = args as [string, number];
  const entry = order.byId.get(id);
  if (op === "i") {
    const key = args[2] as string;
    if (entry || !(Number.isInteger(index) && index >= 0 && index <= order.size)) return;
    const before = index > 0 ? order.at(index - 1)!.value : null;
    const after = index < order.size ? order.at(index)!.value : null;
    if ((before !== null && !(before < key)) || (after !== null && !(key < after))) return;
    order.insert(index, { id, value: key, leaf: null });
    return { op: "insert", index, id, value: args[3] as T, total: order.size, version };
  }
  if (!entry || order.indexOf(entry) !== index) return;
  if (op === "s") return { op: "set", index, id, value: args[2] as T, total: order.size, version };
  if (op !== "d") return;
  order.remove(entry);
  return { op: "delete", index, id, total: order.size, version };
}

/**
 * Renumbers every order key, in list order: the same keys in every process.
 */
export function rekey(order: OrderIndex): void {
  const keys = sequentialOrderKeys(order.size);
  let i = 0;
  for (const entry of order.from(0)) entry.value = keys[i++];
}

/**
 * The order key for a new item at `index`: between its neighbours' keys,
 * found from `slot` (what `order.locate(index)` returns) in O(log n). At a
 * leaf boundary `locate` gives offset 0 in the later leaf, so the item
 * before may be the last of the previous leaf (never empty), and an offset
 * past the entries is the list's end.
 */
export function keyAt(
  order: OrderIndex,
  index: number,
  slot: [TreeLeaf<string>, number] = order.locate(index),
): string {
  // Indexed, not destructured (see CountedTree.insert).
  const leaf = slot[0];
  const offset = slot[1];
  const before = offset > 0 ? leaf.entries[offset - 1] : leaf.prev?.entries.at(-1);
  const after = offset < leaf.entries.length ? leaf.entries[offset].value : null;
  return (before && quickOrderKeyBetween(before.value, after)) ??
    orderKeyBetween(before?.value ?? null, after);
}

/**
 * Reads a list's index with ordered scans of (id, key), a chunk at a time,
 * inside the caller's transaction; `sorted` is false when the keys are not
 * distinct and in JS string order (a file written by something else).
 */
export function scanIndex(db: Database, name: string): { index: OrderIndex; sorted: boolean } {
  // A small page cache while scanning: otherwise the scan fills it, and its
  // hash table, which never shrinks, is walked whenever another connection's
  // commit makes SQLite drop the cache (≈ 9 µs per operation on a 100k list).
  const size = Number(db.get(SQL.cacheSize)?.cache_size);
  db.run(SQL.scanCache);
  try {
    return scanRows(db, name);
  } finally {
    if (Number.isFinite(size)) db.run(`PRAGMA cache_size = ${Math.trunc(size)}`);
  }
}

function scanRows(db: Database, name: string): { index: OrderIndex; sorted: boolean } {
  const entries: TreeEntry<string>[] = [];
  let rows = db.all(SQL.scanFirst, name, SCAN_CHUNK);
  let sorted = true;
  while (rows.length > 0) {
    for (const row of rows) {
      const key = row.key as string;
      // Keys must be distinct and in JS string order for keyset paging.
      if (entries.length > 0 && !(entries[entries.length - 1].value < key)) sorted = false;
      entries.push({ id: row.id as string, value: key, leaf: null });
    }
    if (rows.length < SCAN_CHUNK) break;
    const last = rows[rows.length - 1];
    rows = db.all(SQL.scanNext, name, last.key as string, last.r as number, SCAN_CHUNK);
  }
  return { index: CountedTree.from(entries), sorted };
}
