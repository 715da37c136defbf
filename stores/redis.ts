/**
 * The Redis store: lists and vars shared by every server process on one
 * Redis. {@linkcode openRedisStore} opens it.
 *
 * Every mutation is one Lua script (`stores/redis_scripts.ts`, sent with
 * EVALSHA) that changes the data, bumps the list's version and PUBLISHes the
 * change on `${prefix}changes`. Each store holds one subscriber connection
 * and reports changes to its listeners from there only, so a process sees
 * its own changes and everyone else's in the one order Redis applied them;
 * a list mutation settles once its own change came back that way. Var
 * `update` is a compare-and-set script, retried on conflict, so concurrent
 * read-modify-writes from several processes lose nothing.
 *
 * After either connection reconnects, list listeners get `{ op: "reset" }`
 * and var listeners every current value (`undefined` for a var Redis no
 * longer holds): the subscriber may have missed changes, and a read that
 * failed meanwhile may have left a view behind. Commands are never queued
 * while Redis is unreachable: they fail at once with code 8.
 *
 * @module
 */
import { Redis, type RedisOptions } from "ioredis";
import { nanoid } from "nanoid";
import { ErrorCode, SockSyncError } from "../src/errors.ts";
import { ORDER_KEY_REBALANCE_LENGTH } from "../src/order_key.ts";
import type {
  ListChange,
  ListItem,
  ListListener,
  ListPage,
  ListSource,
  Store,
  VarListener,
  VarStore,
} from "../src/store.ts";
import {
  DELETE_LUA,
  INDEX_OF_LUA,
  INSERT_LUA,
  PAGE_LUA,
  SET_LUA,
  SET_VAR_LUA,
  UPDATE_VAR_LUA,
} from "./redis_scripts.ts";

/**
 * Options for {@linkcode openRedisStore}.
 *
 * @example
 * ```ts
 * import type { RedisStoreOptions } from "./redis.ts";
 * const options: RedisStoreOptions = { url: "redis://127.0.0.1:6379/0", prefix: "todo-app:" };
 * ```
 */
export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  url: string;
  /** Prepended to every key and to the channel name (default `"socksync:"`). */
  prefix?: string;
  /** How long a connect or a command may take before it fails, in ms (default 5000). */
  timeoutMs?: number;
}

const SCRIPTS = {
  socksyncInsert: INSERT_LUA,
  socksyncSet: SET_LUA,
  socksyncDelete: DELETE_LUA,
  socksyncPage: PAGE_LUA,
  socksyncIndexOf: INDEX_OF_LUA,
} as const;

type Script = (...args: (string | number)[]) => Promise<unknown>;

function unavailable(cause: unknown): SockSyncError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new SockSyncError(ErrorCode.Other, `store unavailable: ${message}`);
}

/** What the store's lists and vars share: connections, scripts, names. */
class Connection {
  readonly source = nanoid();
  readonly channel: string;
  closed = false;

  constructor(
    readonly client: Redis,
    readonly prefix: string,
    readonly timeoutMs: number,
  ) {
    this.channel = `${prefix}changes`;
    for (const [name, lua] of Object.entries(SCRIPTS)) {
      client.defineCommand(name, { numberOfKeys: 4, lua });
    }
    client.defineCommand("socksyncVar", { numberOfKeys: 2, lua: SET_VAR_LUA });
    client.defineCommand("socksyncVarUpdate", {
      numberOfKeys: 2,
      lua: UPDATE_VAR_LUA,
    });
  }

  /** Runs a command; every failure becomes a code 8 `SockSyncError`. */
  async run<R>(command: (client: Redis) => Promise<R>): Promise<R> {
    if (this.closed) throw new SockSyncError(ErrorCode.Other, "store closed");
    try {
      return await command(this.client);
    } catch (error) {
      throw unavailable(error);
    }
  }

  script(
    name: keyof typeof SCRIPTS | "socksyncVar" | "socksyncVarUpdate",
    ...args: (string | number)[]
  ) {
    return this.run((client) => (client as unknown as Record<string, Script>)[name](...args));
  }

  listKeys(name: string): string[] {
    const base = `${this.prefix}list:${name}:`;
    return [`${base}order`, `${base}ids`, `${base}values`, `${base}meta`];
  }
}

class RedisListSource<T> implements ListSource<T> {
  readonly #keys: string[];
  readonly #nameJson: string;
  #listeners = new Set<ListListener<T>>();
  #lastVersion: number | undefined;
  // While a reset is being read, changes wait here so none is lost or doubled.
  #held: ListChange<T>[] | undefined;
  // The version last reported to listeners, and this object's mutations
  // waiting for their own change to come back through the channel.
  #reportedVersion = 0;
  readonly #waiting = new Set<{ version: number; done: () => void }>();

