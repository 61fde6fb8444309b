import type { FallbackRecord, MetaLatest, Stamp, StoredScore } from './format';

/**
 * The score store as the loader, the finalizer and the read API use it. Every write is conditional: a record is
 * replaced only when the stored one is not newer (see format.ts for keys and values); every read returns `undefined`
 * for a missing or undecodable record, never an invented value. Each operation throws DependencyError when the
 * store fails. The Redis implementation is redis.ts (layouts: layout.ts); handlers construct it, cores take this
 * interface.
 */

export interface UpsertCounts {
  /** Records written (absent, older, or the same run again). */
  applied: number;
  /** Records left alone because the stored one is newer. */
  keptNewer: number;
}

export interface Fallbacks {
  readonly segment?: FallbackRecord;
  readonly global?: FallbackRecord;
}

/** What one run's load adds up to: the fallback means (global and per segment) and `meta:latest`. */
/** One entity's stored score (absent when unknown or expired) and the fallback records, read together. */
export interface Lookup {
  readonly score?: StoredScore;
  /** Empty when the layout keeps no copy next to the score; then ask {@link ScoreStore.getFallbacks}. */
  readonly fallbacks: Fallbacks;
}

export interface RunSummary {
  readonly global: { readonly count: number; readonly sum: number };
  readonly segments: Readonly<Record<string, { readonly count: number; readonly sum: number }>>;
  readonly rows: number;
  readonly loadedAt: string;
}

export interface ScoreWriterOptions {
  readonly stamp: Stamp;
  /** TTL of score records in seconds (> 0). */
  readonly ttlSeconds: number;
  /** Keys per batch. @default 1000 */
  readonly batchSize?: number;
  /** Batches sent before waiting for the oldest reply. @default 8 */
  readonly maxInFlight?: number;
  /**
   * Bucket layout: rows buffered (grouped by bucket) before they are sent, so a call writes many rows per bucket.
   * @default 200000
   */
  readonly bufferRows?: number;
  /**
   * Bucket layout: bytes first allocated for a buffer's records (3 + id + score text bytes each; the buffer doubles
   * when they need more). @default bufferRows × 28
   */
  readonly bufferBytes?: number;
  /**
   * Bucket layout: 2 = the next buffer fills while one is sent; 1 = rows wait while the buffer is sent (half the
   * memory for the same rows per bucket). @default 2
   */
  readonly buffers?: 1 | 2;
  /**
   * Bucket layout: one bucket in this many drops its expired records when a new stamp first writes it (a rotating
   * share per run; expired records are never served either way). @default 16
   */
  readonly pruneEvery?: number;
}

/**
 * Conditional batch upsert of score records. Usage: `await writer.add(id, scoreText)` (or `addBytes`) for each row (resolves at once
 * unless the in-flight window is full), then `await writer.finish()`; after a failure elsewhere, `await abandon()`.
 */
export interface ScoreBatchWriter {
  /** Queue one record. The caller validated `entityId` and `scoreText`. */
  add(entityId: string, scoreText: string): Promise<void> | undefined;
  /**
   * Queue one record given as ASCII bytes, `bytes[idStart, idEnd)` the entity id and `bytes[scoreStart, scoreEnd)`
   * the score text (validated by the caller; copied before this returns, so the caller may reuse `bytes`).
   */
  addBytes(
    bytes: Buffer,
    idStart: number,
    idEnd: number,
    scoreStart: number,
    scoreEnd: number,
  ): Promise<void> | undefined;
  /** Send what is queued and wait for every batch; returns the totals. */
  finish(): Promise<UpsertCounts>;
  /** Wait for batches already sent, ignoring their outcome. */
  abandon(): Promise<void>;
}

export interface ScoreStore {
  /** A writer for the score records of one stamp. @throws RangeError/TypeError for bad options or stamp */
  scoreWriter(options: ScoreWriterOptions): ScoreBatchWriter;
  /**
   * Write the fallback records of one run (global + per segment) and `meta:latest`, each only when this run is not
   * older than the stored one.
   */
  writeRunSummary(stamp: Stamp, summary: RunSummary): Promise<{ fallbacks: UpsertCounts; meta: UpsertCounts }>;
  /** The stored score of one entity (`entityId` already validated). */
  getScore(entityId: string): Promise<StoredScore | undefined>;
  /**
   * The stored score of one entity and, in the same round trip where the layout allows (buckets), the segment and
   * global fallback records.
   */
  lookup(entityId: string, segment?: string): Promise<Lookup>;
  /** Stored scores of several entities, in the order given. */
  getScores(entityIds: readonly string[]): Promise<(StoredScore | undefined)[]>;
  /** The segment (when `segment` is given) and global fallback records. */
  getFallbacks(segment?: string): Promise<Fallbacks>;
  /** The newest loaded run (`meta:latest`). */
  getMetaLatest(): Promise<MetaLatest | undefined>;
}
