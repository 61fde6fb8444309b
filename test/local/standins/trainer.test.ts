import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import { prng } from '../../../local/demo/sample-data';
import { LOCAL_IMAGE_URI, predictProba, unpackModel } from '../../../local/standins/model';
import { runTrainingJob, type TrainingJobRequest } from '../../../local/standins/trainer';
import { testClients, uniqueName } from '../../support/aws';
import { describeWithServers } from '../../support/servers';

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

describeWithServers('local trainer against moto', { moto: true }, (env) => {
  const bucket = uniqueName('artifacts');
  let clients: ReturnType<typeof testClients>;
  const request = (name: string, prefix = 'training/run-1'): TrainingJobRequest => ({
    TrainingJobName: name,
    AlgorithmSpecification: { TrainingImage: 'xgboost-image:1.7-1', TrainingInputMode: 'File' },
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
    HyperParameters: { objective: 'binary:logistic', num_round: '200' },
  });

  beforeAll(async () => {
    clients = testClients(env.moto.endpoint);
    await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const put = (Key: string, Body: string) => clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
    await put('training/run-1/train/part-00001.csv', dataset(3000, 1));
    await put('training/run-1/validation/part-00001.csv', dataset(1000, 2));
    await put('training/bad/train/part-00001.csv', '1,2,3\n0,x,4\n');
    await put('training/bad/validation/part-00001.csv', '1,2,3\n');
  });

  it('trains, writes model.tar.gz under the job name and returns DescribeTrainingJob with computed metrics', async () => {
    const seen: number[] = [];
    const res = await runTrainingJob(request('job-ok'), {
      s3: clients.s3,
      sageMaker: clients.sageMaker,
      onTrained: (i) => seen.push(i.validation.scores.length),
    });
    expect(res.TrainingJobStatus).toBe('Completed');
    expect(res.ModelArtifacts.S3ModelArtifacts).toBe(`s3://${bucket}/models/job-ok/output/model.tar.gz`);
    const metric = (n: string) => res.FinalMetricDataList.find((m) => m.MetricName === n)?.Value;
    expect(metric('validation:auc')).toBeGreaterThan(0.75);
    expect(metric('validation:auc')).toBeLessThan(0.99);
    expect(metric('validation:logloss')).toBeGreaterThan(0.2);
    expect(metric('validation:logloss')).toBeLessThan(0.6);
    expect(metric('train:auc')).toBeDefined();
    expect(res.AlgorithmSpecification.TrainingImage).toBe(LOCAL_IMAGE_URI);
    expect(res.HyperParameters.local_requested_image).toBe('xgboost-image:1.7-1');
    expect(res.TrainingJobArn).toMatch(/:training-job\/job-ok$/);
    expect(seen).toEqual([1000]);

    const recorded = await clients.sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'job-ok' }));
    expect(recorded.TrainingJobName).toBe('job-ok');

    const obj = await clients.s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'models/job-ok/output/model.tar.gz' }),
    );
    const model = unpackModel(Buffer.from(await obj.Body!.transformToByteArray()));
    expect(model.imageUri).toBe(LOCAL_IMAGE_URI);
    expect(model.featureCount).toBe(3);
    const [low, high] = predictProba(model, [
      [0, -2, 0.5],
      [10, 2, 0.5],
    ]);
    expect(low!).toBeLessThan(0.1);
    expect(high!).toBeGreaterThan(0.9);
  });

  it('names file, line and column of a non-numeric value', async () => {
    await expect(
      runTrainingJob(request('job-bad', 'training/bad'), { s3: clients.s3, sageMaker: clients.sageMaker }),
    ).rejects.toThrow(`s3://${bucket}/training/bad/train/part-00001.csv line 2 column 2: "x" is not a number`);
  });

  it('fails clearly without a validation channel', async () => {
    const r = request('job-novalidation');
    await expect(
      runTrainingJob({ ...r, InputDataConfig: r.InputDataConfig.filter((c) => c.ChannelName === 'train') }, clients),
    ).rejects.toThrow(/no "validation" channel/);
  });
});
