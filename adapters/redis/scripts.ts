/**
 * The Lua scripts of the Redis adapter. Every Redis key a script touches is passed in KEYS and
 * carries the store's hash tag, so a Redis Cluster runs them on one slot.
 *
 * Layout (for prefix `appr`): `{appr}:idx` sorted set of every key (all scores 0, ordered by
 * bytes), `{appr}:kv` hash key → `<version>:<value bytes>` (so one plain `HMGET` reads values
 * with their versions, atomically, without a script), `{appr}:ver` hash key → version (what the
 * commit script checks, without copying values), `{appr}:seq` version counter,
 * `{appr}:txn:<id>` idempotency markers with a TTL.
 * @module
 */

// Reads HMGET in slices: Lua's unpack() fails beyond a few thousand arguments.
const hmget = `
local function hmget(hash, fields, from, to)
  local out = {}
  local i = from
  while i <= to do
    local j = math.min(i + 999, to)
    local part = redis.call('HMGET', hash, unpack(fields, i, j))
    for n = 1, #part do out[#out + 1] = part[n] end
    i = j + 1
  end
  return out
end
`

/**
 * commit. KEYS: idx, val, ver, seq, marker, hint channel. ARGV: markerTtlSeconds (0 = no marker), nChecks,
 * then per check key and `-` (absent) or `=<version>`, nPuts, then key/value pairs, nDeletes,
 * then keys.
 *
 * Returns `{1}` applied, `{0, key…}` conflicts, `{2}` this transaction id was fenced off by a
 * resolver (see {@link FENCE}), `{3}` already applied by an earlier send of the same id.
 * Every check is evaluated before the first write; Redis runs a script without interleaving.
 * A commit that puts keys publishes them, newline-separated, on the hint channel (a change hint
 * for `subscribe`; with nobody subscribed Redis drops it at once).
 */
export const COMMIT = `
local marker = redis.call('GET', KEYS[5])
if marker then
  if marker == '1' then return {3} end
  return {2}
end
local i = 3
local conflicts = {}
for _ = 1, tonumber(ARGV[2]) do
  local key, want = ARGV[i], ARGV[i + 1]
  i = i + 2
  local have = redis.call('HGET', KEYS[3], key)
  if want == '-' then
    if have then conflicts[#conflicts + 1] = key end
  elseif (not have) or ('=' .. have) ~= want then
    conflicts[#conflicts + 1] = key
  end
end
if #conflicts > 0 then
  table.insert(conflicts, 1, 0)
  return conflicts
end
local nputs = tonumber(ARGV[i])
i = i + 1
local version
local written = {}
if nputs > 0 then version = redis.call('INCR', KEYS[4]) end
for n = 1, nputs do
  local key, value = ARGV[i], ARGV[i + 1]
  i = i + 2
  written[n] = key
  redis.call('HSET', KEYS[2], key, version .. ':' .. value)
  redis.call('HSET', KEYS[3], key, version)
  redis.call('ZADD', KEYS[1], 0, key)
end
local ndels = tonumber(ARGV[i])
i = i + 1
for _ = 1, ndels do
  local key = ARGV[i]
  i = i + 1
  redis.call('HDEL', KEYS[2], key)
  redis.call('HDEL', KEYS[3], key)
  redis.call('ZREM', KEYS[1], key)
end
local ttl = tonumber(ARGV[1])
if ttl > 0 then redis.call('SET', KEYS[5], '1', 'EX', ttl) end
if nputs > 0 then redis.call('PUBLISH', KEYS[6], table.concat(written, '\\n')) end
return {1}
`

/**
 * Resolves an ambiguous commit (its reply was lost). KEYS: marker. ARGV: ttl. Returns `1` when
 * the commit applied; otherwise claims the marker (`x`) so a late resend of that commit can never
 * apply, and returns `x`.
 */
export const FENCE = `
local marker = redis.call('GET', KEYS[1])
if marker then return marker end
redis.call('SET', KEYS[1], 'x', 'EX', tonumber(ARGV[1]))
return 'x'
`

/**
 * list. KEYS: idx, kv. ARGV: prefix, lower bound (`[prefix` or `(after`), limit.
 * Returns `{keys, versioned values}` from one snapshot. The upper bound is the prefix followed
 * by byte 0xFF, which never occurs in UTF-8, so every key with the prefix is below it.
 */
export const LIST = `${hmget}
local hi = '+'
if ARGV[1] ~= '' then hi = '[' .. ARGV[1] .. '\\255' end
local keys = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], hi, 'LIMIT', 0, tonumber(ARGV[3]))
if #keys == 0 then return {{}, {}} end
return {keys, hmget(KEYS[2], keys, 1, #keys)}
`
