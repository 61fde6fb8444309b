import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ValidationError } from '../../../contracts/errors';
import { INFERENCE_PREFIX, isScorableKey, partitionPrefix } from '../../../contracts/s3-layout';
import { type ArrivalOutcome, findPending, registerArrival, removeVanished } from '../../domain/ledger';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD');

/**
 * What to reconcile. Without options: every object under `inference/`.
 * - `prefix`: a narrower prefix (must start with `inference/`), e.g. `inference/dt=2026-01-05/`;
 * - `from` / `to`: a `dt=` partition range (inclusive) for backfills; keys without a `dt=YYYY-MM-DD` segment are
 *   outside any range;
 * - `startAfter`: resume a listing that stopped early (`nextStartAfter` of the previous result).
 */
export const ReconcileRequestSchema = z
  .object({
    prefix: z
      .string()
      .refine((p) => p.startsWith(INFERENCE_PREFIX), `must start with "${INFERENCE_PREFIX}"`)
      .optional(),
    from: isoDate.optional(),
    to: isoDate.optional(),
    startAfter: z.string().min(1).optional(),
    /**
     * Remove PENDING/QUARANTINED ledger items (within prefix and range) whose object no longer exists, so a file
     * deleted before it was scored cannot fail every later run. Only after a complete listing, each confirmed by
     * HeadObject. @default true
     */
    prune: z.boolean().optional(),
  })
  .strict()
  .refine((r) => !r.from || !r.to || r.from <= r.to, { message: 'from must be <= to', path: ['from'] });
export type ReconcileRequest = z.infer<typeof ReconcileRequestSchema>;

export interface ReconcileResult {
  readonly bucket: string;
  readonly prefix: string;
  /** Objects listed (within prefix and date range). */
  readonly listed: number;
  /** First seen: now PENDING. */
  readonly new: number;
  /** Etag changed since the ledger saw it: back to PENDING. */
  readonly requeued: number;
  /** Same version as in the ledger: untouched. */
  readonly unchanged: number;
  /** Listed but not feature objects (`*.csv` only), with up to 20 example keys. */
  readonly ignored: number;
  readonly ignoredKeys: string[];
  /** Listed keys outside the from/to range. */
  readonly outsideRange: number;
  /** Ledger items removed because their object no longer exists (with up to 20 example keys). */
  readonly removed: number;
  readonly removedKeys: string[];
  /** Set when the listing stopped early (time budget): pass it as `startAfter` to continue. */
  readonly nextStartAfter?: string;
}

export interface ReconcileParams {
  readonly tableName: string;
  readonly featuresBucket: string;
  /** Ledger writes in flight per listing page. @default 16 */
  readonly concurrency?: number;
  /** Keys per ListObjectsV2 page. @default 1000 (the S3 maximum) */
  readonly pageSize?: number;
  /** Checked between pages; true stops the listing and returns `nextStartAfter`. @default - never stops early */
  readonly shouldStop?: () => boolean;
  readonly now?: Date;
}

const dtOf = (key: string) => /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})(?:\/|$)/.exec(key)?.[1];

/** Run `fn` over `items` with at most `limit` promises in flight; rejects with the first error. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * List the features bucket (ListObjectsV2, paged) and register every feature object through the same ledger
 * function as the arrival events: new or changed etags become PENDING, known versions stay as they are.
 * Covers missed events and backfills (objects written before the rule existed, replays of a date range).
 */
