import {
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DependencyError, IntegrityError, NotFoundError, ValidationError } from '../../contracts/errors';
import {
  batchKeys,
  parseS3Uri,
  partitionDate,
  partName,
  quarantinePrefix,
  reportKeys,
  s3Uri,
  TRAINING_PREFIX,
  trainingKeys,
} from '../../contracts/s3-layout';
import { putJson, S3LineWriter } from '../platform/s3';
import type { FeatureContract } from './contract';
import { csvField, openS3Object } from './csv';
import {
  buildPreprocessingSpec,
  encodedWidth,
  encodeInto,
  loadPreprocessingSpec,
  type PreprocessingSpec,
} from './encoder';
import { assertRowBalance, QuarantineWriter, quarantineObject } from './quarantine';
import { isValidationEntity } from './split';
import { type DatasetStats, edgesOf, type FeatureSummary, featureDrift, StatsAccumulator, summarize } from './stats';
import {
  buildReport,
  type FileReport,
  type RejectedRow,
  summarizeReport,
  type ValidationReport,
  ViolationLog,
  validateCsvStream,
} from './validator';

/**
 * High-level data steps used by the thin `PrepareTrainingData` and `PrepareInferenceData` handlers.
 * Both stream every object (constant memory apart from the per-file duplicate-id set), quarantine rejected rows,
 * keep rows in = rows used + rows quarantined (asserted), write their reports to S3 and return a small summary
 * (well under the 256 KB Step Functions payload limit; everything large is in S3).
 *
 * S3 keys (artifacts bucket): contracts/s3-layout.ts (`trainingKeys`, `reportKeys`, `quarantineKey`, `batchKeys`).
 */

export interface StepLogger {
  info(message: string, ...extra: unknown[]): void;
  warn(message: string, ...extra: unknown[]): void;
}

async function readText(s3: S3Client, bucket: string, key: string): Promise<string> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!res.Body) throw new Error('no body');
    return await res.Body.transformToString('utf8');
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'NoSuchKey' || name === 'NotFound') {
      throw new NotFoundError(`${s3Uri(bucket, key)} does not exist`, { cause: err });
    }
    throw new DependencyError(`Reading ${s3Uri(bucket, key)} failed: ${(err as Error).message}`, { cause: err });
  }
}

/** Load and validate a preprocessing spec stored in S3 (the Production model's, for inference). */
export async function readPreprocessingSpec(s3: S3Client, uri: string): Promise<PreprocessingSpec> {
  const { bucket, key } = parseS3Uri(uri);
  return loadPreprocessingSpec(await readText(s3, bucket, key), uri);
}

