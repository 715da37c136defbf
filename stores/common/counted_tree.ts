/**
 * A counted B+ tree (an order-statistic tree): entries kept in list order,
 * found by position in O(log n) because every inner node knows how many
 * entries lie below it, plus an id → entry map. The memory store keeps its
 * items in one; the SQLite store keeps each list's order keys in one, so
 * that ranks, neighbours and page starts never need an O(n) SQL scan.
 *
 * @module
 */

import { IdMap } from "./id_map.ts";

// Fan-out of the tree: big enough to keep it shallow, small enough that the
// linear scans inside one node stay cheap.
const MAX_CHILDREN = 64;
const MIN_CHILDREN = MAX_CHILDREN / 4;
// Bulk loads fill nodes to 3/4, so the first inserts after a load rarely split.
const LOAD_WIDTH = (MAX_CHILDREN * 3) / 4;

/**
 * One entry: an id, what the owner keeps with it, and the leaf it sits in
 * (set by the tree).
 */
export interface TreeEntry<V> {
  /** The entry's id, unique in its tree. */
  readonly id: string;
  /** The payload: the item's value (memory store) or its order key (SQLite). */
  value: V;
  /** The leaf holding the entry; `null` until the tree takes it. */
  leaf: TreeLeaf<V> | null;
}

/**
 * A leaf: up to 64 entries, linked to its neighbours for in-order walks.
 */
export interface TreeLeaf<V> {
  /** Always `true`: tells leaves from inner nodes. */
  leaf: true;
  /** The inner node above, or `null` at the root. */
  parent: TreeInner<V> | null;
  /** The entries, in list order. */
  entries: TreeEntry<V>[];
  /** The leaf before this one. */
  prev: TreeLeaf<V> | null;
  /** The leaf after this one. */
  next: TreeLeaf<V> | null;
}

interface TreeInner<V> {
  leaf: false;
  parent: TreeInner<V> | null;
  // The children, each after the number of entries below it:
  // [count 0, child 0, count 1, child 1, …]. One array, so a walk reads one
  // packed array per level instead of touching every child, and no second
  // array for the counts (on a big tree each object a walk touches is a
  // cache miss: ≈ 1 µs in a VM).
  slots: (number | TreeNode<V>)[];
  size: number;
}
type TreeNode<V> = TreeLeaf<V> | TreeInner<V>;

const newLeaf = <V>(): TreeLeaf<V> => ({
  leaf: true,
  parent: null,
  entries: [],
  prev: null,
  next: null,
});
const sizeOf = <V>(node: TreeNode<V>): number => node.leaf ? node.entries.length : node.size;
const widthOf = <V>(node: TreeNode<V>): number =>
  node.leaf ? node.entries.length : node.slots.length >> 1;
// Where in `parent.slots` the count of its child `node` is (the child follows it).
function countAt<V>(parent: TreeInner<V>, node: TreeNode<V>): number {
  const slots = parent.slots;
  for (let i = 1; i < slots.length; i += 2) if (slots[i] === node) return i - 1;
  return -1;
}
// An inner node over `children`, which it adopts.
function innerNode<V>(children: TreeNode<V>[]): TreeInner<V> {
  const node: TreeInner<V> = { leaf: false, parent: null, slots: [], size: 0 };
  for (const child of children) {
    const count = sizeOf(child);
    node.slots.push(count, child);
    node.size += count;
    child.parent = node;
  }
  return node;
}

/**
 * An order-statistic B+ tree of entries: positions by count, not by key.
 * Every operation by position or by entry is O(log n); `byId` finds an
 * entry in O(1).
 */
export class CountedTree<V> {
  #root: TreeNode<V> = newLeaf();
  // Where in each inner node's slots (root first) the last `locate` went
  // down (the count of the child it took): an insert at the spot it found updates the counts on the way back up
  // without searching each parent's children for the node below.
  readonly #path: number[] = [];
  #depth = 0;
  /** Every entry by id. */
  readonly byId: IdMap<TreeEntry<V>> = new IdMap();

