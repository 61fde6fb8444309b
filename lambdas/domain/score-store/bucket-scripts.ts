import { createHash } from 'node:crypto';

/**
 * Server-side scripts of the bucket layout (layout.ts). Values:
 * - bucket field `<entityId>` → `<stampId>|<score text>`; field `~` → the stamp id of the newest record in the bucket
 *   (the bucket's high-water mark);
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
 * Conditional upsert of one group's rows.
 *
 * KEYS: [1] the group's meta hash, [2..] bucket keys. ARGV: [1] ttl s, [2] now (epoch s), [3] asOf, [4] runId,
 * [5] modelVersion, [6] expiresAt (epoch s); then per bucket: the row count c, then c pairs (entity id, score text).
 * Returns `{ applied, keptNewer }`.
 *
 * Per bucket: when the new stamp is not older than the bucket's high-water mark (the daily case, and an empty bucket)
 * every row is written with one HSET, no per-field read; the first write of a new stamp drops records whose stamp
 * expired. Only when the bucket holds a newer stamp (a late older partition) is each field read and compared.
 * Ordering as in format.ts: `asOf`, then `runId` byte-wise; the same run rewrites.
 */
export const BUCKET_UPSERT_SCRIPT = `${BYTES_GREATER}
local K, A = KEYS, ARGV
local call = redis.call
local sub, find, match = string.sub, string.find, string.match
local ttl = A[1]
local now = tonumber(A[2])
local asOf, runId = A[3], A[4]
local meta = K[1]
local rec = asOf .. '|' .. runId .. '|' .. A[5] .. '|' .. A[6]
local sid = call('HGET', meta, 'k' .. rec)
if not sid then
  local all = call('HGETALL', meta)
  for j = 1, #all, 2 do
    local f = all[j]
    if byte(f, 1) == 105 then
      local e = tonumber(match(all[j + 1], '|([^|]*)$'))
      if e == nil or e <= now then call('HDEL', meta, f, 'k' .. all[j + 1]) end
    end
  end
  local n = call('HINCRBY', meta, '#', 1)
  local digits = '0123456789abcdefghijklmnopqrstuvwxyz'
  local s = ''
  repeat
    local r = n % 36
    s = sub(digits, r + 1, r + 1) .. s
    n = (n - r) / 36
  until n == 0
  sid = s
  call('HSET', meta, 'k' .. rec, sid, 'i' .. sid, rec)
end
local prefix = sid .. '|'
local stamps = {}
stamps[sid] = { asOf, runId, tonumber(A[6]) }
local function stampOf(id)
  local c = stamps[id]
  if c == nil then
    c = false
    local r = call('HGET', meta, 'i' .. id)
    if r then
      local a, ru, e = match(r, '^([^|]*)|([^|]*)|[^|]*|([^|]*)$')
      if a then c = { a, ru, tonumber(e) } end
    end
    stamps[id] = c
  end
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
local p = 7
for b = 2, #K do
  local key = K[b]
  local n = tonumber(A[p])
  local hw = call('HGET', key, '~')
  local hs = hw and stampOf(hw)
  local out = {}
  if hs and not replaceable(hs) then
    for j = p + 1, p + 2 * n, 2 do
      local f = A[j]
      local old = call('HGET', key, f)
      if not old or replaceable(stampOf(sidOf(old))) then
        out[#out + 1] = f
        out[#out + 1] = prefix .. A[j + 1]
        applied = applied + 1
      else
        kept = kept + 1
      end
    end
  else
    if hw then
      if not hs or hs[3] <= now then
        call('DEL', key)
      elseif hw ~= sid then
        local all = call('HGETALL', key)
        local dead = {}
        for j = 1, #all, 2 do
          local f = all[j]
          if f ~= '~' then
            local c = stampOf(sidOf(all[j + 1]))
            if not c or c[3] <= now then dead[#dead + 1] = f end
          end
        end
        if #dead > 0 then call('HDEL', key, unpack(dead)) end
      end
    end
    out[1] = '~'
    out[2] = sid
    for j = p + 1, p + 2 * n, 2 do
      out[#out + 1] = A[j]
      out[#out + 1] = prefix .. A[j + 1]
    end
    applied = applied + n
  end
  if #out > 0 then call('HSET', key, unpack(out)) end
  call('EXPIRE', key, ttl)
  p = p + 1 + 2 * n
end
return { applied, kept }
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
export const BUCKET_READ_SHA = sha1(BUCKET_READ_SCRIPT);
export const FIELDS_UPSERT_SHA = sha1(FIELDS_UPSERT_SCRIPT);
