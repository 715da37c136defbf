/**
 * What a Redis store's lists and vars share: the command connection, the
 * scripts defined on it, the key prefix and the channel changes go out on.
 *
 * @module
 */
import type { Redis } from "ioredis";
import { nanoid } from "nanoid";
import { storeClosed, storeError } from "../common/store_errors.ts";
import {
  DELETE_LUA,
  INDEX_OF_LUA,
  INSERT_LUA,
  PAGE_LUA,
  SET_LUA,
  SET_VAR_LUA,
  UPDATE_VAR_LUA,
} from "./scripts.ts";

const LIST_SCRIPTS = {
  socksyncInsert: INSERT_LUA,
  socksyncSet: SET_LUA,
  socksyncDelete: DELETE_LUA,
  socksyncPage: PAGE_LUA,
  socksyncIndexOf: INDEX_OF_LUA,
} as const;

const VAR_SCRIPTS = {
  socksyncVar: SET_VAR_LUA,
  socksyncVarUpdate: UPDATE_VAR_LUA,
} as const;

/**
 * The name of a script the store defines.
 */
export type ScriptName = keyof typeof LIST_SCRIPTS | keyof typeof VAR_SCRIPTS;

type Script = (...args: (string | number)[]) => Promise<unknown>;

/**
 * The command connection of one store, with its scripts and names.
 */
export class Connection {
  /** This store object's id: var messages it published itself are not reported back. */
  readonly source: string = nanoid();
  /** The channel every change is published on. */
  readonly channel: string;
  /** Set by the store's `close`: every later command fails with code 8. */
  closed = false;

  readonly client: Redis;
  readonly prefix: string;
  readonly timeoutMs: number;

  /**
   * @param client the command connection
   * @param prefix prepended to every key and to the channel
   * @param timeoutMs how long a mutation waits for its own change to come back
   */
  constructor(client: Redis, prefix: string, timeoutMs: number) {
    this.client = client;
    this.prefix = prefix;
    this.timeoutMs = timeoutMs;
    this.channel = `${prefix}changes`;
    for (const [name, lua] of Object.entries(LIST_SCRIPTS)) {
      client.defineCommand(name, { numberOfKeys: 3, lua });
    }
    for (const [name, lua] of Object.entries(VAR_SCRIPTS)) {
      client.defineCommand(name, { numberOfKeys: 2, lua });
    }
  }

  /** Runs a command; every failure becomes a code 8 `SockSyncError`. */
  async run<R>(command: (client: Redis) => Promise<R>): Promise<R> {
    if (this.closed) throw storeClosed();
    try {
      return await command(this.client);
    } catch (error) {
      throw storeError(error);
    }
  }

  /** Runs one of the store's scripts (EVALSHA, EVAL when Redis lost it). */
  script(name: ScriptName, ...args: (string | number)[]): Promise<unknown> {
    return this.run((client) => (client as unknown as Record<string, Script>)[name](...args));
  }

  /** A list's keys: items (sorted set), entries (id → order key and value), meta. */
  listKeys(name: string): string[] {
    const base = `${this.prefix}list:${name}:`;
    return [`${base}items`, `${base}entries`, `${base}meta`];
  }
}