/** Keys of training CSVs under `prefix`, sorted, optionally limited to `dt=` partitions within `window` (inclusive). */
export async function listTrainingKeys(
  s3: S3Client,
  bucket: string,
  prefix: string,
  window?: { from?: string; to?: string },
): Promise<{ keys: string[]; skipped: string[] }> {
  const keys: string[] = [];
  const skipped: string[] = [];
  let token: string | undefined;
  do {
    let res: ListObjectsV2CommandOutput;
    try {
      res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    } catch (err) {
      throw new DependencyError(`Listing ${s3Uri(bucket, prefix)} failed: ${(err as Error).message}`, { cause: err });
    }
    for (const o of res.Contents ?? []) {
      const key = o.Key;
      if (!key || key.endsWith('/')) continue;
      if (!key.toLowerCase().endsWith('.csv')) {
        skipped.push(key);
        continue;
      }
      if (window?.from || window?.to) {
        const dt = partitionDate(key);
        if (!dt || (window.from && dt < window.from) || (window.to && dt > window.to)) {
          if (!dt) skipped.push(key);
          continue;
        }
      }
      keys.push(key);
    }
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  keys.sort();
  return { keys, skipped };
}

function dataWindow(keys: readonly string[]): { from: string | null; to: string | null } {
  let from: string | null = null;
  let to: string | null = null;
  for (const k of keys) {
    const dt = partitionDate(k);
    if (!dt) continue;
    if (from === null || dt < from) from = dt;
    if (to === null || dt > to) to = dt;
  }
  return { from, to };
}

async function quarantineRow(q: QuarantineWriter, row: RejectedRow): Promise<void> {
  if (q.add(row)) await q.flush();
}

/** Write the report, then throw a ValidationError carrying a compact summary and the report's URI. */
async function failValidation(
  s3: S3Client,
  bucket: string,
  reportKey: string,
  report: ValidationReport,
  failure: string,
): Promise<never> {
  report.status = 'failed';
  report.failure = failure;
  const uri = await putJson(s3, bucket, reportKey, report);
  throw new ValidationError(`${failure}. ${summarizeReport(report)}. Full report: ${uri}`, {
    validationReportUri: uri,
    rowsIn: report.rowsIn,
    rowsValid: report.rowsValid,
    rowsQuarantined: report.rowsQuarantined,
    countsByRule: report.countsByRule,
    violations: report.violations.slice(0, 10),
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// Training

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
  maxLineBytes?: number;
  /** Multipart part size of the written CSVs (tests use the 5 MiB minimum). */
  partBytes?: number;
  logger?: StepLogger;
}

export interface PrepareTrainingDataResult {
  runId: string;
  contractVersion: string;
  files: number;
  dataWindow: { from: string | null; to: string | null };
  rowsIn: number;
  rowsUsed: number;
  rowsQuarantined: number;
  trainRows: number;
  validationRows: number;
  /** Number of encoded feature columns (label excluded). */
  featureCount: number;
  trainUri: string;
  validationUri: string;
  /** Channel prefixes for CreateTrainingJob (S3Prefix data sources). */
  trainPrefixUri: string;
  validationPrefixUri: string;
  preprocessingUri: string;
  statsUri: string;
  validationReportUri: string;
  /** Prefix holding the quarantined rows of this run (objects exist only for files with rejected rows). */
  quarantinePrefixUri: string;
  featureStats: Record<string, FeatureSummary>;
}

/**
 * Validate, quarantine, profile and encode the training data in two streaming passes over S3:
 * pass 1 validates (report, quarantine, statistics, bin edges), pass 2 re-reads each object pinned to the ETag seen in
 * pass 1, encodes the valid rows with the spec built from pass 1 and writes train/validation CSVs (label first, no
 * header) split by the hash of the entity id, counting the reference histograms.
 *
 * Throws ValidationError (after writing `reports/<runId>/validation.json`) when a file fails its file-level checks,
 * the invalid-row ratio exceeds `maxInvalidRowRatio`, or a split ends up empty; NotFoundError when there is no data;
 * IntegrityError when counts disagree (including an object changing between the passes).
 */
export async function prepareTrainingData(input: PrepareTrainingDataInput): Promise<PrepareTrainingDataResult> {
  const { s3, contract, bucket, artifactsBucket, runId } = input;
  const log = input.logger;
  if (!(input.validationShare > 0 && input.validationShare < 1)) {
    throw new ValidationError(`validationShare must be in (0, 1), got ${input.validationShare}`);
  }
  const prefix = input.prefix ?? TRAINING_PREFIX;
  let keys: string[];
  if (input.keys && input.keys.length > 0) keys = [...input.keys];
  else {
    const listed = await listTrainingKeys(s3, bucket, prefix, input.window);
    if (listed.skipped.length > 0)
      log?.warn('Objects skipped (not .csv, or no dt= partition with a window)', {
        skipped: listed.skipped.slice(0, 20),
      });
    keys = listed.keys;
  }
  if (keys.length === 0) {
    const w = input.window ? ` in window ${input.window.from ?? '…'}..${input.window.to ?? '…'}` : '';
    throw new NotFoundError(`No training data: no .csv objects under ${s3Uri(bucket, prefix)}${w}`);
  }

  const reportKey = reportKeys(runId).validation;
  const violations = new ViolationLog(input.maxReportedViolations);
  const files: FileReport[] = [];
  const etags: (string | undefined)[] = [];
  const stats1 = new StatsAccumulator(contract);

  // Pass 1: validate, quarantine, profile.
  for (const key of keys) {
    const obj = await openS3Object(s3, bucket, key);
    etags.push(obj.etag);
    const q = new QuarantineWriter(s3, artifactsBucket, runId, key, input.partBytes);
    try {
      const report = await validateCsvStream(obj.body, {
        contract,
        mode: 'training',
        file: key,
        log: violations,
        maxLineBytes: input.maxLineBytes,
        onHeader: (h) => q.setHeader(h),
        onValid: (row) => stats1.add(row),
        onRejected: (row) => quarantineRow(q, row),
      });
      await q.close();
      files.push(report);
      log?.info('Validated training object', {
        key,
        rowsIn: report.rowsIn,
        rowsQuarantined: report.rowsQuarantined,
        status: report.status,
      });
    } catch (err) {
      await q.abort();
      throw err;
    }
  }

  const report = buildReport(contract, 'training', files, violations, input.maxInvalidRowRatio);
  assertRowBalance('PrepareTrainingData (validation)', {
    rowsIn: report.rowsIn,
    rowsUsed: report.rowsValid,
    rowsQuarantined: report.rowsQuarantined,
  });
  const failedFiles = files.filter((f) => f.status === 'failed');
  if (failedFiles.length > 0) {
    await failValidation(
      s3,
      artifactsBucket,
      reportKey,
      report,
      `Training data breaks the contract ${contract.name} ${contract.version} in ${failedFiles.length} file(s): ${failedFiles
        .slice(0, 5)
        .map((f) => `${f.file} (${f.fileViolations.map((v) => v.message).join('; ')})`)
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

  // Pass 2: encode and split with the spec from pass 1; count reference histograms on the same rows.
  const firstStats = stats1.finish();
  const encodeSpec = buildPreprocessingSpec(contract, firstStats, runId);
  const width = encodedWidth(encodeSpec);
  const encoded = new Float64Array(width);
  const stats2 = new StatsAccumulator(contract, { edges: edgesOf(firstStats) });
  const out = trainingKeys(runId);
  const trainKey = out.train;
  const validationKey = out.validation;
  const train = new S3LineWriter(s3, artifactsBucket, trainKey, {
    contentType: 'text/csv',
    partBytes: input.partBytes,
  });
  const validation = new S3LineWriter(s3, artifactsBucket, validationKey, {
    contentType: 'text/csv',
    partBytes: input.partBytes,
  });
  let trainRows = 0;
  let validationRows = 0;
  try {
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const obj = await openS3Object(s3, bucket, key, etags[i]).catch((err: unknown) => {
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
          stats2.add(row);
          encodeInto(encodeSpec, row.values, encoded, 0);
          let line = String(row.label);
          for (let j = 0; j < width; j++) line += `,${encoded[j]}`;
          line += '\n';
          used += 1;
          if (isValidationEntity(row.entityId, input.validationShare)) {
            validationRows += 1;
            if (validation.write(line)) return validation.flush();
          } else {
            trainRows += 1;
            if (train.write(line)) return train.flush();
          }
          return undefined;
        },
      });
      const first = files[i]!;
      if (second.rowsValid !== first.rowsValid || used !== first.rowsValid || second.rowsIn !== first.rowsIn) {
        throw new IntegrityError(
          `${key}: pass 2 saw ${second.rowsIn} rows (${second.rowsValid} valid), pass 1 ${first.rowsIn} (${first.rowsValid} valid)`,
        );
      }
    }
    if (trainRows === 0 || validationRows === 0) {
      throw new ValidationError(
        `The split by entity id left ${trainRows} training and ${validationRows} validation rows (validationShare ${input.validationShare}); both need rows`,
      );
    }
    await train.close();
    await validation.close();
  } catch (err) {
    await Promise.all([train.abort(), validation.abort()]);
    throw err;
  }

  const rowsUsed = trainRows + validationRows;
  if (rowsUsed !== report.rowsValid) {
    throw new IntegrityError(`PrepareTrainingData: wrote ${rowsUsed} rows but ${report.rowsValid} were valid`);
  }
  assertRowBalance('PrepareTrainingData', { rowsIn: report.rowsIn, rowsUsed, rowsQuarantined: report.rowsQuarantined });

  const stats = stats2.finish();
  const spec: PreprocessingSpec = { ...encodeSpec, trainingStats: stats };
  const preprocessingUri = await putJson(s3, artifactsBucket, out.preprocessing, spec);
  const statsUri = await putJson(s3, artifactsBucket, reportKeys(runId).stats, stats);
  const validationReportUri = await putJson(s3, artifactsBucket, reportKey, report);

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
    featureCount: width,
    trainUri: s3Uri(artifactsBucket, trainKey),
    validationUri: s3Uri(artifactsBucket, validationKey),
    trainPrefixUri: s3Uri(artifactsBucket, out.trainPrefix),
    validationPrefixUri: s3Uri(artifactsBucket, out.validationPrefix),
    preprocessingUri,
    statsUri,
    validationReportUri,
    quarantinePrefixUri: s3Uri(artifactsBucket, quarantinePrefix(runId)),
    featureStats: summarize(stats),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Inference

export interface InferenceObject {
  key: string;
  etag: string;
}

export interface PrepareInferenceDataInput {
  s3: S3Client;
  /** The Production model's preprocessing spec (its embedded contract is what rows are validated against). */
  spec: PreprocessingSpec;
  featuresBucket: string;
  artifactsBucket: string;
  /** Ledger objects to score, each pinned to its ETag. */
  objects: InferenceObject[];
  runId: string;
  /** Category feature whose value travels with each row (per-segment fallback scores). */
  segmentFeature: string;
  /** Reference statistics for drift. @default spec.trainingStats */
  trainingStats?: DatasetStats;
  maxInvalidRowRatio: number;
  maxReportedViolations: number;
  maxLineBytes?: number;
  partBytes?: number;
  logger?: StepLogger;
}

export interface InferencePart {
  /** File name inside `batch/<runId>/input/`, e.g. `part-00001.csv`; the transform writes `<part>.out`. */
  part: string;
  sourceKey: string;
  sourceEtag: string;
  asOf: string;
  rows: number;
}

export interface PrepareInferenceDataResult {
  runId: string;
  contractVersion: string;
  /** Training run whose preprocessing spec encoded the rows. */
  specRunId: string;
  manifestUri: string;
  partsUri: string;
  inputPrefixUri: string;
  parts: InferencePart[];
  rowsIn: number;
  rowsUsed: number;
  rowsQuarantined: number;
  /** Rows sent to the transform (= rowsUsed = Σ parts[].rows). */
  expectedRows: number;
  /** Keys of objects none of whose rows are used (file-level failure, or every row rejected): ledger → QUARANTINED. */
  quarantinedObjects: string[];
  validationReportUri: string;
  statsUri: string;
  /** PSI per feature against the training statistics. */
  drift: Record<string, number>;
}

/**
 * Validate each ledger object against the Production model's contract, quarantine rejected rows, encode the rest with
 * the model's spec into one transform input part per object (`<entity>,<segment>,<encoded…>`, no header), write the
 * SageMaker manifest and `parts.json`, and compute drift (PSI per feature) against the training statistics.
 *
 * An object without a `dt=` partition or failing the file-level checks is copied whole to quarantine and listed in
 * `quarantinedObjects` (the run goes on with the others). When no object has a usable row, the result has no parts,
 * `expectedRows` 0 and every object in `quarantinedObjects` (the state machine then skips the transform and
 * CommitLedger marks them QUARANTINED). Throws ValidationError (after writing the report) when the invalid-row ratio
 * over the readable objects exceeds `maxInvalidRowRatio` (a data-quality stop: the ledger stays untouched);
 * ConflictError when an object's ETag differs from the ledger's (the next run picks up the new version).
 */
export async function prepareInferenceData(input: PrepareInferenceDataInput): Promise<PrepareInferenceDataResult> {
  const { s3, spec, featuresBucket, artifactsBucket, runId } = input;
  const contract = spec.contract;
  const log = input.logger;
  if (input.objects.length === 0) throw new ValidationError('PrepareInferenceData: no objects to score');
  const segmentIdx = contract.features.findIndex((f) => f.name === input.segmentFeature);
  const segment = contract.features[segmentIdx];
  if (segment?.type !== 'category') {
    throw new ValidationError(
      `Segment feature "${input.segmentFeature}" must be a category feature of contract ${contract.name} ${contract.version} (categories: ${contract.features
        .filter((f) => f.type === 'category')
        .map((f) => f.name)
        .join(', ')})`,
    );
  }
  const reference = input.trainingStats ?? spec.trainingStats;
  const reportKey = reportKeys(runId).validation;
  const batch = batchKeys(runId);
  const inputPrefix = batch.inputPrefix;
  const width = encodedWidth(spec);
  const encoded = new Float64Array(width);
  const violations = new ViolationLog(input.maxReportedViolations);
  const stats = new StatsAccumulator(contract, { edges: edgesOf(reference) });
  const files: FileReport[] = [];
  const parts: InferencePart[] = [];
  const quarantinedObjects: string[] = [];

  for (const object of input.objects) {
    const { key, etag } = object;
    const asOf = partitionDate(key);
    if (!asOf) {
      const report: FileReport = {
        file: key,
        status: 'failed',
        fileViolations: [
          {
            file: key,
            line: 0,
            column: null,
            rule: 'missing_partition_date',
            value: key,
            message: 'the key has no dt=YYYY-MM-DD partition, so the rows have no as-of date',
          },
        ],
        header: [],
        rowsIn: 0,
        rowsValid: 0,
        rowsQuarantined: 0,
        countsByRule: { missing_partition_date: 1 },
      };
      violations.add(report.fileViolations[0]!);
      files.push(report);
      await quarantineObject(s3, {
        sourceBucket: featuresBucket,
        sourceKey: key,
        sourceEtag: etag,
        bucket: artifactsBucket,
        runId,
        report,
      });
      quarantinedObjects.push(key);
      log?.warn('Object quarantined: no dt= partition', { key });
      continue;
    }

    const obj = await openS3Object(s3, featuresBucket, key, etag);
    const q = new QuarantineWriter(s3, artifactsBucket, runId, key, input.partBytes);
    const partNo = parts.length + 1;
    let writer: S3LineWriter | undefined;
    try {
      const report = await validateCsvStream(obj.body, {
        contract,
        mode: 'inference',
        file: key,
        log: violations,
        expectedAsOf: asOf,
        maxLineBytes: input.maxLineBytes,
        onHeader: (h) => q.setHeader(h),
        onRejected: (row) => quarantineRow(q, row),
        onValid: (row) => {
          stats.add(row);
          encodeInto(spec, row.values, encoded, 0);
          const seg = row.values[segmentIdx];
          let line = `${csvField(row.entityId)},${seg === null || seg === undefined ? '' : seg}`;
          for (let j = 0; j < width; j++) line += `,${encoded[j]}`;
          line += '\n';
          writer ??= new S3LineWriter(s3, artifactsBucket, `${inputPrefix}${partName(partNo)}`, {
            contentType: 'text/csv',
            partBytes: input.partBytes,
          });
          if (writer.write(line)) return writer.flush();
          return undefined;
        },
      });
      files.push(report);
      await q.close();
      if (report.status === 'failed') {
        await writer?.abort();
        writer = undefined;
        await quarantineObject(s3, {
          sourceBucket: featuresBucket,
          sourceKey: key,
          sourceEtag: etag,
          bucket: artifactsBucket,
          runId,
          report,
        });
        quarantinedObjects.push(key);
        log?.warn('Object quarantined: file-level violations', { key, violations: report.fileViolations });
        continue;
      }
      if (!writer) {
        quarantinedObjects.push(key); // every row rejected: nothing to score, the rows are in quarantine
        log?.warn('Object has no valid rows', { key, rowsIn: report.rowsIn });
        continue;
      }
      const written = await (writer as S3LineWriter).close();
      if (written.lines !== report.rowsValid) {
        throw new IntegrityError(
          `${key}: wrote ${written.lines} rows to ${written.uri} but ${report.rowsValid} were valid`,
        );
      }
      parts.push({ part: partName(partNo), sourceKey: key, sourceEtag: etag, asOf, rows: report.rowsValid });
      log?.info('Prepared inference part', {
        key,
        part: partName(partNo),
        rowsIn: report.rowsIn,
        rows: report.rowsValid,
      });
    } catch (err) {
      await q.abort();
      await (writer as S3LineWriter | undefined)?.abort();
      throw err;
    }
  }

  const report = buildReport(contract, 'inference', files, violations, input.maxInvalidRowRatio);
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
      reportKey,
      report,
      `Invalid row ratio ${report.invalidRowRatio.toFixed(4)} exceeds maxInvalidRowRatio ${input.maxInvalidRowRatio}`,
    );
  }
  if (parts.length === 0) {
    // Every object was rejected at file level or had no valid row (within the row budget): not a data-quality stop
    // but nothing to transform. The objects are returned as quarantined (CommitLedger marks them QUARANTINED with
    // the report as reason), so one bad file cannot block every later run; the manifest lists no part.
    log?.warn('Nothing to score: every object was quarantined', {
      runId,
      objects: quarantinedObjects.length,
      quarantined: quarantinedObjects.slice(0, 20),
    });
  }

  const inferenceStats = stats.finish();
  const drift = inferenceStats.rows > 0 ? featureDrift(reference, inferenceStats) : {};
  const validationReportUri = await putJson(s3, artifactsBucket, reportKey, report);
  const statsUri = await putJson(s3, artifactsBucket, reportKeys(runId).stats, {
    ...inferenceStats,
    drift,
    driftReference: { specRunId: spec.runId, rows: reference.rows },
  });
  const inputPrefixUri = s3Uri(artifactsBucket, inputPrefix);
  const manifestUri = await putJson(s3, artifactsBucket, batch.manifest, [
    { prefix: inputPrefixUri },
    ...parts.map((p) => p.part),
  ]);
  const partsUri = await putJson(s3, artifactsBucket, batch.parts, {
    runId,
    parts,
    rowsIn: report.rowsIn,
    rowsUsed,
    rowsQuarantined: report.rowsQuarantined,
    expectedRows: rowsUsed,
  });

  return {
    runId,
    contractVersion: contract.version,
    specRunId: spec.runId,
    manifestUri,
    partsUri,
    inputPrefixUri,
    parts,
    rowsIn: report.rowsIn,
    rowsUsed,
    rowsQuarantined: report.rowsQuarantined,
    expectedRows: rowsUsed,
    quarantinedObjects,
    validationReportUri,
    statsUri,
    drift,
  };
}
