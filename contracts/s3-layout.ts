import { z } from 'zod';
import { ValidationError } from './errors';

/**
 * Where everything lives in the two buckets. Every key the functions write or read, and every prefix the stacks grant
 * or expire, is built here.
 *
 * Features bucket (feature store):
 *   training/dt=YYYY-MM-DD/*.csv                         labelled snapshots
 *   inference/dt=YYYY-MM-DD/*.csv                        snapshots to score
 * Artifacts bucket:
 *   training/<runId>/{train,validation}/part-00001.csv   model input (label first, no header, encoded); train/
 *                                                        holds part-00001…part-<n>.csv, the shards of the channel
 *   training/<runId>/preprocessing.json                  encoding spec; travels with the model
 *   training/<runId>/prepare/{tasks,spec}.json, {profile,encode}/part-<task>.json   PrepareTrainingData's fan-out
 *   training/prepare-results/<map run id>/…              its Distributed Maps' run results (ResultWriter)
 *   training/<runId>/{model,checkpoints}/                SageMaker output and spot checkpoints
 *   training/<runId>/evaluation/{candidate,champion}/    both models' scores of the validation channel (label, score)
 *   training/<runId>/evaluation/champion-input/          the validation channel re-imputed with the champion's spec
 *   reports/<runId>/{validation,stats,evaluation}.json
 *   reports/<runId>/model-quality.json                   SageMaker model-quality statistics (the registry's view)
 *   reports/<runId>/lineage.json                         the training objects read (keys, ETags, version ids)
 *   quarantine/<runId>/<original key>                    rejected rows with the reason per row
 *   batch/<runId>/input/part-NNNNN.csv, manifest.json, parts.json, objects.json   transform input of a run
 *   batch/<runId>/load-items.json                        the LoadScores Distributed Map's items (one per part)
 *   batch/<runId>/prepare-tasks.json                     the PrepareTasks Distributed Map's items (one per task)
 *   batch/<runId>/prepare-plan.json                      every task's objects (each PrepareSlice reads its own)
 *   batch/<runId>/prepare/task-NNNNN.json                one prepare task's partial result (the reducer reads them)
 *   batch/prepare-results/<map run id>/…                 PrepareTasks' per-task results (ResultWriter)
 *   batch/load-results/<map run id>/{manifest,SUCCEEDED_n,FAILED_n}.json   LoadScores' per-part results (ResultWriter)
 *   results/model_version=<N>/run=<runId>/<part>.out     transform output (Glue table)
 */

// ---- URIs -------------------------------------------------------------------------------------------------------

/** `s3://bucket/key` of an object or a prefix. */
export const s3Uri = (bucket: string, key: string): string => `s3://${bucket}/${key}`;

/**
 * Split an S3 URI into bucket and key. An object URI needs a key; `{ prefix: true }` also accepts `s3://bucket`
 * and `s3://bucket/` (key `''`), as SageMaker's S3 data sources and output paths do.
 * @throws ValidationError naming the value when it is not an S3 URI
 */
export function parseS3Uri(uri: string, options: { readonly prefix?: boolean } = {}): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/\s]+)(?:\/(.*))?$/.exec(uri);
  const key = m?.[2] ?? '';
  if (!m || (!options.prefix && key === '')) {
    const expected = options.prefix ? 's3://bucket[/prefix]' : 's3://bucket/key';
    throw new ValidationError(`Not an S3 ${options.prefix ? 'URI' : 'object URI'} (${expected}): "${uri}"`);
  }
  return { bucket: m[1]!, key };
}

/** A state-payload field holding `s3://<bucket>/<key>` (a valid bucket name and a non-empty key or prefix). */
export const S3UriSchema = z.string().regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+$/, 's3://<bucket>/<key>');

// ---- Features bucket --------------------------------------------------------------------------------------------

/** Labelled training snapshots. */
export const TRAINING_PREFIX = 'training/';
/** Snapshots the batch scores (arrival events and reconcile look only here). */
export const INFERENCE_PREFIX = 'inference/';

/** A key the ledger tracks: under `inference/`, a CSV file (not a "folder" marker, not another format). */
export function isScorableKey(key: string): boolean {
  return key.startsWith(INFERENCE_PREFIX) && /\.csv$/i.test(key) && !key.endsWith('/');
}
export type FeaturePrefix = typeof TRAINING_PREFIX | typeof INFERENCE_PREFIX;

/** `<base>dt=YYYY-MM-DD/`: one day's partition of the feature store. */
export const partitionPrefix = (base: FeaturePrefix, date: string): string => `${base}dt=${date}/`;

const DT_SEGMENT = /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})\//;

/** True for a real calendar date `YYYY-MM-DD` (`2026-02-30` is not; `Date.parse` would roll it over). */
export function isCalendarDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const month = Number(m[2]);
  const day = Number(m[3]);
  return month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(Number(m[1]), month, 0)).getUTCDate();
}

