/**
 * The train channel as shards: PrepareTrainingData on the same snapshots once as one file (one instance) and once as
 * shards (three instances, small shards), against moto S3; then the local XGBoost stand-in trains on each channel
 * and must give the same model. The validation channel, the spec and the statistics must not change with sharding.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parseS3Uri } from '../../contracts/s3-layout';
import { loadDefaultContract } from '../../lambdas/data/contract';
import { readPreprocessingSpec } from '../../lambdas/data/preprocessing-spec';
import {
  type PrepareTrainingDataResult,
  prepareTrainingData,
} from '../../lambdas/functions/prepare-training-data/core';
import { trainDistribution } from '../../lib/constructs/tasks/train-job';
import { generateSampleData } from '../../local/demo/sample-data';
import { runTrainingJob, type TrainedInfo, type TrainingJobRequest } from '../../local/standins/trainer';
import { createBucket, testClients } from '../support/aws';
import { describeWithServers } from '../support/servers';
import { boosterPredict } from '../support/xgboost';

const contract = loadDefaultContract();
const settings = { validationShare: 0.2, maxInvalidRowRatio: 0.05, maxReportedViolations: 50 };
const HYPERPARAMETERS = {
  objective: 'binary:logistic',
  eval_metric: 'logloss,auc',
  num_round: '60',
  max_depth: '4',
  eta: '0.3',
  subsample: '0.8',
  early_stopping_rounds: '10',
};

async function text(s3: S3Client, bucket: string, key: string): Promise<string> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return res.Body!.transformToString('utf8');
}

async function listed(s3: S3Client, uri: string): Promise<{ key: string; size: number }[]> {
  const { bucket, key: prefix } = parseS3Uri(uri, { prefix: true });
  const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => ({ key: o.Key!, size: o.Size ?? 0 })).sort((a, b) => (a.key < b.key ? -1 : 1));
}

describeWithServers('train shards: prepare and the local trainer', { moto: true, xgboost: true }, (env) => {
  let s3: S3Client;
  let clients: ReturnType<typeof testClients>;
  let features: string;
  let artifacts: string;
  let keys: string[];
  let one: PrepareTrainingDataResult;
  let sharded: PrepareTrainingDataResult;

  const prepare = (runId: string, extra: { instanceCount?: number; maxRowsPerShard?: number }) =>
    prepareTrainingData({
      s3,
      contract,
      bucket: features,
      artifactsBucket: artifacts,
      keys,
      runId,
      ...settings,
      ...extra,
    });

  beforeAll(async () => {
    clients = testClients(env.moto.endpoint);
    s3 = clients.s3;
    features = await createBucket(s3);
    artifacts = await createBucket(s3);
    const data = generateSampleData({ customers: 1200, seed: 7 });
    const training = data.files.filter((f) => f.kind === 'training' && f.phase === 'initial');
    for (const f of training) await s3.send(new PutObjectCommand({ Bucket: features, Key: f.key, Body: f.body }));
    keys = training.map((f) => f.key);
    one = await prepare('shards-one', {});
    sharded = await prepare('shards-three', { instanceCount: 3, maxRowsPerShard: 150 });
  });

  it('writes a multiple of the instance count of shards, none over the row limit, evenly sized', async () => {
    expect(one.trainShards).toBe(1);
    expect(sharded.trainRows).toBe(one.trainRows);
    const expected = 3 * Math.ceil(one.trainRows / (3 * 150));
    expect(sharded.trainShards).toBe(expected);
    const objects = await listed(s3, sharded.trainPrefixUri);
    expect(objects.map((o) => o.key)).toEqual(
      Array.from(
        { length: expected },
        (_, i) => `training/shards-three/train/part-${String(i + 1).padStart(5, '0')}.csv`,
      ),
    );
    const counts = await Promise.all(
      objects.map(async (o) => (await text(s3, artifacts, o.key)).trimEnd().split('\n').length),
    );
    expect(counts.reduce((a, b) => a + b, 0)).toBe(one.trainRows);
    expect(Math.max(...counts)).toBeLessThanOrEqual(150);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(sharded.trainUri).toBe(`s3://${artifacts}/${objects[0]!.key}`);
  });

  it('concatenated in key order, the shards are the one-file channel; validation, spec and stats are unchanged', async () => {
    const shards = await listed(s3, sharded.trainPrefixUri);
    const joined = (await Promise.all(shards.map((o) => text(s3, artifacts, o.key)))).join('');
    const { key: oneKey } = parseS3Uri(one.trainUri);
    expect(joined).toBe(await text(s3, artifacts, oneKey));
    const v1 = parseS3Uri(one.validationUri).key;
    const v3 = parseS3Uri(sharded.validationUri).key;
    expect(await text(s3, artifacts, v3)).toBe(await text(s3, artifacts, v1));
    const spec1 = await readPreprocessingSpec(s3, one.preprocessingUri);
    const spec3 = await readPreprocessingSpec(s3, sharded.preprocessingUri);
    expect({ ...spec3, runId: '' }).toEqual({ ...spec1, runId: '' });
    expect(sharded.featureStats).toEqual(one.featureStats);
    expect(sharded.validationRows).toBe(one.validationRows);
  });

  it('refuses a plan that would leave an instance without rows, naming the setting', async () => {
    await expect(prepare('shards-too-many', { instanceCount: one.trainRows + 1 })).rejects.toThrow(
      /cannot be sharded over training.instanceCount/,
    );
  });

  it('the local trainer gives the same model from the shards as from the one file', async () => {
    const request = (name: string, prepared: PrepareTrainingDataResult, instances: number): TrainingJobRequest => ({
      TrainingJobName: name,
      AlgorithmSpecification: { TrainingImage: 'xgboost', TrainingInputMode: 'File' },
      InputDataConfig: [
        ['train', prepared.trainPrefixUri, trainDistribution(instances)],
        ['validation', prepared.validationPrefixUri, 'FullyReplicated'],
      ].map(([ChannelName, S3Uri, S3DataDistributionType]) => ({
        ChannelName: ChannelName!,
        ContentType: 'text/csv',
        DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3DataDistributionType, S3Uri: S3Uri! } },
      })),
      OutputDataConfig: { S3OutputPath: `s3://${artifacts}/models/` },
      ResourceConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: instances, VolumeSizeInGB: 30 },
      HyperParameters: HYPERPARAMETERS,
    });
    const seen: TrainedInfo[] = [];
    const deps = { s3: clients.s3, sageMaker: clients.sageMaker, onTrained: (i: TrainedInfo) => seen.push(i) };
    const a = await runTrainingJob(request('shards-job-one', one, 1), deps);
    const b = await runTrainingJob(request('shards-job-three', sharded, 3), deps);
    expect(seen.map((s) => s.summary.trainRows)).toEqual([one.trainRows, one.trainRows]);
    expect(b.FinalMetricDataList.map((m) => [m.MetricName, m.Value])).toEqual(
      a.FinalMetricDataList.map((m) => [m.MetricName, m.Value]),
    );
    expect(seen[1]!.validation.scores).toEqual(seen[0]!.validation.scores);
    const rows = (await text(s3, artifacts, parseS3Uri(one.validationUri).key))
      .trimEnd()
      .split('\n')
      .slice(0, 50)
      .map((l) => l.slice(l.indexOf(',') + 1));
    const model = async (uri: string) => {
      const { bucket, key } = parseS3Uri(uri);
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await res.Body!.transformToByteArray());
    };
    const pa = boosterPredict(await model(a.ModelArtifacts.S3ModelArtifacts), rows);
    const pb = boosterPredict(await model(b.ModelArtifacts.S3ModelArtifacts), rows);
    expect(pb.scores).toEqual(pa.scores);
    // Not a vacuous comparison: the model separates the rows.
    expect(Math.max(...pa.scores) - Math.min(...pa.scores)).toBeGreaterThan(0.2);
  });
});
