/**
 * The Lua scripts of the Redis store. Every mutation is one script: it
 * checks, changes the data, bumps the list's version and publishes the change,
 * all atomically, so every process sees the same changes in the same order.
 *
 * Data of a list (KEYS[1..4]):
 * - `order`: a sorted set, every score 0, members `orderKey .. "\0" .. id`:
 *   lexicographic order is list order, ZRANK and ZRANGE by rank are O(log n);
 * - `ids`: a hash id → order key (to find an item's member);
 * - `values`: a hash id → JSON value;
 * - `meta`: a hash holding `version`.
 *
 * @module
 */

/**
 * A Lua port of `orderKeyBetween` from `src/order_key.ts` (same keys for the
 * same input; tests/order_key_test.ts checks that). Lua's `<` on strings
 * follows the locale, so comparisons here go byte by byte.
 *
 * @example
 * ```ts
 * import { ORDER_KEY_LUA } from "./scripts.ts";
 * const script = ORDER_KEY_LUA + "return between(nil, nil)"; // "a0"
 * ```
 */
export const ORDER_KEY_LUA = `
local DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
local BASE = 62
local SMALLEST = 'A' .. string.rep('0', 26)
local function digit(c) return string.find(DIGITS, c, 1, true) - 1 end
local function char(i) return string.sub(DIGITS, i + 1, i + 1) end
local function less(x, y)
  for i = 1, math.min(#x, #y) do
    local cx, cy = string.byte(x, i), string.byte(y, i)
    if cx ~= cy then return cx < cy end
  end
  return #x < #y
end
local function midpoint(a, b)
  if b then
    local n = 0
    while true do
      local ca = string.sub(a, n + 1, n + 1)
      if ca == '' then ca = '0' end
      if ca ~= string.sub(b, n + 1, n + 1) then break end
      n = n + 1
    end
    if n > 0 then
      return string.sub(b, 1, n) .. midpoint(string.sub(a, n + 1), string.sub(b, n + 1))
    end
  end
  local da, db = 0, BASE
  if a ~= '' then da = digit(string.sub(a, 1, 1)) end
  if b then db = digit(string.sub(b, 1, 1)) end
  if db - da > 1 then return char(math.floor((da + db) / 2 + 0.5)) end
  if b and #b > 1 then return string.sub(b, 1, 1) end
  return char(da) .. midpoint(string.sub(a, 2), nil)
end
local function intpart(key)
  local h = string.byte(key, 1)
  if h >= 97 then return string.sub(key, 1, h - 97 + 2) end
  return string.sub(key, 1, 90 - h + 2)
end
local function step(int, up)
  local head = string.byte(int, 1)
  local digs = {}
  for i = 2, #int do digs[#digs + 1] = string.sub(int, i, i) end
  local carry, i = true, #digs
  while carry and i >= 1 do
    local v = digit(digs[i]) + (up and 1 or -1)
    if v == BASE then digs[i] = '0'
    elseif v == -1 then digs[i] = 'z'
    else digs[i] = char(v); carry = false end
    i = i - 1
  end
  if not carry then return string.char(head) .. table.concat(digs) end
  if up then
    if head == 90 then return 'a0' end
    if head == 122 then return nil end
    if head + 1 > 97 then digs[#digs + 1] = '0' else digs[#digs] = nil end
    return string.char(head + 1) .. table.concat(digs)
  end
  if head == 97 then return 'Zz' end
  if head == 65 then return nil end
  if head - 1 < 90 then digs[#digs + 1] = 'z' else digs[#digs] = nil end
  return string.char(head - 1) .. table.concat(digs)
end
local function between(a, b)
  if not a then
    if not b then return 'a0' end
    local ib = intpart(b)
    if ib == SMALLEST then return ib .. midpoint('', string.sub(b, #ib + 1)) end
    if #ib < #b then return ib end
    local lower = step(ib, false)
    if not lower then error('order key space exhausted') end
    return lower
  end
  local ia = intpart(a)
  local fa = string.sub(a, #ia + 1)
  if not b then return step(ia, true) or (ia .. midpoint(fa, nil)) end
  local ib = intpart(b)
  if ia == ib then return ia .. midpoint(fa, string.sub(b, #ib + 1)) end
  local higher = step(ia, true)
  if not higher then error('order key space exhausted') end
  if less(higher, b) then return higher end
  return ia .. midpoint(fa, nil)
end
`;

