/**
 * The local Train stand-in runs XGBoost 1.7 (python3-xgboost) on the job's channels with the job's hyperparameters,
 * against moto_server; the model archive is checked with xgboost itself.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import { DEFAULT_HYPERPARAMETERS } from '../../../lib/config';
import { prng } from '../../../local/demo/sample-data';
import { LOCAL_IMAGE_URI } from '../../../local/standins/model';
import { describeTraining } from '../../../local/standins/summary';
import {
  runTrainingJob,
  type TrainedInfo,
  TrainingJobFailedError,
  type TrainingJobRequest,
} from '../../../local/standins/trainer';
import { finalMetricsOf } from '../../../local/standins/xgboost';
import { testClients, uniqueName } from '../../support/aws';
import { describeWithServers } from '../../support/servers';
import { boosterPredict } from '../../support/xgboost';

/** Label-first numeric CSV where the label depends on two of three features. */
function dataset(n: number, seed: number): string {
  const r = prng(seed, 'trainer-test');
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = r() * 10;
    const b = r() * 4 - 2;
    const c = r();
    const p = 1 / (1 + Math.exp(-(0.6 * (a - 5) + 1.2 * b)));
    lines.push([r() < p ? 1 : 0, a.toFixed(3), b.toFixed(3), c.toFixed(3)].join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** The hyperparameters the config gives the Training workflow by default. */
const HYPERPARAMETERS: Record<string, string> = { ...DEFAULT_HYPERPARAMETERS };

describe('finalMetricsOf', () => {
  it("takes the training script's last value of each metric, named as SageMaker names them", () => {
    const result = {
      evaluatedRounds: 2,
      finalMetrics: {
        'train:logloss': 0.54633,
        'train:auc': 0.90756,
        'validation:logloss': 0.56456,
        'validation:auc': 0.86974,
      },
    };
    expect(finalMetricsOf(result)).toEqual({
      rounds: 2,
      metrics: {
        'train:logloss': 0.54633,
        'train:auc': 0.90756,
        'validation:logloss': 0.56456,
        'validation:auc': 0.86974,
      },
    });
    expect(finalMetricsOf({})).toEqual({ rounds: 0, metrics: {} });
  });
});

describeWithServers('local trainer (XGBoost 1.7) against moto', { moto: true, xgboost: true }, (env) => {
  const bucket = uniqueName('artifacts');
  let clients: ReturnType<typeof testClients>;
  const request = (
    name: string,
    prefix = 'training/run-1',
    HyperParameters: Record<string, string> = HYPERPARAMETERS,
  ): TrainingJobRequest => ({
    TrainingJobName: name,
    AlgorithmSpecification: { TrainingImage: 'xgboost-image/sagemaker-xgboost:1.7-1', TrainingInputMode: 'File' },
    RoleArn: 'arn:aws:iam::123456789012:role/sm',
    InputDataConfig: ['train', 'validation'].map((ChannelName) => ({
      ChannelName,
      ContentType: 'text/csv',
      DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${bucket}/${prefix}/${ChannelName}/` } },
    })),
    OutputDataConfig: { S3OutputPath: `s3://${bucket}/models/` },
    ResourceConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 },
    StoppingCondition: { MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 7200 },
    EnableManagedSpotTraining: true,
    HyperParameters,
  });
  const failureOf = async (p: Promise<unknown>): Promise<string> => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(TrainingJobFailedError);
    const failed = e as TrainingJobFailedError;
    expect(failed.name).toBe('States.TaskFailed');
    expect(JSON.parse(failed.message)).toMatchObject({
      TrainingJobStatus: 'Failed',
      FailureReason: failed.failureReason,
    });
    return failed.failureReason;
  };

  beforeAll(async () => {
    clients = testClients(env.moto.endpoint);
    await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const put = (Key: string, Body: string) => clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
    // Two train objects: the channel is every object under the prefix.
    const train = dataset(3000, 1).split('\n');
    await put('training/run-1/train/part-00001.csv', `${train.slice(0, 1500).join('\n')}\n`);
    await put('training/run-1/train/part-00002.csv', train.slice(1500).join('\n'));
    await put('training/run-1/validation/part-00001.csv', dataset(1000, 2));
    await put('training/bad/train/part-00001.csv', '1,2,3\n0,x,4\n');
    await put('training/bad/validation/part-00001.csv', '1,2,3\n');
  });

  it('trains with the job hyperparameters, writes xgboost-model in model.tar.gz and reports the evaluation log', async () => {
    const seen: TrainedInfo[] = [];
    const res = await runTrainingJob(request('job-ok'), {
      s3: clients.s3,
      sageMaker: clients.sageMaker,
      onTrained: (i) => seen.push(i),
    });
    expect(res.TrainingJobStatus).toBe('Completed');
    expect(res.ModelArtifacts.S3ModelArtifacts).toBe(`s3://${bucket}/models/job-ok/output/model.tar.gz`);
    expect(res.HyperParameters).toEqual(HYPERPARAMETERS);
    expect(res.AlgorithmSpecification.TrainingImage).toBe(LOCAL_IMAGE_URI);
    expect(res.TrainingJobArn).toMatch(/:training-job\/job-ok$/);
    const names = res.FinalMetricDataList.map((m) => m.MetricName).sort();
    expect(names).toEqual(['train:auc', 'train:logloss', 'validation:auc', 'validation:logloss']);
    const metric = (n: string) => res.FinalMetricDataList.find((m) => m.MetricName === n)!.Value;
    expect(metric('validation:auc')).toBeGreaterThan(0.75);
    expect(metric('validation:auc')).toBeLessThan(0.99);
    expect(metric('validation:logloss')).toBeGreaterThan(0.2);
    expect(metric('validation:logloss')).toBeLessThan(0.6);
    // Trees fit the training rows better than the validation rows.
    expect(metric('train:auc')).toBeGreaterThan(metric('validation:auc'));

    expect(seen).toHaveLength(1);
    const info = seen[0]!;
    expect(info.validation.scores).toHaveLength(1000);
    expect(info.validation.labels).toHaveLength(1000);
    expect(info.summary).toMatchObject({
      xgboostVersion: expect.stringMatching(/^1\.7\./),
      trainRows: 3000,
      validationRows: 1000,
      features: 3,
      hyperparameters: HYPERPARAMETERS,
    });
    // Early stopping (10 rounds on validation auc) ends well before 200 rounds on this data and keeps the best.
    expect(info.summary.roundsRun).toBeLessThan(200);
    expect(info.summary.roundsRun - info.summary.bestIteration!).toBeGreaterThanOrEqual(10);
    expect(info.summary.boostedRounds).toBe(info.summary.bestIteration! + 1);
    expect(describeTraining(info.summary, 0.85).join('\n')).toMatch(/XGBoost 1\.7\.\d+[\s\S]*early stopping/);

    const recorded = await clients.sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'job-ok' }));
    expect(recorded.TrainingJobName).toBe('job-ok');

    const obj = await clients.s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'models/job-ok/output/model.tar.gz' }),
    );
    const archive = Buffer.from(await obj.Body!.transformToByteArray());
    const rows = ['0,-2,0.5', '10,2,0.5'];
    const { scores, members } = boosterPredict(archive, rows);
    expect(members).toEqual(['xgboost-model']);
    expect(scores[0]!).toBeLessThan(0.2);
    expect(scores[1]!).toBeGreaterThan(0.8);
  });

  it('is deterministic: the same job twice gives the same metrics', async () => {
    const a = await runTrainingJob(request('job-det-a'), clients);
    const b = await runTrainingJob(request('job-det-b'), clients);
    expect(b.FinalMetricDataList.map((m) => [m.MetricName, m.Value])).toEqual(
      a.FinalMetricDataList.map((m) => [m.MetricName, m.Value]),
    );
  });

  it.each([
    [{ ...HYPERPARAMETERS, num_round: undefined }, "ClientError: Hyperparameter 'num_round' is required"],
    [{ ...HYPERPARAMETERS, num_round: 'ten' }, "ClientError: Hyperparameter 'num_round': 'ten' is not an integer"],
    [{ ...HYPERPARAMETERS, eta: '2' }, "ClientError: Hyperparameter 'eta': 2 is outside [0, 1]"],
    [{ ...HYPERPARAMETERS, subsample: '0' }, "ClientError: Hyperparameter 'subsample': 0 is outside (0, 1]"],
    [
      { ...HYPERPARAMETERS, objective: 'binary:magic' },
      "ClientError: Hyperparameter 'objective': 'binary:magic' is not one of",
    ],
    [{ ...HYPERPARAMETERS, eval_metric: 'logloss,aucc' }, "ClientError: Hyperparameter 'eval_metric': 'logloss,aucc'"],
    [
      { ...HYPERPARAMETERS, local_num_steps: '40' },
      "ClientError: Hyperparameter 'local_num_steps' is not a hyperparameter",
    ],
  ])('fails the job on a missing or invalid hyperparameter (%#)', async (hp, reason) => {
    const clean = Object.fromEntries(Object.entries(hp).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const why = await failureOf(runTrainingJob(request('job-bad-hp', 'training/run-1', clean), clients));
    expect(why.startsWith(reason)).toBe(true);
  });

  it('names file, line and column of a non-numeric value', async () => {
    const why = await failureOf(runTrainingJob(request('job-bad', 'training/bad'), clients));
    expect(why).toBe(
      `ClientError: s3://${bucket}/training/bad/train/part-00001.csv line 2 column 2: "x" is not a number (text/csv training input is numeric, label first, no header)`,
    );
  });

  it('fails clearly without a validation channel', async () => {
    const r = request('job-novalidation');
    const why = await failureOf(
      runTrainingJob({ ...r, InputDataConfig: r.InputDataConfig.filter((c) => c.ChannelName === 'train') }, clients),
    );
    expect(why).toBe('ClientError: no "validation" channel in InputDataConfig');
  });
});