/** The `dt=YYYY-MM-DD` partition date of a key, or undefined (also for an impossible date). */
export function partitionDate(key: string): string | undefined {
  const m = DT_SEGMENT.exec(key);
  return m && isCalendarDate(m[1]!) ? m[1] : undefined;
}

/** The date of a partition prefix that is exactly `<base>dt=YYYY-MM-DD/` (a listing's CommonPrefix), or undefined. */
export function partitionOfPrefix(base: FeaturePrefix, prefix: string): string | undefined {
  if (!prefix.startsWith(base)) return undefined;
  return /^dt=(\d{4}-\d{2}-\d{2})\/$/.exec(prefix.slice(base.length))?.[1];
}

// ---- Artifacts bucket -------------------------------------------------------------------------------------------

/** Reports of every run (validation, statistics, evaluation). */
export const REPORTS_PREFIX = 'reports/';
/** Rejected rows (expired by the data stack's lifecycle rule). */
export const QUARANTINE_PREFIX = 'quarantine/';
/** Transform input (expired by the data stack's lifecycle rule). */
export const BATCH_PREFIX = 'batch/';
/** Transform output: offline batch storage, the Glue table's location. */
export const RESULTS_PREFIX = 'results/';

/** `training/<runId>/…` keys of a training run (artifacts bucket). */
export const trainingKeys = (runId: string) => ({
  prefix: `${TRAINING_PREFIX}${runId}/`,
  trainPrefix: `${TRAINING_PREFIX}${runId}/train/`,
  validationPrefix: `${TRAINING_PREFIX}${runId}/validation/`,
  train: `${TRAINING_PREFIX}${runId}/train/${partName(1)}`,
  validation: `${TRAINING_PREFIX}${runId}/validation/${partName(1)}`,
  preprocessing: `${TRAINING_PREFIX}${runId}/preprocessing.json`,
  /** SageMaker appends `<job>/output/model.tar.gz`. */
  modelPrefix: `${TRAINING_PREFIX}${runId}/model/`,
  /** Managed spot training resumes from here. */
  checkpointPrefix: `${TRAINING_PREFIX}${runId}/checkpoints/`,
  /** Transform output of the candidate on the validation channel (`<part>.out`: label, score). */
  candidateScoresPrefix: `${TRAINING_PREFIX}${runId}/evaluation/candidate/`,
  /** Transform output of the Production model on the same rows. */
  championScoresPrefix: `${TRAINING_PREFIX}${runId}/evaluation/champion/`,
  /** The validation channel re-imputed with the Production model's preprocessing spec (when it differs). */
  championInputPrefix: `${TRAINING_PREFIX}${runId}/evaluation/champion-input/`,
});

/** `training/<runId>/train/part-<n>.csv`: train shard n (1-based) of a run; key order is row order. */
export const trainShardKey = (runId: string, n: number): string => `${trainingKeys(runId).trainPrefix}${partName(n)}`;

/**
 * `training/<runId>/prepare/…`: the fan-out of PrepareTrainingData (plan → profile → spec → encode → finish). The
 * tasks file is the Distributed Maps' item list; each task writes its partial under its number (5 digits).
 */
export const trainingPrepareKeys = (runId: string) => {
  const base = `${TRAINING_PREFIX}${runId}/prepare/`;
  return {
    prefix: base,
    tasks: `${base}tasks.json`,
    /** The merged profile: spec to encode with, bin edges, shard assignment, lineage. */
    spec: `${base}spec.json`,
    profile: (task: number) => `${base}profile/${partName(task).replace(/\.csv$/, '.json')}`,
    encode: (task: number) => `${base}encode/${partName(task).replace(/\.csv$/, '.json')}`,
  };
};
/** `training/<runId>/validation/part-<n>.csv`: validation file n (1-based) of a run. */
export const validationPartKey = (runId: string, n: number): string =>
  `${trainingKeys(runId).validationPrefix}${partName(n)}`;
/** Where the PrepareTrainingData Distributed Maps write their run results (ResultWriter). */
export const TRAINING_PREPARE_RESULTS_PREFIX = `${TRAINING_PREFIX}prepare-results/`;

/** `reports/<runId>/…` keys. */
export const reportKeys = (runId: string) => ({
  validation: `${REPORTS_PREFIX}${runId}/validation.json`,
  stats: `${REPORTS_PREFIX}${runId}/stats.json`,
  evaluation: `${REPORTS_PREFIX}${runId}/evaluation.json`,
  /** SageMaker's model-quality statistics (`binary_classification_metrics`), ModelMetrics.ModelQuality.Statistics. */
  modelQuality: `${REPORTS_PREFIX}${runId}/model-quality.json`,
  /** The training objects the run read: `{ trainingObjects: [{ key, etag, versionId }], contractVersion }`. */
  lineage: `${REPORTS_PREFIX}${runId}/lineage.json`,
});

