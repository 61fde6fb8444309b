import type { S3Client } from '@aws-sdk/client-s3';
import { IntegrityError, NotFoundError, ValidationError } from '../../../contracts/errors';
import {
  quarantinePrefix,
  reportKeys,
  s3Uri,
  TRAINING_PREFIX,
  trainingKeys as trainingKeyLayout,
  trainShardKey,
} from '../../../contracts/s3-layout';
import type { FeatureContract } from '../../data/contract';
import { openS3Object } from '../../data/csv';
import { buildPreprocessingSpec, encodedWidth, encodeInto, type PreprocessingSpec } from '../../data/encoder';
import { dataWindow, listTrainingKeys } from '../../data/listing';
import { assertRowBalance, poisonReason, QuarantineWriter, quarantineRow } from '../../data/quarantine';
import { planShards, ShardedLineWriter, type ShardPlan } from '../../data/shards';
import { isValidationEntity } from '../../data/split';
import { type DatasetStats, edgesOf, StatsAccumulator, summarize } from '../../data/stats';
import type { TrainingDataResult } from '../../data/training-encode';
import {
  buildReport,
  type FileReport,
  failValidation,
  type ValidationReport,
  ViolationLog,
} from '../../data/validation-report';
import { validateCsvStream } from '../../data/validator';
import type { StepLogger } from '../../platform/logger';
import { putJson, S3LineWriter } from '../../platform/s3';

/**
 * PrepareTrainingData's work in one invocation: both passes over every object. The state machine runs it fanned out
 * (lambdas/data/training-profile.ts, training-encode.ts; the handler here is its last step); this path is the
 * reference the fan-out is tested and benchmarked against (test/integration/training-fanout.test.ts, bench B6) and
 * what the fault tests' in-process pipeline prepares with. Streams every object (constant memory apart from the per-file duplicate-id set),
 * quarantines rejected rows, keeps rows in = rows used + rows quarantined (asserted), writes its reports to S3 and
 * returns a small summary (everything large is in S3, far below the Step Functions payload limit).
 *
 * S3 keys (artifacts bucket, contracts/s3-layout.ts): `training/<runId>/train/part-<n>.csv` (the shards, see
 * lambdas/data/shards.ts), `training/<runId>/validation/part-00001.csv`, `training/<runId>/preprocessing.json`,
 * `reports/<runId>/{validation,stats}.json`, `quarantine/<runId>/<source key>`.
 */

export interface PrepareTrainingDataInput {
  s3: S3Client;
  contract: FeatureContract;
  /** Features bucket. */
  bucket: string;
  artifactsBucket: string;
  /** Explicit object keys; when absent, every `.csv` under `prefix` (within `window`) is used. */
  keys?: string[];
  /** @default 'training/' */
  prefix?: string;
  /** Inclusive `dt=` date range (YYYY-MM-DD) applied to listed keys. */
  window?: { from?: string; to?: string };
  runId: string;
  validationShare: number;
  maxInvalidRowRatio: number;
  maxReportedViolations: number;
  /** Instances of the training job: the train channel is written as a multiple of this many shards. @default 1 */
  instanceCount?: number;
  /** Most rows in one train shard (lambdas/data/shards.ts). @default 1 000 000 */
  maxRowsPerShard?: number;
  maxLineBytes?: number;
  /** Multipart part size of the written CSVs (tests use the 5 MiB minimum). */
  partBytes?: number;
  logger?: StepLogger;
}

/** The step's result: the same shape as the fanned-out path's (lambdas/data/training-encode.ts). */
export type PrepareTrainingDataResult = TrainingDataResult;

/** The objects to read: the explicit keys, or every `.csv` listed under the prefix (within the window). */
async function trainingKeys(input: PrepareTrainingDataInput): Promise<string[]> {
  const { s3, bucket } = input;
  const prefix = input.prefix ?? TRAINING_PREFIX;
  let keys: string[];
  if (input.keys && input.keys.length > 0) keys = [...input.keys];
  else {
    const listed = await listTrainingKeys(s3, bucket, prefix, input.window);
    if (listed.skipped.length > 0)
      input.logger?.warn('Objects skipped (not .csv, or no dt= partition with a window)', {
        skipped: listed.skipped.slice(0, 20),
      });
    keys = listed.keys;
  }
  if (keys.length === 0) {
    const w = input.window ? ` in window ${input.window.from ?? '…'}..${input.window.to ?? '…'}` : '';
    throw new NotFoundError(`No training data: no .csv objects under ${s3Uri(bucket, prefix)}${w}`);
  }
  return keys;
}

