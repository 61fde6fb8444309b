import { type RedisClient, toDependencyError } from '../../platform/redis';
import {
  BUCKET_READ_SCRIPT,
  BUCKET_READ_SHA,
  BUCKET_UPSERT_SCRIPT,
  BUCKET_UPSERT_SHA,
  FIELDS_UPSERT_SCRIPT,
  FIELDS_UPSERT_SHA,
  STAMP_REGISTER_SCRIPT,
  STAMP_REGISTER_SHA,
} from './bucket-scripts';
import { assertStamp, decodeFallback, decodeScore, type Stamp, type StoredScore, scoreKey } from './format';
import { type BucketLayout, bucketKey, groupTags, hashId, locate, metaKey } from './layout';
import type { Fallbacks, ScoreBatchWriter, ScoreWriterOptions, UpsertCounts } from './store';

/**
 * The score store's bucket layout on Redis / Valkey (layout.ts, bucket-scripts.ts): the batch writer, the lookups and
 * the fallback copies. Every function throws DependencyError when the cache fails.
 */

/** Upper bound on rows per script call: a call blocks its shard while it runs. */
export const MAX_ROWS_PER_CALL = 5_000;
/** Rows of one bucket in one call at most: Lua's `unpack` returns at most ~8 000 values. */
const MAX_BUCKET_ROWS = 1_000;

const isNoScript = (err: unknown) => err instanceof Error && err.message.startsWith('NOSCRIPT');

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

function counts(reply: unknown, what: string): UpsertCounts {
  if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
    throw toDependencyError(new Error(`unexpected script reply ${JSON.stringify(reply)}`), what);
  }
  return { applied: reply[0], keptNewer: reply[1] };
}

/** Seconds the stamp expiry is rounded down to: an hour for day-long TTLs, finer for short ones (tests). */
const expiryStep = (ttl: number) => Math.min(3600, Math.max(1, Math.floor(ttl / 24)));

/** Rows buffered per group: bucket number → [id, score, id, score, …]. */
type GroupBuffer = Map<number, string[]>;

