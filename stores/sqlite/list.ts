/**
 * A list of the SQLite store: rows ordered by fractional order keys, and an
 * in-memory index (a counted B+ tree over ids and keys) that gives ranks and
 * neighbours' keys in O(log n). Changes are reported right after the commit.
 * Each write also logs what it did (op, id, index, order key, value, version)
 * in the change table while some process reads it, so that other processes
 * on the file replay it exactly ({@linkcode SqliteListSource.replay}).
 *
 * @module
 */
import { nanoid } from "nanoid";
import { ErrorCode, SockSyncError } from "../../src/errors.ts";
import type { ListChange, ListItem, ListListener, ListPage, ListSource } from "../../src/store.ts";
import type { TreeEntry } from "../common/counted_tree.ts";
import { ORDER_KEY_REBALANCE_LENGTH } from "../common/order_key.ts";
import { Listeners } from "../../src/listeners.ts";
import { CLAIM_SPAN, type Database, NeedsWrite, Refusal, type Row, SQL } from "./database.ts";

export { json, type ListHost } from "./list_log.ts";
import {
  applyLogged,
  json,
  keyAt,
  type ListHost,
  type LoggedChange,
  logRow,
  type OrderIndex,
  rekey,
  scanIndex,
} from "./list_log.ts";

/** A list's version and item count after a change. */
type Meta = { total: number; version: number };

/**
 * One named list in the SQLite file; the store hands out one object per name.
 *
 * @internal
 */
export class SqliteListSource<T> implements ListSource<T> {
  readonly #listeners = new Listeners<[ListChange<T>]>();
  // Built on first use, dropped when another connection changed the list.
  #index: OrderIndex | undefined;
  // The list's version as this object last knew it (kept when the index is
  // dropped, so a change by another connection is noticed only once).
  #version: number | undefined;
  // While this connection owns the list (database.ts, WRITE_STEPS): the
  // version its row holds; #version runs ahead in memory. Only with the index.
  #claim: number | undefined;
  readonly #holds = new Set<() => void>();
  /** The database. */
  readonly db: Database;

  readonly host: ListHost;
  readonly name: string;

  /**
   * @param host the store's database and listener count
   * @param name the list's name
   */
  constructor(host: ListHost, name: string) {
    this.host = host;
    this.name = name;
    this.db = host.db;
  }

  /** Whether this connection owns the list (see `WRITE_STEPS` in database.ts). */
  get owned(): boolean {
    return this.#claim !== undefined;
  }

  /** Whether the index is in memory. */
  get loaded(): boolean {
    return this.#index !== undefined;
  }

