/**
 * Local stand-in for `arn:aws:states:::sagemaker:createTrainingJob.sync`: SageMaker's built-in XGBoost 1.7-1,
 * run with XGBoost 1.7 on this machine (local/standins/xgboost_job.py).
 *
 * The file contract is the algorithm's (https://docs.aws.amazon.com/sagemaker/latest/dg/xgboost.html): `train` and
 * `validation` channels are S3 prefixes of headerless numeric CSV (`text/csv`), label in the first column; the
 * `HyperParameters` strings are validated and used as given (https://docs.aws.amazon.com/sagemaker/latest/dg/
 * xgboost_hyperparameters.html); the model is `<S3OutputPath>/<TrainingJobName>/output/model.tar.gz` holding
 * `xgboost-model`; `FinalMetricDataList` holds the last value of each metric in XGBoost's evaluation log
 * (`train:auc`, `validation:auc`, `validation:logloss`, … — https://docs.aws.amazon.com/sagemaker/latest/dg/
 * xgboost-tuning.html). A bad channel or hyperparameter fails the job (`TrainingJobStatus: Failed`, FailureReason
 * `ClientError: …`) and the state with `States.TaskFailed`, as the `.sync` integration does.
 *
 * Not emulated: the container runtime, instance types and counts, spot capacity and checkpoints (the job runs once,
 * here, on this machine's cores). A `ShardedByS3Key` channel is read whole, in key order: the union of what the
 * instances would each get, so one local job trains on the same rows as the one-file channel. The job is recorded in the emulator (CreateTrainingJob) when it succeeds.
 */
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateTrainingJobCommand, DescribeTrainingJobCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { parse } from 'csv-parse/sync';
import { ValidationError } from '../../contracts/errors';
import { parseS3Uri } from '../../contracts/s3-layout';
import { jobDir, LOCAL_IMAGE_URI, MODEL_FILE, packModel } from './model';
import { type TrainingSummary, trainingSummary } from './summary';
import { finalMetricsOf, requireXgboost, runXgboostScript } from './xgboost';

/** The parts of a CreateTrainingJob request the stand-in reads (the state's resolved Parameters). */
export interface TrainingJobRequest {
  readonly TrainingJobName: string;
  readonly AlgorithmSpecification?: { readonly TrainingImage?: string; readonly TrainingInputMode?: string };
  readonly InputDataConfig: readonly {
    readonly ChannelName: string;
    readonly DataSource: {
      readonly S3DataSource: {
        readonly S3Uri: string;
        readonly S3DataType?: string;
        readonly S3DataDistributionType?: string;
      };
    };
    readonly ContentType?: string;
  }[];
  readonly OutputDataConfig: { readonly S3OutputPath: string; readonly KmsKeyId?: string };
  readonly HyperParameters?: Readonly<Record<string, string>>;
  readonly RoleArn?: string;
  readonly [key: string]: unknown;
}

export interface FinalMetric {
  readonly MetricName: string;
  readonly Value: number;
  readonly Timestamp: string;
}

/** DescribeTrainingJob's shape (the fields the workflow reads, plus what moto recorded). */
export interface TrainingJobDescription {
  readonly TrainingJobName: string;
  readonly TrainingJobArn: string;
  readonly TrainingJobStatus: 'Completed';
  readonly SecondaryStatus: 'Completed';
  readonly ModelArtifacts: { readonly S3ModelArtifacts: string };
  readonly FinalMetricDataList: readonly FinalMetric[];
  readonly AlgorithmSpecification: { readonly TrainingImage: string; readonly TrainingInputMode: string };
  readonly HyperParameters: Readonly<Record<string, string>>;
  readonly TrainingStartTime: string;
  readonly TrainingEndTime: string;
  readonly TrainingTimeInSeconds: number;
  readonly BillableTimeInSeconds: number;
  readonly [key: string]: unknown;
}

/**
 * The training job failed. Its name and message are what Step Functions gives a failed `.sync` job: the error
 * `States.TaskFailed` and, as the cause, DescribeTrainingJob's JSON with `FailureReason`.
 */
export class TrainingJobFailedError extends Error {
  override readonly name = 'States.TaskFailed';
  constructor(
    readonly jobName: string,
    readonly failureReason: string,
  ) {
    super(JSON.stringify({ TrainingJobName: jobName, TrainingJobStatus: 'Failed', FailureReason: failureReason }));
  }
}

export interface TrainerDeps {
  readonly s3: S3Client;
  readonly sageMaker: SageMakerClient;
  readonly now?: () => Date;
  /** Called after a successful job (the local run's report uses it). */
  readonly onTrained?: (info: TrainedInfo) => void;
}

