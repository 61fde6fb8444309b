import { type RedisClient, toDependencyError } from '../../platform/redis';
import { BUCKET_READ_SCRIPT, BUCKET_READ_SHA, FIELDS_UPSERT_SCRIPT, FIELDS_UPSERT_SHA } from './bucket-scripts';
import { decodeFallback, decodeScore, type Stamp, type StoredScore, scoreKey } from './format';
import { type BucketLayout, groupTags, locate, metaKey } from './layout';
import type { Fallbacks, UpsertCounts } from './store';

/**
 * The score store's bucket layout on Redis / Valkey (layout.ts, bucket-scripts.ts): the script runner, the lookups and
 * the fallback copies (the batch writer is bucket-writer.ts). Every function throws DependencyError when the cache fails.
 */

export const isNoScript = (err: unknown): boolean => err instanceof Error && err.message.startsWith('NOSCRIPT');

/**
 * EVALSHA (or EVALSHA_RO, which a replica accepts), and on NOSCRIPT (restart, failover, flush, a replica that never
 * saw it) SCRIPT LOAD on the node that answered and retry once — safe, the scripts are idempotent. In cluster mode
 * ioredis sends both to the node owning `keys[0]`'s slot.
 */
export async function runScript(
  redis: RedisClient,
  script: { text: string; sha: string; readOnly?: boolean },
  keys: readonly string[],
  args: readonly (string | number)[],
  what: string,
): Promise<unknown> {
  const cmd = script.readOnly ? 'EVALSHA_RO' : 'EVALSHA';
  const callArgs = [script.sha, keys.length, ...keys, ...args];
  try {
    return await redis.call(cmd, callArgs);
  } catch (err) {
    if (!isNoScript(err)) throw toDependencyError(err, what);
  }
  try {
    // EVAL_RO / EVAL carry the script text and cache it on the node that runs them (the same node as the EVALSHA).
    return await redis.call(script.readOnly ? 'EVAL_RO' : 'EVAL', [script.text, keys.length, ...keys, ...args]);
  } catch (err) {
    throw toDependencyError(err, what);
  }
}

/** `{ applied, keptNewer }` of a script reply `[applied, kept, …]`. */
export function counts(reply: unknown, what: string): UpsertCounts {
  if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
    throw toDependencyError(new Error(`unexpected script reply ${JSON.stringify(reply)}`), what);
  }
  return { applied: reply[0], keptNewer: reply[1] };
}

/** Segment fallback field of the meta hashes. */
export const segmentField = (segment: string): string => `fs${segment}`;
export const GLOBAL_FIELD = 'fg';

/** A bucket value and its stamp record → the stored score, when both decode and the stamp has not expired. */
export function decodeBucketRecord(value: unknown, record: unknown, nowSeconds: number): StoredScore | undefined {
  if (typeof value !== 'string' || typeof record !== 'string') return undefined;
  const bar = value.indexOf('|');
  const score = Number(value.slice(bar + 1));
  const a = record.indexOf('|');
  const r = record.indexOf('|', a + 1);
  const m = record.indexOf('|', r + 1);
  if (bar < 0 || bar === value.length - 1 || !Number.isFinite(score) || a < 0 || r < 0 || m < 0) return undefined;
  if (!(Number(record.slice(m + 1)) > nowSeconds)) return undefined;
  return { asOf: record.slice(0, a), runId: record.slice(a + 1, r), modelVersion: record.slice(r + 1, m), score };
}

export interface GroupLookup {
  readonly scores: (StoredScore | undefined)[];
  readonly fallbacks: Fallbacks;
}

/**
 * Look up ids of one group in one script call; with `legacyKeys` also their `score:<id>` keys (standalone only: in a
 * cluster those keys live in other slots).
 */
export async function lookupGroup(
  redis: RedisClient,
  layout: BucketLayout,
  group: number,
  ids: readonly string[],
  segment: string | undefined,
  legacyKeys: boolean,
  nowMs: number,
): Promise<GroupLookup> {
  const keys = [metaKey(groupTags(layout.groups)[group]!)];
  for (const id of ids) keys.push(locate(layout, id).key);
  if (legacyKeys) for (const id of ids) keys.push(scoreKey(id));
  const args = [String(ids.length), segment === undefined ? '' : segmentField(segment), ...ids];
  const reply = await runScript(
    redis,
    { text: BUCKET_READ_SCRIPT, sha: BUCKET_READ_SHA, readOnly: true },
    keys,
    args,
    'read scores',
  );
  if (!Array.isArray(reply) || reply.length < 2 + 3 * ids.length) {
    throw toDependencyError(new Error(`unexpected script reply of ${typeof reply}`), 'read scores');
  }
  const now = nowMs / 1000;
  const scores = new Array<StoredScore | undefined>(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const v = reply[2 + 3 * i];
    const legacy = reply[4 + 3 * i];
    scores[i] =
      decodeBucketRecord(v, reply[3 + 3 * i], now) ??
      (typeof legacy === 'string' && v === null ? decodeScore(legacy) : undefined);
  }
  const g = typeof reply[0] === 'string' ? decodeFallback(reply[0]) : undefined;
  const s = typeof reply[1] === 'string' ? decodeFallback(reply[1]) : undefined;
  return { scores, fallbacks: { ...(s ? { segment: s } : {}), ...(g ? { global: g } : {}) } };
}

/** Ids by group, keeping each id's position in the request. */
export function byGroup(layout: BucketLayout, ids: readonly string[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (let i = 0; i < ids.length; i++) {
    const { group } = locate(layout, ids[i]!);
    const list = out.get(group);
    if (list === undefined) out.set(group, [i]);
    else list.push(i);
  }
  return out;
}

/** Conditionally write `records` (field, payload) with one stamp into every group's meta hash. */
export async function writeGroupFallbacks(
  redis: RedisClient,
  layout: BucketLayout,
  stamp: Stamp,
  records: ReadonlyArray<readonly [field: string, payload: string]>,
): Promise<UpsertCounts> {
  const args = [stamp.asOf, stamp.runId, stamp.modelVersion, ...records.flat()];
  const what = 'write the fallback copies';
  const replies = await Promise.all(
    groupTags(layout.groups).map((tag) =>
      runScript(redis, { text: FIELDS_UPSERT_SCRIPT, sha: FIELDS_UPSERT_SHA }, [metaKey(tag)], args, what),
    ),
  );
  const total = { applied: 0, keptNewer: 0 };
  for (const r of replies) {
    const c = counts(r, what);
    total.applied += c.applied;
    total.keptNewer += c.keptNewer;
  }
  return total;
}
