import type { S3Client } from '@aws-sdk/client-s3';
import { NotFoundError, ValidationError } from '../../contracts/errors';
import { reportKeys, s3Uri, TRAINING_PREFIX, trainingPrepareKeys } from '../../contracts/s3-layout';
import type { StepLogger } from '../platform/logger';
import { getText, putJson } from '../platform/s3';
import type { FeatureContract } from './contract';
import { openS3Object } from './csv';
import { buildPreprocessingSpec, type PreprocessingSpec } from './encoder';
import { listTrainingKeys } from './listing';
import { assertRowBalance, poisonReason, QuarantineWriter, quarantineRow } from './quarantine';
import { allocateShards } from './shards';
import { isValidationEntity } from './split';
import { edgesOf, type PartialStats, StatsAccumulator } from './stats';
import {
  buildReport,
  type FileReport,
  failValidation,
  mergeViolationLogs,
  type ValidationReport,
  ViolationLog,
  type ViolationLogState,
} from './validation-report';
import { validateCsvStream } from './validator';

/**
 * PrepareTrainingData fanned out: PlanTrainingData lists the objects and groups them into tasks
 * ({@link planTrainingData}); ProfileTrainingData validates the objects of one task ({@link profileTask}) into a
 * partial; BuildPreprocessingSpec merges the partials in task order ({@link buildTrainingSpec}) — the same report,
 * statistics and spec as one pass over all objects — and assigns each task its train shards. Encoding and the final
 * sums are in training-encode.ts. Every partial is in S3 (contracts/s3-layout.ts trainingPrepareKeys); the state
 * carries only counts.
 */

/** What every phase needs. */
export interface TrainingPrepareSettings {
  readonly s3: S3Client;
  readonly contract: FeatureContract;
  /** Features bucket. */
  readonly bucket: string;
  readonly artifactsBucket: string;
  readonly runId: string;
  readonly validationShare: number;
  readonly maxInvalidRowRatio: number;
  readonly maxReportedViolations: number;
  /** @default 1 */
  readonly instanceCount?: number;
  /** @default 1 000 000 */
  readonly maxRowsPerShard?: number;
  readonly maxLineBytes?: number;
  /** Multipart part size of the written CSVs (tests use the 5 MiB minimum). */
  readonly partBytes?: number;
  readonly logger?: StepLogger;
}

/** One item of the Distributed Maps: consecutive objects (key order) whose listed sizes fit the byte budget. */
export interface PrepareTask {
  /** 1-based, in key order. */
  readonly task: number;
  readonly keys: readonly string[];
  readonly bytes: number;
}

/**
 * Consecutive objects grouped while their sizes add up to at most `budget` bytes; an object larger than the budget
 * is a task of its own (objects are not split).
 */
export function groupTasks(keys: readonly string[], sizes: readonly number[], budget: number): PrepareTask[] {
  const tasks: PrepareTask[] = [];
  let cur: string[] = [];
  let bytes = 0;
  keys.forEach((key, i) => {
    const size = sizes[i] ?? 0;
    if (cur.length > 0 && bytes + size > budget) {
      tasks.push({ task: tasks.length + 1, keys: cur, bytes });
      cur = [];
      bytes = 0;
    }
    cur.push(key);
    bytes += size;
  });
  if (cur.length > 0) tasks.push({ task: tasks.length + 1, keys: cur, bytes });
  return tasks;
}

/** PlanTrainingData's result (and the Maps' ItemReader location). */
export interface TrainingPlan {
  /** Bucket of the tasks file (the artifacts bucket). */
  readonly bucket: string;
  readonly tasksKey: string;
  readonly tasks: number;
  readonly objects: number;
  readonly bytes: number;
}

/**
 * List the objects (every `.csv` under `prefix` within `window`) and write them as
 * tasks of at most `taskBytes` to `training/<runId>/prepare/tasks.json`.
 * @throws NotFoundError when the window holds no object
 */
