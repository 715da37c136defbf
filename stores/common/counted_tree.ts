/**
 * A counted B+ tree (an order-statistic tree): entries kept in list order,
 * found by position in O(log n) because every inner node knows how many
 * entries lie below it, plus an id → entry map. The memory store keeps its
 * items in one; the SQLite store keeps each list's order keys in one, so
 * that ranks, neighbours and page starts never need an O(n) SQL scan.
 *
 * @module
 */

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
  children: TreeNode<V>[];
  // counts[i] = entries below children[i]. Kept beside the children so
  // walks read one packed array instead of touching every child (cold in
  // cache on big trees).
  counts: number[];
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
  node.leaf ? node.entries.length : node.children.length;

/**
 * An order-statistic B+ tree of entries: positions by count, not by key.
 * Every operation by position or by entry is O(log n); `byId` finds an
 * entry in O(1).
 */
export class CountedTree<V> {
  #root: TreeNode<V> = newLeaf();
  // The child taken at each inner node (root first) by the last `locate`:
  // an insert at the spot it found updates the counts on the way back up
  // without searching each parent's children for the node below.
  readonly #path: number[] = [];
  #depth = 0;
  /** Every entry by id. */
  readonly byId: Map<string, TreeEntry<V>> = new Map();

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
      tree.byId.set(entry.id, entry);
    }
    while (level.length > 1) {
      const up: TreeNode<V>[] = [];
      for (let i = 0; i < level.length; i += LOAD_WIDTH) {
        const children = level.slice(i, i + LOAD_WIDTH);
        const counts = children.map(sizeOf);
        const node: TreeInner<V> = { leaf: false, parent: null, children, counts, size: 0 };
        for (const child of children) child.parent = node;
        for (const count of counts) node.size += count;
        up.push(node);
      }
      // A short last node would break the minimum fill: lean on its left sibling.
      const last = up.at(-1) as TreeInner<V>;
      if (up.length > 1 && last.children.length < MIN_CHILDREN) {
        const left = up.at(-2) as TreeInner<V>;
        const moved = left.children.splice(left.children.length - MIN_CHILDREN);
        const movedCounts = left.counts.splice(left.counts.length - MIN_CHILDREN);
        for (const child of moved) child.parent = last;
        for (const count of movedCounts) {
          left.size -= count;
          last.size += count;
        }
        last.children.unshift(...moved);
        last.counts.unshift(...movedCounts);
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
      const counts = node.counts;
      let i = 0;
      for (; i < counts.length - 1; i++) {
        if (index < counts[i]) break;
        index -= counts[i];
      }
      this.#path[depth++] = i;
      node = node.children[i];
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
      const at = parent.children.indexOf(node);
      const counts = parent.counts;
      for (let i = 0; i < at; i++) index += counts[i];
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
    leaf.entries.splice(slot[1], 0, entry);
    entry.leaf = leaf;
    this.byId.set(entry.id, entry);
    // Up the path `locate` took, while it is the way to this leaf.
    let node: TreeNode<V> = leaf;
    for (let p = leaf.parent, depth = this.#depth - 1; p; node = p, p = p.parent, depth--) {
      const at = depth >= 0 && p.children[this.#path[depth]] === node
        ? this.#path[depth]
        : p.children.indexOf(node);
      p.counts[at]++;
      p.size++;
    }
    if (leaf.entries.length > MAX_CHILDREN) this.#split(leaf);
  }

  /** Takes an entry that is in the tree out of it. */
  remove(entry: TreeEntry<V>): void {
    const leaf = entry.leaf!;
    leaf.entries.splice(leaf.entries.indexOf(entry), 1);
    this.byId.delete(entry.id);
    this.#count(leaf, -1);
    this.#shrink(leaf);
  }

  // Adds `delta` to the counts on the path from `node` up to the root.
  #count(node: TreeNode<V>, delta: number): void {
    for (let p = node.parent; p; node = p, p = p.parent) {
      p.counts[p.children.indexOf(node)] += delta;
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
      const children = node.children.splice(half);
      const counts = node.counts.splice(half);
      let size = 0;
      for (const count of counts) size += count;
      right = { leaf: false, parent: null, children, counts, size };
      for (const child of children) child.parent = right;
      node.size -= size;
    }
    const parent = node.parent;
    if (!parent) {
      this.#root = {
        leaf: false,
        parent: null,
        children: [node, right],
        counts: [sizeOf(node), sizeOf(right)],
        size: sizeOf(node) + sizeOf(right),
      };
      node.parent = right.parent = this.#root;
      return;
    }
    const at = parent.children.indexOf(node);
    parent.children.splice(at + 1, 0, right);
    parent.counts.splice(at + 1, 0, sizeOf(right));
    parent.counts[at] = sizeOf(node);
    right.parent = parent;
    if (parent.children.length > MAX_CHILDREN) this.#split(parent);
  }

  // Merges an underfull node into a sibling so the tree stays shallow and
  // pages never walk long chains of near-empty leaves.
  #shrink(node: TreeNode<V>): void {
    const parent = node.parent;
    if (!parent) {
      if (!node.leaf && node.children.length === 1) {
        this.#root = node.children[0];
        this.#root.parent = null;
      } else if (!node.leaf && node.children.length === 0) {
        this.#root = newLeaf();
      }
      return;
    }
    const width = widthOf(node);
    if (width >= MIN_CHILDREN) return;
    const at = parent.children.indexOf(node);
    const sibling = parent.children[at - 1] ?? parent.children[at + 1];
    if (width > 0 && (!sibling || width + widthOf(sibling) > MAX_CHILDREN)) {
      return;
    }
    if (width > 0 && sibling) {
      this.#mergeInto(node, sibling, at > 0);
      parent.counts[at > 0 ? at - 1 : at + 1] += sizeOf(node);
    }
    if (node.leaf) {
      if (node.prev) node.prev.next = node.next;
      if (node.next) node.next.prev = node.prev;
    }
    parent.children.splice(at, 1);
    parent.counts.splice(at, 1);
    this.#shrink(parent);
  }

  #mergeInto(node: TreeNode<V>, sibling: TreeNode<V>, toLeft: boolean): void {
    if (node.leaf && sibling.leaf) {
      for (const entry of node.entries) entry.leaf = sibling;
      if (toLeft) sibling.entries.push(...node.entries);
      else sibling.entries.unshift(...node.entries);
    } else if (!node.leaf && !sibling.leaf) {
      for (const child of node.children) child.parent = sibling;
      if (toLeft) {
        sibling.children.push(...node.children);
        sibling.counts.push(...node.counts);
      } else {
        sibling.children.unshift(...node.children);
        sibling.counts.unshift(...node.counts);
      }
      sibling.size += node.size;
    }
  }
}