export async function reconcile(
  s3: S3Client,
  doc: DynamoDBDocumentClient,
  params: ReconcileParams,
  request: ReconcileRequest = {},
): Promise<ReconcileResult> {
  const req = ReconcileRequestSchema.safeParse(request);
  if (!req.success) {
    const issues = req.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new ValidationError(`Reconcile: invalid request: ${issues.join('; ')}`, issues);
  }
  if (!params.featuresBucket) throw new ValidationError('Reconcile: features bucket name is empty');
  const { from, to } = req.data;
  const prefix = req.data.prefix ?? INFERENCE_PREFIX;
  // Partitioned keys sort by date: start right before the first partition of the range.
  let startAfter = req.data.startAfter;
  if (!startAfter && from && prefix === INFERENCE_PREFIX) startAfter = `${INFERENCE_PREFIX}dt=${from}`;

  const counts: Record<ArrivalOutcome, number> = { new: 0, requeued: 0, unchanged: 0, stale: 0 };
  let listed = 0;
  let ignored = 0;
  let outsideRange = 0;
  const ignoredKeys: string[] = [];
  let token: string | undefined;
  let lastKey: string | undefined;
  let nextStartAfter: string | undefined;

  // Unscored ledger items in scope, known before the listing starts (items registered meanwhile are not candidates).
  const prune = req.data.prune !== false && !req.data.startAfter;
  const inRange = (key: string) => {
    if (!from && !to) return true;
    const dt = dtOf(key);
    return Boolean(dt && (!from || dt >= from) && (!to || dt <= to));
  };
  const candidates = new Map<string, string>();
  if (prune) {
    for (const status of ['PENDING', 'QUARANTINED'] as const) {
      const found = await findPending(doc, params.tableName, PRUNE_CANDIDATES_MAX, status, prefix);
      for (const o of found.objects) if (inRange(o.key)) candidates.set(o.key, o.etag);
    }
  }

  for (;;) {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: params.featuresBucket,
        Prefix: prefix,
        ...(params.pageSize ? { MaxKeys: params.pageSize } : {}),
        ...(token ? { ContinuationToken: token } : startAfter ? { StartAfter: startAfter } : {}),
      }),
    );
    const work: { key: string; etag: string; size: number; lastModified?: string }[] = [];
    for (const obj of page.Contents ?? []) {
      if (!obj.Key) continue;
      lastKey = obj.Key;
      candidates.delete(obj.Key);
      if (from || to) {
        const dt = dtOf(obj.Key);
        if (!dt || (from && dt < from) || (to && dt > to)) {
          outsideRange++;
          continue;
        }
      }
      listed++;
      if (!isScorableKey(obj.Key)) {
        ignored++;
        if (ignoredKeys.length < 20) ignoredKeys.push(obj.Key);
        continue;
      }
      if (!obj.ETag || obj.Size === undefined) {
        throw new ValidationError(`Reconcile: listing of s3://${params.featuresBucket}/${obj.Key} lacks ETag or Size`);
      }
      work.push({
        key: obj.Key,
        etag: obj.ETag,
        size: obj.Size,
        ...(obj.LastModified ? { lastModified: obj.LastModified.toISOString() } : {}),
      });
    }
    const outcomes = await mapLimit(work, params.concurrency ?? 16, async (w) => {
      const r = await registerArrival(doc, params.tableName, { ...w, source: 'reconcile' }, params.now);
      return r.outcome;
    });
    for (const o of outcomes) counts[o]++;

    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    if (!token) break;
    // Past the end of the date range: later keys sort after it (partitioned layout), stop listing.
    if (to && prefix === INFERENCE_PREFIX && lastKey && lastKey > `${partitionPrefix(INFERENCE_PREFIX, to)}\uffff`)
      break;
    if (params.shouldStop?.()) {
      nextStartAfter = lastKey;
      break;
    }
  }

  let removed = 0;
  const removedKeys: string[] = [];
  if (prune && !nextStartAfter) {
    for (const [key, etag] of candidates) {
      if (await objectExists(s3, params.featuresBucket, key)) continue;
      if (await removeVanished(doc, params.tableName, key, etag)) {
        removed++;
        if (removedKeys.length < 20) removedKeys.push(key);
      }
    }
  }

  return {
    bucket: params.featuresBucket,
    prefix,
    listed,
    new: counts.new,
    requeued: counts.requeued,
    unchanged: counts.unchanged + counts.stale,
    ignored,
    ignoredKeys,
    outsideRange,
    removed,
    removedKeys,
    ...(nextStartAfter ? { nextStartAfter } : {}),
  };
}

/** Unscored ledger items per status considered for pruning in one reconcile. */
const PRUNE_CANDIDATES_MAX = 10_000;

async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}