export async function planTrainingData(input: {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly artifactsBucket: string;
  readonly runId: string;
  readonly taskBytes: number;
  /** @default 'training/' */
  readonly prefix?: string;
  readonly window?: { from?: string; to?: string };
  readonly logger?: StepLogger;
}): Promise<TrainingPlan> {
  const prefix = input.prefix ?? TRAINING_PREFIX;
  const listed = await listTrainingKeys(input.s3, input.bucket, prefix, input.window);
  if (listed.skipped.length > 0)
    input.logger?.warn('Objects skipped (not .csv, or no dt= partition with a window)', {
      skipped: listed.skipped.slice(0, 20),
    });
  if (listed.keys.length === 0) {
    const w = input.window ? ` in window ${input.window.from ?? '…'}..${input.window.to ?? '…'}` : '';
    throw new NotFoundError(`No training data: no .csv objects under ${s3Uri(input.bucket, prefix)}${w}`);
  }
  const tasks = groupTasks(listed.keys, listed.sizes, input.taskBytes);
  const tasksKey = trainingPrepareKeys(input.runId).tasks;
  await putJson(input.s3, input.artifactsBucket, tasksKey, tasks);
  const bytes = listed.sizes.reduce((a, b) => a + b, 0);
  return { bucket: input.artifactsBucket, tasksKey, tasks: tasks.length, objects: listed.keys.length, bytes };
}

/** One object a task read to the end: its version, pinned for the encode pass and recorded as lineage. */
export interface ProfiledObject {
  readonly key: string;
  readonly etag?: string;
  readonly versionId?: string;
}

/** What ProfileTrainingData writes for one task (`training/<runId>/prepare/profile/part-<task>.json`). */
export interface ProfilePartial {
  readonly task: number;
  /** The objects read to the end, in key order (an unreadable one is left out). */
  readonly objects: ProfiledObject[];
  /** Their file reports, aligned with `objects`. */
  readonly files: FileReport[];
  /** Violations: counts per rule, the first `maxReportedViolations` of this task in (file, line) order. */
  readonly violations: ViolationLogState;
  readonly stats: PartialStats;
  readonly trainRows: number;
  readonly validationRows: number;
}

/**
 * Validate one task's objects: quarantine rejected rows, count the split, accumulate the statistics; write the
 * partial to S3 and return it.
 */
export async function profileTask(s: TrainingPrepareSettings, task: PrepareTask): Promise<ProfilePartial> {
  const violations = new ViolationLog(s.maxReportedViolations);
  const stats = new StatsAccumulator(s.contract);
  const objects: ProfiledObject[] = [];
  const files: FileReport[] = [];
  let trainRows = 0;
  let validationRows = 0;
  for (const key of task.keys) {
    const q = new QuarantineWriter(s.s3, s.artifactsBucket, s.runId, key, s.partBytes);
    const listed = violations.listed.length;
    let fileTrain = 0;
    let fileValidation = 0;
    try {
      const obj = await openS3Object(s.s3, s.bucket, key);
      const report = await validateCsvStream(obj.body, {
        contract: s.contract,
        mode: 'training',
        file: key,
        log: violations,
        maxLineBytes: s.maxLineBytes,
        onHeader: (h) => q.setHeader(h),
        onValid: (row) => {
          stats.add(row);
          if (isValidationEntity(row.entityId, s.validationShare)) fileValidation += 1;
          else fileTrain += 1;
        },
        onRejected: (row) => quarantineRow(q, row),
      });
      await q.close();
      files.push(report);
      objects.push({
        key,
        ...(obj.etag ? { etag: obj.etag } : {}),
        ...(obj.versionId ? { versionId: obj.versionId } : {}),
      });
      trainRows += fileTrain;
      validationRows += fileValidation;
      s.logger?.info('Validated training object', {
        key,
        rowsIn: report.rowsIn,
        rowsQuarantined: report.rowsQuarantined,
        status: report.status,
      });
    } catch (err) {
      await q.abort();
      // Deleted after it was listed, or unreadable for good: left out of this run, which goes on with the rest.
      const poison = poisonReason(err);
      if (!poison) throw err;
      violations.listed.splice(listed);
      s.logger?.warn('Training object left out: it cannot be read', { key, rule: poison.rule, reason: poison.message });
    }
  }
  const partial: ProfilePartial = {
    task: task.task,
    objects,
    files,
    violations: { countsByRule: violations.countsByRule, listed: violations.listed, notListed: violations.notListed },
    stats: stats.toPartial(),
    trainRows,
    validationRows,
  };
  await putJson(s.s3, s.artifactsBucket, trainingPrepareKeys(s.runId).profile(task.task), partial);
  return partial;
}

