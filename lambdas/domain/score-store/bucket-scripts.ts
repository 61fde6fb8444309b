import { createHash } from 'node:crypto';

/**
 * Server-side scripts of the bucket layout (layout.ts). Values:
 * - bucket field `<entityId>` → `<stampId>|<score text>` (a field `~` of earlier writers is ignored);
 * - meta hash `m{tag}`: `i<stampId>` → `<asOf>|<runId>|<modelVersion>|<expiresAt epoch s>` (once per run and load
 *   hour, not per entity), `k<record>` → its stamp id, `#` → the id counter, `fg` / `fs<segment>` → copies of the
 *   fallback records (format.ts value format), so a read needs one slot.
 *
 * Expiry: a record is served only while its stamp's `expiresAt` (load time + TTL, rounded down) is in the future;
 * each write refreshes the bucket's TTL, so a bucket nobody writes expires with its records.
 */

const BYTES_GREATER = `
local byte = string.byte
local function bytesGreater(a, b)
  local la, lb = #a, #b
  local n = la < lb and la or lb
  for j = 1, n do
    local x, y = byte(a, j), byte(b, j)
    if x ~= y then return x > y end
  end
  return la > lb
end
`;

/**
 * Lua: `register(meta, rec, now)` → the stamp id of `rec` in this group's meta hash, registering it (next id of the
 * counter) when new; a new registration first drops stamp records whose `expiresAt` has passed.
 */
const REGISTER = `
local function register(meta, rec, now)
  local sid = redis.call('HGET', meta, 'k' .. rec)
  if sid then return sid end
  local all = redis.call('HGETALL', meta)
  for j = 1, #all, 2 do
    local f = all[j]
    if string.byte(f, 1) == 105 then
      local e = tonumber(string.match(all[j + 1], '|([^|]*)$'))
      if e == nil or e <= now then redis.call('HDEL', meta, f, 'k' .. all[j + 1]) end
    end
  end
  local n = redis.call('HINCRBY', meta, '#', 1)
  local digits = '0123456789abcdefghijklmnopqrstuvwxyz'
  local s = ''
  repeat
    local r = n % 36
    s = string.sub(digits, r + 1, r + 1) .. s
    n = (n - r) / 36
  until n == 0
  redis.call('HSET', meta, 'k' .. rec, s, 'i' .. s, rec)
  return s
end
`;

/**
 * The stamp id of one run in one group (registered when new). The writer asks once per group and sends values
 * already prefixed with it, so the upsert script hands them to HSET as they arrive. KEYS: [1] the group's meta hash.
 * ARGV: [1] now (epoch s), [2] the stamp record `<asOf>|<runId>|<modelVersion>|<expiresAt>`.
 */
export const STAMP_REGISTER_SCRIPT = `${REGISTER}
return register(KEYS[1], ARGV[2], tonumber(ARGV[1]))
`;

/**
 * Conditional upsert of one group's rows.
 *
 * KEYS: [1] the group's meta hash, [2..] bucket keys. ARGV: [1] ttl s, [2] now (epoch s), [3] asOf, [4] runId,
 * [5] modelVersion, [6] expiresAt (epoch s), [7] the stamp id the values carry (STAMP_REGISTER_SCRIPT); then per
 * bucket: the row count c (negative: drop the bucket's expired records first), then |c| pairs (entity id,
 * `<stamp id>|<score text>`). Returns `{ applied, keptNewer, stamp id }`.
 *
 * The group's high-water mark is the newest live stamp registered in its meta hash (every record of the group carries
 * a registered stamp, and an expired stamp's records are replaceable). When the new stamp is not older (the daily
 * case, and an empty store) every bucket's rows go to one HSET straight from ARGV: no per-field read, no per-row Lua
 * work. Only when a newer live stamp exists (a late older partition) are the fields read (one HMGET per bucket) and
 * compared. Ordering as in format.ts: `asOf`, then `runId` byte-wise; the same run rewrites. Records of expired stamps
 * are never served (the read checks `expiresAt`); they are dropped from a bucket when the writer asks for it (a
 * rotating share of the buckets per run) and with the bucket when nobody writes it for a TTL.
 */