export interface TrainedInfo {
  readonly jobName: string;
  readonly modelUri: string;
  /** The trained model's predictions for the validation rows, and their labels. */
  readonly validation: { readonly scores: readonly number[]; readonly labels: readonly number[] };
  readonly metrics: Readonly<Record<string, number>>;
  readonly summary: TrainingSummary;
}

async function readObject(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!res.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  return Buffer.from(await res.Body.transformToByteArray());
}

/** Keys under an S3 prefix (a "directory"), sorted; hidden/marker objects skipped. */
export async function listKeys(s3: S3Client, uri: string): Promise<string[]> {
  const { bucket, key: prefix } = parseS3Uri(uri, { prefix: true });
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith('/') && (o.Size ?? 0) > 0) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

/**
 * Copy a channel (every object under the prefix, concatenated, as the container reads a channel directory) to
 * `file`, checking that it is headerless numeric CSV with a 0/1 label first. Returns the labels and the width.
 * @throws ValidationError naming object, line and column of the first bad value
 */
export async function readChannel(
  s3: S3Client,
  uri: string,
  file: string,
): Promise<{ labels: number[]; features: number }> {
  const { bucket } = parseS3Uri(uri, { prefix: true });
  const keys = await listKeys(s3, uri);
  if (keys.length === 0) throw new ValidationError(`channel ${uri} holds no objects`);
  const labels: number[] = [];
  let width: number | undefined;
  const out = createWriteStream(file);
  try {
    for (const key of keys) {
      const records = parse(await readObject(s3, bucket, key), { skip_empty_lines: true }) as string[][];
      const lines: string[] = [];
      records.forEach((rec, i) => {
        const where = `s3://${bucket}/${key} line ${i + 1}`;
        rec.forEach((v, c) => {
          if (v.trim() === '' || !Number.isFinite(Number(v))) {
            throw new ValidationError(
              `${where} column ${c + 1}: "${v}" is not a number (text/csv training input is numeric, label first, no header)`,
            );
          }
        });
        width ??= rec.length;
        if (rec.length !== width) throw new ValidationError(`${where}: ${rec.length} columns, expected ${width}`);
        const label = Number(rec[0]);
        if (label !== 0 && label !== 1) throw new ValidationError(`${where} column 1: label ${rec[0]} is not 0 or 1`);
        labels.push(label);
        lines.push(rec.join(','));
      });
      if (lines.length > 0) out.write(`${lines.join('\n')}\n`);
    }
  } finally {
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  if (labels.length === 0) throw new ValidationError(`channel ${uri} holds no rows`);
  return { labels, features: (width ?? 1) - 1 };
}

function channelUri(request: TrainingJobRequest, name: string): string {
  const c = request.InputDataConfig.find((x) => x.ChannelName === name);
  if (!c) throw new ValidationError(`no "${name}" channel in InputDataConfig`);
  const type = c.ContentType ?? 'text/csv';
  if (!/^text\/csv\b|^csv$/.test(type)) {
    throw new ValidationError(`channel ${name}: ContentType ${type} is not supported locally (text/csv)`);
  }
  const distribution = c.DataSource.S3DataSource.S3DataDistributionType ?? 'FullyReplicated';
  if (distribution !== 'FullyReplicated' && distribution !== 'ShardedByS3Key') {
    throw new ValidationError(
      `channel ${name}: S3DataDistributionType ${distribution} is not FullyReplicated or ShardedByS3Key`,
    );
  }
  return c.DataSource.S3DataSource.S3Uri;
}

interface Trained {
  readonly result: Record<string, unknown>;
  readonly metrics: Record<string, number>;
  readonly rounds: number;
  readonly archive: string;
  readonly validation: { scores: number[]; labels: number[] };
  readonly trainRows: number;
}

/** Channels → XGBoost → model.tar.gz, in `dir`. @throws ValidationError for anything the job's request got wrong */
async function train(request: TrainingJobRequest, s3: S3Client, dir: string): Promise<Trained> {
  const trainFile = path.join(dir, 'train.csv');
  const validationFile = path.join(dir, 'validation.csv');
  const trainData = await readChannel(s3, channelUri(request, 'train'), trainFile);
  const validationData = await readChannel(s3, channelUri(request, 'validation'), validationFile);
  const files = {
    request: path.join(dir, 'request.json'),
    result: path.join(dir, 'result.json'),
    predictions: path.join(dir, 'validation.pred'),
  };
  writeFileSync(
    files.request,
    JSON.stringify({
      train: trainFile,
      validation: validationFile,
      hyperparameters: request.HyperParameters ?? {},
      model_out: path.join(dir, MODEL_FILE),
      validation_predictions_out: files.predictions,
    }),
  );
  const run = await runXgboostScript('train', files.request, files.result, () => {
    try {
      return JSON.parse(readFileSync(files.result, 'utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  });
  if (typeof run.result.error === 'string') throw new ValidationError(run.result.error);
  const { metrics, rounds } = finalMetricsOf(run.result);
  const scores = readFileSync(files.predictions, 'utf8').split('\n').filter(Boolean).map(Number);
  return {
    result: run.result,
    metrics,
    rounds,
    archive: await packModel(dir),
    validation: { scores, labels: validationData.labels },
    trainRows: trainData.labels.length,
  };
}

/** Run the training job locally and return DescribeTrainingJob's shape. @throws TrainingJobFailedError */
export async function runTrainingJob(request: TrainingJobRequest, deps: TrainerDeps): Promise<TrainingJobDescription> {
  const now = deps.now ?? (() => new Date());
  const started = now();
  requireXgboost(); // this machine's problem, not the job's: fails before anything else
  const work = jobDir('train');
  let trained: Trained;
  let modelUri: string;
  try {
    try {
      trained = await train(request, deps.s3, work.dir);
    } catch (e) {
      if (e instanceof ValidationError)
        throw new TrainingJobFailedError(request.TrainingJobName, `ClientError: ${e.message}`);
      throw e;
    }
    const out = parseS3Uri(request.OutputDataConfig.S3OutputPath, { prefix: true });
    const base = out.key === '' || out.key.endsWith('/') ? out.key : `${out.key}/`;
    const modelKey = `${base}${request.TrainingJobName}/output/model.tar.gz`;
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: out.bucket,
        Key: modelKey,
        Body: readFileSync(trained.archive),
        ContentType: 'application/x-gzip',
      }),
    );
    modelUri = `s3://${out.bucket}/${modelKey}`;
  } finally {
    work.dispose();
  }

  const inputMode = request.AlgorithmSpecification?.TrainingInputMode ?? 'File';
  const { TrainingJobName, ...rest } = request;
  await deps.sageMaker.send(
    new CreateTrainingJobCommand({
      ...(rest as Record<string, unknown>),
      TrainingJobName,
      AlgorithmSpecification: { TrainingInputMode: inputMode, TrainingImage: LOCAL_IMAGE_URI },
      RoleArn: request.RoleArn ?? 'arn:aws:iam::123456789012:role/local-sagemaker',
      ResourceConfig: (rest.ResourceConfig as never) ?? {
        InstanceType: 'ml.m5.large',
        InstanceCount: 1,
        VolumeSizeInGB: 1,
      },
      StoppingCondition: (rest.StoppingCondition as never) ?? { MaxRuntimeInSeconds: 3600 },
    } as never),
  );
  const { $metadata: _m, ...recorded } = await deps.sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName }));

  const ended = now();
  const seconds = Math.max(1, Math.round((ended.getTime() - started.getTime()) / 1000));
  const description: TrainingJobDescription = {
    ...(JSON.parse(JSON.stringify(recorded)) as Record<string, unknown>),
    TrainingJobName,
    TrainingJobArn: recorded.TrainingJobArn ?? '',
    TrainingJobStatus: 'Completed',
    SecondaryStatus: 'Completed',
    ModelArtifacts: { S3ModelArtifacts: modelUri },
    FinalMetricDataList: Object.entries(trained.metrics).map(([MetricName, Value]) => ({
      MetricName,
      Value,
      Timestamp: ended.toISOString(),
    })),
    AlgorithmSpecification: { TrainingImage: LOCAL_IMAGE_URI, TrainingInputMode: inputMode },
    HyperParameters: { ...(request.HyperParameters ?? {}) },
    TrainingStartTime: started.toISOString(),
    TrainingEndTime: ended.toISOString(),
    TrainingTimeInSeconds: seconds,
    BillableTimeInSeconds: seconds,
  };
  deps.onTrained?.({
    jobName: TrainingJobName,
    modelUri,
    validation: trained.validation,
    metrics: trained.metrics,
    summary: trainingSummary({
      jobName: TrainingJobName,
      requestedImage: request.AlgorithmSpecification?.TrainingImage,
      hyperparameters: request.HyperParameters ?? {},
      metrics: trained.metrics,
      roundsLogged: trained.rounds,
      result: trained.result,
    }),
  });
  return description;
}

/** The `Train` state override for {@link runStateMachine}. */
export const trainingOverride =
  (deps: TrainerDeps) =>
  (input: unknown): Promise<unknown> =>
    runTrainingJob(input as TrainingJobRequest, deps);