/** The shards and validation file one encode task writes. */
export interface TaskAssignment {
  readonly task: number;
  readonly trainRows: number;
  readonly validationRows: number;
  /** Number of its first train shard (`part-<n>.csv`); its shards are consecutive. */
  readonly firstShard: number;
  readonly shards: number;
  /** Number of its validation file, or null when the task has no validation rows. */
  readonly validationPart: number | null;
}

/** What BuildPreprocessingSpec writes for the encode tasks and the last step (`training/<runId>/prepare/spec.json`). */
export interface TrainingSpecPlan {
  readonly tasks: number;
  /** The spec to encode with (the reference histograms are added by the last step). */
  readonly spec: PreprocessingSpec;
  /** Bin edges of the profile pass: the encode pass counts its histograms over them. */
  readonly edges: Record<string, number[]>;
  readonly rowsIn: number;
  readonly rowsValid: number;
  readonly rowsQuarantined: number;
  readonly trainRows: number;
  readonly validationRows: number;
  readonly trainShards: number;
  readonly validationParts: number;
  readonly assignments: TaskAssignment[];
  /** Every object read, in key order (lineage). */
  readonly objects: ProfiledObject[];
  readonly validationReportUri: string;
}

/** Read a JSON partial written by an earlier phase, naming the phase when it is missing or not JSON. */
export async function readPartial<T>(s3: S3Client, bucket: string, key: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await getText(s3, bucket, key);
  } catch (err) {
    if (err instanceof NotFoundError) throw new NotFoundError(`${what}: ${err.message}`, { cause: err });
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new ValidationError(`${what}: ${s3Uri(bucket, key)} is not JSON: ${(err as Error).message}`);
  }
}

/** Partials are read this many at a time, and absorbed in task order (memory: a few partials, not all). */
const READ_AHEAD = 8;

/** Each partial in task order, read `READ_AHEAD` ahead. */
export async function* partialsInOrder<T>(
  count: number,
  read: (task: number) => Promise<T>,
): AsyncGenerator<T, void, undefined> {
  const pending: Promise<T>[] = [];
  let next = 1;
  while (next <= count || pending.length > 0) {
    while (next <= count && pending.length < READ_AHEAD) {
      const r = read(next++);
      // Reads still pending when an earlier one throws are abandoned: their rejections must not be unhandled (that
      // would end the Lambda runtime with Runtime.UnhandledPromiseRejection instead of the first error).
      r.catch(() => undefined);
      pending.push(r);
    }
    const p = pending.shift()!;
    yield await p;
  }
}

/**
 * Merge the profile partials of `tasks` tasks (in task order, so the result equals one pass over the objects in key
 * order), apply the file-level checks and `maxInvalidRowRatio` (ValidationError after writing the report), write the validation report and the spec plan.
 */
