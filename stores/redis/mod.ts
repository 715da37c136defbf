/**
 * The Redis store: lists and vars shared by every server process on one
 * Redis. {@linkcode openRedisStore} opens it.
 *
 * Every mutation is one Lua script (`stores/redis/scripts.ts`, sent with
 * EVALSHA) that changes the data, bumps the list's version and PUBLISHes the
 * change on `${prefix}changes` when some store listens there. Each store holds one subscriber connection
 * and reports changes to its listeners from there only, so a process sees
 * its own changes and everyone else's in the one order Redis applied them;
 * a list mutation settles once its own change came back that way. The
 * subscriber listens only while some list or var has listeners
 * (`stores/redis/feed.ts`): a store nobody listens to is not sent its own
 * changes back. `update`
 * (lists and vars) is a compare-and-set script, retried on conflict, so
 * concurrent read-modify-writes from several processes lose nothing.
 *
 * After either connection reconnects, list listeners get `{ op: "reset" }`
 * and var listeners every current value (`undefined` for a var Redis no
 * longer holds): the subscriber may have missed changes, and a read that
 * failed meanwhile may have left a view behind. Commands are never queued
 * while Redis is unreachable: they fail at once with code 8.
 *
 * The driver, `ioredis`, is an optional peer dependency: it is loaded when a
 * store is opened, and a missing one fails with the command that installs it.
 *
 * @module
 */
import type { Redis, RedisOptions } from "ioredis";
import type { ListSource, PresenceStore, Store } from "../../src/store.ts";
import { LeasedPresence, type LeaseOptions } from "../common/leased_presence.ts";
import { RedisLeases } from "./presence.ts";
import { RedisCallStore } from "./calls.ts";

export type { LeaseOptions } from "../common/leased_presence.ts";
import { type CommandClass, Connection, SCRIPTS } from "./connection.ts";
import { boundHandshake } from "./handshake.ts";
import { RedisListSource } from "./list.ts";
import { RedisVarStore } from "./vars.ts";
import { importDriver } from "../common/driver_import.ts";
import { serialResync } from "../common/resync.ts";
import { storeError } from "../common/store_errors.ts";

/**
 * Options for {@linkcode openRedisStore}.
 *
 * @example
 * ```ts
 * import type { RedisStoreOptions } from "./mod.ts";
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
  /** The lease of this process's presence (see `store.presence()`); default 5 s, renewed every 1 s. */
  presence?: LeaseOptions;
}

function connectionName(prefix: string, role: string): string {
  return `${prefix}${role}`.replace(/[^\x21-\x7e]/g, "_");
}

