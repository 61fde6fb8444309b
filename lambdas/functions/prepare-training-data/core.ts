import { NotFoundError, ValidationError } from '../../../contracts/errors';
import { s3Uri, TRAINING_PREFIX } from '../../../contracts/s3-layout';
import { listTrainingKeys } from '../../data/listing';
import { encodeTask, finishTrainingData, type TrainingDataResult } from '../../data/training-encode';
import { buildTrainingSpec, profileTask, type TrainingPrepareSettings } from '../../data/training-profile';

/**
 * PrepareTrainingData's work in one invocation: the fanned-out phases (lambdas/data/training-profile.ts,
 * training-encode.ts) run here one after another over a single task holding every object, writing the same
 * partials, reports and data. The state machine runs them fanned out; this path is what the fault tests'
 * in-process pipeline, the integration tests and bench B6 prepare with, and the one-task reference the fan-out is
 * tested against (test/integration/training-fanout.test.ts).
 *
 * S3 keys (artifacts bucket, contracts/s3-layout.ts): `training/<runId>/train/part-<n>.csv` (the shards, see
 * lambdas/data/shards.ts), `training/<runId>/validation/part-00001.csv`, `training/<runId>/preprocessing.json`,
 * `reports/<runId>/{validation,stats,lineage}.json`, `quarantine/<runId>/<source key>`, and the phases' partials
 * under `training/<runId>/prepare/`.
 */
export interface PrepareTrainingDataInput extends TrainingPrepareSettings {
  /** Explicit object keys; when absent, every `.csv` under `prefix` (within `window`) is used. */
  readonly keys?: readonly string[];
  /** @default 'training/' */
  readonly prefix?: string;
  /** Inclusive `dt=` date range (YYYY-MM-DD) applied to listed keys. */
  readonly window?: { from?: string; to?: string };
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

/**
 * Validate, quarantine, profile and encode the training data in two streaming passes over S3: the profile pass
 * (report, quarantine, statistics, bin edges), then the encode pass pinned to the ETags the profile saw.
 *
 * Throws ValidationError (after writing `reports/<runId>/validation.json`) when a file fails its file-level checks,
 * the invalid-row ratio exceeds `maxInvalidRowRatio`, or a split ends up empty; NotFoundError when there is no data;
 * IntegrityError when counts disagree (including an object changing between the passes).
 */
export async function prepareTrainingData(input: PrepareTrainingDataInput): Promise<PrepareTrainingDataResult> {
  if (!(input.validationShare > 0 && input.validationShare < 1)) {
    throw new ValidationError(`validationShare must be in (0, 1), got ${input.validationShare}`);
  }
  const keys = await trainingKeys(input);
  await profileTask(input, { task: 1, keys, bytes: 0 });
  await buildTrainingSpec(input, 1);
  await encodeTask(input, 1);
  return finishTrainingData(input, input.window);
}
