/**
 * The Redis storage of leased presence (see `stores/common/leased_presence.ts`):
 * a sorted set of leases scored by their expiry (Redis's clock, `TIME`), a
 * set of the leases being swept, and a hash per lease of the (scope, item)
 * pairs it owns. Every step that reads the clock and writes is one script.
 *
 * @module
 */
import type { ListSource } from "../../src/store.ts";
import type { LeaseBackend } from "../common/leased_presence.ts";
import type { Connection } from "./connection.ts";

const NOW = `local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)`;

// KEYS: leases, claimed. ARGV: lease, ttl, create.
const RENEW_LUA = `${NOW}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 0 end
if score then
  if tonumber(score) < now then return 0 end
elseif ARGV[3] ~= '1' then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1`;

// KEYS: leases. Leases whose expiry passed.
const EXPIRED_LUA = `${NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - 1, 'LIMIT', 0, 50)`;

// KEYS: leases, claimed, owned. ARGV: lease, retry ms. The owned pairs, or false.
const CLAIM_LUA = `${NOW}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) >= now then return false end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local owned = redis.call('HKEYS', KEYS[3])
table.insert(owned, 1, 'ok')
return owned`;

// KEYS: leases, claimed, owned. ARGV: lease, field.
const OWN_LUA = `${NOW}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) < now or redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[3], ARGV[2], '')
return 1`;

/**
 * Leases and their records in Redis, for one store.
 *
 * @example
 * ```ts ignore
 * import { LeasedPresence } from "../common/leased_presence.ts";
 * import { RedisLeases } from "./presence.ts";
 * declare const connection: import("./connection.ts").Connection;
 * const presence = new LeasedPresence(new RedisLeases(connection, (name) => store.list(name)));
 * ```
 */
export class RedisLeases implements LeaseBackend {
  readonly #connection: Connection;
  readonly #list: (name: string) => ListSource<unknown>;
  readonly #leases: string;
  readonly #claimed: string;

  /**
   * @param connection the store's command connection
   * @param list the store's list of a name
   */
  constructor(connection: Connection, list: (name: string) => ListSource<unknown>) {
    this.#connection = connection;
    this.#list = list;
    this.#leases = `${connection.prefix}presence:leases`;
    this.#claimed = `${connection.prefix}presence:claimed`;
  }

  #owned(lease: string): string {
    return `${this.#connection.prefix}presence:owned:${lease}`;
  }

  #eval(lua: string, keys: string[], ...args: (string | number)[]): Promise<unknown> {
    return this.#connection.run((client) => client.eval(lua, keys.length, ...keys, ...args));
  }

  /** A scope's members: a list of the store, under a name of its own. */
  list(scope: string): ListSource<unknown> {
    return this.#list(`\u001fpresence:${scope}`);
  }

  async renew(lease: string, ttlMs: number, create: boolean): Promise<boolean> {
    const keys = [this.#leases, this.#claimed];
    return Number(await this.#eval(RENEW_LUA, keys, lease, ttlMs, create ? "1" : "0")) === 1;
  }

  async expired(): Promise<string[]> {
    return (await this.#eval(EXPIRED_LUA, [this.#leases])) as string[];
  }

  async claim(lease: string, retryMs: number): Promise<[string, string][] | undefined> {
    const keys = [this.#leases, this.#claimed, this.#owned(lease)];
    const reply = await this.#eval(CLAIM_LUA, keys, lease, retryMs) as string[] | null;
    if (!reply) return undefined;
    return reply.slice(1).map((field) => JSON.parse(field) as [string, string]);
  }

  async own(lease: string, scope: string, id: string): Promise<boolean> {
    const keys = [this.#leases, this.#claimed, this.#owned(lease)];
    return Number(await this.#eval(OWN_LUA, keys, lease, JSON.stringify([scope, id]))) === 1;
  }

  async disown(lease: string, scope: string, id: string): Promise<void> {
    await this.#connection.run((client) =>
      client.hdel(this.#owned(lease), JSON.stringify([scope, id]))
    );
  }

  async end(lease: string): Promise<void> {
    await this.#connection.run((client) =>
      client.multi().zrem(this.#leases, lease).srem(this.#claimed, lease).del(this.#owned(lease))
        .exec()
    );
  }
}
