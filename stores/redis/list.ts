/**
 * A list of the Redis store. Every mutation is one script that changes the
 * data, bumps the list's version and publishes the change (when some store
 * listens: PUBSUB NUMSUB); listeners hear
 * changes only from the store's subscriber connection, so a process sees its
 * own changes and everyone else's in the one order Redis applied them. The
 * store listens to the channel only while some list or var has listeners
 * (stores/redis/feed.ts).
 *
 * @module
 */
import { nanoid } from "nanoid";
import { ErrorCode, SockSyncError } from "../../src/errors.ts";
import type { ListChange, ListItem, ListListener, ListPage, ListSource } from "../../src/store.ts";
import { ORDER_KEY_REBALANCE_LENGTH } from "../common/order_key.ts";
import { type CommandLine, type Connection, SCRIPTS } from "./connection.ts";
import { CONFLICT, retryOnConflict } from "../common/conflict_retry.ts";
import { inSequence } from "../common/resync.ts";
import { Listeners } from "../../src/listeners.ts";

function outOfRange(index: number): SockSyncError {
  return new SockSyncError(ErrorCode.InvalidArguments, `index ${index} out of range`);
}

// An entry of the `entries` hash is the item's member, `orderKey \0 id \0
// valueJSON`: the value follows the last \0 (JSON text holds none).
const valueOf = (member: string): string => member.slice(member.lastIndexOf("\0") + 1);

// A page's items from its stored texts: one JSON.parse for all the values
// (cheaper than one per item).
function itemsOf<T>(ids: string[], json: string[]): ListItem<T>[] {
  const values = JSON.parse(`[${json.join(",")}]`) as T[];
  return ids.map((id, i) => ({ id, value: values[i] }));
}

function unknownId(id: string): SockSyncError {
  return new SockSyncError(ErrorCode.InvalidId, `unknown id ${id}`);
}

/**
 * One named list on Redis; the store hands out one object per name.
 */
