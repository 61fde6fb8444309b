import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { IntegrityError, NotFoundError } from '../../../contracts/errors';
import { parseS3Uri } from '../../../contracts/s3-layout';
import type { Continuation, ResolvedModel, RunSummary, Work } from '../../../contracts/states/batch';
import { newRunId } from '../../../contracts/states/names';
import { type ContinuationStop, continueChain } from '../../domain/chain';
import { commitScored, markQuarantined } from '../../domain/ledger-commit';
import { completeRun } from '../../domain/tracking';
import { loadQuarantinedObjects, loadWorkObjects } from '../../domain/work';
import { getText } from '../../platform/s3';

/** Counts PrepareInferenceData reported (subset of `$.data`). */
export const DataCountsSchema = z.object({
  rowsIn: z.number().int().nonnegative(),
  rowsUsed: z.number().int().nonnegative(),
  rowsQuarantined: z.number().int().nonnegative(),
  expectedRows: z.number().int().nonnegative(),
  partsUri: z.string().min(1),
  /**
   * How many objects had no usable row: marked QUARANTINED (not retried until a new version arrives). Their keys are
   * read from `parts.json` (partsUri).
   */
  objectsQuarantined: z.number().int().nonnegative(),
  validationReportUri: z.string().min(1),
});
export type DataCounts = z.infer<typeof DataCountsSchema>;

/** What CommitLedger needs from FinalizeScores' result (other fields are kept in the run record). */
export const FinalizeResultSchema = z.looseObject({ rowsScored: z.number().int().nonnegative() });
export type FinalizeResult = z.infer<typeof FinalizeResultSchema>;

/**
 * How a committed run ended: `SCORED` (rows were transformed and loaded) or `ALL_QUARANTINED` (no object had a usable
 * row: no transform ran, every object is now QUARANTINED and an operator should look at the validation report).
 */
export type RunOutcome = 'SCORED' | 'ALL_QUARANTINED';

export interface CommitParams {
  readonly tableName: string;
  readonly runId: string;
  readonly model: ResolvedModel;
  readonly work: Work;
  readonly data: DataCounts;
  /** FinalizeScores' result; `null` when `HasRows?` skipped the transform (`data.expectedRows` must then be 0). */
  readonly finalize: FinalizeResult | null;
  /** The execution's input (`$$.Execution.Input`): a continuation run's names its chain. @default - a new chain */
  readonly executionInput?: unknown;
  /** Runs per chain at most (MAX_RUNS_PER_CHAIN). @default 100 */
  readonly maxRunsPerChain?: number;
  /** Name of the continuation execution. @default - {@link newRunId} */
  readonly nextRunId?: () => string;
  /** Clock, for tests. @default - now */
  readonly now?: Date;
}

export interface CommitResult {
  /** Objects now SCORED by this run (QUARANTINED ones are counted in the summary). */
  readonly committed: number;
  /** Objects left PENDING (rewritten since they were read, or scored by another run), first 20 with the reason. */
  readonly skipped: { key: string; reason: string }[];
  readonly skippedCount: number;
  /** What Notify reports. */
  readonly summary: RunSummary;
  /** The execution StartContinuation starts (the backlog continues); absent when it does not. */
  readonly continuation?: Continuation;
  /** Why a truncated run does not continue. */
  readonly continuationStopped?: ContinuationStop;
}

const MAX_SKIPPED_REPORTED = 20;

/**
 * Rows each object sent to the transform, from parts.json (`parts[].sources[]`, or `parts[].sourceKey` and `rows` in
 * files written before parts were sized by rows), recorded on the
 * ledger so a rescore can say how many rows it will cost before it starts. Parts without a source key add nothing.
 */
async function rowsPerObject(s3: S3Client, partsUri: string): Promise<Map<string, number>> {
  const { bucket, key } = parseS3Uri(partsUri);
  let text: string;
  try {
    text = await getText(s3, bucket, key);
  } catch (err) {
    // The counts were already checked against FinalizeScores; without the file only the per-object rows are unknown.
    if (err instanceof NotFoundError) return new Map();
    throw err;
  }
  let doc: { parts?: { sourceKey?: unknown; rows?: unknown; sources?: { key?: unknown; rows?: unknown }[] }[] };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    return new Map();
  }
  const out = new Map<string, number>();
  for (const part of doc.parts ?? []) {
    // A part sized by rows lists its sources (several when small objects were coalesced); older files one sourceKey.
    for (const src of Array.isArray(part.sources) ? part.sources : []) {
      if (typeof src.key === 'string' && typeof src.rows === 'number') {
        out.set(src.key, (out.get(src.key) ?? 0) + src.rows);
      }
    }
    if (typeof part.sourceKey === 'string' && typeof part.rows === 'number') {
      out.set(part.sourceKey, (out.get(part.sourceKey) ?? 0) + part.rows);
    }
  }
  return out;
}

/**
 * Mark the run's feature object versions SCORED (runId + model version) in DynamoDB transactions, and the objects
 * without a usable row QUARANTINED (reason names the validation report), then complete the run record with the counts.
 *
 * Guard: the rows FinalizeScores says it loaded must equal the rows sent to the transform; otherwise nothing is
 * committed (IntegrityError → failure path, ledger untouched). Objects rewritten while the run was in flight keep
 * their new version PENDING (reported as skipped), so the next run scores them.
 *
 * Without a FinalizeScores result (`finalize` null: no row was usable, so no transform ran) the run must have sent
 * no row and every object of the work must be quarantined; the run completes with outcome `ALL_QUARANTINED`.
 */
