import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import { toDependencyError } from '../../platform/redis';

/**
 * Score store on Redis / Valkey (DESIGN §7, contract 6).
 *
 * Keys
 * - `score:<entityId>`            one value per entity, TTL `SCORE_TTL_SECONDS`
 * - `fallback:global`             mean score of the newest run (no TTL)
 * - `fallback:segment:<value>`    mean score of the newest run per segment value (no TTL)
 * - `meta:latest`                 newest loaded run, for freshness (no TTL)
 *
 * Value format (compact, one string, `|`-separated; fields never contain `|`):
 *
 *   `1|<asOf>|<runId>|<modelVersion>|<payload>`
 *
 * - `1` is the format version;
 * - `asOf` is `YYYY-MM-DD`, `runId` and `modelVersion` match {@link STAMP_TOKEN};
 * - payload: score records → `<score>` (the decimal text from the transform output, unchanged);
 *   fallback records → `<score>|<count>`; `meta:latest` → `<loadedAt ISO>|<rows>`.
 *
 * Conditional write: a record is replaced only when the stored `(asOf, runId)` is older than the new one (or the key is
 * absent / not in this format). Equal `(asOf, runId)` — the same run loading the same rows again — rewrites the same
 * value and refreshes the TTL, so a rerun yields identical values and identical counts. Ordering: `asOf` first, then
 * `runId` byte-wise, so run ids must sort by start time (e.g. `batch-20261126T020000Z-…`) for a same-day rescore to win.
 */

export const SCORE_KEY_PREFIX = 'score:';
export const FALLBACK_GLOBAL_KEY = 'fallback:global';
export const FALLBACK_SEGMENT_PREFIX = 'fallback:segment:';
export const META_LATEST_KEY = 'meta:latest';
export const VALUE_FORMAT_VERSION = '1';

/**
 * Entity ids the score store, the loader and the read API accept: the shipped feature contract's `entity.pattern`
 * (a test keeps the two equal). A contract with a wider pattern must stay inside this character set, because ids
 * travel unquoted through the transform output and into Redis keys.
 */
export const ENTITY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
/** Human description of {@link ENTITY_ID_PATTERN} for error messages. */
export const ENTITY_ID_RULE = '1-64 characters of A-Z a-z 0-9 _ . : - starting with a letter or digit';
/** Segment values (category values of the segment feature). */
export const SEGMENT_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** runId / modelVersion tokens (a Step Functions execution name qualifies): no `|`, no whitespace, ≤ 128 chars. */
export const STAMP_TOKEN = /^[^|\s]{1,128}$/;
export const AS_OF_PATTERN = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

export const scoreKey = (entityId: string): string => SCORE_KEY_PREFIX + entityId;
export const fallbackSegmentKey = (segment: string): string => FALLBACK_SEGMENT_PREFIX + segment;

/** Which run a record came from. */
export interface Stamp {
  readonly asOf: string;
  readonly runId: string;
  readonly modelVersion: string;
}

export interface StoredScore extends Stamp {
  readonly score: number;
}

export interface FallbackRecord extends StoredScore {
  /** Rows of the run the mean was computed over. */
  readonly count: number;
}

export interface MetaLatest extends Stamp {
  readonly loadedAt: string;
  readonly rows: number;
}

export interface UpsertCounts {
  /** Records written (absent, older, or the same run again). */
  applied: number;
  /** Records left alone because the stored one is newer. */
  keptNewer: number;
}

/** Check a stamp before it goes into a value (the Lua script trusts it). */
export function assertStamp(stamp: Stamp): void {
  if (!AS_OF_PATTERN.test(stamp.asOf)) throw new TypeError(`asOf "${stamp.asOf}" is not a YYYY-MM-DD date`);
  if (!STAMP_TOKEN.test(stamp.runId)) throw new TypeError(`runId "${stamp.runId}" must match ${STAMP_TOKEN}`);
  if (!STAMP_TOKEN.test(stamp.modelVersion)) {
    throw new TypeError(`modelVersion "${stamp.modelVersion}" must match ${STAMP_TOKEN}`);
  }
}

/** `1|asOf|runId|modelVersion|` — the common prefix of every value written for this stamp. */
export const valuePrefix = (s: Stamp): string => `${VALUE_FORMAT_VERSION}|${s.asOf}|${s.runId}|${s.modelVersion}|`;

