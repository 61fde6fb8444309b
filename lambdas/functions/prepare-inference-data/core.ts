import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { IntegrityError, ValidationError } from '../../../contracts/errors';
import { batchKeys, partitionDate, partName, reportKeys, resultsPrefix, s3Uri } from '../../../contracts/s3-layout';
import type { PreparedData } from '../../../contracts/states/batch';
import type { FeatureContract } from '../../data/contract';
import { csvField, openS3Object } from '../../data/csv';
import { encodedWidth, encodeInto, type PreprocessingSpec } from '../../data/encoder';
import { EntityIdSet } from '../../data/id-set';
import {
  assertRowBalance,
  poisonReason,
  QuarantineWriter,
  quarantineObject,
  quarantineRow,
} from '../../data/quarantine';
import { type DatasetStats, edgesOf, featureDrift, maxDrift, StatsAccumulator } from '../../data/stats';
import {
  buildReport,
  type FileReport,
  failValidation,
  missingPartitionReport,
  unreadableReport,
  type ValidationReport,
  ViolationLog,
} from '../../data/validation-report';
import { type DayEntities, validateCsvStream } from '../../data/validator';
import type { StepLogger } from '../../platform/logger';
import { putJson } from '../../platform/s3';
import { type InferencePart, type ObjectSink, PartWriter } from './parts';

export type { InferencePart, PartSource } from './parts';

/** Rows per transform input part when the caller gives none (`batch.targetRowsPerPart`'s default). */
export const DEFAULT_TARGET_ROWS_PER_PART = 1_000_000;

/**
 * `PrepareInferenceData`'s work: validate and encode the run's ledger objects into transform input parts
 * (`batch/<runId>/input/part-NNNNN.csv`), with the SageMaker manifest (`batch/<runId>/manifest.json`), the part list
 * (`batch/<runId>/parts.json`), the reports (`reports/<runId>/{validation,stats}.json`) and quarantined rows/objects
 * (`quarantine/<runId>/…`); then shape the state output.
 */

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
  /**
   * Most rows in one transform input part: bigger objects are split, smaller ones of one day coalesced.
   * @default DEFAULT_TARGET_ROWS_PER_PART
   */
  targetRowsPerPart?: number;
  /** Objects with at most this many valid rows are coalesced. @default - a quarter of targetRowsPerPart */
  coalesceRows?: number;
  logger?: StepLogger;
}

