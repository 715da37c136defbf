/**
 * The Lua scripts of the Redis store. Every mutation is one script: it
 * checks, changes the data, bumps the list's version and publishes the change,
 * all atomically, so every process sees the same changes in the same order.
 *
 * Data of a list:
 * - `items`: a sorted set, every score 0, members
 *   `orderKey .. "\0" .. id .. "\0" .. valueJSON`: lexicographic order is
 *   list order (order keys are distinct and hold no "\0"), ZRANK and ZRANGE
 *   by rank are O(log n), and a page is one native ZRANGE (no second
 *   lookup per item); the count is its ZCARD;
 * - `entries`: a hash id → the item's member (so indexOf, delete and `get`
 *   find it in one HGET, with no string work in Lua);
 * - `version`: a counter, INCR by every write.
 *
 * @module
 */

/**
 * A Lua port of `orderKeyBetween` from `src/order_key.ts` (same keys for the
 * same input; tests/order_key_test.ts checks that). Lua's `<` on strings
 * follows the locale, so comparisons here go byte by byte.
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
  -- The common case first (no carry): only the last digit changes.
  local last = digit(string.sub(int, -1))
  if up and last < BASE - 1 then return string.sub(int, 1, -2) .. char(last + 1) end
  if not up and last > 0 then return string.sub(int, 1, -2) .. char(last - 1) end
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

// The listeners of a channel, as a script sees them: a change is published
// only when some store listens, since a PUBLISH to nobody is lost anyway. A
// store that starts listening subscribes before it reads, so every change
// after its read is published (and one a listener might miss cannot exist).
const HEARD = (channel: string) => `redis.call('PUBSUB', 'NUMSUB', ${channel})[2] > 0`;

/**
 * insert: KEYS = items, entries, version; ARGV = index, id, value JSON,
 * list name JSON, channel, id JSON, longest order key before a rebalance.
 * Returns the new version, or -1 for an index out of range, -2 for a
 * duplicate id. The neighbours' ZRANGE also tells whether `index` is in
 * range (no count is kept: ZCARD is O(1)). Publishes, when someone listens,
 * `listNameJSON \n changeJSON` (the list's name first, so a subscriber
 * skips lists nobody listens to without parsing the change; the version
 * last, as set and delete do too: all it keeps of such a change).
 */
export const INSERT_LUA: string = `
local index, id, value, longest = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[7])
local function key_of(member) return string.sub(member, 1, string.find(member, '\\0', 1, true) - 1) end
-- The keys of the items before and after index (nil: none), or false when
-- index is past the end. (A sorted set holds fewer than 2^32 members; a
-- larger index would not print as an integer.)
local function around()
  if index == 0 then
    local first = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
    return nil, first and key_of(first)
  end
  if index >= 4294967296 then return false end
  local members = redis.call('ZRANGE', KEYS[1], index - 1, index)
  if not members[1] then return false end
  return key_of(members[1]), members[2] and key_of(members[2])
end
local a, b = around()
if a == false then return -1 end
-- The common case without the order-key functions (each call would make
-- their closures again): between two neighbouring integer keys without a
-- fraction (a bulk load's, a rebalance's, appended items'), the key
-- between(a, b) makes is a .. 'V'.
local key = nil
if a and b and #a == #b and string.sub(a, 1, -2) == string.sub(b, 1, -2) then
  local head = string.byte(a, 1)
  if #a == (head >= 97 and head - 95 or 92 - head) then
    local x = string.byte(a, -1)
    if string.byte(b, -1) == (x == 57 and 65 or x == 90 and 97 or x + 1) then key = a .. 'V' end
  end
end
if not key or #key > longest then
` + ORDER_KEY_LUA + `
  key = key or between(a, b)
  if #key > longest then
    if redis.call('HEXISTS', KEYS[2], id) == 1 then return -2 end
    -- Rare: many inserts at one spot made a long key; give every item a short one.
    local members = redis.call('ZRANGE', KEYS[1], 0, -1)
    redis.call('DEL', KEYS[1])
    local fresh = nil
    for _, member in ipairs(members) do
      fresh = between(fresh, nil)
      local first = string.find(member, '\\0', 1, true)
      local last = first
      while true do
        local next = string.find(member, '\\0', last + 1, true)
        if not next then break end
        last = next
      end
      local renamed = fresh .. string.sub(member, first)
      redis.call('ZADD', KEYS[1], 0, renamed)
      redis.call('HSET', KEYS[2], string.sub(member, first + 1, last - 1), renamed)
    end
    key = between(around())
  end
end
local member = key .. '\\0' .. id .. '\\0' .. value
-- HSETNX both refuses a duplicate id and records the entry.
if redis.call('HSETNX', KEYS[2], id, member) == 0 then return -2 end
redis.call('ZADD', KEYS[1], 0, member)
local version = redis.call('INCR', KEYS[3])
if ${HEARD("ARGV[5]")} then
  redis.call('PUBLISH', ARGV[5], ARGV[4] .. '\\n{"op":"insert","index":' .. index .. ',"id":' .. ARGV[6] ..
    ',"value":' .. value .. ',"total":' .. redis.call('ZCARD', KEYS[1]) .. ',"version":' .. version .. '}')
end
return version
`;