function positiveInt(name: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${name} must be an integer 1..${max}, got ${value}`);
  }
  return value;
}

/**
 * Streams score records into the buckets. Rows are buffered by bucket (up to `bufferRows`), so one script call
 * writes many rows of each bucket it touches; the buffer is sent as calls of ≤ `batchSize` rows, `maxInFlight` in
 * flight, while the next buffer fills. Memory: two buffers of `bufferRows` rows at most.
 */
export class BucketScoreWriter implements ScoreBatchWriter {
  private readonly head: string[];
  private readonly record: string;
  private readonly batchSize: number;
  private readonly maxInFlight: number;
  private readonly bufferRows: number;
  private readonly pruneEvery: number;
  private readonly tags: readonly string[];
  private buffer: GroupBuffer[];
  private buffered = 0;
  private flushing: Promise<void> | undefined;
  private readonly stampIds: (Promise<string> | undefined)[];
  private readonly inFlight: Promise<UpsertCounts>[] = [];
  private failure: unknown;
  readonly counts: UpsertCounts = { applied: 0, keptNewer: 0 };

  constructor(
    private readonly redis: RedisClient,
    private readonly layout: BucketLayout,
    options: ScoreWriterOptions,
    private readonly now: () => number = Date.now,
  ) {
    assertStamp(options.stamp);
    const ttl = options.ttlSeconds;
    if (!Number.isInteger(ttl) || ttl <= 0) throw new RangeError(`ttlSeconds must be a positive integer, got ${ttl}`);
    this.batchSize = positiveInt('batchSize', options.batchSize ?? 2_000, MAX_ROWS_PER_CALL);
    this.maxInFlight = positiveInt('maxInFlight', options.maxInFlight ?? 8);
    this.bufferRows = positiveInt('bufferRows', options.bufferRows ?? 200_000);
    this.pruneEvery = positiveInt('pruneEvery', options.pruneEvery ?? 16);
    const step = expiryStep(ttl);
    const expiresAt = Math.floor((Math.floor(now() / 1000) + ttl) / step) * step;
    const { asOf, runId, modelVersion } = options.stamp;
    this.record = `${asOf}|${runId}|${modelVersion}|${expiresAt}`;
    this.head = [String(ttl), '', asOf, runId, modelVersion, String(expiresAt), ''];
    this.tags = groupTags(layout.groups);
    this.buffer = this.emptyBuffer();
    this.stampIds = new Array(layout.groups).fill(undefined);
  }

  add(entityId: string, scoreText: string): Promise<void> | undefined {
    const h = hashId(entityId);
    const groups = this.layout.groups;
    const bucket = Math.floor(h / groups) % this.layout.bucketsPerGroup;
    const g = this.buffer[h % groups]!;
    const rows = g.get(bucket);
    if (rows === undefined) g.set(bucket, [entityId, scoreText]);
    else rows.push(entityId, scoreText);
    if (++this.buffered >= this.bufferRows) return this.flush();
    return undefined;
  }

  async finish(): Promise<UpsertCounts> {
    if (this.failure === undefined && this.buffered > 0) void this.flush();
    try {
      if (this.flushing !== undefined) await this.flushing;
      while (this.inFlight.length > 0) await this.settleOldest();
    } catch (err) {
      this.failure ??= err;
    }
    if (this.failure !== undefined) throw this.failure;
    return { ...this.counts };
  }

  async abandon(): Promise<void> {
    if (this.flushing !== undefined) await Promise.allSettled([this.flushing]);
    await Promise.allSettled(this.inFlight.splice(0));
  }

  private emptyBuffer(): GroupBuffer[] {
    return Array.from({ length: this.layout.groups }, () => new Map<number, string[]>());
  }

  /** Start sending the buffer after the previous one; resolves (for the caller to wait) when the previous is sent. */
  private flush(): Promise<void> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const previous = this.flushing;
    const buffer = this.buffer;
    this.buffer = this.emptyBuffer();
    this.buffered = 0;
    const run = (async () => {
      if (previous !== undefined) await previous;
      await this.sendBuffer(buffer);
    })();
    run.catch((err: unknown) => {
      this.failure ??= err;
    });
    this.flushing = run;
    return previous;
  }

  /** The stamp id of this writer's stamp in a group (registered on first use). */
  private stampId(group: number): Promise<string> {
    const what = 'register the run stamp';
    this.stampIds[group] ??= runScript(
      this.redis,
      { text: STAMP_REGISTER_SCRIPT, sha: STAMP_REGISTER_SHA },
      [metaKey(this.tags[group]!)],
      [String(Math.floor(this.now() / 1000)), this.record],
      what,
    ).then((r) => {
      if (typeof r !== 'string')
        throw toDependencyError(new Error(`unexpected script reply ${JSON.stringify(r)}`), what);
      return r;
    });
    return this.stampIds[group]!;
  }

  private async sendBuffer(buffer: GroupBuffer[]): Promise<void> {
    const used = buffer.map((m, g) => (m.size > 0 ? g : -1)).filter((g) => g >= 0);
    const ids = await Promise.all(used.map((g) => this.stampId(g)));
    for (let u = 0; u < used.length; u++) {
      const group = used[u]!;
      const sid = ids[u]!;
      const tag = this.tags[group]!;
      const prefix = `${sid}|`;
      // A rotating share of the buckets drops its expired records on this stamp's first write.
      const turn = Number.parseInt(sid, 36) % this.pruneEvery;
      let keys: string[] = [];
      let args: string[] = [];
      let rows = 0;
      for (const [bucket, list] of buffer[group]!) {
        for (let off = 0; off < list.length; off += 2 * MAX_BUCKET_ROWS) {
          const end = Math.min(list.length, off + 2 * MAX_BUCKET_ROWS);
          const n = (end - off) / 2;
          if (rows > 0 && rows + n > this.batchSize) {
            await this.send(group, keys, args);
            keys = [];
            args = [];
            rows = 0;
          }
          keys.push(bucketKey(tag, bucket));
          args.push(String(off === 0 && bucket % this.pruneEvery === turn ? -n : n));
          for (let i = off; i < end; i += 2) args.push(list[i]!, prefix + list[i + 1]!);
          rows += n;
        }
      }
      if (rows > 0) await this.send(group, keys, args);
    }
  }

  private async send(group: number, bucketKeys: string[], rowArgs: string[]): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const keys = [metaKey(this.tags[group]!), ...bucketKeys];
    const args = this.head.slice();
    args[1] = String(Math.floor(this.now() / 1000));
    args[6] = await this.stampId(group);
    for (const a of rowArgs) args.push(a);
    const what = 'run the score upsert script';
    const p = runScript(this.redis, { text: BUCKET_UPSERT_SCRIPT, sha: BUCKET_UPSERT_SHA }, keys, args, what).then(
      (r) => {
        // The stamp was registered again (its record vanished from the meta hash): later calls use the new id.
        if (Array.isArray(r) && typeof r[2] === 'string' && r[2] !== args[6]) {
          this.stampIds[group] = Promise.resolve(r[2]);
        }
        return counts(r, what);
      },
    );
    p.catch((err: unknown) => {
      this.failure ??= err;
    });
    this.inFlight.push(p);
    if (this.inFlight.length >= this.maxInFlight) await this.settleOldest();
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
      await Promise.allSettled(this.inFlight.splice(0));
      throw err;
    }
  }
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
