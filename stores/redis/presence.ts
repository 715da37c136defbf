/**
 * The Redis storage of leased presence (see `stores/common/leased_presence.ts`):
 * a sorted set of leases scored by their expiry (Redis's clock, `TIME`), a
 * set of the leases being swept, a hash per lease of the (scope, item)
 * pairs it owns (each with the session it joined with, or ""), and a hash
 * from "session scope" to the "lease item" that holds it. Every step that
 * reads the clock and writes is one script.
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

// KEYS: leases, claimed, owned, sessions. ARGV: lease, field, session, session field, holder.
const OWN_LUA = `${NOW}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) < now or redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[4], ARGV[4], ARGV[5]) end
return 1`;

// KEYS: leases, claimed, old owned, new owned, sessions. ARGV: new lease, old lease, field,
// session field, old holder, new holder, session. Moves the record if the index still says
// the old lease holds it, the old lease is not claimed and the new one is live.
const TAKE_LUA = `${NOW}
if ARGV[1] == ARGV[2] or redis.call('HGET', KEYS[5], ARGV[4]) ~= ARGV[5] then return 0 end
if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 1 then return 0 end
if redis.call('HEXISTS', KEYS[3], ARGV[3]) == 0 then return 0 end
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) < now or redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  return 0
end
redis.call('HDEL', KEYS[3], ARGV[3])
redis.call('HSET', KEYS[4], ARGV[3], ARGV[7])
redis.call('HSET', KEYS[5], ARGV[4], ARGV[6])
return 1`;

// KEYS: owned, sessions. ARGV: field, scope, holder. 1 if the record was there.
const DISOWN_LUA = `
local session = redis.call('HGET', KEYS[1], ARGV[1])
if not session then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if session ~= '' and redis.call('HGET', KEYS[2], session .. ' ' .. ARGV[2]) == ARGV[3] then
  redis.call('HDEL', KEYS[2], session .. ' ' .. ARGV[2])
end
return 1`;

// KEYS: leases, claimed, owned, sessions. ARGV: lease. Drops the lease, its records and
// the index entries that still point at them.
const END_LUA = `
local all = redis.call('HGETALL', KEYS[3])
for i = 1, #all, 2 do
  if all[i + 1] ~= '' then
    local pair = cjson.decode(all[i])
    local field = all[i + 1] .. ' ' .. pair[1]
    if redis.call('HGET', KEYS[4], field) == ARGV[1] .. ' ' .. pair[2] then
      redis.call('HDEL', KEYS[4], field)
    end
  end
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
return 1`;

/**
 * Leases and their records in Redis, for one store.
 */
export class RedisLeases implements LeaseBackend {
  readonly #connection: Connection;
  readonly #list: (name: string) => ListSource<unknown>;
  readonly #leases: string;
  readonly #claimed: string;
  readonly #sessions: string;

  /**
   * @param connection the store's command connection
   * @param list the store's list of a name
   */
  constructor(connection: Connection, list: (name: string) => ListSource<unknown>) {
    this.#connection = connection;
    this.#list = list;
    this.#leases = `${connection.prefix}presence:leases`;
    this.#claimed = `${connection.prefix}presence:claimed`;
    this.#sessions = `${connection.prefix}presence:sessions`;
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

  async own(lease: string, scope: string, id: string, session?: string): Promise<boolean> {
    const keys = [this.#leases, this.#claimed, this.#owned(lease), this.#sessions];
    const field = JSON.stringify([scope, id]);
    const args = [lease, field, session ?? "", `${session} ${scope}`, `${lease} ${id}`];
    return Number(await this.#eval(OWN_LUA, keys, ...args)) === 1;
  }

  async take(lease: string, scope: string, session: string): Promise<string | undefined> {
    const sessionField = `${session} ${scope}`;
    const holder = await this.#connection.run((client) =>
      client.hget(this.#sessions, sessionField)
    );
    if (!holder) return undefined;
    const space = holder.indexOf(" ");
    const [old, id] = [holder.slice(0, space), holder.slice(space + 1)];
    const keys = [
      this.#leases,
      this.#claimed,
      this.#owned(old),
      this.#owned(lease),
      this.#sessions,
    ];
    const field = JSON.stringify([scope, id]);
    const args = [lease, old, field, sessionField, holder, `${lease} ${id}`, session];
    return Number(await this.#eval(TAKE_LUA, keys, ...args)) === 1 ? id : undefined;
  }

  async disown(lease: string, scope: string, id: string): Promise<boolean> {
    const keys = [this.#owned(lease), this.#sessions];
    const args = [JSON.stringify([scope, id]), scope, `${lease} ${id}`];
    return Number(await this.#eval(DISOWN_LUA, keys, ...args)) === 1;
  }

  async end(lease: string): Promise<void> {
    const keys = [this.#leases, this.#claimed, this.#owned(lease), this.#sessions];
    await this.#eval(END_LUA, keys, lease);
  }
}