export async function commitLedger(doc: DynamoDBDocumentClient, s3: S3Client, p: CommitParams): Promise<CommitResult> {
  const rowsLoaded = p.finalize?.rowsScored ?? 0;
  if (p.finalize === null && (p.data.expectedRows !== 0 || p.data.rowsUsed !== 0)) {
    throw new IntegrityError(
      `Run ${p.runId}: no scores were loaded (no FinalizeScores result) but ${p.data.expectedRows} rows were sent to the transform; ledger not committed`,
    );
  }
  if (rowsLoaded !== p.data.expectedRows) {
    throw new IntegrityError(
      `Run ${p.runId}: ${rowsLoaded} scores loaded but ${p.data.expectedRows} rows were sent to the transform; ledger not committed`,
    );
  }
  if (p.data.rowsIn !== p.data.rowsUsed + p.data.rowsQuarantined) {
    throw new IntegrityError(
      `Run ${p.runId}: rows in (${p.data.rowsIn}) != rows used (${p.data.rowsUsed}) + rows quarantined (${p.data.rowsQuarantined}); ledger not committed`,
    );
  }
  const objects = await loadWorkObjects(s3, p.work);
  const rejected = new Set(
    p.data.objectsQuarantined > 0 ? await loadQuarantinedObjects(s3, p.data.partsUri, p.data.objectsQuarantined) : [],
  );
  const unknown = [...rejected].filter((k) => !objects.some((o) => o.key === k));
  if (unknown.length > 0) {
    throw new IntegrityError(
      `Run ${p.runId}: quarantined objects not in this run's work: ${unknown.slice(0, 5).join(', ')}`,
    );
  }
  const outcome: RunOutcome = p.finalize === null ? 'ALL_QUARANTINED' : 'SCORED';
  if (outcome === 'ALL_QUARANTINED') {
    const unscored = objects.filter((o) => !rejected.has(o.key));
    if (unscored.length > 0) {
      throw new IntegrityError(
        `Run ${p.runId}: no rows were scored but ${unscored.length} object(s) were not quarantined: ${unscored
          .slice(0, 5)
          .map((o) => o.key)
          .join(', ')}; ledger not committed`,
      );
    }
  }
  const quarantined = await markQuarantined(
    doc,
    p.tableName,
    objects
      .filter((o) => rejected.has(o.key))
      .map((o) => ({ ...o, reason: `no usable rows in run ${p.runId}; see ${p.data.validationReportUri}` })),
    p.runId,
    p.now,
  );
  const rowsByKey = p.finalize === null ? new Map<string, number>() : await rowsPerObject(s3, p.data.partsUri);
  const scored = await commitScored(
    doc,
    p.tableName,
    objects
      .filter((o) => !rejected.has(o.key))
      .map((o) => (rowsByKey.has(o.key) ? { ...o, rows: rowsByKey.get(o.key) } : o)),
    p.runId,
    p.model.modelVersion,
    p.now,
  );
  const skipped = [...scored.skipped, ...quarantined.skipped];
  const own: RunSummary = {
    outcome,
    modelVersion: p.model.modelVersion,
    objects: scored.committed.length,
    objectsQuarantined: quarantined.committed.length,
    rowsIn: p.data.rowsIn,
    rowsUsed: p.data.rowsUsed,
    rowsQuarantined: p.data.rowsQuarantined,
    rowsLoaded,
    truncated: p.work.truncated,
    validationReportUri: p.data.validationReportUri,
  };
  const chain = continueChain({
    runId: p.runId,
    executionInput: p.executionInput,
    summary: own,
    truncated: p.work.truncated,
    maxRunsPerChain: p.maxRunsPerChain ?? 100,
    nextRunId: p.nextRunId ?? (() => newRunId('batch', p.now)),
  });
  const { summary } = chain;
  await completeRun(doc, p.tableName, p.runId, {
    now: p.now,
    fields: {
      outcome,
      modelVersion: p.model.modelVersion,
      modelPackageArn: p.model.modelPackageArn,
      objectsScored: scored.committed.length,
      objectsQuarantined: quarantined.committed.length,
      objectsSkipped: skipped.length,
      rowsIn: p.data.rowsIn,
      rowsUsed: p.data.rowsUsed,
      rowsQuarantined: p.data.rowsQuarantined,
      rowsLoaded,
      validationReportUri: p.data.validationReportUri,
      partsUri: p.data.partsUri,
      truncated: p.work.truncated,
      iterations: summary.iterations,
      chainHead: chain.head,
      chainTotals: summary.totals,
      ...(summary.continuedFrom ? { continuedFrom: summary.continuedFrom } : {}),
      ...(summary.continuesAs ? { continuesAs: summary.continuesAs } : {}),
      ...(chain.stopped ? { continuationStopped: chain.stopped } : {}),
    },
  });
  return {
    committed: scored.committed.length,
    skipped: skipped.slice(0, MAX_SKIPPED_REPORTED),
    skippedCount: skipped.length,
    summary,
    ...(chain.continuation ? { continuation: chain.continuation } : {}),
    ...(chain.stopped ? { continuationStopped: chain.stopped } : {}),
  };
}
