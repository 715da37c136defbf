/**
 * The Redis store: lists and vars shared by every server process on one
 * Redis. {@linkcode openRedisStore} opens it.
 *
 * Every mutation is one Lua script (`stores/redis_scripts.ts`, sent with
 * EVALSHA) that changes the data, bumps the list's version and PUBLISHes the
 * change on `${prefix}changes`. Each store holds one subscriber connection
 * and reports changes to its listeners from there only, so a process sees
 * its own changes and everyone else's in the one order Redis applied them.
 * After the subscriber reconnects, list listeners get `{ op: "reset" }` and
 * var listeners every current value, since changes may have been missed.
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

  constructor(readonly client: Redis, readonly prefix: string) {
    this.channel = `${prefix}changes`;
    for (const [name, lua] of Object.entries(SCRIPTS)) {
      client.defineCommand(name, { numberOfKeys: 4, lua });
    }
    client.defineCommand("socksyncVar", { numberOfKeys: 2, lua: SET_VAR_LUA });
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
    name: keyof typeof SCRIPTS | "socksyncVar",
    ...args: (string | number)[]
  ) {
    return this.run((client) =>
      (client as unknown as Record<string, Script>)[name](...args)
    );
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
    const text = await this.connection.run((client) =>
      client.hget(this.#keys[2], id)
    );
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
  }

  subscribe(listener: ListListener<T>): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Drops this list's listeners; the store's `close` closes the connections. */
  close(): Promise<void> {
    this.#listeners.clear();
    return Promise.resolve();
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
    const report: ListChange<T> =
      last === undefined || change.version === last + 1
        ? change
        : { op: "reset", version: change.version };
    for (const listener of [...this.#listeners]) listener(report);
  }

  /** After a reconnect: hold changes, read the version, report a reset, then the rest. */
  async reset(): Promise<void> {
    this.#held ??= [];
    let version: number | undefined;
    try {
      version = Number(
        await this.connection.run((client) =>
          client.hget(this.#keys[3], "version")
        ) ?? 0,
      );
      this.#lastVersion = version;
      const change: ListChange<T> = { op: "reset", version };
      for (const listener of [...this.#listeners]) listener(change);
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

class RedisVarStore implements VarStore {
  readonly #hash: string;
  readonly #counter: string;
  #listeners = new Set<VarListener>();
  // The newest version seen per var, so a late message never undoes a newer value.
  #versions = new Map<string, number>();

  constructor(readonly connection: Connection) {
    this.#hash = `${connection.prefix}vars`;
    this.#counter = `${connection.prefix}vars:version`;
  }

  async get(name: string): Promise<unknown> {
    const text = await this.connection.run((client) =>
      client.hget(this.#hash, name)
    );
    return text === null ? undefined : JSON.parse(text);
  }

  async set(name: string, value: unknown): Promise<void> {
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

  /** Reports values set by other processes (and all values after a reconnect). */
  subscribe(listener: VarListener): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  receive(
    message: {
      var: string;
      src: string;
      deleted: boolean;
      value: unknown;
      version: number;
    },
  ) {
    if (!this.#seen(message.var, message.version)) return;
    if (message.src === this.connection.source) return;
    const value = message.deleted ? undefined : message.value;
    for (const listener of [...this.#listeners]) listener(message.var, value);
  }

  async reset(): Promise<void> {
    if (this.#listeners.size === 0) return;
    const all = await this.connection.run((client) =>
      client.hgetall(this.#hash)
    );
    for (const [name, text] of Object.entries(all)) {
      const value = JSON.parse(text);
      for (const listener of [...this.#listeners]) listener(name, value);
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
  const connection = new Connection(client, prefix);
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

  let lost = false;
  subscriber.on("close", () => lost = true);
  subscriber.on("ready", async () => {
    // A reconnect: changes published meanwhile are lost to us.
    if (!lost || connection.closed) return;
    lost = false;
    try {
      await subscriber.subscribe(connection.channel);
      await Promise.all([...lists.values()].map((list) => list.reset()));
      await vars.reset();
    } catch {
      // Still down; the next 'ready' tries again.
    }
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