/**
 * Conditional batch upsert, executed atomically per batch on the server.
 *
 * KEYS: the record keys. ARGV: [1] ttl seconds (`0` = no expiry), [2] asOf, [3] runId, [4] modelVersion,
 * [4 + i] payload of KEYS[i]. Returns `{ applied, keptNewer }`.
 *
 * One server call per key on the common path: `SET key value EX ttl GET` writes and returns the previous value; only
 * when that previous value is newer is it put back (`SET key old [EX ttl]`) — within the same script, so no client
 * ever observes the older value. (Measured: ~20 % less server CPU per key than GET + SETEX, close to a bare SET EX.)
 * The one visible side effect of the rare kept-newer path: the kept record's TTL restarts at `ttl`.
 *
 * `asOf` is fixed-width ISO, so a string comparison orders it under any collation; `runId` ties are compared byte by
 * byte (Lua's `<` uses the server's strcoll locale). A stored value not in format 1 is treated as older.
 */
export const UPSERT_SCRIPT = `
local K, A = KEYS, ARGV
local ttl = A[1]
local asOf = A[2]
local runId = A[3]
local prefix = '1|' .. asOf .. '|' .. runId .. '|' .. A[4] .. '|'
local call = redis.call
local match = string.match
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
local expire = ttl ~= '0'
local n = #K
local kept = 0
for i = 1, n do
  local key = K[i]
  local old
  if expire then
    old = call('SET', key, prefix .. A[i + 4], 'EX', ttl, 'GET')
  else
    old = call('SET', key, prefix .. A[i + 4], 'GET')
  end
  if old then
    local sa, sr = match(old, '^1|([^|]*)|([^|]*)|')
    if sa and (sa > asOf or (sa == asOf and sr ~= runId and bytesGreater(sr, runId))) then
      if expire then call('SET', key, old, 'EX', ttl) else call('SET', key, old) end
      kept = kept + 1
    end
  end
end
return { n - kept, kept }
`;

export const UPSERT_SCRIPT_SHA = createHash('sha1').update(UPSERT_SCRIPT).digest('hex');

/** Upper bound on keys per script call: a call blocks the server while it runs (~3 µs per key, so ≤ ~15 ms). */
export const MAX_KEYS_PER_SCRIPT = 5_000;

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/**
 * Run the upsert script for one batch: EVALSHA, and on NOSCRIPT (cache restarted, failed over, flushed) SCRIPT LOAD
 * and retry once. A retry is safe because the script is idempotent.
 *
 * @param args `[ttl, asOf, runId, modelVersion, ...payloads]` (see {@link UPSERT_SCRIPT}); `keys.length` payloads
 * @throws DependencyError when the cache fails
 */
export async function evalUpsert(
  redis: Redis,
  keys: readonly string[],
  args: readonly string[],
): Promise<UpsertCounts> {
  if (keys.length === 0) return { applied: 0, keptNewer: 0 };
  if (keys.length > MAX_KEYS_PER_SCRIPT) throw new RangeError(`at most ${MAX_KEYS_PER_SCRIPT} keys per batch`);
  const callArgs: (string | number)[] = [UPSERT_SCRIPT_SHA, keys.length, ...keys, ...args];
  let reply: unknown;
  try {
    reply = await redis.call('EVALSHA', callArgs);
  } catch (err) {
    if (!isNoScript(err)) throw toDependencyError(err, 'run the score upsert script');
    try {
      await redis.call('SCRIPT', ['LOAD', UPSERT_SCRIPT]);
      reply = await redis.call('EVALSHA', callArgs);
    } catch (err2) {
      throw toDependencyError(err2, 'load and run the score upsert script');
    }
  }
  if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
    throw toDependencyError(
      new Error(`unexpected script reply ${JSON.stringify(reply)}`),
      'run the score upsert script',
    );
  }
  return { applied: reply[0], keptNewer: reply[1] };
}

export interface ScoreWriterOptions {
  readonly stamp: Stamp;
  /** TTL of score records in seconds (> 0). */
  readonly ttlSeconds: number;
  /** Keys per script call. @default 1000 */
  readonly batchSize?: number;
  /** Batches sent before waiting for the oldest reply (pipelining on one connection). @default 8 */
  readonly maxInFlight?: number;
}

/**
 * Streams score records into Redis in server-side batches with several batches in flight.
 * Memory is bounded by `batchSize × maxInFlight` records. Usage: `await writer.add(id, scoreText)` for each row
 * (resolves at once unless the in-flight window is full), then `await writer.finish()`.
 */
export class ScoreWriter {
  private readonly prefixArgs: string[];
  private readonly batchSize: number;
  private readonly maxInFlight: number;
  private keys: string[] = [];
  private args: string[];
  private readonly inFlight: Promise<UpsertCounts>[] = [];
  private failure: unknown;
  readonly counts: UpsertCounts = { applied: 0, keptNewer: 0 };