// Helpers shared by the list scripts.
const MEMBER_LUA = `
local function key_of(member) return string.sub(member, 1, string.find(member, '\\0', 1, true) - 1) end
local function id_of(member) return string.sub(member, string.find(member, '\\0', 1, true) + 1) end
`;

/**
 * insert: ARGV = index, id, value JSON, list name JSON, channel, id JSON,
 * longest order key before a rebalance. Returns {version, total}, or {-1}
 * for an index out of range, {-2} for a duplicate id.
 *
 * @example
 * ```ts
 * import { INSERT_LUA } from "./scripts.ts";
 * INSERT_LUA.includes("PUBLISH"); // true
 * ```
 */
export const INSERT_LUA: string = ORDER_KEY_LUA + MEMBER_LUA + `
local index, id = tonumber(ARGV[1]), ARGV[2]
local total = redis.call('ZCARD', KEYS[1])
if index < 0 or index > total then return {-1} end
if redis.call('HEXISTS', KEYS[2], id) == 1 then return {-2} end
local function key_at()
  if total == 0 then return between(nil, nil) end
  local from = math.max(index - 1, 0)
  local members = redis.call('ZRANGE', KEYS[1], from, from + 1)
  if index == 0 then return between(nil, key_of(members[1])) end
  local after = nil
  if members[2] then after = key_of(members[2]) end
  return between(key_of(members[1]), after)
end
local key = key_at()
if #key > tonumber(ARGV[7]) then
  -- Rare: many inserts at one spot made a long key; give every item a short one.
  local members = redis.call('ZRANGE', KEYS[1], 0, -1)
  redis.call('DEL', KEYS[1])
  local fresh = nil
  for _, member in ipairs(members) do
    fresh = between(fresh, nil)
    local item = id_of(member)
    redis.call('ZADD', KEYS[1], 0, fresh .. '\\0' .. item)
    redis.call('HSET', KEYS[2], item, fresh)
  end
  key = key_at()
end
redis.call('ZADD', KEYS[1], 0, key .. '\\0' .. id)
redis.call('HSET', KEYS[2], id, key)
redis.call('HSET', KEYS[3], id, ARGV[3])
local version = redis.call('HINCRBY', KEYS[4], 'version', 1)
total = total + 1
redis.call('PUBLISH', ARGV[5], '{"list":' .. ARGV[4] .. ',"op":"insert","index":' .. index ..
  ',"id":' .. ARGV[6] .. ',"value":' .. ARGV[3] .. ',"total":' .. total .. ',"version":' .. version .. '}')
return {version, total}
`;

/**
 * set: ARGV = id, value JSON, list name JSON, channel, id JSON, and for a
 * compare-and-set the value JSON the caller read. Returns {version, total},
 * {-3} for an unknown id, or {-4, current value JSON} when the value is no
 * longer the one read.
 *
 * @example
 * ```ts
 * import { SET_LUA } from "./scripts.ts";
 * SET_LUA.includes("HINCRBY"); // true
 * ```
 */
export const SET_LUA = `
local key = redis.call('HGET', KEYS[2], ARGV[1])
if not key then return {-3} end
-- Compare-and-set for update(): the value must still be the one the caller read.
if ARGV[6] then
  local current = redis.call('HGET', KEYS[3], ARGV[1])
  if current ~= ARGV[6] then return {-4, current} end
end
local index = redis.call('ZRANK', KEYS[1], key .. '\\0' .. ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
local version = redis.call('HINCRBY', KEYS[4], 'version', 1)
local total = redis.call('ZCARD', KEYS[1])
redis.call('PUBLISH', ARGV[4], '{"list":' .. ARGV[3] .. ',"op":"set","index":' .. index ..
  ',"id":' .. ARGV[5] .. ',"value":' .. ARGV[2] .. ',"total":' .. total .. ',"version":' .. version .. '}')
return {version, total}
`;

/**
 * delete: ARGV = id, list name JSON, channel, id JSON. Returns {version,
 * total}, or {-3} for an unknown id.
 *
 * @example
 * ```ts
 * import { DELETE_LUA } from "./scripts.ts";
 * DELETE_LUA.includes("ZREM"); // true
 * ```
 */