/** Rows per train shard when the caller gives none (about 100–150 MB of encoded CSV at 15 columns). */
export const DEFAULT_MAX_ROWS_PER_SHARD = 1_000_000;

interface FirstPass {
  /** The objects read to the end (an object that cannot be read for good is left out: see validatePass). */
  readonly keys: string[];
  readonly files: FileReport[];
  /** ETag of each object as pass 1 read it; pass 2 is pinned to it. */
  readonly etags: (string | undefined)[];
  /** Version id of each object as pass 1 read it (versioned buckets only). */
  readonly versionIds: (string | undefined)[];
  readonly report: ValidationReport;
  readonly stats: DatasetStats;
  /** Valid rows the entity-id split sends to training (pass 2 writes exactly these, planned into shards). */
  readonly trainRows: number;
}

/**
 * Pass 1: validate, quarantine, profile. Fails (after writing the report) when a file breaks its file-level checks
 * or the invalid-row ratio is over the limit.
 */
async function validatePass(input: PrepareTrainingDataInput, keys: readonly string[]): Promise<FirstPass> {
  const { s3, contract, bucket, artifactsBucket, runId } = input;
  const violations = new ViolationLog(input.maxReportedViolations);
  const files: FileReport[] = [];
  const etags: (string | undefined)[] = [];
  const versionIds: (string | undefined)[] = [];
  const stats = new StatsAccumulator(contract);
  const kept: string[] = [];
  let trainRows = 0;
  for (const key of keys) {
    const q = new QuarantineWriter(s3, artifactsBucket, runId, key, input.partBytes);
    const listed = violations.listed.length;
    let fileTrainRows = 0;
    try {
      const obj = await openS3Object(s3, bucket, key);
      const report = await validateCsvStream(obj.body, {
        contract,
        mode: 'training',
        file: key,
        log: violations,
        maxLineBytes: input.maxLineBytes,
        onHeader: (h) => q.setHeader(h),
        onValid: (row) => {
          stats.add(row);
          if (!isValidationEntity(row.entityId, input.validationShare)) fileTrainRows += 1;
        },
        onRejected: (row) => quarantineRow(q, row),
      });
      await q.close();
      files.push(report);
      etags.push(obj.etag);
      versionIds.push(obj.versionId);
      kept.push(key);
      trainRows += fileTrainRows;
      input.logger?.info('Validated training object', {
        key,
        rowsIn: report.rowsIn,
        rowsQuarantined: report.rowsQuarantined,
        status: report.status,
      });
    } catch (err) {
      await q.abort();
      // Deleted after it was listed, or unreadable for good: left out of this run (its partial statistics are too
      // small to matter and its violations are dropped), the run goes on with the rest.
      const poison = poisonReason(err);
      if (!poison) throw err;
      violations.listed.splice(listed);
      input.logger?.warn('Training object left out: it cannot be read', {
        key,
        rule: poison.rule,
        reason: poison.message,
      });
    }
  }
  if (kept.length === 0)
    throw new NotFoundError(`No readable training data: none of the ${keys.length} object(s) could be read`);

  const report = buildReport(contract, 'training', files, violations, input.maxInvalidRowRatio);
  assertRowBalance('PrepareTrainingData (validation)', {
    rowsIn: report.rowsIn,
    rowsUsed: report.rowsValid,
    rowsQuarantined: report.rowsQuarantined,
  });
  const reportKey = reportKeys(runId).validation;
  const failedFiles = files.filter((f) => f.status === 'failed');
  if (failedFiles.length > 0) {
    await failValidation(
      s3,
      artifactsBucket,
      reportKey,
      report,
      `Training data breaks the contract ${contract.name} ${contract.version} in ${failedFiles.length} file(s): ${failedFiles
        .slice(0, 5)
        .map((f) => `${f.file} (${f.fileViolations.map((v) => v.rule).join(', ')})`)
        .join(', ')}`,
    );
  }
  if (report.invalidRowRatio > input.maxInvalidRowRatio) {
    await failValidation(
      s3,
      artifactsBucket,
      reportKey,
      report,
      `Invalid row ratio ${report.invalidRowRatio.toFixed(4)} exceeds maxInvalidRowRatio ${input.maxInvalidRowRatio}`,
    );
  }
  return { keys: kept, files, etags, versionIds, report, stats: stats.finish(), trainRows };
}

