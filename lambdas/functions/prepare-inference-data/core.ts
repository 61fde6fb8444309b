import type { S3Client } from '@aws-sdk/client-s3';
import { IntegrityError, ValidationError } from '../../../contracts/errors';
import { batchKeys, partName, reportKeys, s3Uri } from '../../../contracts/s3-layout';
import type { PreprocessingSpec } from '../../data/encoder';
import { type MergedPrepare, mergePartials } from '../../data/prepare-merge';
import { prepareSlice, segmentIndex } from '../../data/prepare-slice';
import { assertRowBalance } from '../../data/quarantine';
import { type DatasetStats, featureDrift } from '../../data/stats';
import { buildReport, failValidation, type ValidationReport } from '../../data/validation-report';
import type { StepLogger } from '../../platform/logger';
import { putJson } from '../../platform/s3';

export type { InferencePart, PartSource } from '../../data/inference-parts';
export { type PrepareInferenceDataResult, toPreparedData, transformJobName } from './prepared-data';

import type { PrepareInferenceDataResult } from './prepared-data';

/** Rows per transform input part when the caller gives none (`batch.targetRowsPerPart`'s default). */
export const DEFAULT_TARGET_ROWS_PER_PART = 1_000_000;

/**
 * `PrepareInferenceData`'s work, the reducer of the prepare fan-out: from the prepare tasks' partial results
 * (lambdas/data/prepare-slice.ts, merged by prepare-merge.ts) build the validation report, apply the invalid-row
 * budget, and write the SageMaker manifest (`batch/<runId>/manifest.json`), the part list (`parts.json`), the
 * LoadScores items (`load-items.json`) and the reports (`reports/<runId>/{validation,stats}.json`); then shape the
 * result. {@link prepareInferenceData} does the whole run in one process (one task, no slices).
 */

export interface InferenceObject {
  key: string;
  etag: string;
}

/** What the reducer needs besides the partials. */
export interface ReduceInput {
  s3: S3Client;
  /** The Production model's preprocessing spec (contract and training statistics). */
  spec: PreprocessingSpec;
  artifactsBucket: string;
  runId: string;
  /** Reference statistics for drift. @default spec.trainingStats */
  trainingStats?: DatasetStats;
  maxInvalidRowRatio: number;
  maxReportedViolations: number;
  logger?: StepLogger;
}

export interface PrepareInferenceDataInput extends ReduceInput {
  featuresBucket: string;
  /** Ledger objects to score, each pinned to its ETag. */
  objects: InferenceObject[];
  /** Category feature whose value travels with each row (per-segment fallback scores). */
  segmentFeature: string;
  maxLineBytes?: number;
  partBytes?: number;
  /**
   * Most rows in one transform input part: bigger objects are split, smaller ones of one day coalesced.
   * @default DEFAULT_TARGET_ROWS_PER_PART
   */
  targetRowsPerPart?: number;
  /** Objects with at most this many valid rows are coalesced. @default - a quarter of targetRowsPerPart */
  coalesceRows?: number;
}

/** Write the reports, the manifest, `parts.json` and `load-items.json`; returns their URIs and the drift. */
async function writeOutputs(
  input: ReduceInput,
  merged: MergedPrepare,
  report: ValidationReport,
  reference: DatasetStats,
  rowsUsed: number,
): Promise<
  Pick<
    PrepareInferenceDataResult,
    'validationReportUri' | 'statsUri' | 'inputPrefixUri' | 'manifestUri' | 'partsUri' | 'loadItemsKey' | 'drift'
  >
> {
  const { s3, spec, artifactsBucket, runId } = input;
  const { parts, quarantinedObjects } = merged;
  const inferenceStats = merged.stats.finish();
  const drift = inferenceStats.rows > 0 ? featureDrift(reference, inferenceStats) : {};
  const validationReportUri = await putJson(s3, artifactsBucket, reportKeys(runId).validation, report);
  const statsUri = await putJson(s3, artifactsBucket, reportKeys(runId).stats, {
    ...inferenceStats,
    drift,
    driftReference: { specRunId: spec.runId, rows: reference.rows },
  });
  const inputPrefixUri = s3Uri(artifactsBucket, batchKeys(runId).inputPrefix);
  const manifestUri = await putJson(s3, artifactsBucket, batchKeys(runId).manifest, [
    { prefix: inputPrefixUri },
    ...parts.map((p) => p.part),
  ]);
  const partsUri = await putJson(s3, artifactsBucket, batchKeys(runId).parts, {
    runId,
    parts,
    rowsIn: report.rowsIn,
    rowsUsed,
    rowsQuarantined: report.rowsQuarantined,
    expectedRows: rowsUsed,
    quarantinedObjects,
  });
  // What the LoadScores Distributed Map iterates (ItemReader): per part only what the loader needs.
  const loadItemsKey = batchKeys(runId).loadItems;
  await putJson(
    s3,
    artifactsBucket,
    loadItemsKey,
    parts.map(({ part, asOf, rows }) => ({ part, asOf, rows })),
  );
  return { validationReportUri, statsUri, inputPrefixUri, manifestUri, partsUri, loadItemsKey, drift };
}