  /**
   * A tree holding `entries` in this order, built bottom-up in O(n) (no
   * splits). Ids must be unique.
   */
  static from<V>(entries: Iterable<TreeEntry<V>>): CountedTree<V> {
    const tree = new CountedTree<V>();
    let level: TreeNode<V>[] = [];
    let leaf: TreeLeaf<V> | null = null;
    for (const entry of entries) {
      if (!leaf || leaf.entries.length === LOAD_WIDTH) {
        const next: TreeLeaf<V> = newLeaf();
        if (leaf) [leaf.next, next.prev] = [next, leaf];
        level.push(leaf = next);
      }
      entry.leaf = leaf;
      leaf.entries.push(entry);
      tree.byId.set(entry);
    }
    while (level.length > 1) {
      const up: TreeNode<V>[] = [];
      for (let i = 0; i < level.length; i += LOAD_WIDTH) {
        up.push(innerNode(level.slice(i, i + LOAD_WIDTH)));
      }
      // A short last node would break the minimum fill: lean on its left sibling.
      const last = up.at(-1) as TreeInner<V>;
      if (up.length > 1 && widthOf(last) < MIN_CHILDREN) {
        const left = up.at(-2) as TreeInner<V>;
        const moved = left.slots.splice(left.slots.length - 2 * MIN_CHILDREN);
        for (let i = 0; i < moved.length; i += 2) {
          const count = moved[i] as number;
          (moved[i + 1] as TreeNode<V>).parent = last;
          left.size -= count;
          last.size += count;
        }
        last.slots.unshift(...moved);
      }
      level = up;
    }
    if (level[0]) tree.#root = level[0];
    return tree;
  }

  /** The number of entries (O(1)). */
  get size(): number {
    return this.byId.size;
  }

  /** The leaf holding position `index` (0..size) and the offset inside it. */
  locate(index: number): [TreeLeaf<V>, number] {
    let node = this.#root;
    let depth = 0;
    while (!node.leaf) {
      const slots = node.slots;
      const last = slots.length - 2;
      let i = 0;
      for (; i < last; i += 2) {
        const count = slots[i] as number;
        if (index < count) break;
        index -= count;
      }
      this.#path[depth++] = i;
      node = slots[i + 1] as TreeNode<V>;
    }
    this.#depth = depth;
    return [node, index];
  }

  /** The entry at position `index`, or `undefined` past the end. */
  at(index: number): TreeEntry<V> | undefined {
    if (index < 0 || index >= this.size) return undefined;
    const slot = this.locate(index);
    return slot[0].entries[slot[1]];
  }

  /** Entries in list order from position `index` on. */
  *from(index: number): Generator<TreeEntry<V>> {
    if (index >= this.size) return;
    let [leaf, at]: [TreeLeaf<V> | null, number] = this.locate(Math.max(0, index));
    for (; leaf; [leaf, at] = [leaf.next, 0]) {
      while (at < leaf.entries.length) yield leaf.entries[at++];
    }
  }

  /** The position of an entry that is in the tree. */
  indexOf(entry: TreeEntry<V>): number {
    let index = entry.leaf!.entries.indexOf(entry);
    let node: TreeNode<V> = entry.leaf!;
    for (let parent = node.parent; parent; parent = parent.parent) {
      const at = countAt(parent, node);
      const slots = parent.slots;
      for (let i = 0; i < at; i += 2) index += slots[i] as number;
      node = parent;
    }
    return index;
  }

  /**
   * Puts `entry` at position `index` (0..size); its id must be new. `slot`
   * is what `locate(index)` returned, when the caller already has it (the
   * tree unchanged since).
   */
  insert(
    index: number,
    entry: TreeEntry<V>,
    slot: [TreeLeaf<V>, number] = this.locate(index),
  ): void {
    // Indexed, not destructured: until the JIT has optimized this (hundreds
    // of calls), destructuring an array runs the whole iterator protocol.
    const leaf = slot[0];
    // Shifted by hand: `splice` makes an array of removed items and runs
    // its generic checks each call (≈ 0.3 µs more here).
    const entries = leaf.entries;
    const offset = slot[1];
    let i = entries.length;
    entries.push(entry);
    for (; i > offset; i--) entries[i] = entries[i - 1];
    entries[offset] = entry;
    entry.leaf = leaf;
    this.byId.set(entry);
    // Up the path `locate` took, while it is the way to this leaf.
    let node: TreeNode<V> = leaf;
    for (let p = leaf.parent, depth = this.#depth - 1; p; node = p, p = p.parent, depth--) {
      const slots = p.slots;
      const at = depth >= 0 && slots[this.#path[depth] + 1] === node
        ? this.#path[depth]
        : countAt(p, node);
      slots[at] = (slots[at] as number) + 1;
      p.size++;
    }
    if (leaf.entries.length > MAX_CHILDREN) this.#split(leaf);
  }

  /** Takes an entry that is in the tree out of it. */
  remove(entry: TreeEntry<V>): void {
    const leaf = entry.leaf!;
    const entries = leaf.entries;
    const last = entries.length - 1;
    const at = entries.indexOf(entry);
    if (at < 0) return;
    for (let i = at; i < last; i++) entries[i] = entries[i + 1];
    entries.pop();
    this.byId.remove(entry);
    this.#count(leaf, -1);
    this.#shrink(leaf);
  }

  // Adds `delta` to the counts on the path from `node` up to the root.
  #count(node: TreeNode<V>, delta: number): void {
    for (let p = node.parent; p; node = p, p = p.parent) {
      const at = countAt(p, node);
      p.slots[at] = (p.slots[at] as number) + delta;
      p.size += delta;
    }
  }

