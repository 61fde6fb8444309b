import { createHash } from 'node:crypto';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NotFoundError } from '../../../contracts/errors';
import type { FunctionEnv } from '../../../contracts/function-env';
import { partitionOfPrefix, partitionPrefix, s3Uri, TRAINING_PREFIX, trainingKeys } from '../../../contracts/s3-layout';
import {
  type DataWindow,
  type RunInfo,
  RunInfoSchema,
  type TrainingExecutionInput,
  trainingJobBaseName,
} from '../../../contracts/states/training';
import { createRun } from '../../domain/tracking';

/** The `dt` values of every `training/dt=YYYY-MM-DD/` partition of the features bucket, ascending. */
export async function listTrainingPartitions(s3: S3Client, bucket: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: TRAINING_PREFIX, Delimiter: '/', ContinuationToken: token }),
    );
    for (const p of page.CommonPrefixes ?? []) {
      const date = p.Prefix ? partitionOfPrefix(TRAINING_PREFIX, p.Prefix) : undefined;
      if (date) out.push(date);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out.sort();
}

/**
 * Resolve the data window: the partitions within `from..to` (inclusive; an open bound takes everything on that side).
 * @throws NotFoundError naming the bucket and window when no partition falls inside
 */
export function resolveDataWindow(
  partitions: readonly string[],
  requested: { from?: string; to?: string } | undefined,
  bucket: string,
): DataWindow {
  const inside = partitions.filter(
    (d) => (!requested?.from || d >= requested.from) && (!requested?.to || d <= requested.to),
  );
  const first = inside[0];
  const last = inside[inside.length - 1];
  if (!first || !last) {
    const window = `${requested?.from ?? '(open)'}..${requested?.to ?? '(open)'}`;
    throw new NotFoundError(
      `No training partitions ${s3Uri(bucket, partitionPrefix(TRAINING_PREFIX, 'YYYY-MM-DD'))} within data window ${window} ` +
        `(found ${partitions.length} partition(s)${partitions.length ? `: ${partitions[0]} .. ${partitions[partitions.length - 1]}` : ''})`,
    );
  }
  return { from: first, to: last, partitions: inside };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Parameters of a training run as recorded on the run: `TRAINING_PARAMS` (instance type/count, spot,
 * hyperparameters), the gate thresholds, the validation share and the allowed invalid-row ratio.
 */
export function runParams(env: FunctionEnv<'start-run'>): Record<string, unknown> {
  return {
    training: env.TRAINING_PARAMS,
    gate: { minAuc: env.GATE_MIN_AUC, maxLogloss: env.GATE_MAX_LOGLOSS, maxAucDrop: env.GATE_MAX_AUC_DROP },
    validationShare: env.VALIDATION_SHARE,
    maxInvalidRowRatio: env.MAX_INVALID_ROW_RATIO,
  };
}

/** Inputs of {@link startRun}. */
export interface StartRunParams {
  readonly runId: string;
  readonly startedAt: string;
  /**
   * The execution starting the run (`$$.Execution.Id`): only it may find the run record already there (a retry).
   * @default - none: any training run of the same id is taken for a retry
   */
  readonly executionArn?: string;
  readonly input: TrainingExecutionInput;
  readonly codeVersion: string;
  readonly featuresBucket: string;
  readonly artifactsBucket: string;
  readonly table: string;
  /** Training parameters recorded on the run (instance type, hyperparameters, gate thresholds…). */
  readonly params: Readonly<Record<string, unknown>>;
}

/**
 * StartRun: resolve the data window, derive the job name and S3 paths, and create the run record `RUN#<runId>`
 * (kind `training`, status RUNNING). A retry returns the same information and leaves the record as it was.
 */
export async function startRun(
  clients: { s3: S3Client; doc: DynamoDBDocumentClient },
  p: StartRunParams,
): Promise<RunInfo> {
  const partitions = await listTrainingPartitions(clients.s3, p.featuresBucket);
  const dataWindow = resolveDataWindow(partitions, p.input.dataWindow, p.featuresBucket);
  const trigger = p.input.trigger ?? 'manual';
  const info: RunInfo = RunInfoSchema.parse({
    runId: p.runId,
    startedAt: p.startedAt,
    trigger,
    codeVersion: p.codeVersion,
    dataWindow,
    trainingJobName: trainingJobBaseName(p.runId, sha256),
    modelOutputUri: s3Uri(p.artifactsBucket, trainingKeys(p.runId).modelPrefix),
    checkpointUri: s3Uri(p.artifactsBucket, trainingKeys(p.runId).checkpointPrefix),
  });
  // Conditional: a run id another run already has (training or batch) fails here, that run's record untouched.
  await createRun(clients.doc, p.table, {
    runId: p.runId,
    ...(p.executionArn ? { executionArn: p.executionArn } : {}),
    kind: 'training',
    trigger,
    codeVersion: p.codeVersion,
    params: { ...p.params, trainingJobName: info.trainingJobName, ...(p.input.note ? { note: p.input.note } : {}) },
    window: {
      from: dataWindow.from,
      to: dataWindow.to,
      partitions: dataWindow.partitions.length,
      ...(p.input.dataWindow ? { requested: p.input.dataWindow } : {}),
    },
    startedAt: new Date(p.startedAt),
  });
  return info;
}