/**
 * The reducer: build the run's validation report from the merged partials, check the counts, apply
 * `maxInvalidRowRatio` (ValidationError after writing the report: a data-quality stop, the ledger stays untouched),
 * and write the outputs. When no object has a usable row the result has no parts, `expectedRows` 0 and every object
 * in `quarantinedObjects` (the state machine then skips the transform and CommitLedger marks them QUARANTINED).
 */
export async function reducePrepared(input: ReduceInput, merged: MergedPrepare): Promise<PrepareInferenceDataResult> {
  const { s3, spec, artifactsBucket, runId } = input;
  const contract = spec.contract;
  const reference = input.trainingStats ?? spec.trainingStats;
  const { parts, quarantinedObjects } = merged;
  const report = buildReport(contract, 'inference', merged.files, merged.violations, input.maxInvalidRowRatio);
  const rowsUsed = parts.reduce((n, p) => n + p.rows, 0);
  if (rowsUsed !== report.rowsValid) {
    throw new IntegrityError(`PrepareInferenceData: parts hold ${rowsUsed} rows but ${report.rowsValid} were valid`);
  }
  assertRowBalance('PrepareInferenceData', {
    rowsIn: report.rowsIn,
    rowsUsed,
    rowsQuarantined: report.rowsQuarantined,
  });
  if (report.invalidRowRatio > input.maxInvalidRowRatio) {
    await failValidation(
      s3,
      artifactsBucket,
      reportKeys(runId).validation,
      report,
      `Invalid row ratio ${report.invalidRowRatio.toFixed(4)} exceeds maxInvalidRowRatio ${input.maxInvalidRowRatio}`,
    );
  }
  if (parts.length === 0) {
    // Every object was rejected at file level or had no valid row (within the row budget): not a data-quality stop
    // but nothing to transform. The objects are returned as quarantined (CommitLedger marks them QUARANTINED with
    // the report as reason), so one bad file cannot block every later run; the manifest lists no part.
    input.logger?.warn('Nothing to score: every object was quarantined', {
      runId,
      objects: quarantinedObjects.length,
      quarantined: quarantinedObjects.slice(0, 20),
    });
  }
  const out = await writeOutputs(input, merged, report, reference, rowsUsed);
  return {
    runId,
    contractVersion: contract.version,
    specRunId: spec.runId,
    ...out,
    parts,
    rowsIn: report.rowsIn,
    rowsUsed,
    rowsQuarantined: report.rowsQuarantined,
    expectedRows: rowsUsed,
    quarantinedObjects,
  };
}

/**
 * A whole run prepared in this process: one prepare task over every object (no slices, parts `part-NNNNN.csv`), then
 * the reducer. Same results as the fan-out (PlanPrepare → PrepareSlice × N → PrepareInferenceData); the state machine
 * uses the fan-out, this serves tests, the benchmark's reference and small tools.
 *
 * An object without a `dt=` partition or failing the file-level checks is copied whole to quarantine and listed in
 * `quarantinedObjects`; ConflictError when an object's ETag differs from the ledger's (it is quarantined as rewritten:
 * the next run picks up the new version); see {@link reducePrepared} for the rest.
 */
export async function prepareInferenceData(input: PrepareInferenceDataInput): Promise<PrepareInferenceDataResult> {
  if (input.objects.length === 0) throw new ValidationError('PrepareInferenceData: no objects to score');
  segmentIndex(input.spec.contract, input.segmentFeature);
  const reference = input.trainingStats ?? input.spec.trainingStats;
  const partial = await prepareSlice({
    ...input,
    reference,
    task: { task: 0, objects: input.objects.map((o) => ({ ...o, size: 0 })), slice: 0, slices: 1, bytes: 0 },
    targetRowsPerPart: input.targetRowsPerPart ?? DEFAULT_TARGET_ROWS_PER_PART,
    partName: (n) => partName(n),
  });
  const merged = mergePartials([partial], input.spec.contract, reference, input.maxReportedViolations);
  return reducePrepared(input, merged);
}