/** `quarantine/<runId>/`: every object a run quarantined. */
export const quarantinePrefix = (runId: string): string => `${QUARANTINE_PREFIX}${runId}/`;

/** `quarantine/<runId>/<original key>`: the rejected rows of one source object. */
export const quarantineKey = (runId: string, sourceKey: string): string => `${quarantinePrefix(runId)}${sourceKey}`;

/** `batch/<runId>/…` keys: the transform input of a batch run. */
export const batchKeys = (runId: string) => ({
  prefix: `${BATCH_PREFIX}${runId}/`,
  inputPrefix: `${BATCH_PREFIX}${runId}/input/`,
  manifest: `${BATCH_PREFIX}${runId}/manifest.json`,
  parts: `${BATCH_PREFIX}${runId}/parts.json`,
  objects: `${BATCH_PREFIX}${runId}/objects.json`,
  /** JSON array of `{ part, asOf, rows }`: what the LoadScores Distributed Map reads (ItemReader). */
  loadItems: `${BATCH_PREFIX}${runId}/load-items.json`,
  /**
   * JSON array of `{ task, slice, slices, objects, bytes }`, one per prepare task: what the PrepareTasks Distributed
   * Map reads (ItemReader). Constant per item (no object list), so a day of thousands of objects stays far below the
   * 256 KB an item may hold.
   */
  prepareTasks: `${BATCH_PREFIX}${runId}/prepare-tasks.json`,
  /** JSON array of the prepare tasks with their objects (PlanPrepare writes it; each PrepareSlice reads its task). */
  preparePlan: `${BATCH_PREFIX}${runId}/prepare-plan.json`,
  /** Partial result of prepare task `task` (0-based): what PrepareSlice hands to the reducer. */
  preparePartial: (task: number) => `${BATCH_PREFIX}${runId}/prepare/task-${String(task).padStart(5, '0')}.json`,
});

/** Where the PrepareTasks Distributed Map writes its per-task results (ResultWriter), as {@link LOAD_RESULTS_PREFIX}. */
export const PREPARE_RESULTS_PREFIX = `${BATCH_PREFIX}prepare-results/`;

/**
 * `quarantine/<runId>/<original key>.slice-<i>-of-<n>.csv`: the rejected rows of one entity-hash slice of a source
 * object (a day split across prepare tasks, each writing the rows it owns); 0-based slice, n slices.
 */
export const quarantineSliceKey = (runId: string, sourceKey: string, slice: number, slices: number): string =>
  `${quarantineKey(runId, sourceKey)}.slice-${slice}-of-${slices}.csv`;

/**
 * Where the LoadScores Distributed Map writes its per-part results (ResultWriter). Step Functions adds
 * `<map run id>/manifest.json` and `SUCCEEDED_<n>.json` / `FAILED_<n>.json` under it; FinalizeScores reads them.
 * Each execution writes under its own folder ({@link mapRunsPrefix}), and under `batch/`, so the same lifecycle rule
 * expires it.
 */
export const LOAD_RESULTS_PREFIX = `${BATCH_PREFIX}load-results/`;

/**
 * Transform output prefix of a run: `results/model_version=<N>/run=<runId>/`. Also the Glue partition template when
 * given `${model_version}` and `${run}`.
 */
export const resultsPrefix = (modelVersion: number | string, runId: string): string =>
  `${RESULTS_PREFIX}model_version=${modelVersion}/run=${runId}/`;

/**
 * `<prefix><runId>/`: where the Distributed Maps of one execution (run id = execution name) write their results under
 * a ResultWriter prefix; Step Functions adds `<map run id>/manifest.json` and the `SUCCEEDED_<n>.json` /
 * `FAILED_<n>.json` files under it. Per run, so RecordFailure finds a failed map run's files by listing one folder.
 */
export const mapRunsPrefix = (resultsPrefix: string, runId: string): string => `${resultsPrefix}${runId}/`;

/** The ResultWriter prefixes of each workflow's Distributed Maps (by run kind), where RecordFailure looks. */
export const MAP_RESULTS_PREFIXES = {
  batch: [PREPARE_RESULTS_PREFIX, LOAD_RESULTS_PREFIX],
  training: [TRAINING_PREPARE_RESULTS_PREFIX],
} as const satisfies Record<string, readonly string[]>;

/** The IAM resource or `s3:prefix` pattern matching every key under `prefix` (`training/` → `training/*`). */
export const keysUnder = (prefix: string): string => `${prefix}*`;

/**
 * File name of part `n` (1-based), e.g. `part-00001.csv`; the transform writes `<part>.out` next to the results. With
 * `task` (a prepare task, 0-based) the name is unique in a run whose tasks write parts in parallel, and sorts by task
 * then n: `part-00003-00001.csv`.
 */
export const partName = (n: number, task?: number): string =>
  task === undefined
    ? `part-${String(n).padStart(5, '0')}.csv`
    : `part-${String(task).padStart(5, '0')}-${String(n).padStart(5, '0')}.csv`;