// Where the store tried to connect, for error messages: host and port only,
// never the password.
function address(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || "127.0.0.1"}:${parsed.port || "6379"}`;
  } catch {
    return "an invalid URL";
  }
}

/**
 * Opens the Redis store: a command connection and a subscriber connection to
 * `url`, with keys under `prefix`. Rejects with a `SockSyncError` (code 8)
 * that names the host and port when Redis does not answer; later failures
 * reject the operation the same way, after at most about `timeoutMs`, while
 * the connections keep retrying. Rejects with an `Error` that says how to
 * install it when the `ioredis` package is missing.
 *
 * @example
 * ```ts
 * import { openRedisStore } from "./mod.ts";
 * const store = await openRedisStore({ url: "redis://127.0.0.1:6379" });
 * await store.list("todos").insert(0, { text: "milk" });
 * await store.close();
 * ```
 */
export async function openRedisStore(
  options: RedisStoreOptions,
): Promise<Store> {
  const { Redis, Command } = await importDriver(
    { entry: "socksync/stores/redis", pkg: "ioredis" },
    () => import("ioredis"),
  );
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
  // The command connection without ioredis' timer per command: the store
  // times its commands with one timer of its own (deadlines.ts), and its
  // handshake with another (handshake.ts).
  const client = new Redis(options.url, {
    ...settings,
    commandTimeout: undefined,
    connectionName: connectionName(prefix, "cmd"),
  });
  boundHandshake(client, timeoutMs);
  return await RedisStore.open(
    options.url,
    client,
    new Redis(options.url, { ...settings, connectionName: connectionName(prefix, "sub") }),
    prefix,
    timeoutMs,
    Command,
    options.presence,
  );
}

/**
 * The store {@linkcode openRedisStore} opens: a command connection and a
 * subscriber connection whose messages it hands to its lists and vars.
 */
class RedisStore implements Store {
  readonly kind = "redis";
  readonly vars: RedisVarStore;
  /** Where call answers are remembered across instances. */
  readonly calls: RedisCallStore;
  readonly #client: Redis;
  readonly #subscriber: Redis;
  readonly #connection: Connection;
  readonly #lists = new Map<string, RedisListSource<unknown>>();
  // The same lists by their name as JSON, as the channel's messages name them.
  readonly #listsByJson = new Map<string, RedisListSource<unknown>>();
  // After a cut feed every list listener gets a reset and every var listener every value.
  readonly #resync: () => Promise<void>;
  // Why a first connect failed, better said than ioredis' "Connection is closed.".
  #lastError: Error | undefined;
  // The subscriber reconnected: changes published meanwhile were missed.
  #deaf = false;
  // The command connection reconnected: a read that failed meanwhile (a
  // subscriber's page re-read while applying a change, a var re-read) left
  // a view behind, so every view is read again.
  #cut = false;
  #presence: LeasedPresence | undefined;
  #presenceOptions: LeaseOptions | undefined;

  /** Connects `client` and `subscriber` (keys and channel under `prefix`) and subscribes. */
  static async open(
    url: string,
    client: Redis,
    subscriber: Redis,
    prefix: string,
    timeoutMs: number,
    command: CommandClass,
    presence?: LeaseOptions,
  ): Promise<RedisStore> {
    const store = new RedisStore(client, subscriber, prefix, timeoutMs, command);
    store.#presenceOptions = presence;
    await store.#connect(url);
    return store;
  }

  private constructor(
    client: Redis,
    subscriber: Redis,
    prefix: string,
    timeoutMs: number,
    command: CommandClass,
  ) {
    this.#client = client;
    this.#subscriber = subscriber;
    this.#connection = new Connection(client, subscriber, prefix, timeoutMs, command);
    this.vars = new RedisVarStore(this.#connection);
    this.calls = new RedisCallStore(this.#connection);
    this.#resync = serialResync({
      lists: () => this.#lists.values(),
      vars: this.vars,
      closed: () => this.#connection.closed,
    });
    // Without a listener an 'error' event would crash the process; failures
    // reach callers through the rejected commands instead.
    client.on("error", (error: Error) => this.#lastError = error);
    subscriber.on("error", (error: Error) => this.#lastError = error);
    subscriber.on("message", (_channel: string, text: string) => this.#receive(text));
  }

  /**
   * Connects both connections and subscribes, then follows reconnects.
   * Rejects with code 8, naming the host and port, when Redis does not answer.
   */
  async #connect(url: string): Promise<void> {
    const client = this.#client;
    const subscriber = this.#subscriber;
    try {
      await this.#connection.guard(client.connect());
      await subscriber.connect();
      // Loaded up front, so that no call pays a NOSCRIPT round trip (after
      // a Redis restart one does, once per script).
      await this.#connection.guard(
        Promise.all(Object.values(SCRIPTS).map((s) => client.script("LOAD", s.lua))),
      );
    } catch (error) {
      this.#connection.deadlines.stop();
      client.disconnect();
      subscriber.disconnect();
      const why = this.#lastError ?? error;
      const message = why instanceof Error ? why.message : String(why);
      throw storeError(`cannot connect to Redis at ${address(url)}: ${message}`);
    }
    subscriber.on("close", () => this.#deaf = true);
    subscriber.on("ready", () => this.#resubscribe());
    client.on("close", () => this.#cut = true);
    client.on("ready", () => {
      if (!this.#cut || this.#connection.closed) return;
      this.#cut = false;
      void this.#resync();
    });
  }

  /** The list with this name (the same object for the same name). */
  list<T>(name: string): ListSource<T> {
    let list = this.#lists.get(name);
    if (!list) {
      list = new RedisListSource(this.#connection, name);
      this.#lists.set(name, list);
      this.#listsByJson.set(list.nameJson, list);
    }
    return list as ListSource<T>;
  }

  /**
   * This process's presence (made on the first call): members listed for
   * every process on this Redis, under a lease renewed every second.
   */
  presence(): PresenceStore {
    return this.#presence ??= new LeasedPresence(
      new RedisLeases(this.#connection, (name) => this.list(name)),
      this.#presenceOptions,
    );
  }

  /** Removes this process's members, drops every listener and ends both connections. */
  async close(): Promise<void> {
    if (this.#connection.closed) return;
    await this.#presence?.close().catch(() => {});
    this.#connection.closed = true;
    for (const list of this.#lists.values()) await list.close();
    this.vars.detach();
    await Promise.allSettled([
      this.#connection.guard(this.#client.quit()),
      this.#subscriber.quit(),
    ]);
    this.#connection.deadlines.stop();
    this.#client.disconnect();
    this.#subscriber.disconnect();
  }

  // A var change is one JSON object; a list change is the list's name as
  // JSON, a newline, then the change, whose last field is the version: a
  // list nobody listens to gets only that, without a parse.
  #receive(text: string): void {
    const at = text.indexOf("\n");
    const list = at < 0 ? undefined : this.#listsByJson.get(text.slice(0, at));
    if (at >= 0 && !list?.listening) {
      return list?.passed(Number(text.slice(text.lastIndexOf(":") + 1, -1)));
    }
    let message;
    try {
      message = JSON.parse(at < 0 ? text : text.slice(at + 1));
    } catch {
      return;
    }
    if (list) list.receive(message);
    else if (typeof message.var === "string") this.vars.receive(message);
  }

  async #resubscribe(): Promise<void> {
    if (!this.#deaf || this.#connection.closed) return;
    this.#deaf = false;
    // Nobody listens: the next listener subscribes.
    if (!this.#connection.feed.wanted) return;
    if (!await this.#connection.feed.subscribe()) return; // Down again; the next 'ready' comes back here.
    await this.#resync();
  }
}
export { openRedisChannel, type RedisChannel, type RedisChannelOptions } from "./channel.ts";