export const BUCKET_UPSERT_SCRIPT = `${BYTES_GREATER}${REGISTER}
local K, A = KEYS, ARGV
local call = redis.call
local sub, find, match, unpack = string.sub, string.find, string.match, unpack
local ttl = A[1]
local now = tonumber(A[2])
local asOf, runId = A[3], A[4]
local meta = K[1]
local rec = asOf .. '|' .. runId .. '|' .. A[5] .. '|' .. A[6]
local sid = A[7]
local fix = false
if call('HGET', meta, 'i' .. sid) ~= rec then
  local s = register(meta, rec, now)
  if s ~= sid then
    fix = #sid + 2
    sid = s
  end
end
local prefix = sid .. '|'
local stamps = {}
local fast = true
local all = call('HGETALL', meta)
for j = 1, #all, 2 do
  local f = all[j]
  if byte(f, 1) == 105 then
    local a, ru, e = match(all[j + 1], '^([^|]*)|([^|]*)|[^|]*|([^|]*)$')
    if a then
      local c = { a, ru, tonumber(e) }
      stamps[sub(f, 2)] = c
      if c[3] > now and (a > asOf or (a == asOf and ru ~= runId and bytesGreater(ru, runId))) then fast = false end
    end
  end
end
stamps[sid] = { asOf, runId, tonumber(A[6]) }
local function stampOf(id)
  local c = stamps[id]
  if c == nil then return false end
  return c
end
local function replaceable(c)
  if not c or c[3] <= now then return true end
  if c[1] ~= asOf then return c[1] < asOf end
  return c[2] == runId or not bytesGreater(c[2], runId)
end
local function sidOf(v)
  local bar = find(v, '|', 1, true)
  return bar and sub(v, 1, bar - 1) or ''
end
local applied, kept = 0, 0
local p = 8
for b = 2, #K do
  local key = K[b]
  local n = tonumber(A[p])
  if n < 0 then
    n = -n
    local cur = call('HGETALL', key)
    local dead = {}
    for j = 1, #cur, 2 do
      local f = cur[j]
      if f ~= '~' then
        local c = stampOf(sidOf(cur[j + 1]))
        if not c or c[3] <= now then dead[#dead + 1] = f end
      end
    end
    if #dead > 0 then call('HDEL', key, unpack(dead)) end
  end
  local first, last = p + 1, p + 2 * n
  local wrote = n
  if fast and not fix then
    call('HSET', key, unpack(A, first, last))
  else
    local olds
    if not fast then
      local fs = {}
      for j = first, last, 2 do fs[#fs + 1] = A[j] end
      olds = call('HMGET', key, unpack(fs))
    end
    local out = {}
    local i = 0
    wrote = 0
    for j = first, last, 2 do
      i = i + 1
      local old = olds and olds[i]
      if not old or replaceable(stampOf(sidOf(old))) then
        out[#out + 1] = A[j]
        out[#out + 1] = fix and (prefix .. sub(A[j + 1], fix)) or A[j + 1]
        wrote = wrote + 1
      else
        kept = kept + 1
      end
    end
    if #out > 0 then call('HSET', key, unpack(out)) end
  end
  if wrote > 0 then call('EXPIRE', key, ttl) end
  applied = applied + wrote
  p = last + 1
end
return { applied, kept, sid }
`;

/**
 * Read-only lookup (EVALSHA_RO, so a replica serves it) of one group's ids plus the group's fallback copies.
 *
 * KEYS: [1] meta hash, [2..m+1] the bucket of each id, optionally [m+2..2m+1] each id's `score:<id>` key (read when
 * the bucket has no record: keys written before the bucket layout, during a migration). ARGV: [1] m, [2] the segment
 * fallback field (`fs<segment>`) or '', [3..m+2] the ids. Returns `{ fg, fs, then per id: value, stamp record, legacy
 * value }` (nil where absent).
 */
export const BUCKET_READ_SCRIPT = `
local K, A = KEYS, ARGV
local call = redis.call
local sub, find = string.sub, string.find
local meta = K[1]
local m = tonumber(A[1])
local legacy = #K > m + 1
local fb = call('HMGET', meta, 'fg', A[2] ~= '' and A[2] or 'fg')
local out = { fb[1], A[2] ~= '' and fb[2] or false }
local recs = {}
for i = 1, m do
  local v = call('HGET', K[i + 1], A[i + 2])
  local r = false
  local l = false
  if v then
    local bar = find(v, '|', 1, true)
    if bar then
      local id = sub(v, 1, bar - 1)
      r = recs[id]
      if r == nil then
        r = call('HGET', meta, 'i' .. id)
        recs[id] = r
      end
    end
  elseif legacy then
    l = call('GET', K[m + 1 + i])
  end
  out[#out + 1] = v
  out[#out + 1] = r
  out[#out + 1] = l
end
return out
`;

/**
 * Conditional write of records into fields of one hash (the fallback copies in each group's meta hash), with the
 * ordering of format.ts. KEYS: [1] the hash. ARGV: [1] asOf, [2] runId, [3] modelVersion, then pairs (field,
 * payload). Returns `{ applied, keptNewer }`.
 */
export const FIELDS_UPSERT_SCRIPT = `${BYTES_GREATER}
local K, A = KEYS, ARGV
local call = redis.call
local asOf, runId = A[1], A[2]
local prefix = '1|' .. asOf .. '|' .. runId .. '|' .. A[3] .. '|'
local applied, kept = 0, 0
for j = 4, #A, 2 do
  local old = call('HGET', K[1], A[j])
  local sa, sr
  if old then sa, sr = string.match(old, '^1|([^|]*)|([^|]*)|') end
  if sa and (sa > asOf or (sa == asOf and sr ~= runId and bytesGreater(sr, runId))) then
    kept = kept + 1
  else
    call('HSET', K[1], A[j], prefix .. A[j + 1])
    applied = applied + 1
  end
end
return { applied, kept }
`;

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
export const BUCKET_UPSERT_SHA = sha1(BUCKET_UPSERT_SCRIPT);
export const STAMP_REGISTER_SHA = sha1(STAMP_REGISTER_SCRIPT);
export const BUCKET_READ_SHA = sha1(BUCKET_READ_SCRIPT);
export const FIELDS_UPSERT_SHA = sha1(FIELDS_UPSERT_SCRIPT);