export const DELETE_LUA = `
local key = redis.call('HGET', KEYS[2], ARGV[1])
if not key then return {-3} end
local member = key .. '\\0' .. ARGV[1]
local index = redis.call('ZRANK', KEYS[1], member)
redis.call('ZREM', KEYS[1], member)
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
local version = redis.call('HINCRBY', KEYS[4], 'version', 1)
local total = redis.call('ZCARD', KEYS[1])
redis.call('PUBLISH', ARGV[3], '{"list":' .. ARGV[2] .. ',"op":"delete","index":' .. index ..
  ',"id":' .. ARGV[4] .. ',"total":' .. total .. ',"version":' .. version .. '}')
return {version, total}
`;

/**
 * page: ARGV = offset (≥ 0), limit (≥ 0). Returns {version, total, id1,
 * value1, id2, value2, …}, read at one moment.
 *
 * @example
 * ```ts
 * import { PAGE_LUA } from "./scripts.ts";
 * PAGE_LUA.includes("ZRANGE"); // true
 * ```
 */
export const PAGE_LUA: string = MEMBER_LUA + `
local total = redis.call('ZCARD', KEYS[1])
local version = tonumber(redis.call('HGET', KEYS[4], 'version') or '0')
local out = {version, total}
local offset, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
if limit < 1 or offset >= total then return out end
local ids = {}
for i, member in ipairs(redis.call('ZRANGE', KEYS[1], offset, offset + limit - 1)) do
  ids[i] = id_of(member)
end
-- One HMGET per 1000 items instead of one HGET per item (unpack has a stack limit).
for first = 1, #ids, 1000 do
  local last = math.min(first + 999, #ids)
  local values = redis.call('HMGET', KEYS[3], unpack(ids, first, last))
  for i = first, last do
    out[#out + 1] = ids[i]
    out[#out + 1] = values[i - first + 1]
  end
end
return out
`;

/**
 * indexOf: ARGV = id. Returns the rank, or -1.
 *
 * @example
 * ```ts
 * import { INDEX_OF_LUA } from "./scripts.ts";
 * INDEX_OF_LUA.includes("ZRANK"); // true
 * ```
 */
export const INDEX_OF_LUA = `
local key = redis.call('HGET', KEYS[2], ARGV[1])
if not key then return -1 end
return redis.call('ZRANK', KEYS[1], key .. '\\0' .. ARGV[1])
`;

// The write shared by var set and var update: store (or delete), bump the
// var version counter, publish. ARGV[1..5] as SET_VAR_LUA documents.
const WRITE_VAR_LUA = `
local value = ARGV[2]
if value == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  value = 'null'
else
  redis.call('HSET', KEYS[1], ARGV[1], value)
end
local version = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[3], '{"var":' .. ARGV[5] .. ',"src":"' .. ARGV[4] ..
  '","deleted":' .. tostring(ARGV[2] == '') .. ',"value":' .. value .. ',"version":' .. version .. '}')
`;

/**
 * var set: KEYS = vars hash, var version counter; ARGV = name, value JSON
 * ("" deletes), channel, source id, name JSON. Returns the var version.
 *
 * @example
 * ```ts
 * import { SET_VAR_LUA } from "./scripts.ts";
 * SET_VAR_LUA.includes("INCR"); // true
 * ```
 */
export const SET_VAR_LUA: string = WRITE_VAR_LUA + `
return version
`;

/**
 * var update, a compare-and-set: KEYS and ARGV[1..5] as for
 * {@linkcode SET_VAR_LUA}, then ARGV[6] = "1" when a value was read ("0"
 * when the var was absent) and ARGV[7] = the JSON text read. Writes only if
 * the var still holds exactly that text (or is still absent), so a
 * read-modify-write from any process never overwrites a write it did not
 * see. Returns {version} when written, else {-1, current text} ({-1} when
 * absent) so the caller can retry without another read.
 *
 * @example
 * ```ts
 * import { UPDATE_VAR_LUA } from "./scripts.ts";
 * UPDATE_VAR_LUA.includes("HGET"); // true
 * ```
 */
export const UPDATE_VAR_LUA: string = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[6] == '0' then
  if current then return {-1, current} end
elseif current ~= ARGV[7] then
  if current then return {-1, current} end
  return {-1}
end
` + WRITE_VAR_LUA + `
return {version}
`;