  #split(node: TreeNode<V>): void {
    const half = widthOf(node) >> 1;
    let right: TreeNode<V>;
    if (node.leaf) {
      const leaf: TreeLeaf<V> = newLeaf();
      leaf.entries = node.entries.splice(half);
      for (const entry of leaf.entries) entry.leaf = leaf;
      leaf.prev = node;
      leaf.next = node.next;
      if (node.next) node.next.prev = leaf;
      node.next = leaf;
      right = leaf;
    } else {
      const slots = node.slots.splice(2 * half);
      let size = 0;
      for (let i = 0; i < slots.length; i += 2) size += slots[i] as number;
      right = { leaf: false, parent: null, slots, size };
      for (let i = 1; i < slots.length; i += 2) (slots[i] as TreeNode<V>).parent = right;
      node.size -= size;
    }
    const parent = node.parent;
    if (!parent) {
      this.#root = innerNode([node, right]);
      return;
    }
    const at = countAt(parent, node);
    parent.slots.splice(at + 2, 0, sizeOf(right), right);
    parent.slots[at] = sizeOf(node);
    right.parent = parent;
    if (widthOf(parent) > MAX_CHILDREN) this.#split(parent);
  }

  // Merges an underfull node into a sibling so the tree stays shallow and
  // pages never walk long chains of near-empty leaves.
  #shrink(node: TreeNode<V>): void {
    const parent = node.parent;
    if (!parent) {
      if (!node.leaf && node.slots.length === 2) {
        this.#root = node.slots[1] as TreeNode<V>;
        this.#root.parent = null;
      } else if (!node.leaf && node.slots.length === 0) {
        this.#root = newLeaf();
      }
      return;
    }
    const width = widthOf(node);
    if (width >= MIN_CHILDREN) return;
    const slots = parent.slots;
    const at = countAt(parent, node);
    // The sibling before, else the one after (its count, then itself).
    const other = at > 0 ? at - 2 : at + 2;
    const sibling = slots[other + 1] as TreeNode<V> | undefined;
    if (width > 0 && (!sibling || width + widthOf(sibling) > MAX_CHILDREN)) {
      return;
    }
    if (width > 0 && sibling) {
      this.#mergeInto(node, sibling, at > 0);
      slots[other] = (slots[other] as number) + sizeOf(node);
    }
    if (node.leaf) {
      if (node.prev) node.prev.next = node.next;
      if (node.next) node.next.prev = node.prev;
    }
    slots.splice(at, 2);
    this.#shrink(parent);
  }

  #mergeInto(node: TreeNode<V>, sibling: TreeNode<V>, toLeft: boolean): void {
    if (node.leaf && sibling.leaf) {
      for (const entry of node.entries) entry.leaf = sibling;
      if (toLeft) sibling.entries.push(...node.entries);
      else sibling.entries.unshift(...node.entries);
    } else if (!node.leaf && !sibling.leaf) {
      for (let i = 1; i < node.slots.length; i += 2) {
        (node.slots[i] as TreeNode<V>).parent = sibling;
      }
      if (toLeft) sibling.slots.push(...node.slots);
      else sibling.slots.unshift(...node.slots);
      sibling.size += node.size;
    }
  }
}
