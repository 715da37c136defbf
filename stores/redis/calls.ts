/**
 * The Redis store's memory of call answers (the optional `Store.calls`):
 * one key per call, `${prefix}call:<key>`, claimed with `SET NX PX` by the
 * instance that runs the call and overwritten with its answer, both with a
 * TTL, so Redis forgets them by itself.
 *
 * @module
 */
import type { CallStore } from "../../src/store.ts";
import type { Connection } from "./connection.ts";

// The value of a claimed key whose call still runs, and the mark before a stored answer.
const RUNNING = "?";
const ANSWER = "=";

/**
 * Call answers kept in Redis.
 */
export class RedisCallStore implements CallStore {
  readonly #connection: Connection;

  /** @param connection the store's command connection */
  constructor(connection: Connection) {
    this.#connection = connection;
  }

  #key(key: string): string {
    return `${this.#connection.prefix}call:${key}`;
  }

  /** See {@linkcode CallStore.claim}. */
  async claim(key: string, ttl: number): Promise<{ claimed: boolean; answer?: string }> {
    const redisKey = this.#key(key);
    const ms = Math.max(1, Math.ceil(ttl));
    const set = await this.#connection.run((client) =>
      client.set(redisKey, RUNNING, "PX", ms, "NX")
    );
    if (set === "OK") return { claimed: true };
    const value = await this.#connection.run((client) => client.get(redisKey));
    // Gone in between (it expired): unclaimed, and the caller asks again.
    if (value === null || !value.startsWith(ANSWER)) return { claimed: false };
    return { claimed: false, answer: value.slice(ANSWER.length) };
  }

  /** See {@linkcode CallStore.finish}. */
  async finish(key: string, answer: string, ttl: number): Promise<void> {
    const ms = Math.max(1, Math.ceil(ttl));
    await this.#connection.run((client) => client.set(this.#key(key), ANSWER + answer, "PX", ms));
  }
}