interface SecondPass {
  /** The train shards written, in key order. */
  readonly trainKeys: readonly string[];
  readonly validationKey: string;
  readonly trainRows: number;
  readonly validationRows: number;
  /** Statistics of the encoded rows, counted with pass 1's bin edges (the reference histograms). */
  readonly stats: DatasetStats;
}

/**
 * Pass 2: re-read each object pinned to the ETag seen in pass 1, encode the valid rows with `spec` and write the
 * train shards (`plan`) and the validation CSV (label first, no header), split by the hash of the entity id.
 */
async function encodePass(
  input: PrepareTrainingDataInput,
  keys: readonly string[],
  first: FirstPass,
  spec: PreprocessingSpec,
  plan: ShardPlan,
): Promise<SecondPass> {
  const { s3, contract, bucket, artifactsBucket, runId } = input;
  const width = encodedWidth(spec);
  const encoded = new Float64Array(width);
  const stats = new StatsAccumulator(contract, { edges: edgesOf(first.stats) });
  const validationKey = trainingKeyLayout(runId).validation;
  const csv = { contentType: 'text/csv', partBytes: input.partBytes };
  const train = new ShardedLineWriter(s3, artifactsBucket, (n) => trainShardKey(runId, n), plan, csv);
  const validation = new S3LineWriter(s3, artifactsBucket, validationKey, csv);
  let trainRows = 0;
  let validationRows = 0;
  let trainKeys: readonly string[];
  try {
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const obj = await openS3Object(s3, bucket, key, first.etags[i]).catch((err: unknown) => {
        throw new IntegrityError(`${key} changed or vanished between the two passes: ${(err as Error).message}`, {
          cause: err,
        });
      });
      let used = 0;
      const second = await validateCsvStream(obj.body, {
        contract,
        mode: 'training',
        file: key,
        log: new ViolationLog(0),
        maxLineBytes: input.maxLineBytes,
        onValid: (row) => {
          stats.add(row);
          encodeInto(spec, row.values, encoded, 0);
          let line = String(row.label);
          for (let j = 0; j < width; j++) line += `,${encoded[j]}`;
          line += '\n';
          used += 1;
          if (isValidationEntity(row.entityId, input.validationShare)) {
            validationRows += 1;
            if (validation.write(line)) return validation.flush();
          } else {
            trainRows += 1;
            return train.write(line);
          }
          return undefined;
        },
      });
      const f = first.files[i]!;
      if (second.rowsValid !== f.rowsValid || used !== f.rowsValid || second.rowsIn !== f.rowsIn) {
        throw new IntegrityError(
          `${key}: pass 2 saw ${second.rowsIn} rows (${second.rowsValid} valid), pass 1 ${f.rowsIn} (${f.rowsValid} valid)`,
        );
      }
    }
    if (trainRows !== first.trainRows) {
      throw new IntegrityError(`pass 2 sent ${trainRows} rows to training, pass 1 counted ${first.trainRows}`);
    }
    trainKeys = await train.close();
    await validation.close();
  } catch (err) {
    await Promise.all([train.abort(), validation.abort()]);
    throw err;
  }
  return { trainKeys, validationKey, trainRows, validationRows, stats: stats.finish() };
}