  constructor(readonly connection: Connection, readonly name: string) {
    this.#keys = connection.listKeys(name);
    this.#nameJson = JSON.stringify(name);
  }

  count(): Promise<number> {
    return this.connection.run((client) => client.zcard(this.#keys[0]));
  }

  async page(offset: number, limit: number): Promise<ListPage<T>> {
    const start = Math.max(0, Math.trunc(offset) || 0);
    const take = Math.max(0, Math.min(Math.trunc(limit) || 0, 1e9));
    const reply = await this.connection.script(
      "socksyncPage",
      ...this.#keys,
      start,
      take,
    ) as (
      | number
      | string
    )[];
    const items: ListItem<T>[] = [];
    for (let i = 2; i < reply.length; i += 2) {
      items.push({
        id: String(reply[i]),
        value: JSON.parse(String(reply[i + 1])),
      });
    }
    return { items, total: Number(reply[1]), version: Number(reply[0]) };
  }

  async get(id: string): Promise<ListItem<T> | undefined> {
    const text = await this.connection.run((client) => client.hget(this.#keys[2], id));
    return text === null ? undefined : { id, value: JSON.parse(text) };
  }

  async indexOf(id: string): Promise<number> {
    return Number(
      await this.connection.script("socksyncIndexOf", ...this.#keys, id),
    );
  }

  async insert(index: number, value: T, id?: string): Promise<ListItem<T>> {
    if (!Number.isInteger(index) || index < 0) {
      throw new SockSyncError(
        ErrorCode.InvalidArguments,
        `index ${index} out of range`,
      );
    }
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
    if (status === -1) {
      throw new SockSyncError(
        ErrorCode.InvalidArguments,
        `index ${index} out of range`,
      );
    }
    if (status === -2) {
      throw new SockSyncError(
        ErrorCode.InvalidArguments,
        `duplicate id ${itemId}`,
      );
    }
    await this.#reported(status);
    return { id: itemId, value: JSON.parse(text) };
  }

  async set(id: string, value: T): Promise<void> {
    const [status] = await this.connection.script(
      "socksyncSet",
      ...this.#keys,
      id,
      JSON.stringify(value ?? null),
      this.#nameJson,
      this.connection.channel,
      JSON.stringify(id),
    ) as number[];
    if (status === -3) {
      throw new SockSyncError(ErrorCode.InvalidId, `unknown id ${id}`);
    }
    await this.#reported(status);
  }

  async update(id: string, fn: (current: T) => T): Promise<ListItem<T>> {
    // Optimistic: read, compute, write only if the value is still the one read; retry otherwise.
    for (let attempt = 0; attempt < 100; attempt++) {
      const current = await this.connection.run((client) => client.hget(this.#keys[2], id));
      if (current === null) throw new SockSyncError(ErrorCode.InvalidId, `unknown id ${id}`);
      const text = JSON.stringify(fn(JSON.parse(current)) ?? null);
      const [status] = await this.connection.script(
        "socksyncSet",
        ...this.#keys,
        id,
        text,
        this.#nameJson,
        this.connection.channel,
        JSON.stringify(id),
        current,
      ) as number[];
      if (status === -4) continue;
      if (status === -3) throw new SockSyncError(ErrorCode.InvalidId, `unknown id ${id}`);
      await this.#reported(status);
      return { id, value: JSON.parse(text) };
    }
    throw new SockSyncError(ErrorCode.Other, `update of ${id} kept conflicting; gave up`);
  }

  async delete(id: string): Promise<void> {
    const [status] = await this.connection.script(
      "socksyncDelete",
      ...this.#keys,
      id,
      this.#nameJson,
      this.connection.channel,
      JSON.stringify(id),
    ) as number[];
    if (status === -3) {
      throw new SockSyncError(ErrorCode.InvalidId, `unknown id ${id}`);
    }
    await this.#reported(status);
  }

  subscribe(listener: ListListener<T>): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Drops this list's listeners; the store's `close` closes the connections. */
  close(): Promise<void> {
    this.#listeners.clear();
    this.#wake(true);
    return Promise.resolve();
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
    if (this.#reportedVersion >= version || this.#listeners.size === 0) {
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
    const report: ListChange<T> = last === undefined || change.version === last + 1
      ? change
      : { op: "reset", version: change.version };
    for (const listener of [...this.#listeners]) listener(report);
    this.#reportedVersion = change.version;
    this.#wake(false);
  }

  /** After a reconnect: hold changes, read the version, report a reset, then the rest. */
  async reset(): Promise<void> {
    this.#held ??= [];
    let version: number | undefined;
    try {
      version = Number(
        await this.connection.run((client) => client.hget(this.#keys[3], "version")) ?? 0,
      );
      this.#lastVersion = version;
      const change: ListChange<T> = { op: "reset", version };
      for (const listener of [...this.#listeners]) listener(change);
      // The reset covers every change applied before it, whatever its version
      // was before Redis restarted.
      this.#reportedVersion = version;
      this.#wake(true);
    } finally {
      const held = this.#held ?? [];
      this.#held = undefined;
      for (const change of held) {
        // Changes the reset already covers are dropped.
        if (version === undefined || change.version > version) {
          this.receive(change);
        }
      }
    }
  }
}

/** A var change as the scripts publish it. */
interface VarMessage {
  var: string;
  src: string;
  deleted: boolean;
  value: unknown;
  version: number;
}

/** How many times `update` retries after concurrent writes before it gives up. */
const UPDATE_ATTEMPTS = 100;

class RedisVarStore implements VarStore {
  readonly #hash: string;
  readonly #counter: string;
  #listeners = new Set<VarListener>();
  // The newest version seen per var, so a late message never undoes a newer value.
  #versions = new Map<string, number>();
  // Every var this process read or wrote: after a reconnect each is reported
  // again, the ones Redis no longer holds (it restarted empty) as undefined.
  readonly #names = new Set<string>();
  // While a reset is being read, messages wait here.
  #held: VarMessage[] | undefined;

  constructor(readonly connection: Connection) {
    this.#hash = `${connection.prefix}vars`;
    this.#counter = `${connection.prefix}vars:version`;
  }

  async get(name: string): Promise<unknown> {
    this.#names.add(name);
    const text = await this.connection.run((client) => client.hget(this.#hash, name));
    return text === null ? undefined : JSON.parse(text);
  }

  async set(name: string, value: unknown): Promise<void> {
    this.#names.add(name);
    const version = Number(
      await this.connection.script(
        "socksyncVar",
        this.#hash,
        this.#counter,
        name,
        value === undefined ? "" : JSON.stringify(value),
        this.connection.channel,
        this.connection.source,
        JSON.stringify(name),
      ),
    );
    this.#seen(name, version);
  }

  /**
   * Read-modify-write as a compare-and-set script: `fn` runs on the value
   * read, and the script writes its result only if the var still holds the
   * text read; otherwise `fn` runs again on the value the script returned.
   * Comparing the JSON text, not a version, is enough because `fn` is pure: a
   * var that changed and changed back gives the same result.
   */
  async update(name: string, fn: (current: unknown) => unknown): Promise<unknown> {
    this.#names.add(name);
    let text: string | null = await this.connection.run((client) => client.hget(this.#hash, name));
    for (let attempt = 1;; attempt++) {
      const next = fn(text === null ? undefined : JSON.parse(text));
      const nextText = next === undefined ? "" : JSON.stringify(next);
      const reply = await this.connection.script(
        "socksyncVarUpdate",
        this.#hash,
        this.#counter,
        name,
        nextText,
        this.connection.channel,
        this.connection.source,
        JSON.stringify(name),
        text === null ? "0" : "1",
        text ?? "",
      ) as [number, string?];
      if (reply[0] >= 0) {
        this.#seen(name, reply[0]);
        return nextText === "" ? undefined : JSON.parse(nextText);
      }
      if (attempt >= UPDATE_ATTEMPTS) {
        throw new SockSyncError(
          ErrorCode.Other,
          `var ${name} changed too often to update`,
        );
      }
      text = reply[1] ?? null;
      // Writers that keep colliding in lockstep are spread apart.
      if (attempt > 2) {
        await new Promise((resolve) =>
          setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 50))
        );
      }
    }
  }

  /** Reports values set by other processes (and all values after a reconnect). */
  subscribe(listener: VarListener): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  receive(message: VarMessage): void {
    if (this.#held) return void this.#held.push(message);
    if (!this.#seen(message.var, message.version)) return;
    if (message.src === this.connection.source) return;
    this.#names.add(message.var);
    const value = message.deleted ? undefined : message.value;
    for (const listener of [...this.#listeners]) listener(message.var, value);
  }

  /**
   * After the subscriber reconnected: report every var's value, read in one
   * MULTI with the version counter. Messages arriving meanwhile wait, and
   * those the read already covers are dropped, so an older value is never
   * reported after a newer one.
   */
  async reset(): Promise<void> {
    // A Redis that restarted empty counts versions from 0 again.
    this.#versions.clear();
    if (this.#listeners.size === 0) return;
    this.#held ??= [];
    let version: number | undefined;
    try {
      const replies = await this.connection.run((client) =>
        client.multi().hgetall(this.#hash).get(this.#counter).exec()
      );
      const [[error, all], [failed, counter]] = replies as [
        [Error | null, Record<string, string>],
        [Error | null, string | null],
      ];
      if (error || failed) throw error ?? failed;
      version = Number(counter ?? 0);
      for (const name of new Set([...this.#names, ...Object.keys(all)])) {
        const value = Object.hasOwn(all, name) ? JSON.parse(all[name]) : undefined;
        this.#versions.set(name, version);
        for (const listener of [...this.#listeners]) listener(name, value);
      }
    } finally {
      const held = this.#held ?? [];
      this.#held = undefined;
      for (const message of held) {
        if (version === undefined || message.version > version) {
          this.receive(message);
        }
      }
    }
  }

  detach(): void {
    this.#listeners.clear();
  }

  #seen(name: string, version: number): boolean {
    if ((this.#versions.get(name) ?? 0) >= version) return false;
    this.#versions.set(name, version);
    return true;
  }
}

function connectionName(prefix: string, role: string): string {
  return `${prefix}${role}`.replace(/[^\x21-\x7e]/g, "_");
}

/**
 * Opens the Redis store: a command connection and a subscriber connection to
 * `url`, with keys under `prefix`. Rejects with a `SockSyncError` (code 8)
 * when Redis does not answer; later failures reject the operation the same
 * way, after at most about `timeoutMs`, while the connections keep retrying.
 *
 * @example
 * ```ts
 * import { openRedisStore } from "./redis.ts";
 * const store = await openRedisStore({ url: "redis://127.0.0.1:6379" });
 * await store.list("todos").insert(0, { text: "milk" });
 * await store.close();
 * ```
 */
export async function openRedisStore(
  options: RedisStoreOptions,
): Promise<Store> {
  const prefix = options.prefix ?? "socksync:";
  const timeoutMs = options.timeoutMs ?? 5000;
  const settings: RedisOptions = {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    // A command is sent now or fails now (code 8): one queued while Redis is
    // down could time out for its caller and still run after a reconnect.
    enableOfflineQueue: false,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
  };
  const client = new Redis(options.url, {
    ...settings,
    connectionName: connectionName(prefix, "cmd"),
  });
  const subscriber = new Redis(options.url, {
    ...settings,
    connectionName: connectionName(prefix, "sub"),
  });
  // Without a listener an 'error' event would crash the process; failures
  // reach callers through the rejected commands instead.
  client.on("error", () => {});
  subscriber.on("error", () => {});
  const connection = new Connection(client, prefix, timeoutMs);
  const lists = new Map<string, RedisListSource<unknown>>();
  const vars = new RedisVarStore(connection);

  subscriber.on("message", (_channel: string, text: string) => {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message.var === "string") return vars.receive(message);
    const list = lists.get(message.list);
    if (!list) return;
    delete message.list;
    list.receive(message);
  });

  try {
    await client.connect();
    await subscriber.connect();
    await subscriber.subscribe(connection.channel);
  } catch (error) {
    client.disconnect();
    subscriber.disconnect();
    throw unavailable(error);
  }

  // Every list listener gets a reset and every var listener every value
  // again; runs once more if asked while running, never twice at once.
  let resyncing = false;
  let again = false;
  const resync = async () => {
    if (resyncing) return void (again = true);
    resyncing = true;
    try {
      do {
        again = false;
        if (connection.closed) return;
        try {
          await Promise.all([...lists.values()].map((list) => list.reset()));
          await vars.reset();
        } catch {
          // A connection is still down; its 'ready' resyncs again.
        }
      } while (again);
    } finally {
      resyncing = false;
    }
  };
  // The subscriber reconnected: changes published meanwhile were missed.
  let deaf = false;
  subscriber.on("close", () => deaf = true);
  subscriber.on("ready", async () => {
    if (!deaf || connection.closed) return;
    deaf = false;
    try {
      await subscriber.subscribe(connection.channel);
    } catch {
      return; // Down again; the next 'ready' comes back here.
    }
    await resync();
  });
  // The command connection reconnected: a read that failed meanwhile (a
  // subscriber's page re-read while applying a change, a var re-read) left
  // a view behind, so every view is read again.
  let cut = false;
  client.on("close", () => cut = true);
  client.on("ready", () => {
    if (!cut || connection.closed) return;
    cut = false;
    void resync();
  });

  return {
    kind: "redis",
    vars,
    list<T>(name: string): ListSource<T> {
      let list = lists.get(name);
      if (!list) lists.set(name, list = new RedisListSource(connection, name));
      return list as ListSource<T>;
    },
    async close(): Promise<void> {
      if (connection.closed) return;
      connection.closed = true;
      for (const list of lists.values()) await list.close();
      vars.detach();
      await Promise.allSettled([client.quit(), subscriber.quit()]);
      client.disconnect();
      subscriber.disconnect();
    },
  };
}
