import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ValidationError } from '../../../contracts/errors';
import { INFERENCE_PREFIX, isScorableKey, partitionPrefix } from '../../../contracts/s3-layout';
import { type ArrivalOutcome, findPending, normalizeEtag, registerArrival, removeVanished } from '../../domain/ledger';
import { ledgerEtags, type ReconcileCursor, readCursor, saveCursor } from './cursor';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD');

/**
 * What to reconcile. Without options (the schedule's `{}`): the next pages of `inference/` after the saved cursor
 * (cursor.ts), at most `maxPages` per invocation; the cursor moves on, and a pass that reaches the end starts over.
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
  /** Objects whose ledger version was read as already known, so nothing was written for them. */
  readonly writesSkipped: number;
  /** The cursor (scheduled reconcile without options): where this invocation started and what it saved. */
  readonly cursor?: {
    readonly startedAfter?: string;
    /** Where the next invocation continues; absent when this one completed the pass. */
    readonly nextStartAfter?: string;
    readonly passCompleted: boolean;
    readonly passes: number;
    /** false when an overlapping invocation saved first (its position stands). */
    readonly saved: boolean;
  };
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
  /**
   * Pages listed per invocation in cursor mode (no prefix, range or startAfter): the cursor saves where it stopped.
   * @default 50
   */
  readonly maxPages?: number;
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

/** One listed feature object to register. */
interface Listed {
  readonly key: string;
  readonly etag: string;
  readonly size: number;
  readonly lastModified?: string;
}

/** What one listing did. */
interface ListingOutcome {
  counts: Record<ArrivalOutcome, number>;
  listed: number;
  ignored: number;
  outsideRange: number;
  ignoredKeys: string[];
  writesSkipped: number;
  lastKey?: string;
  /** The listing stopped before its end (time budget or page bound): continue after `lastKey`. */
  stoppedEarly: boolean;
}

/**
 * Register one page's feature objects: the ledger etags are read first (BatchGetItem) and only objects missing from
 * the ledger or with another etag are written, through the same conditional write as the arrival events.
 */
async function registerPage(
  doc: DynamoDBDocumentClient,
  params: ReconcileParams,
  work: readonly Listed[],
  out: ListingOutcome,
): Promise<void> {
  const known = await ledgerEtags(
    doc,
    params.tableName,
    work.map((w) => w.key),
  );
  const changed = work.filter((w) => known.get(w.key) !== normalizeEtag(w.etag));
  out.writesSkipped += work.length - changed.length;
  out.counts.unchanged += work.length - changed.length;
  const outcomes = await mapLimit(changed, params.concurrency ?? 16, async (w) => {
    const r = await registerArrival(doc, params.tableName, { ...w, source: 'reconcile' }, params.now);
    return r.outcome;
  });
  for (const o of outcomes) out.counts[o]++;
}

/** List `prefix` from `startAfter` (paged) and register what is new or changed; `maxPages` bounds the listing. */
async function listAndRegister(
  s3: S3Client,
  doc: DynamoDBDocumentClient,
  params: ReconcileParams,
  scope: { prefix: string; from?: string; to?: string; startAfter?: string; maxPages?: number },
  onListed: (key: string) => void,
): Promise<ListingOutcome> {
  const { prefix, from, to } = scope;
  const out: ListingOutcome = {
    counts: { new: 0, requeued: 0, unchanged: 0, stale: 0 },
    listed: 0,
    ignored: 0,
    outsideRange: 0,
    ignoredKeys: [],
    writesSkipped: 0,
    stoppedEarly: false,
  };
  let token: string | undefined;
  for (let pages = 1; ; pages++) {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: params.featuresBucket,
        Prefix: prefix,
        ...(params.pageSize ? { MaxKeys: params.pageSize } : {}),
        ...(token ? { ContinuationToken: token } : scope.startAfter ? { StartAfter: scope.startAfter } : {}),
      }),
    );
    const work: Listed[] = [];
    for (const obj of page.Contents ?? []) {
      if (!obj.Key) continue;
      out.lastKey = obj.Key;
      onListed(obj.Key);
      if (from || to) {
        const dt = dtOf(obj.Key);
        if (!dt || (from && dt < from) || (to && dt > to)) {
          out.outsideRange++;
          continue;
        }
      }
      out.listed++;
      if (!isScorableKey(obj.Key)) {
        out.ignored++;
        if (out.ignoredKeys.length < 20) out.ignoredKeys.push(obj.Key);
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
    await registerPage(doc, params, work, out);

    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    if (!token) break;
    // Past the end of the date range: later keys sort after it (partitioned layout), stop listing.
    const last = out.lastKey;
    if (to && prefix === INFERENCE_PREFIX && last && last > `${partitionPrefix(INFERENCE_PREFIX, to)}\uffff`) break;
    if (params.shouldStop?.() || (scope.maxPages !== undefined && pages >= scope.maxPages)) {
      out.stoppedEarly = true;
      break;
    }
  }
  return out;
}