  constructor(
    private readonly redis: Redis,
    options: ScoreWriterOptions,
  ) {
    assertStamp(options.stamp);
    if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds <= 0) {
      throw new RangeError(`ttlSeconds must be a positive integer, got ${options.ttlSeconds}`);
    }
    this.batchSize = options.batchSize ?? 1_000;
    this.maxInFlight = options.maxInFlight ?? 8;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > MAX_KEYS_PER_SCRIPT) {
      throw new RangeError(`batchSize must be 1..${MAX_KEYS_PER_SCRIPT}, got ${this.batchSize}`);
    }
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 1) {
      throw new RangeError(`maxInFlight must be a positive integer, got ${this.maxInFlight}`);
    }
    const { asOf, runId, modelVersion } = options.stamp;
    this.prefixArgs = [String(options.ttlSeconds), asOf, runId, modelVersion];
    this.args = this.prefixArgs.slice();
  }

  /** Queue one record. The caller validated `entityId` and `scoreText`. */
  add(entityId: string, scoreText: string): Promise<void> | undefined {
    this.keys.push(SCORE_KEY_PREFIX + entityId);
    this.args.push(scoreText);
    if (this.keys.length >= this.batchSize) return this.send();
    return undefined;
  }

  /** Send what is queued and wait for every batch; returns the totals. */
  async finish(): Promise<UpsertCounts> {
    if (this.keys.length > 0) await this.send();
    while (this.inFlight.length > 0) await this.settleOldest();
    if (this.failure !== undefined) throw this.failure;
    return { ...this.counts };
  }

  /** Wait for batches already sent (after a failure elsewhere), ignoring their outcome. */
  async abandon(): Promise<void> {
    await Promise.allSettled(this.inFlight.splice(0));
  }

  private send(): Promise<void> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const p = evalUpsert(this.redis, this.keys, this.args);
    // Record the first failure at once so later add() calls stop early; finish() rethrows it.
    p.catch((err: unknown) => {
      this.failure ??= err;
    });
    this.inFlight.push(p);
    this.keys = [];
    this.args = this.prefixArgs.slice();
    if (this.inFlight.length >= this.maxInFlight) return this.settleOldest();
    return undefined;
  }

  private async settleOldest(): Promise<void> {
    const p = this.inFlight.shift();
    if (p === undefined) return;
    try {
      const c = await p;
      this.counts.applied += c.applied;
      this.counts.keptNewer += c.keptNewer;
    } catch (err) {
      this.failure ??= err;
      await this.abandon();
      throw err;
    }
  }
}

/**
 * Conditionally write a small set of records that share one stamp (fallbacks, meta). Payloads per key as in the
 * value format; `ttlSeconds` 0 = no expiry.
 */
export function upsertRecords(
  redis: Redis,
  stamp: Stamp,
  records: ReadonlyArray<readonly [key: string, payload: string]>,
  ttlSeconds = 0,
): Promise<UpsertCounts> {
  assertStamp(stamp);
  const keys = records.map(([k]) => k);
  const args = [String(ttlSeconds), stamp.asOf, stamp.runId, stamp.modelVersion, ...records.map(([, p]) => p)];
  return evalUpsert(redis, keys, args);
}

// ---------------------------------------------------------------------------------------------------------------------
// Decoding (allocation-light: indexOf/slice, no split, no regex)

/**
 * Split a value into its stamp and the payload text, or `undefined` when it is not in format 1.
 * Exported for the CLI and tests.
 */
export function decodeStamp(value: string): { stamp: Stamp; payload: string } | undefined {
  if (value.charCodeAt(0) !== 49 /* '1' */ || value.charCodeAt(1) !== 124 /* '|' */) return undefined;
  const a = value.indexOf('|', 2);
  if (a < 0) return undefined;
  const r = value.indexOf('|', a + 1);
  if (r < 0) return undefined;
  const m = value.indexOf('|', r + 1);
  if (m < 0) return undefined;
  return {
    stamp: { asOf: value.slice(2, a), runId: value.slice(a + 1, r), modelVersion: value.slice(r + 1, m) },
    payload: value.slice(m + 1),
  };
}

/** Decode a `score:<id>` value; `undefined` for a value not in format 1 or with a non-numeric score. */
export function decodeScore(value: string): StoredScore | undefined {
  const d = decodeStamp(value);
  if (d === undefined) return undefined;
  const bar = d.payload.indexOf('|');
  const score = Number(bar < 0 ? d.payload : d.payload.slice(0, bar));
  if (d.payload.length === 0 || !Number.isFinite(score)) return undefined;
  return { asOf: d.stamp.asOf, runId: d.stamp.runId, modelVersion: d.stamp.modelVersion, score };
}

/** Decode a fallback record (`…|<score>|<count>`). */
export function decodeFallback(value: string): FallbackRecord | undefined {
  const d = decodeStamp(value);
  if (d === undefined) return undefined;
  const bar = d.payload.indexOf('|');
  if (bar < 0) return undefined;
  const score = Number(d.payload.slice(0, bar));
  const count = Number(d.payload.slice(bar + 1));
  if (!Number.isFinite(score) || !Number.isInteger(count)) return undefined;
  return { ...d.stamp, score, count };
}