export interface PrepareInferenceDataResult {
  runId: string;
  contractVersion: string;
  /** Training run whose preprocessing spec encoded the rows. */
  specRunId: string;
  manifestUri: string;
  partsUri: string;
  /** Key (artifacts bucket) of `load-items.json`, the LoadScores items. */
  loadItemsKey: string;
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

/** Index of the segment feature in the contract. @throws ValidationError when it is not a category feature */
function segmentIndex(contract: FeatureContract, segmentFeature: string): number {
  const idx = contract.features.findIndex((f) => f.name === segmentFeature);
  if (contract.features[idx]?.type !== 'category') {
    throw new ValidationError(
      `Segment feature "${segmentFeature}" must be a category feature of contract ${contract.name} ${contract.version} (categories: ${contract.features
        .filter((f) => f.type === 'category')
        .map((f) => f.name)
        .join(', ')})`,
    );
  }
  return idx;
}

/** What the objects of one run add to: the run's violation log, statistics, file reports, parts and quarantine. */
interface RunState {
  readonly input: PrepareInferenceDataInput;
  readonly segmentIdx: number;
  readonly width: number;
  readonly encoded: Float64Array;
  readonly inputPrefix: string;
  readonly violations: ViolationLog;
  readonly stats: StatsAccumulator;
  readonly files: FileReport[];
  readonly parts: PartWriter;
  readonly quarantinedObjects: string[];
  /** Entities per as-of day, for days with more than one object in this run (run-level duplicate rule). */
  readonly days: Map<string, DayEntities>;
}

/** Copy a whole object to quarantine with its file report, and list it as quarantined. */
async function quarantineWhole(
  run: RunState,
  object: InferenceObject,
  report: FileReport,
  source: { sizeBytes?: number; missing?: boolean } = {},
): Promise<void> {
  const { s3, featuresBucket, artifactsBucket, runId } = run.input;
  await quarantineObject(s3, {
    sourceBucket: featuresBucket,
    sourceKey: object.key,
    sourceEtag: object.etag,
    bucket: artifactsBucket,
    runId,
    report,
    ...source,
  });
  run.quarantinedObjects.push(object.key);
}

/**
 * Validate one object and encode its valid rows into the next part; a failure that retrying cannot fix (see
 * {@link poisonReason}) quarantines the object whole with the reason instead of failing the run.
 */
async function prepareObject(run: RunState, object: InferenceObject, asOf: string): Promise<void> {
  const files = run.files.length;
  const violations = run.violations.listed.length;
  try {
    await prepareReadable(run, object, asOf);
  } catch (err) {
    const poison = poisonReason(err);
    if (!poison) throw err;
    // Forget what the failed attempt added (its partial file report and listed violations); its rows are in the copy.
    run.files.splice(files);
    run.violations.listed.splice(violations);
    const report = unreadableReport(object.key, poison.rule, poison.message);
    run.violations.add(report.fileViolations[0]!);
    run.files.push(report);
    await quarantineWhole(run, object, report, { missing: poison.rule === 'object_missing' });
    run.input.logger?.warn('Object quarantined: it cannot be read', {
      key: object.key,
      rule: poison.rule,
      reason: poison.message,
      error: err instanceof Error ? err.name : 'Error',
    });
  }
}

/**
 * Validate one object and encode its valid rows into the next part (`<entity>,<segment>,<encoded…>`, no header).
 * An object failing its file-level checks is quarantined whole; one without a valid row adds no part.
 */
async function prepareReadable(run: RunState, object: InferenceObject, asOf: string): Promise<void> {
  const { s3, spec, featuresBucket, artifactsBucket, runId } = run.input;
  const { key, etag } = object;
  const log = run.input.logger;
  const obj = await openS3Object(s3, featuresBucket, key, etag);
  const q = new QuarantineWriter(s3, artifactsBucket, runId, key, run.input.partBytes);
  const sink: ObjectSink = run.parts.begin(key, etag, asOf);
  let valid = 0;
  try {
    const report = await validateCsvStream(obj.body, {
      contract: spec.contract,
      mode: 'inference',
      file: key,
      log: run.violations,
      expectedAsOf: asOf,
      maxLineBytes: run.input.maxLineBytes,
      day: run.days.get(asOf),
      onHeader: (h) => q.setHeader(h),
      onRejected: (row) => quarantineRow(q, row),
      onValid: (row) => {
        run.stats.add(row);
        encodeInto(spec, row.values, run.encoded, 0);
        const seg = row.values[run.segmentIdx];
        let line = `${csvField(row.entityId)},${seg === null || seg === undefined ? '' : seg}`;
        for (let j = 0; j < run.width; j++) line += `,${run.encoded[j]}`;
        line += '\n';
        valid += 1;
        return sink.write(line);
      },
    });
    run.files.push(report);
    await q.close();
    if (report.status === 'failed') {
      await sink.abort();
      await quarantineWhole(run, object, report, { sizeBytes: obj.contentLength });
      // Rules and lines only: a violation's value (a header cell of a header-less file is a customer's row) stays in
      // the report and quarantine objects.
      log?.warn('Object quarantined: file-level violations', {
        key,
        violations: report.fileViolations.map((v) => ({ rule: v.rule, line: v.line })),
      });
      return;
    }
    if (valid === 0) {
      await sink.abort();
      run.quarantinedObjects.push(key); // every row rejected: nothing to score, the rows are in quarantine
      log?.warn('Object has no valid rows', { key, rowsIn: report.rowsIn });
      return;
    }
    const written = await sink.commit();
    if (written !== report.rowsValid) {
      throw new IntegrityError(`${key}: wrote ${written} rows to parts but ${report.rowsValid} were valid`);
    }
    log?.info('Prepared inference object', { key, rowsIn: report.rowsIn, rows: report.rowsValid });
  } catch (err) {
    await q.abort();
    await sink.abort();
    throw err;
  }
}

/** Write the reports, the manifest and `parts.json`; returns their URIs and the drift against `reference`. */
async function writeOutputs(
  run: RunState,
  report: ValidationReport,
  reference: DatasetStats,
  parts: readonly InferencePart[],
  rowsUsed: number,
): Promise<
  Pick<
    PrepareInferenceDataResult,
    'validationReportUri' | 'statsUri' | 'inputPrefixUri' | 'manifestUri' | 'partsUri' | 'loadItemsKey' | 'drift'
  >
> {
  const { s3, spec, artifactsBucket, runId } = run.input;
  const inferenceStats = run.stats.finish();
  const drift = inferenceStats.rows > 0 ? featureDrift(reference, inferenceStats) : {};
  const validationReportUri = await putJson(s3, artifactsBucket, reportKeys(runId).validation, report);
  const statsUri = await putJson(s3, artifactsBucket, reportKeys(runId).stats, {
    ...inferenceStats,
    drift,
    driftReference: { specRunId: spec.runId, rows: reference.rows },
  });
  const inputPrefixUri = s3Uri(artifactsBucket, run.inputPrefix);
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
    quarantinedObjects: run.quarantinedObjects,
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
 * Validate each ledger object against the Production model's contract, quarantine rejected rows, encode the rest with
 * the model's spec into transform input parts of at most `targetRowsPerPart` rows (big objects split, small objects
 * of one day coalesced; see parts.ts), write the SageMaker manifest and `parts.json`, and
 * compute drift (PSI per feature) against the training statistics.
 *
 * An object without a `dt=` partition or failing the file-level checks is copied whole to quarantine and listed in
 * `quarantinedObjects` (the run goes on with the others). When no object has a usable row, the result has no parts,
 * `expectedRows` 0 and every object in `quarantinedObjects` (the state machine then skips the transform and
 * CommitLedger marks them QUARANTINED). Throws ValidationError (after writing the report) when the invalid-row ratio
 * over the readable objects exceeds `maxInvalidRowRatio` (a data-quality stop: the ledger stays untouched);
 * ConflictError when an object's ETag differs from the ledger's (the next run picks up the new version).
 */
export async function prepareInferenceData(input: PrepareInferenceDataInput): Promise<PrepareInferenceDataResult> {
  const { s3, spec, artifactsBucket, runId } = input;
  const contract = spec.contract;
  const log = input.logger;
  if (input.objects.length === 0) throw new ValidationError('PrepareInferenceData: no objects to score');
  const segmentIdx = segmentIndex(contract, input.segmentFeature);
  const reference = input.trainingStats ?? spec.trainingStats;
  const width = encodedWidth(spec);
  const run: RunState = {
    input,
    segmentIdx,
    width,
    encoded: new Float64Array(width),
    inputPrefix: batchKeys(runId).inputPrefix,
    violations: new ViolationLog(input.maxReportedViolations),
    stats: new StatsAccumulator(contract, { edges: edgesOf(reference) }),
    files: [],
    parts: new PartWriter({
      s3,
      bucket: artifactsBucket,
      prefix: batchKeys(runId).inputPrefix,
      maxRows: input.targetRowsPerPart ?? DEFAULT_TARGET_ROWS_PER_PART,
      coalesceRows: input.coalesceRows,
      name: partName,
      partBytes: input.partBytes,
    }),
    quarantinedObjects: [],
    days: new Map(),
  };
  // Objects in key order, so the run-level duplicate rule keeps the same file whatever order the ledger listed them in.
  const objects = [...input.objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const perDay = new Map<string, number>();
  for (const o of objects) {
    const d = partitionDate(o.key);
    if (d) perDay.set(d, (perDay.get(d) ?? 0) + 1);
  }
  for (const [d, n] of perDay) if (n > 1) run.days.set(d, { set: new EntityIdSet(), files: [] });

  try {
    for (const object of objects) {
      const asOf = partitionDate(object.key);
      if (asOf) {
        await prepareObject(run, object, asOf);
        continue;
      }
      const report = missingPartitionReport(object.key);
      run.violations.add(report.fileViolations[0]!);
      run.files.push(report);
      await quarantineWhole(run, object, report);
      log?.warn('Object quarantined: no dt= partition', { key: object.key });
    }
    await run.parts.close();
  } catch (err) {
    await run.parts.abort();
    throw err;
  }
  // In name order (a split object's parts are listed when it ends, the shared part of a day when it fills).
  const parts = [...run.parts.parts].sort((a, b) => (a.part < b.part ? -1 : a.part > b.part ? 1 : 0));

  const report = buildReport(contract, 'inference', run.files, run.violations, input.maxInvalidRowRatio);
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
    log?.warn('Nothing to score: every object was quarantined', {
      runId,
      objects: run.quarantinedObjects.length,
      quarantined: run.quarantinedObjects.slice(0, 20),
    });
  }

  const out = await writeOutputs(run, report, reference, parts, rowsUsed);
  return {
    runId,
    contractVersion: contract.version,
    specRunId: spec.runId,
    manifestUri: out.manifestUri,
    partsUri: out.partsUri,
    loadItemsKey: out.loadItemsKey,
    inputPrefixUri: out.inputPrefixUri,
    parts,
    rowsIn: report.rowsIn,
    rowsUsed,
    rowsQuarantined: report.rowsQuarantined,
    expectedRows: rowsUsed,
    quarantinedObjects: run.quarantinedObjects,
    validationReportUri: out.validationReportUri,
    statsUri: out.statsUri,
    drift: out.drift,
  };
}

/** SageMaker job names: 1..63 of `[a-zA-Z0-9-]`, starting with a letter or digit. */
const JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const MAX_JOB_NAME = 63;

/**
 * Transform job name of a run: `<namePrefix>-<runId, sanitized and shortened>-<8 hex of sha256(runId)>`.
 *
 * Deterministic (the same run always gets the same name, so a retried Transform state cannot start a second job:
 * SageMaker refuses a duplicate name) and unique per run id even when sanitizing or shortening makes two run ids look
 * alike (the hash is of the original id). Starts with `namePrefix`, which the state machine's IAM policy is scoped to.
 */
export function transformJobName(namePrefix: string, runId: string): string {
  if (!runId) throw new ValidationError('transformJobName: runId is empty');
  const hash = createHash('sha256').update(runId).digest('hex').slice(0, 8);
  const room = MAX_JOB_NAME - namePrefix.length - hash.length - 2;
  if (room < 1) throw new ValidationError(`transformJobName: name prefix "${namePrefix}" is too long`);
  const body = runId
    .replace(/[^a-zA-Z0-9]+/g, '-')
    .slice(0, room)
    .replace(/^-+|-+$/g, '');
  const name = body ? `${namePrefix}-${body}-${hash}` : `${namePrefix}-${hash}`;
  if (!JOB_NAME.test(name)) throw new ValidationError(`transformJobName: "${name}" is not a valid SageMaker job name`);
  return name;
}

/**
 * Shape PrepareInferenceData's state output from the data core's result: the deterministic job name, the results
 * prefix for the Production model version, and counts and S3 keys only — the part list (`load-items.json`,
 * `parts.json`) and the quarantined objects (`parts.json`) stay in S3, so the state does not grow with the run.
 *
 * @throws IntegrityError when the counts do not add up (rows in = used + quarantined; expected = used = Σ part rows)
 */
export function toPreparedData(
  prepared: PrepareInferenceDataResult,
  p: { runId: string; namePrefix: string; artifactsBucket: string; modelVersion: number },
): PreparedData {
  const { rowsIn, rowsUsed, rowsQuarantined, expectedRows } = prepared;
  const sum = prepared.parts.reduce((n, part) => n + part.rows, 0);
  if (rowsIn !== rowsUsed + rowsQuarantined || expectedRows !== rowsUsed || sum !== expectedRows) {
    throw new IntegrityError(
      `Run ${p.runId}: prepared counts disagree: rows in ${rowsIn}, used ${rowsUsed}, quarantined ${rowsQuarantined}, ` +
        `expected ${expectedRows}, sum of part rows ${sum}`,
    );
  }
  const prefix = resultsPrefix(p.modelVersion, p.runId);
  return {
    transformJobName: transformJobName(p.namePrefix, p.runId),
    manifestUri: prepared.manifestUri,
    partsUri: prepared.partsUri,
    outputUri: `s3://${p.artifactsBucket}/${prefix}`,
    resultsBucket: p.artifactsBucket,
    resultsPrefix: prefix,
    partCount: prepared.parts.length,
    loadItemsKey: prepared.loadItemsKey,
    rowsIn,
    rowsUsed,
    rowsQuarantined,
    expectedRows,
    objectsQuarantined: prepared.quarantinedObjects.length,
    validationReportUri: prepared.validationReportUri,
    maxDriftPsi: maxDrift(prepared.drift),
    finalize: null,
  };
}