/**
 * List the features bucket (ListObjectsV2, paged) and register every feature object through the same ledger
 * function as the arrival events: new or changed etags become PENDING, known versions are not written at all.
 * Covers missed events and backfills (objects written before the rule existed, replays of a date range).
 *
 * Without prefix, range or startAfter the listing continues from the saved cursor and stops after `maxPages`,
 * saving where it stopped; a full pass thus spans as many invocations as it needs and then starts over.
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
  const useCursor = !req.data.prefix && !from && !to && !req.data.startAfter;
  const cursor: ReconcileCursor | undefined = useCursor ? await readCursor(doc, params.tableName) : undefined;
  // Partitioned keys sort by date: start right before the first partition of the range.
  let startAfter = cursor ? cursor.startAfter : req.data.startAfter;
  if (!startAfter && from && prefix === INFERENCE_PREFIX) startAfter = `${INFERENCE_PREFIX}dt=${from}`;

  // Unscored ledger items in scope, known before the listing starts (items registered meanwhile are not candidates);
  // with a cursor, those after where this listing starts.
  const prune = req.data.prune !== false && (useCursor || !req.data.startAfter);
  const inRange = (key: string) => {
    if (cursor?.startAfter && key <= cursor.startAfter) return false;
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
  const listing = await listAndRegister(
    s3,
    doc,
    params,
    { prefix, from, to, startAfter, ...(cursor ? { maxPages: params.maxPages ?? DEFAULT_MAX_PAGES } : {}) },
    (key) => candidates.delete(key),
  );
  const nextStartAfter = listing.stoppedEarly ? listing.lastKey : undefined;
  // A listing that stopped early covered the keys up to its last one: only candidates up to there are judged.
  const { removed, removedKeys } =
    prune && (cursor || !nextStartAfter)
      ? await pruneVanished(
          s3,
          doc,
          params,
          [...candidates].filter(([k]) => !nextStartAfter || k <= nextStartAfter),
        )
      : { removed: 0, removedKeys: [] };
  const saved = cursor
    ? await saveCursor(doc, params.tableName, cursor, nextStartAfter, params.now ?? new Date())
    : undefined;

  return {
    bucket: params.featuresBucket,
    prefix,
    listed: listing.listed,
    new: listing.counts.new,
    requeued: listing.counts.requeued,
    unchanged: listing.counts.unchanged + listing.counts.stale,
    ignored: listing.ignored,
    ignoredKeys: listing.ignoredKeys,
    outsideRange: listing.outsideRange,
    removed,
    removedKeys,
    writesSkipped: listing.writesSkipped,
    ...(nextStartAfter ? { nextStartAfter } : {}),
    ...(cursor && saved
      ? {
          cursor: {
            ...(cursor.startAfter ? { startedAfter: cursor.startAfter } : {}),
            ...(nextStartAfter ? { nextStartAfter } : {}),
            passCompleted: !nextStartAfter,
            passes: saved.cursor.passes,
            saved: saved.saved,
          },
        }
      : {}),
  };
}

/** Remove the ledger items of `candidates` whose object no longer exists (each confirmed by HeadObject). */
async function pruneVanished(
  s3: S3Client,
  doc: DynamoDBDocumentClient,
  params: ReconcileParams,
  candidates: readonly (readonly [string, string])[],
): Promise<{ removed: number; removedKeys: string[] }> {
  let removed = 0;
  const removedKeys: string[] = [];
  for (const [key, etag] of candidates) {
    if (await objectExists(s3, params.featuresBucket, key)) continue;
    if (await removeVanished(doc, params.tableName, key, etag)) {
      removed++;
      if (removedKeys.length < 20) removedKeys.push(key);
    }
  }
  return { removed, removedKeys };
}

/** Pages (of up to 1 000 keys) one scheduled invocation lists before it saves the cursor. */
const DEFAULT_MAX_PAGES = 50;

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