/** Decode `meta:latest` (`…|<loadedAt>|<rows>`). */
export function decodeMeta(value: string): MetaLatest | undefined {
  const d = decodeStamp(value);
  if (d === undefined) return undefined;
  const bar = d.payload.indexOf('|');
  if (bar < 0) return undefined;
  const rows = Number(d.payload.slice(bar + 1));
  if (!Number.isInteger(rows)) return undefined;
  return { ...d.stamp, loadedAt: d.payload.slice(0, bar), rows };
}

// ---------------------------------------------------------------------------------------------------------------------
// Reads. Each throws DependencyError when the cache fails; a missing key is `undefined`, never an invented value.

/** The stored score of one entity (`entityId` already validated). */
export async function getScore(redis: Redis, entityId: string): Promise<StoredScore | undefined> {
  let v: string | null;
  try {
    v = await redis.get(SCORE_KEY_PREFIX + entityId);
  } catch (err) {
    throw toDependencyError(err, 'read a score');
  }
  return v === null ? undefined : decodeScore(v);
}

/** Stored scores of several entities, in the order given (one MGET). */
export async function getScores(redis: Redis, entityIds: readonly string[]): Promise<(StoredScore | undefined)[]> {
  if (entityIds.length === 0) return [];
  const keys = new Array<string>(entityIds.length);
  for (let i = 0; i < entityIds.length; i++) keys[i] = SCORE_KEY_PREFIX + entityIds[i];
  let vs: (string | null)[];
  try {
    vs = await redis.mget(keys);
  } catch (err) {
    throw toDependencyError(err, 'read scores');
  }
  const out = new Array<StoredScore | undefined>(vs.length);
  for (let i = 0; i < vs.length; i++) {
    const v = vs[i];
    out[i] = v === null || v === undefined ? undefined : decodeScore(v);
  }
  return out;
}

export interface Fallbacks {
  readonly segment?: FallbackRecord;
  readonly global?: FallbackRecord;
}

/** The segment (when `segment` is given) and global fallback records in one MGET. */
export async function getFallbacks(redis: Redis, segment?: string): Promise<Fallbacks> {
  let vs: (string | null)[];
  try {
    vs =
      segment === undefined
        ? await redis.mget(FALLBACK_GLOBAL_KEY)
        : await redis.mget(FALLBACK_GLOBAL_KEY, FALLBACK_SEGMENT_PREFIX + segment);
  } catch (err) {
    throw toDependencyError(err, 'read fallback scores');
  }
  const g = vs[0];
  const s = vs[1];
  const global = g === null || g === undefined ? undefined : decodeFallback(g);
  const seg = s === null || s === undefined ? undefined : decodeFallback(s);
  return { ...(seg ? { segment: seg } : {}), ...(global ? { global } : {}) };
}

/** The newest loaded run (`meta:latest`). */
export async function getMetaLatest(redis: Redis): Promise<MetaLatest | undefined> {
  let v: string | null;
  try {
    v = await redis.get(META_LATEST_KEY);
  } catch (err) {
    throw toDependencyError(err, 'read meta:latest');
  }
  return v === null ? undefined : decodeMeta(v);
}

/** Format a mean for a fallback payload: fixed 6 decimals is ample for a probability and keeps values short. */
export const formatScore = (x: number): string => x.toFixed(6);

/**
 * Write the fallback records of one run (global + per segment) and `meta:latest`, each only when this run is not
 * older than the stored one.
 */
export async function writeRunSummary(
  redis: Redis,
  stamp: Stamp,
  summary: {
    readonly global: { readonly count: number; readonly sum: number };
    readonly segments: Readonly<Record<string, { readonly count: number; readonly sum: number }>>;
    readonly rows: number;
    readonly loadedAt: string;
  },
): Promise<{ fallbacks: UpsertCounts; meta: UpsertCounts }> {
  const records: [string, string][] = [];
  if (summary.global.count > 0) {
    records.push([
      FALLBACK_GLOBAL_KEY,
      `${formatScore(summary.global.sum / summary.global.count)}|${summary.global.count}`,
    ]);
  }
  for (const [seg, agg] of Object.entries(summary.segments)) {
    if (!SEGMENT_PATTERN.test(seg)) throw new TypeError(`segment value "${seg}" must match ${SEGMENT_PATTERN}`);
    if (agg.count > 0) records.push([fallbackSegmentKey(seg), `${formatScore(agg.sum / agg.count)}|${agg.count}`]);
  }
  const fallbacks = records.length > 0 ? await upsertRecords(redis, stamp, records) : { applied: 0, keptNewer: 0 };
  const meta = await upsertRecords(redis, stamp, [[META_LATEST_KEY, `${summary.loadedAt}|${summary.rows}`]]);
  return { fallbacks, meta };
}