/**
 * Validate, quarantine, profile and encode the training data in two streaming passes over S3: pass 1 validates
 * (report, quarantine, statistics, bin edges); pass 2 encodes the valid rows with the spec built from pass 1 and
 * writes the train/validation sets, counting the reference histograms.
 *
 * Throws ValidationError (after writing `reports/<runId>/validation.json`) when a file fails its file-level checks,
 * the invalid-row ratio exceeds `maxInvalidRowRatio`, or a split ends up empty; NotFoundError when there is no data;
 * IntegrityError when counts disagree (including an object changing between the passes).
 */
export async function prepareTrainingData(input: PrepareTrainingDataInput): Promise<PrepareTrainingDataResult> {
  const { s3, contract, artifactsBucket, runId } = input;
  if (!(input.validationShare > 0 && input.validationShare < 1)) {
    throw new ValidationError(`validationShare must be in (0, 1), got ${input.validationShare}`);
  }
  const listed = await trainingKeys(input);
  const first = await validatePass(input, listed);
  const keys = first.keys;
  const { report } = first;
  const splitValidation = report.rowsValid - first.trainRows;
  if (first.trainRows === 0 || splitValidation === 0) {
    throw new ValidationError(
      `The split by entity id left ${first.trainRows} training and ${splitValidation} validation rows (validationShare ${input.validationShare}); both need rows`,
    );
  }
  const plan = planShards(
    first.trainRows,
    input.instanceCount ?? 1,
    input.maxRowsPerShard ?? DEFAULT_MAX_ROWS_PER_SHARD,
  );
  const encodeSpec = buildPreprocessingSpec(contract, first.stats, runId);
  const second = await encodePass(input, keys, first, encodeSpec, plan);
  const { trainRows, validationRows } = second;

  const rowsUsed = trainRows + validationRows;
  if (rowsUsed !== report.rowsValid) {
    throw new IntegrityError(`PrepareTrainingData: wrote ${rowsUsed} rows but ${report.rowsValid} were valid`);
  }
  assertRowBalance('PrepareTrainingData', { rowsIn: report.rowsIn, rowsUsed, rowsQuarantined: report.rowsQuarantined });

  const stats = second.stats;
  const spec: PreprocessingSpec = { ...encodeSpec, trainingStats: stats };
  const preprocessingUri = await putJson(s3, artifactsBucket, trainingKeyLayout(runId).preprocessing, spec);
  const statsUri = await putJson(s3, artifactsBucket, reportKeys(runId).stats, stats);
  const validationReportUri = await putJson(s3, artifactsBucket, reportKeys(runId).validation, report);
  // Lineage: exactly the object versions pass 2 encoded (it is pinned to pass 1's ETags).
  const trainingObjects = keys.map((key, i) => ({
    key,
    ...(first.etags[i] ? { etag: first.etags[i] } : {}),
    ...(first.versionIds[i] ? { versionId: first.versionIds[i] } : {}),
  }));
  const lineageUri = await putJson(s3, artifactsBucket, reportKeys(runId).lineage, {
    runId,
    bucket: input.bucket,
    contractVersion: contract.version,
    trainingObjects,
  });

  return {
    runId,
    contractVersion: contract.version,
    files: keys.length,
    dataWindow:
      input.window?.from || input.window?.to
        ? { from: input.window.from ?? dataWindow(keys).from, to: input.window.to ?? dataWindow(keys).to }
        : dataWindow(keys),
    rowsIn: report.rowsIn,
    rowsUsed,
    rowsQuarantined: report.rowsQuarantined,
    trainRows,
    validationRows,
    featureCount: encodedWidth(encodeSpec),
    trainUri: s3Uri(artifactsBucket, second.trainKeys[0]!),
    trainShards: second.trainKeys.length,
    validationUri: s3Uri(artifactsBucket, second.validationKey),
    trainPrefixUri: s3Uri(artifactsBucket, trainingKeyLayout(runId).trainPrefix),
    validationPrefixUri: s3Uri(artifactsBucket, trainingKeyLayout(runId).validationPrefix),
    preprocessingUri,
    statsUri,
    validationReportUri,
    quarantinePrefixUri: s3Uri(artifactsBucket, quarantinePrefix(runId)),
    featureStats: summarize(stats),
    lineageUri,
    trainingObjects,
  };
}