export class RedisListSource<T> implements ListSource<T> {
  readonly #keys: [string, string, string];
  /** The list's name as JSON: how the channel's messages name it. */
  readonly nameJson: string;
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
  // Releases the store's feed once this list has no listeners left.
  #release: (() => void) | undefined;

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
    this.nameJson = JSON.stringify(name);
  }

  /** The number of items (ZCARD). */
  count(): Promise<number> {
    return this.connection.run((client) => client.zcard(this.#keys[0]));
  }

  /**
   * Up to `limit` items from `offset`, with the total and version of the
   * same moment, read without Lua (a script's ZRANGE passes every member
   * through Lua and back): GET version, ZCARD, ZRANGE and GET version again,
   * sent in one write. Every write bumps the version, so when both reads of
   * it agree no write ran in between and the page is exact; otherwise one
   * script reads it at one moment.
   */
  async page(offset: number, limit: number): Promise<ListPage<T>> {
    const start = Math.max(0, Math.trunc(offset) || 0);
    const take = Math.max(0, Math.min(Math.trunc(limit) || 0, 1e9));
    const [items, , version] = this.#keys;
    const read: CommandLine = ["get", [version]];
    // (A sorted set holds fewer than 2^32 members.)
    const range = take > 0 && start < 2 ** 32;
    const replies = await this.connection.send(
      range ? [read, ["zcard", [items]], ["zrange", [items, start, start + take - 1]], read] : [
        read,
        ["zcard", [items]],
        read,
      ],
    );
    const before = replies[0], after = replies[replies.length - 1];
    const total = replies[1] as number;
    const members = range ? replies[2] as string[] : [];
    if (before === after) return this.#pageOf(members, Number(before ?? 0), total);
    const reply = await this.connection.script(SCRIPTS.page, [items, version, start, take]) as (
      | string
      | number
    )[];
    const scriptTotal = reply.pop() as number;
    const scriptVersion = reply.pop() as number;
    return this.#pageOf(reply as string[], scriptVersion, scriptTotal);
  }

  /** The item with this id, or `undefined`. */
  async get(id: string): Promise<ListItem<T> | undefined> {
    const entry = await this.connection.run((client) => client.hget(this.#keys[1], id));
    return entry === null ? undefined : { id, value: JSON.parse(valueOf(entry)) };
  }

  /** The item's position, or -1. */
  indexOf(id: string): Promise<number> {
    return this.connection.script(SCRIPTS.indexOf, [this.#keys[0], this.#keys[1], id]) as Promise<
      number
    >;
  }

  /** Inserts a value at `index` (0..count). */
  async insert(index: number, value: T, id?: string): Promise<ListItem<T>> {
    if (!Number.isInteger(index) || index < 0) throw outOfRange(index);
    const itemId = id ?? nanoid();
    const text = JSON.stringify(value ?? null);
    const [items, entries, version] = this.#keys;
    // (No await when there is nothing to wait for: each costs a turn of the microtask queue.)
    let heard = this.#heard();
    if (typeof heard !== "number") heard = await heard;
    const status = await this.connection.script(SCRIPTS.insert, [
      items,
      entries,
      version,
      index,
      itemId,
      text,
      this.nameJson,
      this.connection.channel,
      JSON.stringify(itemId),
      ORDER_KEY_REBALANCE_LENGTH,
    ]) as number;
    if (status === -1) throw outOfRange(index);
    if (status === -2) {
      throw new SockSyncError(ErrorCode.InvalidArguments, `duplicate id ${itemId}`);
    }
    const reported = this.#reported(status, heard);
    if (reported) await reported;
    return { id: itemId, value: JSON.parse(text) };
  }

  /** Replaces the value of the item with this id. */
  async set(id: string, value: T): Promise<void> {
    let heard = this.#heard();
    if (typeof heard !== "number") heard = await heard;
    const [status] = await this.#set(id, JSON.stringify(value ?? null));
    if (status === -3) throw unknownId(id);
    const reported = this.#reported(status, heard);
    if (reported) await reported;
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
      let heard = this.#heard();
      if (typeof heard !== "number") heard = await heard;
      const [status, newer] = await this.#set(id, text, current);
      if (status === -3) throw unknownId(id);
      if (status === -4) {
        current = newer ?? null;
        return CONFLICT;
      }
      const reported = this.#reported(status, heard);
      if (reported) await reported;
      return { id, value: JSON.parse(text) };
    });
  }

  /** Deletes the item with this id. */
  async delete(id: string): Promise<void> {
    const [items, entries, version] = this.#keys;
    let heard = this.#heard();
    if (typeof heard !== "number") heard = await heard;
    const status = await this.connection.script(SCRIPTS.delete, [
      items,
      entries,
      version,
      id,
      this.nameJson,
      this.connection.channel,
      JSON.stringify(id),
    ]) as number;
    if (status === -3) throw unknownId(id);
    const reported = this.#reported(status, heard);
    if (reported) await reported;
  }

  /** Registers a change listener; returns the function that removes it. */
  subscribe(listener: ListListener<T>): () => void {
    const remove = this.#listeners.add(listener);
    if (this.#listeners.size > 0) this.#release ??= this.connection.feed.hold();
    return () => {
      remove();
      if (this.#listeners.size === 0) this.#quiet();
    };
  }

  /** Whether some listener listens (the store skips this list's changes otherwise). */
  get listening(): boolean {
    return this.#listeners.size > 0;
  }

  /** Drops this list's listeners; the store's `close` closes the connections. */
  close(): Promise<void> {
    this.#listeners.clear();
    this.#quiet();
    return Promise.resolve();
  }

  // No listener left: nothing waits for a change, the next listener starts a
  // fresh sequence, and the store may stop listening.
  #quiet(): void {
    this.#wake(true);
    this.#lastVersion = undefined;
    this.#release?.();
    this.#release = undefined;
  }

  // Members are `orderKey \0 id \0 valueJSON`: order keys hold no \0, and
  // neither does JSON text, so the first and the last \0 delimit the id. The
  // page hands out the stored texts (`ListPage.stored`) and parses them into
  // items only when those are read: the hub puts the texts into its frames
  // as they are.
  #pageOf(members: string[], version: number, total: number): ListPage<T> {
    if (members.length === 0) return { items: [], total, version };
    const ids: string[] = [];
    const json: string[] = [];
    for (const member of members) {
      const last = member.lastIndexOf("\0");
      ids.push(member.slice(member.indexOf("\0") + 1, last));
      json.push(member.slice(last + 1));
    }
    let items: ListItem<T>[] | undefined;
    // Items read may be changed in place, items set replace them: either way
    // the stored texts no longer describe them (ListPage.stored).
    const drop = () => Object.defineProperty(page, "stored", { value: undefined });
    const page = {
      get items(): ListItem<T>[] {
        if (items) return items;
        drop();
        return items = itemsOf<T>(ids, json);
      },
      set items(value: ListItem<T>[]) {
        items = value;
        drop();
      },
      total,
      version,
    };
    return Object.defineProperty(page, "stored", { value: { ids, json }, configurable: true });
  }

  #set(id: string, text: string, expected?: string): Promise<[number, string?]> {
    const [items, entries, version] = this.#keys;
    const args = [items, entries, version, id, text, this.nameJson, this.connection.channel];
    args.push(JSON.stringify(id));
    if (expected !== undefined) args.push(expected);
    return this.connection.script(SCRIPTS.set, args) as Promise<[number, string?]>;
  }

  /**
   * Waits while the feed is subscribing, then tells which feed epoch a write
   * sent now belongs to (-1: its change will not come back to this process).
   */
  #heard(): number | Promise<number> {
    const feed = this.connection.feed;
    return feed.starting ? feed.starting.then(() => this.#heard()) : feed.live;
  }

  /**
   * Resolves once the change with this version (or a reset covering it) has
   * been reported to the listeners, so that, as with the in-process stores,
   * a mutation settles after this process's subscribers were sent its change
   * (a function call's return follows its own change frames). Bounded by the
   * store's timeout: if the subscriber connection is down, the change (or a
   * reset) is reported after it reconnects, and the caller need not wait.
   * A write made while the store did not listen (`heard` is not the feed's
   * epoch now) settles at once: its change never comes back.
   */
  #reported(version: number, heard: number): Promise<void> | undefined {
    if (this.#reportedVersion >= version) return;
    if (this.#listeners.size === 0) {
      if (version > this.#settledUnheard) this.#settledUnheard = version;
      return;
    }
    if (heard < 0 || heard !== this.connection.feed.epoch) return;
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
    if (this.#listeners.size === 0) return;
    if (this.#held) return void this.#held.push(change);
    const last = this.#lastVersion;
    this.#lastVersion = change.version;
    const report = inSequence(last, change);
    if (change.version > this.#settledUnheard) this.#listeners.emit(report);
    this.#reportedVersion = change.version;
    this.#wake(false);
  }

  /**
   * A change of this list while nobody listens (the store did not parse
   * it): only its version is kept, so that a write whose reply comes after a
   * listener was added does not wait for a change already gone by.
   */
  passed(version: number): void {
    if (version > this.#reportedVersion) this.#reportedVersion = version;
  }

  /** After a reconnect: hold changes, read the version, report a reset, then the rest. */
  async reset(): Promise<void> {
    if (this.#listeners.size === 0) return;
    this.#held ??= [];
    let version: number | undefined;
    try {
      version = Number(
        await this.connection.run((client) => client.get(this.#keys[2])) ?? 0,
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
