import type { S3Client } from '@aws-sdk/client-s3';
import { IntegrityError, ValidationError } from '../../contracts/errors';
import { batchKeys, partitionDate, quarantineSliceKey } from '../../contracts/s3-layout';
import { parseLayout } from '../../contracts/score-layout';
import type { StepLogger } from '../platform/logger';
import type { FeatureContract } from './contract';
import { csvField, openS3Object } from './csv';
import { encodedWidth, encodeInto, type PreprocessingSpec } from './encoder';
import { EntityIdSet } from './id-set';
import { type InferencePart, type ObjectSink, PartWriter } from './inference-parts';
import type { PrepareTask, PrepareTaskObject } from './prepare-plan';
import { poisonReason, QuarantineWriter, quarantineObject, quarantineRow } from './quarantine';
import { type DatasetStats, edgesOf, type PartialStats, StatsAccumulator } from './stats';
import {
  type FileReport,
  missingPartitionReport,
  unreadableReport,
  ViolationLog,
  type ViolationSummary,
} from './validation-report';
import { type DayEntities, type RowSlice, validateCsvStream } from './validator';

/**
 * One prepare task's work (PrepareSlice; in-process for a run prepared in one piece): validate its objects against
 * the Production model's contract — only the rows of its slice when its day is split (prepare-plan.ts) —
 * quarantine the rejected rows, encode the valid ones into transform input parts, and return its share of the run
 * as a {@link PreparePartial} for the reducer (prepare-merge.ts). A file-level failure (header, empty file, unreadable,
 * no `dt=` partition) is acted on by slice 0 only (the whole-object copy to quarantine, the file report and its
 * violation); every slice drops that object's rows and reports the verdict, so the reducer can check they agree.
 */

/** What one slice found an object to be. */
export type ObjectVerdict = 'ok' | 'failed' | 'unreadable' | 'no_partition';

/** One object of a task, as one slice saw it. */
export interface ObjectOutcome {
  key: string;
  etag: string;
  verdict: ObjectVerdict;
  /** This slice's file report (its rows only); for an object not `ok`, slice 0's report and null in the others. */
  report: FileReport | null;
}

/** A prepare task's share of the run (`batch/<runId>/prepare/task-NNNNN.json`). */
export interface PreparePartial {
  task: number;
  slice: number;
  slices: number;
  /** Its objects in key order. */
  objects: ObjectOutcome[];
  /** Violations of the rows it owns and of the objects it reports, in (object key, line) order. */
  violations: ViolationSummary;
  stats: PartialStats;
  /** The parts it wrote (named with its task index). */
  parts: InferencePart[];
}

export interface PrepareSliceInput {
  s3: S3Client;
  spec: PreprocessingSpec;
  featuresBucket: string;
  artifactsBucket: string;
  runId: string;
  task: PrepareTask;
  /** Category feature whose value travels with each row (per-segment fallback scores). */
  segmentFeature: string;
  /** Statistics whose bin edges the task's statistics use (the reducer's reference for drift). */
  reference: DatasetStats;
  maxReportedViolations: number;
  /** Most rows in one part. */
  targetRowsPerPart: number;
  coalesceRows?: number;
  /** File name of the task's n-th part (1-based). @default - partName(n, task.task) */
  partName: (n: number) => string;
  maxLineBytes?: number;
  partBytes?: number;
  logger?: StepLogger;
}

