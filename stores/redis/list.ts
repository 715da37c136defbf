/**
 * A list of the Redis store. Every mutation is one script that changes the
 * data, bumps the list's version and publishes the change; listeners hear
 * changes only from the store's subscriber connection, so a process sees its
 * own changes and everyone else's in the one order Redis applied them.
 *
 * @module
 */
import { nanoid } from "nanoid";
import { ErrorCode, SockSyncError } from "../../src/errors.ts";
import type { ListChange, ListItem, ListListener, ListPage, ListSource } from "../../src/store.ts";
import { ORDER_KEY_REBALANCE_LENGTH } from "../common/order_key.ts";
import type { Connection } from "./connection.ts";
import { CONFLICT, retryOnConflict } from "../common/conflict_retry.ts";
import { inSequence } from "../common/resync.ts";
import { Listeners } from "../../src/listeners.ts";

function outOfRange(index: number): SockSyncError {
  return new SockSyncError(ErrorCode.InvalidArguments, `index ${index} out of range`);
}

// An entry of the `entries` hash is `orderKey \0 valueJSON`.
const valueOf = (entry: string): string => entry.slice(entry.indexOf("\0") + 1);

function unknownId(id: string): SockSyncError {
  return new SockSyncError(ErrorCode.InvalidId, `unknown id ${id}`);
}

/**
 * One named list on Redis; the store hands out one object per name.
 */
export class RedisListSource<T> implements ListSource<T> {
  readonly #keys: string[];
  readonly #nameJson: string;
  readonly #listeners = new Listeners<[ListChange<T>]>();
  #lastVersion: number | undefined;
  // While a reset is being read, changes wait here so none is lost or doubled.
  #held: ListChange<T>[] | undefined;
  // The version last reported to listeners, and this object's mutations
  // waiting for their own change to come back through the channel.
  #reportedVersion = 0;
  readonly #waiting = new Set<{ version: number; done: () => void }>();
  // This object's mutations that settled while nobody listened: their changes
  // still come back through the channel, but a listener added after they
  // settled must not hear them (it reads a state that already holds them).
  #settledUnheard = 0;

  readonly connection: Connection;
  readonly name: string;

  /**
   * @param connection the store's command connection
   * @param name the list's name
   */
  constructor(connection: Connection, name: string) {
    this.connection = connection;
    this.name = name;
    this.#keys = connection.listKeys(name);
    this.#nameJson = JSON.stringify(name);
  }

