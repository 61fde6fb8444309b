/**
 * Local stand-in for `arn:aws:states:::sagemaker:createTrainingJob.sync`.
 *
 * Honours the SageMaker file contract: the `train` and `validation` channels are S3 prefixes of headerless numeric CSV
 * with the label first; the model is written to `<S3OutputPath>/<TrainingJobName>/output/model.tar.gz`. The job is
 * recorded in the emulator (CreateTrainingJob) and the result has DescribeTrainingJob's shape with the metrics this
 * module computed (moto reports Completed at once and computes nothing): `ModelArtifacts.S3ModelArtifacts`,
 * `FinalMetricDataList` (`validation:auc`, `validation:logloss`, `train:auc`, `train:logloss`), `TrainingJobStatus`.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateTrainingJobCommand, DescribeTrainingJobCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { parse } from 'csv-parse/sync';
import { ValidationError } from '../../contracts/errors';
import { auc, logloss } from './metrics';
import {
  DEFAULT_HYPERPARAMETERS,
  fitModel,
  LOCAL_IMAGE_URI,
  type LocalModel,
  type LocalModelHyperparameters,
  packModel,
  predictProba,
} from './model';

/** The parts of a CreateTrainingJob request the stand-in reads (the state's resolved Parameters). */
export interface TrainingJobRequest {
  readonly TrainingJobName: string;
  readonly AlgorithmSpecification?: { readonly TrainingImage?: string; readonly TrainingInputMode?: string };
  readonly InputDataConfig: readonly {
    readonly ChannelName: string;
    readonly DataSource: { readonly S3DataSource: { readonly S3Uri: string; readonly S3DataType?: string } };
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

export interface TrainerDeps {
  readonly s3: S3Client;
  readonly sageMaker: SageMakerClient;
  readonly now?: () => Date;
  /** Called with the fitted model and the validation predictions (the local run's report uses them). */
  readonly onTrained?: (info: TrainedInfo) => void;
}

export interface TrainedInfo {
  readonly jobName: string;
  readonly model: LocalModel;
  readonly modelUri: string;
  readonly validation: { readonly scores: readonly number[]; readonly labels: readonly number[] };
  readonly metrics: Readonly<Record<string, number>>;
}

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new ValidationError(`Not an S3 URI: ${uri}`);
  return { bucket: m[1]!, key: m[2]! };
}

async function readObject(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!res.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  return Buffer.from(await res.Body.transformToByteArray());
}

/** Keys under an S3 prefix (a "directory"), sorted; hidden/marker objects skipped. */
export async function listKeys(s3: S3Client, uri: string): Promise<string[]> {
  const { bucket, key: prefix } = parseS3Uri(uri);
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith('/') && (o.Size ?? 0) > 0) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

/** Read a channel: every object under the prefix, headerless numeric CSV, label first. */
export async function readChannel(s3: S3Client, uri: string): Promise<{ rows: number[][]; labels: number[] }> {
  const { bucket } = parseS3Uri(uri);
  const keys = await listKeys(s3, uri);
  if (keys.length === 0) throw new ValidationError(`Training channel ${uri} holds no objects`);
  const rows: number[][] = [];
  const labels: number[] = [];
  let width: number | undefined;
  for (const key of keys) {
    const records = parse(await readObject(s3, bucket, key), { skip_empty_lines: true }) as string[][];
    records.forEach((rec, i) => {
      const where = `s3://${bucket}/${key} line ${i + 1}`;
      const nums = rec.map((v, c) => {
        const n = Number(v);
        if (v.trim() === '' || !Number.isFinite(n)) {
          throw new ValidationError(
            `${where} column ${c + 1}: "${v}" is not a number (training input must be numeric CSV, label first)`,
          );
        }
        return n;
      });
      if (width === undefined) width = nums.length;
      if (nums.length !== width) throw new ValidationError(`${where}: ${nums.length} columns, expected ${width}`);
      const label = nums[0]!;
      if (label !== 0 && label !== 1) throw new ValidationError(`${where} column 1: label ${label} is not 0 or 1`);
      labels.push(label);
      rows.push(nums.slice(1));
    });
  }
  return { rows, labels };
}

function hyperparametersOf(h: Readonly<Record<string, string>> | undefined): LocalModelHyperparameters {
  // XGBoost's hyperparameters do not apply to the local model; `local_*` ones tune it.
  const num = (k: string, d: number) => {
    const v = h?.[k];
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0)
      throw new ValidationError(`HyperParameters.${k} = "${v}" must be a positive number`);
    return n;
  };
  return {
    numSteps: Math.round(num('local_num_steps', DEFAULT_HYPERPARAMETERS.numSteps)),
    learningRate: num('local_learning_rate', DEFAULT_HYPERPARAMETERS.learningRate),
  };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/** Run the training job locally and return DescribeTrainingJob's shape. */
export async function runTrainingJob(request: TrainingJobRequest, deps: TrainerDeps): Promise<TrainingJobDescription> {
  const now = deps.now ?? (() => new Date());
  const started = now();
  const channel = (name: string) => {
    const c = request.InputDataConfig.find((x) => x.ChannelName === name);
    if (!c) {
      throw new ValidationError(`Training job ${request.TrainingJobName}: no "${name}" channel in InputDataConfig`);
    }
    return c.DataSource.S3DataSource.S3Uri;
  };
  const train = await readChannel(deps.s3, channel('train'));
  const validation = await readChannel(deps.s3, channel('validation'));
  const width = train.rows[0]?.length ?? 0;
  if ((validation.rows[0]?.length ?? 0) !== width) {
    throw new ValidationError(`validation rows have ${validation.rows[0]?.length} features, train rows ${width}`);
  }

  const hyper = hyperparametersOf(request.HyperParameters);
  const model = fitModel(train.rows, train.labels, hyper, started);
  const trainScores = predictProba(model, train.rows);
  const valScores = predictProba(model, validation.rows);
  const metrics = {
    'train:auc': round(auc(trainScores, train.labels)),
    'train:logloss': round(logloss(trainScores, train.labels)),
    'validation:auc': round(auc(valScores, validation.labels)),
    'validation:logloss': round(logloss(valScores, validation.labels)),
  };

  const out = parseS3Uri(request.OutputDataConfig.S3OutputPath);
  const modelKey = `${out.key.replace(/\/?$/, '/').replace(/^\/$/, '')}${request.TrainingJobName}/output/model.tar.gz`;
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: out.bucket,
      Key: modelKey,
      Body: packModel(model),
      ContentType: 'application/gzip',
    }),
  );
  const modelUri = `s3://${out.bucket}/${modelKey}`;

  // Record the job in the emulator, as the real service would have it.
  const { $metadata: _m, ...recorded } = await (async () => {
    const { TrainingJobName, ...rest } = request;
    await deps.sageMaker.send(
      new CreateTrainingJobCommand({
        ...(rest as Record<string, unknown>),
        TrainingJobName,
        AlgorithmSpecification: {
          TrainingInputMode: request.AlgorithmSpecification?.TrainingInputMode ?? 'File',
          TrainingImage: LOCAL_IMAGE_URI,
        },
        RoleArn: request.RoleArn ?? 'arn:aws:iam::123456789012:role/local-sagemaker',
        ResourceConfig: (rest.ResourceConfig as never) ?? {
          InstanceType: 'ml.m5.large',
          InstanceCount: 1,
          VolumeSizeInGB: 1,
        },
        StoppingCondition: (rest.StoppingCondition as never) ?? { MaxRuntimeInSeconds: 3600 },
      } as never),
    );
    return deps.sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName }));
  })();

  const ended = now();
  const seconds = Math.max(1, Math.round((ended.getTime() - started.getTime()) / 1000));
  const description: TrainingJobDescription = {
    ...(JSON.parse(JSON.stringify(recorded)) as Record<string, unknown>),
    TrainingJobName: request.TrainingJobName,
    TrainingJobArn: recorded.TrainingJobArn ?? '',
    TrainingJobStatus: 'Completed',
    SecondaryStatus: 'Completed',
    ModelArtifacts: { S3ModelArtifacts: modelUri },
    FinalMetricDataList: Object.entries(metrics).map(([MetricName, Value]) => ({
      MetricName,
      Value,
      Timestamp: ended.toISOString(),
    })),
    AlgorithmSpecification: {
      TrainingImage: LOCAL_IMAGE_URI,
      TrainingInputMode: request.AlgorithmSpecification?.TrainingInputMode ?? 'File',
    },
    HyperParameters: {
      ...(request.HyperParameters ?? {}),
      local_num_steps: String(hyper.numSteps),
      local_learning_rate: String(hyper.learningRate),
      ...(request.AlgorithmSpecification?.TrainingImage
        ? { local_requested_image: request.AlgorithmSpecification.TrainingImage }
        : {}),
    },
    TrainingStartTime: started.toISOString(),
    TrainingEndTime: ended.toISOString(),
    TrainingTimeInSeconds: seconds,
    BillableTimeInSeconds: seconds,
  };
  deps.onTrained?.({
    jobName: request.TrainingJobName,
    model,
    modelUri,
    validation: { scores: valScores, labels: validation.labels },
    metrics,
  });
  return description;
}

/** The `Train` state override for {@link runStateMachine}. */
export const trainingOverride =
  (deps: TrainerDeps) =>
  (input: unknown): Promise<unknown> =>
    runTrainingJob(input as TrainingJobRequest, deps);