export async function buildTrainingSpec(s: TrainingPrepareSettings, tasks: number): Promise<TrainingSpecPlan> {
  const keys = trainingPrepareKeys(s.runId);
  const stats = new StatsAccumulator(s.contract);
  const files: FileReport[] = [];
  const objects: ProfiledObject[] = [];
  const logs: ViolationLogState[] = [];
  const perTask: { task: number; trainRows: number; validationRows: number }[] = [];
  const read = (t: number) =>
    readPartial<ProfilePartial>(s.s3, s.artifactsBucket, keys.profile(t), `the profile of task ${t}`);
  for await (const p of partialsInOrder(tasks, read)) {
    stats.absorb(p.stats);
    files.push(...p.files);
    objects.push(...p.objects);
    // Keep only what the merged log can still list: memory stays at maxReportedViolations.
    logs.push(p.violations);
    const merged = mergeViolationLogs(logs.splice(0), s.maxReportedViolations);
    logs.push(merged);
    perTask.push({ task: p.task, trainRows: p.trainRows, validationRows: p.validationRows });
  }
  if (objects.length === 0)
    throw new NotFoundError('No readable training data: none of the listed objects could be read');
  const log = logs[0]!;
  const violationLog = Object.assign(new ViolationLog(s.maxReportedViolations), log);
  const report = buildReport(s.contract, 'training', files, violationLog, s.maxInvalidRowRatio);
  assertRowBalance('BuildPreprocessingSpec (validation)', {
    rowsIn: report.rowsIn,
    rowsUsed: report.rowsValid,
    rowsQuarantined: report.rowsQuarantined,
  });
  await failOnReport(s, report, files);
  const trainRows = perTask.reduce((a, t) => a + t.trainRows, 0);
  const validationRows = report.rowsValid - trainRows;
  if (trainRows === 0 || validationRows === 0) {
    throw new ValidationError(
      `The split by entity id left ${trainRows} training and ${validationRows} validation rows (validationShare ${s.validationShare}); both need rows`,
    );
  }
  const shardCounts = allocateShards(
    perTask.map((t) => t.trainRows),
    s.instanceCount ?? 1,
    s.maxRowsPerShard ?? 1_000_000,
  );
  let shard = 1;
  let part = 1;
  const assignments = perTask.map((t, i): TaskAssignment => {
    const a = {
      ...t,
      firstShard: shard,
      shards: shardCounts[i]!,
      validationPart: t.validationRows > 0 ? part++ : null,
    };
    shard += a.shards;
    return a;
  });
  const datasetStats = stats.finish();
  const validationReportUri = await putJson(s.s3, s.artifactsBucket, reportKeys(s.runId).validation, report);
  const plan: TrainingSpecPlan = {
    tasks,
    spec: buildPreprocessingSpec(s.contract, datasetStats, s.runId),
    edges: edgesOf(datasetStats),
    rowsIn: report.rowsIn,
    rowsValid: report.rowsValid,
    rowsQuarantined: report.rowsQuarantined,
    trainRows,
    validationRows,
    trainShards: shard - 1,
    validationParts: part - 1,
    assignments,
    objects,
    validationReportUri,
  };
  await putJson(s.s3, s.artifactsBucket, keys.spec, plan);
  return plan;
}

/** The run fails (after writing the report) on a file that broke its file-level checks or on too many invalid rows. */
async function failOnReport(s: TrainingPrepareSettings, report: ValidationReport, files: FileReport[]): Promise<void> {
  const reportKey = reportKeys(s.runId).validation;
  const failedFiles = files.filter((f) => f.status === 'failed');
  const { contract } = s;
  if (failedFiles.length > 0) {
    await failValidation(
      s.s3,
      s.artifactsBucket,
      reportKey,
      report,
      `Training data breaks the contract ${contract.name} ${contract.version} in ${failedFiles.length} file(s): ${failedFiles
        .slice(0, 5)
        .map((f) => `${f.file} (${f.fileViolations.map((v) => v.rule).join(', ')})`)
        .join(', ')}`,
    );
  }
  if (report.invalidRowRatio > s.maxInvalidRowRatio) {
    await failValidation(
      s.s3,
      s.artifactsBucket,
      reportKey,
      report,
      `Invalid row ratio ${report.invalidRowRatio.toFixed(4)} exceeds maxInvalidRowRatio ${s.maxInvalidRowRatio}`,
    );
  }
}