  /** The number of items (ZCARD). */
  count(): Promise<number> {
    return this.connection.run((client) => client.zcard(this.#keys[0]));
  }

  /**
   * Up to `limit` items from `offset`, with the total and version of the
   * same moment: one script whose reply is one ZRANGE (the values are in
   * the sorted-set members) followed by the version and total.
   */
  async page(offset: number, limit: number): Promise<ListPage<T>> {
    const start = Math.max(0, Math.trunc(offset) || 0);
    const take = Math.max(0, Math.min(Math.trunc(limit) || 0, 1e9));
    const reply = await this.connection.script(
      "socksyncPage",
      ...this.#keys,
      start,
      take,
    ) as string[];
    const total = Number(reply.pop());
    const version = Number(reply.pop());
    return this.#pageOf(version, total, reply);
  }

  /** The item with this id, or `undefined`. */
  async get(id: string): Promise<ListItem<T> | undefined> {
    const entry = await this.connection.run((client) => client.hget(this.#keys[1], id));
    return entry === null ? undefined : { id, value: JSON.parse(valueOf(entry)) };
  }

  /** The item's position, or -1. */
  async indexOf(id: string): Promise<number> {
    return Number(await this.connection.script("socksyncIndexOf", ...this.#keys, id));
  }

  /** Inserts a value at `index` (0..count). */
  async insert(index: number, value: T, id?: string): Promise<ListItem<T>> {
    if (!Number.isInteger(index) || index < 0) throw outOfRange(index);
    const itemId = id ?? nanoid();
    const text = JSON.stringify(value ?? null);
    const [status] = await this.connection.script(
      "socksyncInsert",
      ...this.#keys,
      index,
      itemId,
      text,
      this.#nameJson,
      this.connection.channel,
      JSON.stringify(itemId),
      ORDER_KEY_REBALANCE_LENGTH,
    ) as number[];
    if (status === -1) throw outOfRange(index);
    if (status === -2) {
      throw new SockSyncError(ErrorCode.InvalidArguments, `duplicate id ${itemId}`);
    }
    await this.#reported(status);
    return { id: itemId, value: JSON.parse(text) };
  }

  /** Replaces the value of the item with this id. */
  async set(id: string, value: T): Promise<void> {
    const [status] = await this.#set(id, JSON.stringify(value ?? null));
    if (status === -3) throw unknownId(id);
    await this.#reported(status);
  }

  /**
   * Read-modify-write as a compare-and-set script, retried like the var
   * `update`: the script writes `fn`'s result only if the item still holds
   * the text read, else returns the newer text and `fn` runs again on it.
   */
  async update(id: string, fn: (current: T) => T): Promise<ListItem<T>> {
    const entry = await this.connection.run((client) => client.hget(this.#keys[1], id));
    let current = entry === null ? null : valueOf(entry);
    return await retryOnConflict(`item ${id}`, async () => {
      if (current === null) throw unknownId(id);
      const text = JSON.stringify(fn(JSON.parse(current)) ?? null);
      const [status, newer] = await this.#set(id, text, current);
      if (status === -3) throw unknownId(id);
      if (status === -4) {
        current = newer ?? null;
        return CONFLICT;
      }
      await this.#reported(status);
      return { id, value: JSON.parse(text) };
    });
  }

  /** Deletes the item with this id. */
  async delete(id: string): Promise<void> {
    const [status] = await this.connection.script(
      "socksyncDelete",
      ...this.#keys,
      id,
      this.#nameJson,
      this.connection.channel,
      JSON.stringify(id),
    ) as number[];
    if (status === -3) throw unknownId(id);
    await this.#reported(status);
  }

  /** Registers a change listener; returns the function that removes it. */
  subscribe(listener: ListListener<T>): () => void {
    return this.#listeners.add(listener);
  }

  /** Drops this list's listeners; the store's `close` closes the connections. */
  close(): Promise<void> {
    this.#listeners.clear();
    this.#wake(true);
    return Promise.resolve();
  }

  // Members are `orderKey \0 id \0 valueJSON`: order keys hold no \0, and
  // neither does JSON text, so the first and the last \0 delimit the id.
  #pageOf(version: number, total: number, members: string[]): ListPage<T> {
    if (members.length === 0) return { items: [], total, version };
    const ids: string[] = [];
    // One JSON.parse for the page's values: cheaper than one per item.
    let text = "[";
    for (const member of members) {
      const last = member.lastIndexOf("\0");
      ids.push(member.slice(member.indexOf("\0") + 1, last));
      text += text.length === 1 ? member.slice(last + 1) : `,${member.slice(last + 1)}`;
    }
    const values = JSON.parse(`${text}]`) as T[];
    return { items: ids.map((id, i) => ({ id, value: values[i] })), total, version };
  }

  #set(id: string, text: string, expected?: string): Promise<[number, string?]> {
    const args = [id, text, this.#nameJson, this.connection.channel, JSON.stringify(id)];
    if (expected !== undefined) args.push(expected);
    return this.connection.script("socksyncSet", ...this.#keys, ...args) as Promise<
      [number, string?]
    >;
  }

  /**
   * Resolves once the change with this version (or a reset covering it) has
   * been reported to the listeners, so that, as with the in-process stores,
   * a mutation settles after this process's subscribers were sent its change
   * (a function call's return follows its own change frames). Bounded by the
   * store's timeout: if the subscriber connection is down, the change (or a
   * reset) is reported after it reconnects, and the caller need not wait.
   */
  #reported(version: number): Promise<void> {
    if (this.#reportedVersion >= version) return Promise.resolve();
    if (this.#listeners.size === 0) {
      if (version > this.#settledUnheard) this.#settledUnheard = version;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const waiter = {
        version,
        done: () => {
          clearTimeout(timer);
          this.#waiting.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.done, this.connection.timeoutMs);
      this.#waiting.add(waiter);
    });
  }

  #wake(all: boolean): void {
    for (const waiter of [...this.#waiting]) {
      if (all || waiter.version <= this.#reportedVersion) waiter.done();
    }
  }

  /**
   * A change from the channel. Changes arrive in version order; one that does
   * not follow the last (Redis lost data, or messages were missed) becomes a
   * reset, so listeners read again instead of trusting a broken sequence.
   */
  receive(change: ListChange<T>): void {
    if (this.#held) return void this.#held.push(change);
    const last = this.#lastVersion;
    this.#lastVersion = change.version;
    const report = inSequence(last, change);
    if (change.version > this.#settledUnheard) this.#listeners.emit(report);
    this.#reportedVersion = change.version;
    this.#wake(false);
  }

  /** After a reconnect: hold changes, read the version, report a reset, then the rest. */
  async reset(): Promise<void> {
    this.#held ??= [];
    let version: number | undefined;
    try {
      version = Number(
        await this.connection.run((client) => client.hget(this.#keys[2], "version")) ?? 0,
      );
      this.#lastVersion = version;
      this.#listeners.emit({ op: "reset", version });
      // The reset covers every change applied before it, whatever its version
      // was before Redis restarted.
      this.#reportedVersion = version;
      this.#wake(true);
    } finally {
      const held = this.#held ?? [];
      this.#held = undefined;
      for (const change of held) {
        // Changes the reset already covers are dropped.
        if (version === undefined || change.version > version) this.receive(change);
      }
    }
  }
}