/** Index of the segment feature in the contract. @throws ValidationError when it is not a category feature */
export function segmentIndex(contract: FeatureContract, segmentFeature: string): number {
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

/** What the objects of one task add to. */
interface TaskState {
  readonly input: PrepareSliceInput;
  readonly slice: RowSlice;
  readonly segmentIdx: number;
  readonly width: number;
  readonly encoded: Float64Array;
  readonly violations: ViolationLog;
  readonly stats: StatsAccumulator;
  readonly parts: PartWriter;
  readonly outcomes: ObjectOutcome[];
  /** Entities per as-of day, for days with more than one object in this task (run-level duplicate rule). */
  readonly days: Map<string, DayEntities>;
}

/** The layout whose bucket ranges a task's slices own. @throws ValidationError naming the task when it is malformed */
function sliceLayout(task: PrepareTask) {
  try {
    return parseLayout(task.layout);
  } catch (err) {
    throw new ValidationError(`Prepare task ${task.task}: ${(err as Error).message}`);
  }
}

/** Prepare the objects of one task (see the module comment). */
export async function prepareSlice(input: PrepareSliceInput): Promise<PreparePartial> {
  const { s3, spec, artifactsBucket, runId, task } = input;
  if (!(task.slices >= 1 && task.slice >= 0 && task.slice < task.slices)) {
    throw new ValidationError(`Prepare task ${task.task}: slice ${task.slice} of ${task.slices} is not a slice`);
  }
  const width = encodedWidth(spec);
  const t: TaskState = {
    input,
    slice: { index: task.slice, count: task.slices, layout: sliceLayout(task) },
    segmentIdx: segmentIndex(spec.contract, input.segmentFeature),
    width,
    encoded: new Float64Array(width),
    violations: new ViolationLog(input.maxReportedViolations),
    stats: new StatsAccumulator(spec.contract, { edges: edgesOf(input.reference) }),
    parts: new PartWriter({
      s3,
      bucket: artifactsBucket,
      prefix: batchKeys(runId).inputPrefix,
      maxRows: input.targetRowsPerPart,
      coalesceRows: input.coalesceRows,
      name: input.partName,
      partBytes: input.partBytes,
    }),
    outcomes: [],
    days: new Map(),
  };
  const objects = [...task.objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const perDay = new Map<string, number>();
  for (const o of objects) {
    const d = partitionDate(o.key);
    if (d) perDay.set(d, (perDay.get(d) ?? 0) + 1);
  }
  for (const [d, n] of perDay) if (n > 1) t.days.set(d, { set: new EntityIdSet(), files: [] });
  try {
    for (const object of objects) await prepareObject(t, object);
    await t.parts.close();
  } catch (err) {
    await t.parts.abort();
    throw err;
  }
  return {
    task: task.task,
    slice: task.slice,
    slices: task.slices,
    objects: t.outcomes,
    violations: {
      countsByRule: t.violations.countsByRule,
      listed: t.violations.listed,
      notListed: t.violations.notListed,
    },
    stats: t.stats.toPartial(),
    parts: [...t.parts.parts].sort((a, b) => (a.part < b.part ? -1 : a.part > b.part ? 1 : 0)),
  };
}

/**
 * One object: validated and encoded by {@link prepareReadable}; a failure that retrying cannot fix (see
 * {@link poisonReason}) makes it `unreadable` (quarantined whole by slice 0) instead of failing the run. What the
 * object added to the violation log is kept only once the object's verdict is known.
 */
async function prepareObject(t: TaskState, object: PrepareTaskObject): Promise<void> {
  const { key, etag } = object;
  const owner = t.slice.index === 0;
  const asOf = partitionDate(key);
  if (!asOf) {
    const report = missingPartitionReport(key);
    await reportWhole(t, object, 'no_partition', report, {});
    t.input.logger?.warn('Object quarantined: no dt= partition', { key });
    return;
  }
  const log = new ViolationLog(t.input.maxReportedViolations);
  try {
    const { report, sizeBytes } = await prepareReadable(t, object, asOf, log);
    if (report.status === 'failed') {
      if (owner) t.violations.absorb(log);
      await reportWhole(t, object, 'failed', report, { sizeBytes });
      // Rules and lines only: a violation's value (a header cell of a header-less file is a customer's row) stays in
      // the report and quarantine objects.
      t.input.logger?.warn('Object quarantined: file-level violations', {
        key,
        violations: report.fileViolations.map((v) => ({ rule: v.rule, line: v.line })),
      });
      return;
    }
    t.violations.absorb(log);
    t.outcomes.push({ key, etag, verdict: 'ok', report });
  } catch (err) {
    const poison = poisonReason(err);
    if (!poison) throw err;
    // What the failed attempt added is forgotten (its rows are in the whole-object copy).
    const report = unreadableReport(key, poison.rule, poison.message);
    await reportWhole(t, object, 'unreadable', report, { missing: poison.rule === 'object_missing' });
    t.input.logger?.warn('Object quarantined: it cannot be read', {
      key,
      rule: poison.rule,
      reason: poison.message,
      error: err instanceof Error ? err.name : 'Error',
    });
  }
}

/**
 * An object quarantined whole: slice 0 copies it to quarantine and reports it (file report and violations); the
 * other slices only record the verdict.
 */
async function reportWhole(
  t: TaskState,
  object: PrepareTaskObject,
  verdict: Exclude<ObjectVerdict, 'ok'>,
  report: FileReport,
  source: { sizeBytes?: number; missing?: boolean },
): Promise<void> {
  const { key, etag } = object;
  if (t.slice.index !== 0) {
    t.outcomes.push({ key, etag, verdict, report: null });
    return;
  }
  if (verdict !== 'failed') t.violations.add(report.fileViolations[0]!);
  const { s3, featuresBucket, artifactsBucket, runId } = t.input;
  await quarantineObject(s3, {
    sourceBucket: featuresBucket,
    sourceKey: key,
    sourceEtag: etag,
    bucket: artifactsBucket,
    runId,
    report,
    ...source,
  });
  t.outcomes.push({ key, etag, verdict, report });
}

/**
 * Validate one object (the rows of this task's slice) and encode its valid rows into the task's parts
 * (`<entity>,<segment>,<encoded…>`, no header); rejected rows go to its quarantine object. A file failing its
 * file-level checks or without a valid row adds no part.
 */
async function prepareReadable(
  t: TaskState,
  object: PrepareTaskObject,
  asOf: string,
  log: ViolationLog,
): Promise<{ report: FileReport; sizeBytes?: number }> {
  const { s3, spec, featuresBucket, artifactsBucket, runId } = t.input;
  const { key, etag } = object;
  const { index, count } = t.slice;
  const obj = await openS3Object(s3, featuresBucket, key, etag);
  const qKey = count > 1 ? quarantineSliceKey(runId, key, index, count) : undefined;
  const q = new QuarantineWriter(s3, artifactsBucket, runId, key, t.input.partBytes, qKey);
  const sink: ObjectSink = t.parts.begin(key, etag, asOf);
  let valid = 0;
  try {
    const report = await validateCsvStream(obj.body, {
      contract: spec.contract,
      mode: 'inference',
      file: key,
      log,
      expectedAsOf: asOf,
      maxLineBytes: t.input.maxLineBytes,
      day: t.days.get(asOf),
      slice: t.slice,
      onHeader: (h) => q.setHeader(h),
      onRejected: (row) => quarantineRow(q, row),
      onValid: (row) => {
        t.stats.add(row);
        encodeInto(spec, row.values, t.encoded, 0);
        const seg = row.values[t.segmentIdx];
        let line = `${csvField(row.entityId)},${seg === null || seg === undefined ? '' : seg}`;
        for (let j = 0; j < t.width; j++) line += `,${t.encoded[j]}`;
        line += '\n';
        valid += 1;
        return sink.write(line);
      },
    });
    await q.close();
    if (report.status === 'failed' || valid === 0) {
      await sink.abort();
      if (report.status === 'ok') t.input.logger?.info('No valid rows in this slice', { key, rowsIn: report.rowsIn });
      return { report, sizeBytes: obj.contentLength };
    }
    const written = await sink.commit();
    if (written !== report.rowsValid) {
      throw new IntegrityError(`${key}: wrote ${written} rows to parts but ${report.rowsValid} were valid`);
    }
    t.input.logger?.info('Prepared inference object', { key, slice: index, rowsIn: report.rowsIn, rows: valid });
    return { report };
  } catch (err) {
    await q.abort();
    await sink.abort();
    throw err;
  }
}
