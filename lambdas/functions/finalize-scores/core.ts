import { IntegrityError, ValidationError } from '../../../contracts/errors';
import type { MetaLatest, Stamp } from '../../domain/score-store/format';
import type { ScoreStore, UpsertCounts } from '../../domain/score-store/store';

/**
 * FinalizeScores (state after the LoadScores Map): reconcile the per-part counts, then write the run's fallback
 * records (global and per-segment mean score) and `meta:latest` — each only when this run is not older than what the
 * store holds, so a late older run never replaces newer fallbacks or moves freshness backwards.
 */

/** What FinalizeScores needs of each LoadScores result. */
export interface PartLoad {
  readonly resultKey: string;
  readonly part: string | number;
  readonly asOf?: string;
  readonly rowsRead: number;
  readonly rowsApplied: number;
  readonly rowsKeptNewer: number;
  readonly segments: Readonly<Record<string, { readonly count: number; readonly sum: number }>>;
  readonly sum: number;
  readonly count: number;
}

export interface FinalizeScoresInput {
  readonly runId: string;
  readonly modelVersion: string;
  /** Newest as-of date of the run. @default - the newest `asOf` among `loads` */
  readonly asOf?: string;
  /** Rows sent to the transform (parts.json `expectedRows`). */
  readonly expectedRows: number;
  readonly loads: readonly PartLoad[];
  /**
   * The Production version now (the pointer). When it is not this run's version (Production changed while the run
   * was in flight) no fallback record and no `meta:latest` are written: fallbacks come from Production scores only.
   * @default - not checked (no pointer recorded yet)
   */
  readonly productionVersion?: number | null;
}

export interface FinalizeScoresOutput {
  readonly runId: string;
  readonly modelVersion: string;
  readonly asOf: string | null;
  readonly parts: number;
  /** Rows loaded (= rows in the output = rows sent). */
  readonly rowsScored: number;
  readonly rowsApplied: number;
  readonly rowsKeptNewer: number;
  /** Fallback means of this run (rounded to 6 decimals), null when the run had no rows. */
  readonly fallback: { readonly global: number | null; readonly segments: Record<string, number> };
  readonly fallbackRecords: UpsertCounts;
  /** false when Production is another version now, so nothing but the scores was written. */
  readonly fromProduction: boolean;
  /** true when `meta:latest` now names this run. */
  readonly latestIsThisRun: boolean;
  /** `meta:latest` after the write (may be a newer run). */
  readonly latest: { readonly asOf: string; readonly runId: string; readonly modelVersion: string } | null;
  /** Hours from the start (00:00 UTC) of the newest loaded as-of date to now; null when nothing is loaded. */
  readonly freshnessHours: number | null;
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** Hours from `asOf` 00:00 UTC to `now` (the conservative reading of "data as of that day"). */
export function freshnessHours(asOf: string, now: Date): number {
  return Math.round(((now.getTime() - Date.parse(`${asOf}T00:00:00Z`)) / 3_600_000) * 100) / 100;
}

/**
 * Reconcile counts and write fallbacks + meta:latest.
 *
 * @throws IntegrityError when rows loaded ≠ rows in the output ≠ rows sent, or a part is listed twice
 * @throws DependencyError when the cache fails
 */
export async function finalizeScores(
  store: ScoreStore,
  input: FinalizeScoresInput,
  now: Date = new Date(),
): Promise<FinalizeScoresOutput> {
  const seen = new Set<string>();
  let rowsRead = 0;
  let rowsApplied = 0;
  let rowsKeptNewer = 0;
  let sum = 0;
  let newestAsOf: string | undefined = input.asOf;
  const segments = new Map<string, { count: number; sum: number }>();

  for (const load of input.loads) {
    if (seen.has(load.resultKey))
      throw new IntegrityError(`FinalizeScores: ${load.resultKey} is listed twice in loads`);
    seen.add(load.resultKey);
    const where = `FinalizeScores: ${load.resultKey} (part ${load.part})`;
    if (load.rowsApplied + load.rowsKeptNewer !== load.rowsRead) {
      throw new IntegrityError(
        `${where}: rows loaded (${load.rowsApplied} applied + ${load.rowsKeptNewer} kept newer) ≠ rows in the output (${load.rowsRead})`,
      );
    }
    if (load.count !== load.rowsRead)
      throw new IntegrityError(`${where}: count ${load.count} ≠ rowsRead ${load.rowsRead}`);
    let segCount = 0;
    for (const [seg, agg] of Object.entries(load.segments)) {
      segCount += agg.count;
      const cur = segments.get(seg);
      if (cur === undefined) segments.set(seg, { count: agg.count, sum: agg.sum });
      else {
        cur.count += agg.count;
        cur.sum += agg.sum;
      }
    }
    if (segCount > load.count)
      throw new IntegrityError(`${where}: segment counts (${segCount}) exceed rows (${load.count})`);
    rowsRead += load.rowsRead;
    rowsApplied += load.rowsApplied;
    rowsKeptNewer += load.rowsKeptNewer;
    sum += load.sum;
    if (input.asOf === undefined && load.asOf !== undefined && (newestAsOf === undefined || load.asOf > newestAsOf)) {
      newestAsOf = load.asOf;
    }
  }

  if (rowsRead !== input.expectedRows) {
    throw new IntegrityError(
      `FinalizeScores: ${rowsRead} rows in the transform output (${input.loads.length} parts) but ${input.expectedRows} rows were sent to it`,
    );
  }
  if (rowsApplied + rowsKeptNewer !== rowsRead) {
    throw new IntegrityError(
      `FinalizeScores: ${rowsApplied + rowsKeptNewer} rows loaded but ${rowsRead} in the output`,
    );
  }

  const segmentMeans: Record<string, number> = {};
  for (const [seg, agg] of segments) if (agg.count > 0) segmentMeans[seg] = round6(agg.sum / agg.count);
  let fallbackRecords: UpsertCounts = { applied: 0, keptNewer: 0 };
  let latestIsThisRun = false;

  const fromProduction =
    input.productionVersion === undefined || String(input.productionVersion) === input.modelVersion;
  if (rowsRead > 0 && fromProduction) {
    if (newestAsOf === undefined) {
      throw new ValidationError('FinalizeScores: asOf is missing and no load names its asOf');
    }
    const stamp: Stamp = { asOf: newestAsOf, runId: input.runId, modelVersion: input.modelVersion };
    const written = await store.writeRunSummary(stamp, {
      global: { count: rowsRead, sum },
      segments: Object.fromEntries(segments),
      rows: rowsRead,
      loadedAt: now.toISOString(),
    });
    fallbackRecords = written.fallbacks;
    latestIsThisRun = written.meta.applied === 1;
  }

  const meta: MetaLatest | undefined = await store.getMetaLatest();
  return {
    runId: input.runId,
    modelVersion: input.modelVersion,
    asOf: newestAsOf ?? null,
    parts: input.loads.length,
    rowsScored: rowsRead,
    rowsApplied,
    rowsKeptNewer,
    fallback: { global: rowsRead > 0 ? round6(sum / rowsRead) : null, segments: segmentMeans },
    fallbackRecords,
    fromProduction,
    latestIsThisRun,
    latest: meta ? { asOf: meta.asOf, runId: meta.runId, modelVersion: meta.modelVersion } : null,
    freshnessHours: meta ? freshnessHours(meta.asOf, now) : null,
  };
}
