/**
 * The vars of the Redis store: one hash under the prefix, a version counter,
 * and a compare-and-set `update`. Changes from other processes come in
 * through the store's subscriber connection.
 *
 * @module
 */
import type { VarListener, VarStore } from "../../src/store.ts";
import { type Connection, SCRIPTS } from "./connection.ts";
import { CONFLICT, retryOnConflict } from "../common/conflict_retry.ts";
import { Listeners } from "../../src/listeners.ts";

/**
 * A var change as the scripts publish it.
 */
export interface VarMessage {
  /** The var's name. */
  var: string;
  /** The id of the store object that wrote it. */
  src: string;
  /** Whether the var was removed. */
  deleted: boolean;
  /** The new value. */
  value: unknown;
  /** The value of the vars' version counter after this change. */
  version: number;
}

/**
 * The var store of one Redis store.
 */
export class RedisVarStore implements VarStore {
  readonly #hash: string;
  readonly #counter: string;
  readonly #listeners = new Listeners<[string, unknown]>();
  // The newest version seen per var, so a late message never undoes a newer value.
  #versions = new Map<string, number>();
  // Every var this process read or wrote: after a reconnect each is reported
  // again, the ones Redis no longer holds (it restarted empty) as undefined.
  readonly #names = new Set<string>();
  // While a reset is being read, messages wait here.
  #held: VarMessage[] | undefined;
  // Releases the store's feed once no var listener is left.
  #release: (() => void) | undefined;

  readonly connection: Connection;

  /** @param connection the store's command connection */
  constructor(connection: Connection) {
    this.connection = connection;
    this.#hash = `${connection.prefix}vars`;
    this.#counter = `${connection.prefix}vars:version`;
  }

  /** The stored value, or `undefined`. */
  async get(name: string): Promise<unknown> {
    this.#names.add(name);
    const text = await this.connection.run((client) => client.hget(this.#hash, name));
    return text === null ? undefined : JSON.parse(text);
  }

  /** Stores a value (`undefined` removes the var). */
  async set(name: string, value: unknown): Promise<void> {
    this.#names.add(name);
    const version = Number(
      await this.connection.script(SCRIPTS.setVar, [
        this.#hash,
        this.#counter,
        name,
        value === undefined ? "" : JSON.stringify(value),
        this.connection.channel,
        this.connection.source,
        JSON.stringify(name),
      ]),
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
    return await retryOnConflict(`var ${name}`, async () => {
      const next = fn(text === null ? undefined : JSON.parse(text));
      const nextText = next === undefined ? "" : JSON.stringify(next);
      const reply = await this.connection.script(SCRIPTS.updateVar, [
        this.#hash,
        this.#counter,
        name,
        nextText,
        this.connection.channel,
        this.connection.source,
        JSON.stringify(name),
        text === null ? "0" : "1",
        text ?? "",
      ]) as [number, string?];
      if (reply[0] < 0) {
        text = reply[1] ?? null;
        return CONFLICT;
      }
      this.#seen(name, reply[0]);
      return nextText === "" ? undefined : JSON.parse(nextText);
    });
  }

  /** Reports values set by other processes (and all values after a reconnect). */
  subscribe(listener: VarListener): () => void {
    const remove = this.#listeners.add(listener);
    if (this.#listeners.size > 0) this.#release ??= this.connection.feed.hold();
    return () => {
      remove();
      if (this.#listeners.size === 0) this.#quiet();
    };
  }

  /** A message from the channel: reported unless it is old or this object's own. */
  receive(message: VarMessage): void {
    if (this.#held) return void this.#held.push(message);
    if (!this.#seen(message.var, message.version)) return;
    if (message.src === this.connection.source) return;
    this.#names.add(message.var);
    this.#listeners.emit(message.var, message.deleted ? undefined : message.value);
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
        this.#listeners.emit(name, value);
      }
    } finally {
      const held = this.#held ?? [];
      this.#held = undefined;
      for (const message of held) {
        if (version === undefined || message.version > version) this.receive(message);
      }
    }
  }

  /** Drops every listener (the store's `close`). */
  detach(): void {
    this.#listeners.clear();
    this.#quiet();
  }

  // No listener left: the store may stop listening.
  #quiet(): void {
    this.#release?.();
    this.#release = undefined;
  }

  #seen(name: string, version: number): boolean {
    if ((this.#versions.get(name) ?? 0) >= version) return false;
    this.#versions.set(name, version);
    return true;
  }
}