/**
 * set: KEYS = items, entries, version; ARGV = id, value JSON, list name
 * JSON, channel, id JSON, and for a compare-and-set the value JSON the
 * caller read. Returns {version}, {-3} for an unknown id, or {-4, current
 * value JSON} when the value is no longer the one read.
 */
export const SET_LUA: string = `
local member = redis.call('HGET', KEYS[2], ARGV[1])
if not member then return {-3} end
-- The member is key, \\0, the id, \\0, the value.
local at = string.find(member, '\\0', 1, true)
-- Compare-and-set for update(): the value must still be the one the caller read.
if ARGV[6] then
  local current = string.sub(member, at + #ARGV[1] + 2)
  if current ~= ARGV[6] then return {-4, current} end
end
local heard = ${HEARD("ARGV[4]")}
local index = heard and redis.call('ZRANK', KEYS[1], member)
redis.call('ZREM', KEYS[1], member)
local updated = string.sub(member, 1, at + #ARGV[1] + 1) .. ARGV[2]
redis.call('ZADD', KEYS[1], 0, updated)
redis.call('HSET', KEYS[2], ARGV[1], updated)
local version = redis.call('INCR', KEYS[3])
if heard then
  redis.call('PUBLISH', ARGV[4], ARGV[3] .. '\\n{"op":"set","index":' .. index .. ',"id":' .. ARGV[5] ..
    ',"value":' .. ARGV[2] .. ',"total":' .. redis.call('ZCARD', KEYS[1]) .. ',"version":' .. version .. '}')
end
return {version}
`;

/**
 * delete: KEYS = items, entries, version; ARGV = id, list name JSON,
 * channel, id JSON. Returns the new version, or -3 for an unknown id.
 */
export const DELETE_LUA: string = `
local member = redis.call('HGET', KEYS[2], ARGV[1])
if not member then return -3 end
local heard = ${HEARD("ARGV[3]")}
local index = heard and redis.call('ZRANK', KEYS[1], member)
redis.call('ZREM', KEYS[1], member)
redis.call('HDEL', KEYS[2], ARGV[1])
local version = redis.call('INCR', KEYS[3])
if heard then
  redis.call('PUBLISH', ARGV[3], ARGV[2] .. '\\n{"op":"delete","index":' .. index .. ',"id":' .. ARGV[4] ..
    ',"total":' .. redis.call('ZCARD', KEYS[1]) .. ',"version":' .. version .. '}')
end
return version
`;

/**
 * page: KEYS = items, version; ARGV = offset (≥ 0), limit (≥ 0). Returns
 * {member1, member2, …, version, total}, read at one moment: the values are
 * in the members, so the script passes one ZRANGE reply on (no lookup or
 * string work per item). A page is read without it unless a write landed
 * between the commands of that read (`RedisListSource.page`).
 */
export const PAGE_LUA = `
local version = tonumber(redis.call('GET', KEYS[2]) or '0')
local total = redis.call('ZCARD', KEYS[1])
local offset, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
if limit >= 1 and offset < total then
  out = redis.call('ZRANGE', KEYS[1], offset, offset + limit - 1)
end
out[#out + 1] = version
out[#out + 1] = total
return out
`;

/**
 * indexOf: KEYS = items, entries; ARGV = id. Returns the rank, or -1.
 */
export const INDEX_OF_LUA = `
local member = redis.call('HGET', KEYS[2], ARGV[1])
if not member then return -1 end
return redis.call('ZRANK', KEYS[1], member) or -1
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