  count(): Promise<number> {
    return this.db.quick(this, () => this.#load().size);
  }

  page(offset: number, limit: number): Promise<ListPage<T>> {
    const start = Math.max(0, Math.trunc(offset) || 0);
    const index = this.#index;
    if (index && !this.db.closed && start < index.size && limit >= 1) {
      // Fast path: the rows and data_version from one snapshot, none of the
      // bookkeeping of a transaction. If data_version is still the one the
      // index describes, no other connection had committed either.
      try {
        const take = Math.min(Math.trunc(limit), index.size - start);
        const rows = this.db.snapshotRows(SQL.pageFrom, this.name, index.at(start)!.value, take);
        if (rows?.length === take) {
          const items: ListItem<T>[] = [];
          for (const row of rows) {
            items.push({ id: row[0] as string, value: JSON.parse(row[1] as string) as T });
          }
          return Promise.resolve({ items, total: index.size, version: this.#version! });
        }
      } catch {
        // The transaction below reports it properly.
      }
    }
    return this.db.transaction(false, () => {
      const index = this.#load();
      const total = index.size;
      const take = Math.min(Math.trunc(limit) || 0, total - start);
      const items: ListItem<T>[] = [];
      if (take >= 1) {
        const rows = this.db.all(SQL.pageFrom, this.name, index.at(start)!.value, take);
        for (const row of rows) {
          items.push({ id: row.id as string, value: JSON.parse(row.value as string) as T });
        }
      }
      return { items, total, version: this.#version! };
    });
  }

  get(id: string): Promise<ListItem<T> | undefined> {
    return this.db.quick(undefined, () => {
      const row = this.db.get(SQL.valueOf, this.name, id);
      return row && { id, value: JSON.parse(row.value as string) as T };
    });
  }

  indexOf(id: string): Promise<number> {
    return this.db.quick(this, () => {
      const index = this.#load();
      const entry = index.byId.get(id);
      return entry ? index.indexOf(entry) : -1;
    });
  }

  async insert(index: number, value: T, id?: string): Promise<ListItem<T>> {
    const itemId = id ?? nanoid();
    const text = json(value);
    if (this.#insertAlone(index, itemId, text, id === undefined)) {
      return { id: itemId, value: JSON.parse(text) };
    }
    await this.#write(1, (bumped) => {
      const order = this.#load();
      if (!Number.isInteger(index) || index < 0 || index > order.size) {
        throw new SockSyncError(
          ErrorCode.InvalidArguments,
          `index ${index} out of range`,
        );
      }
      if (order.byId.has(itemId)) {
        throw new SockSyncError(
          ErrorCode.InvalidArguments,
          `duplicate id ${itemId}`,
        );
      }
      let key = keyAt(order, index);
      if (key.length > ORDER_KEY_REBALANCE_LENGTH) {
        this.#rebalance(order, bumped);
        key = keyAt(order, index);
      }
      this.db.run(SQL.add, this.name, itemId, key, text);
      const meta = bumped ?? this.#bump(1);
      this.#log("i", [itemId, index, key], text);
      // Only after every statement succeeded: a failure drops the index.
      order.insert(index, { id: itemId, value: key, leaf: null });
      this.#verify(order, meta.total);
      if (this.#listeners.size > 0) {
        this.#tell({ op: "insert", index, id: itemId, value: JSON.parse(text) as T, ...meta });
      }
    });
    return { id: itemId, value: JSON.parse(text) };
  }

  async set(id: string, value: T): Promise<void> {
    await this.#write(0, (bumped) => this.#replace(bumped, id, value));
  }

  /** Replaces the value with `fn(current)` in one write transaction: atomic across processes. */
  update(id: string, fn: (current: T) => T): Promise<ListItem<T>> {
    return this.#write(0, (bumped) => this.#replace(bumped, id, undefined, fn));
  }

  async delete(id: string): Promise<void> {
    if (this.#deleteAlone(id)) return;
    await this.#write(-1, (bumped) => {
      const order = this.#load();
      const entry = this.#existing(order, id);
      const index = order.indexOf(entry);
      this.db.run(SQL.remove, this.name, id);
      const meta = bumped ?? this.#bump(-1);
      this.#log("d", [id, index]);
      order.remove(entry);
      this.#verify(order, meta.total);
      if (this.#listeners.size > 0) this.#tell({ op: "delete", index, id, ...meta });
    });
  }

  subscribe(listener: ListListener<T>): () => void {
    const stop = this.#listeners.add(listener);
    const release = this.host.hold();
    this.#holds.add(release);
    return () => {
      stop();
      if (this.#holds.delete(release)) release();
    };
  }

  /** Drops this list's listeners; the store's `close` closes the file. */
  close(): Promise<void> {
    this.#listeners.clear();
    for (const release of this.#holds) release();
    this.#holds.clear();
    return Promise.resolve();
  }

  /**
   * Inside a read transaction: applies the changes another connection logged
   * for this list, in order, and tells the listeners once it has ended. A
   * change this object already holds (its own, or one a reload read) is
   * skipped; one that does not follow on from the index (a gap in versions,
   * an id or a position that does not match) turns into a reset.
   */
  replay(changes: LoggedChange[]): void {
    if (this.#version === undefined) return;
    const order = this.#index;
    for (const change of changes) {
      const version: number = this.#version!;
      if (change.version < version) continue;
      if (change.op === "k") {
        if (change.version > version) return this.resync();
        if (order) rekey(order);
        continue;
      }
      if (change.version === version) continue;
      const applied = order && change.version === version + 1
        ? applyLogged<T>(order, change)
        : undefined;
      if (!applied) return this.resync();
      this.#version = change.version;
      this.db.watcher.afterRead(() => this.#emit(applied));
    }
  }

  /**
   * Inside a read transaction, when this object cannot tell what changed:
   * forgets the index, takes the version from the file and tells the
   * listeners to read again.
   */
  resync(): void {
    if (this.#version === undefined) return;
    this.drop();
    const version = this.#version = this.#meta().version;
    this.db.watcher.afterRead(() => this.#emit({ op: "reset", version }));
  }

  /** Forgets the index; the next operation loads it again. */
  drop(): void {
    this.#index = undefined;
    this.#claim = undefined;
  }

  /**
   * Called inside a transaction after another connection committed: when
   * this list's version row moved, drops the index and returns what tells
   * the listeners (to run after the transaction).
   */
  recheck(): (() => void) | undefined {
    if (this.#version === undefined) return undefined;
    const { version, count, owner } = this.#meta();
    const claim = this.#claim;
    if (claim !== undefined) {
      // Still owned: nobody else touched the list.
      if (owner === this.db.owner) return undefined;
      // Taken over and nothing else since: the index holds, the version jumped.
      if (owner === null && version === claim + CLAIM_SPAN && count === this.#index!.size) {
        this.#claim = undefined;
        this.#version = version;
        return () => this.#emit({ op: "reset", version });
      }
    } else if (owner === null) {
      if (version === this.#version && count === (this.#index?.size ?? count)) return undefined;
    } else if (this.#index === undefined && version === this.#version) {
      // Owned elsewhere and nobody listens here: the next use takes it over.
      return undefined;
    }
    if (owner !== null && this.#listeners.size > 0) {
      // Owned elsewhere: its row is behind, so the listeners' reset waits for
      // the takeover (its version is above any the owner reported).
      if (!this.db.writing) throw new NeedsWrite();
      this.drop();
      const { index, sorted } = scanIndex(this.db, this.name);
      const taken = this.#takeOver(version, index);
      if (!sorted) this.#rebalance(index);
      this.#index = index;
      return () => this.#emit({ op: "reset", version: taken });
    }
    this.drop();
    this.#version = version;
    return owner === null ? () => this.#emit({ op: "reset", version }) : undefined;
  }

  /** Inside a write transaction (the store's close): lets go of the list's claim. */
  release(): void {
    const claim = this.#claim;
    if (claim === undefined) return;
    this.#claim = undefined;
    const size = this.#index!.size;
    if (this.db.get(SQL.release, this.#version!, size, this.name, this.name, this.db.owner)) {
      this.db.run(SQL.unclaim, this.name);
    }
  }

  // The index, loaded when missing. Runs inside a transaction, so the scan
  // and the version row match.
  #load(): OrderIndex {
    if (this.#index) return this.#index;
    const meta = this.#meta();
    if (meta.owner !== null && !this.db.writing) throw new NeedsWrite();
    const { index, sorted } = scanIndex(this.db, this.name);
    if (meta.owner === null) this.#version = meta.version;
    else {
      const known = this.#version;
      const version = this.#takeOver(meta.version, index);
      if (known !== undefined) this.db.afterCommit(() => this.#emit({ op: "reset", version }));
    }
    // Only a file written by something else can get here: fresh keys fix it.
    if (!sorted) this.#rebalance(index);
    return this.#index = index;
  }

  // Inside a write transaction, with the list just scanned: another
  // connection owns it (or this one did and forgot, after a failure), so its
  // row is behind. The row gets the true count and a version above any the
  // owner reported, which this returns (for the listeners' reset), and the
  // claim goes.
  #takeOver(row: number, index: OrderIndex): number {
    const known = this.#version;
    const version = row + CLAIM_SPAN;
    this.db.run(SQL.takeOver, version, index.size, this.name);
    this.db.run(SQL.unclaim, this.name);
    this.#version = version;
    this.db.onRollback(() => {
      this.drop();
      this.#version = known;
    });
    return version;
  }

  #meta(): { exists: boolean; version: number; count: number; owner: string | null } {
    const row = this.db.get(SQL.meta, this.name);
    return {
      exists: row !== undefined,
      version: Number(row?.version ?? 0),
      count: Number(row?.count ?? 0),
      owner: row?.owner == null ? null : String(row.owner),
    };
  }

  // A list's first write: its version row does not exist yet.
  #bump(delta: number): Meta {
    const row = this.db.get(SQL.create, this.name, delta)!;
    this.#version = Number(row.version);
    return { total: Number(row.count), version: this.#version };
  }

  /**
   * Runs a write of this list in one write transaction whose first
   * statement bumps the list's version row (`delta` for the count) and
   * reads the stamp: `body` gets the version and total after the change,
   * or `undefined` when the list has no row yet (then it bumps itself). The
   * bump also rechecks the index: a version or count other than this
   * object's plus its change means another connection changed the list,
   * so the index is dropped (and loaded again by `body`) and the listeners
   * hear a reset first. On failure everything rolls back, the version with it.
   */
  #write<R>(delta: number, body: (bumped: Meta | undefined) => R): Promise<R> {
    let bumped: Meta | undefined;
    let before: number | undefined;
    const run = () => {
      const claim = this.#claim;
      let row: Row | undefined;
      if (claim !== undefined) {
        const version = this.#version! + 1;
        const stamp = version < claim + CLAIM_SPAN
          ? this.db.get(SQL.ownedStamp, this.name, this.db.owner)
          : undefined;
        if (stamp && stamp.r == null) {
          // Still owned and nobody reads the log: the row stays as it is, as
          // for a write alone.
          bumped = { version, total: this.#index!.size + delta };
          before = this.#version;
          this.#version = version;
          return { row: stamp };
        }
        // Otherwise the row gets the true version and count, and the claim goes.
        this.#claim = undefined;
        this.db.onRollback(() => this.#index && (this.#claim = claim));
        row = this.db.get(
          SQL.release,
          this.#version! + 1,
          this.#index!.size + delta,
          this.name,
          this.name,
          this.db.owner,
        );
        if (row) this.db.run(SQL.unclaim, this.name);
      }
      row ??= this.db.get(SQL.bump, delta, this.name, this.name);
      if (!row) {
        if (!this.#meta().exists) return undefined;
        // Owned by another connection: taken over (by the load) first.
        this.#index = undefined;
        this.#load();
        row = this.db.get(SQL.bump, delta, this.name, this.name)!;
      }
      bumped = { version: Number(row.version), total: Number(row.count) };
      const known = this.#version;
      before = known;
      this.#version = bumped.version;
      const size = this.#index?.size;
      if (known === undefined) return { row };
      if (known === bumped.version - 1 && (size === undefined || size + delta === bumped.total)) {
        return { row };
      }
      const version = bumped.version - 1;
      before = version;
      // Taken over from this connection and nothing else since: the index holds.
      if (claim !== undefined && version === claim + CLAIM_SPAN && size! + delta === bumped.total) {
        return { row, reset: () => this.#emit({ op: "reset", version }) };
      }
      // Changed behind this object's back: the index is rebuilt from the file.
      this.drop();
      return { row, reset: () => this.#emit({ op: "reset", version }) };
    };
    return this.db.transaction(true, () => body(bumped), { list: this, run }).catch((error) => {
      // Rolled back: the version row is as before (the index was not touched).
      if (bumped) this.#version = before;
      throw error;
    });
  }

  // The usual insert as one autocommit statement (`SQL.insertAlone`): only
  // with the index in memory, a valid position and id and a key short enough;
  // otherwise, or when the statement finds the list's version row moved
  // (another connection wrote it), `insert`'s transaction does it.
  // A generated id (`fresh`) is not looked up: the table's unique (list, id)
  // would refuse a clash, and the transaction report it.
  #insertAlone(index: number, id: string, text: string, fresh: boolean): boolean {
    const order = this.#index;
    const version = this.#version;
    if (!order || version === undefined || !Number.isInteger(index)) return false;
    if (index < 0 || index > order.size || (!fresh && order.byId.has(id))) return false;
    // One walk down the tree for both neighbours' keys and the insert.
    const slot = order.locate(index);
    const key = keyAt(order, index, slot);
    if (key.length > ORDER_KEY_REBALANCE_LENGTH) return false;
    const claim = this.#claim;
    if (claim !== undefined) {
      // Owned: the version row stays as it is, until the span runs out.
      if (version + 1 >= claim + CLAIM_SPAN) return false;
      if (this.db.alone(SQL.insertOwned, id, key, text, this.name, this.db.owner) !== 1) {
        return false;
      }
    } else {
      const owner = this.db.claimable ? this.db.owner : null;
      const size = order.size;
      if (
        this.db.alone(SQL.insertAlone, this.name, id, key, text, version, size, index, owner) < 0
      ) {
        return false;
      }
      if (owner !== null) this.#claim = version + 1;
    }
    order.insert(index, { id, value: key, leaf: null }, slot);
    this.#version = version + 1;
    if (this.#listeners.size > 0) {
      const value = JSON.parse(text) as T;
      this.#emit({ op: "insert", index, id, value, total: order.size, version: version + 1 });
    }
    return true;
  }

  // The usual delete as one autocommit statement, as `#insertAlone`.
  #deleteAlone(id: string): boolean {
    const order = this.#index;
    const version = this.#version;
    const entry = order?.byId.get(id);
    if (!order || version === undefined || !entry) return false;
    // The position only when something uses it (an owner's delete without
    // listeners does not): a walk up the tree, which `remove` walks again.
    let index = -1;
    const claim = this.#claim;
    if (claim !== undefined) {
      if (version + 1 >= claim + CLAIM_SPAN) return false;
      if (this.db.alone(SQL.deleteOwned, this.name, id, this.name, this.db.owner) !== 1) {
        return false;
      }
    } else {
      const owner = this.db.claimable ? this.db.owner : null;
      index = order.indexOf(entry);
      if (this.db.alone(SQL.deleteAlone, this.name, id, version, order.size, index, owner) < 0) {
        return false;
      }
      if (owner !== null) this.#claim = version + 1;
    }
    if (this.#listeners.size > 0 && index < 0) index = order.indexOf(entry);
    order.remove(entry);
    this.#version = version + 1;
    if (this.#listeners.size > 0) {
      this.#emit({ op: "delete", index, id, total: order.size, version: version + 1 });
    }
    return true;
  }

  // The count row and the index disagree only if the file was changed
  // behind our back without a version bump: rebuild from the file then.
  #verify(order: OrderIndex, total: number): void {
    if (order.size !== total) this.drop();
  }

  #existing(order: OrderIndex, id: string): TreeEntry<string> {
    const entry = order.byId.get(id);
    if (!entry) throw new SockSyncError(ErrorCode.InvalidId, `unknown id ${id}`);
    return entry;
  }

  // Rare: many inserts at one spot made a key too long; give every item a short
  // one. Other processes renumber their index the same way (`rekey`).
  // The rekey row carries the version before the write that caused it (what
  // other processes' indexes hold when they replay it).
  #rebalance(order: OrderIndex, bumped?: Meta): void {
    rekey(order);
    for (const entry of order.from(0)) {
      this.db.run(SQL.rekey, entry.value, this.name, entry.id);
    }
    const version = bumped ? bumped.version - 1 : this.#version;
    this.db.log("k", () => logRow([this.name, version]));
  }

  // The body of `set` (`value`) and `update` (`fn`), inside a write transaction.
  #replace(
    bumped: Meta | undefined,
    id: string,
    value: T | undefined,
    fn?: (current: T) => T,
  ): ListItem<T> {
    const order = this.#load();
    const index = order.indexOf(this.#existing(order, id));
    let next = value as T;
    if (fn) {
      try {
        next = fn(JSON.parse(this.db.get(SQL.valueOf, this.name, id)!.value as string) as T);
      } catch (error) {
        throw new Refusal(error);
      }
    }
    const text = json(next);
    this.db.run(SQL.update, text, this.name, id);
    const meta = bumped ?? this.#bump(0);
    this.#log("s", [id, index], text);
    this.#verify(order, meta.total);
    this.#tell({ op: "set", index, id, value: JSON.parse(text) as T, ...meta });
    return { id, value: JSON.parse(text) as T };
  }

  // Logs a change for other processes (only while one reads).
  #log(op: string, args: unknown[], value?: string): void {
    this.db.log(op, () => logRow([this.name, this.#version, ...args], value));
  }

  // Told once the transaction has committed, after any change it applied first.
  #tell(change: ListChange<T>): void {
    this.db.afterCommit(() => this.#emit(change));
  }

  #emit(change: ListChange<T>): void {
    this.#listeners.emit(change);
  }
}
