import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateModelCommand, DescribeTransformJobCommand } from '@aws-sdk/client-sagemaker';
import { fitModel, packModel, predictProba } from '../../../local/standins/model';
import {
  applyColumnFilter,
  parseColumnFilter,
  runTransformJob,
  transformLines,
} from '../../../local/standins/transformer';
import { testClients, uniqueName } from '../../support/aws';
import { describeWithServers } from '../../support/servers';

const row = ['id', 'seg', 'a', 'b', 'c', 'd'];
const f = (expr: string) => applyColumnFilter(parseColumnFilter(expr), row);

describe('DataProcessing column filters', () => {
  it.each([
    ['$', row],
    ['$[2:]', ['a', 'b', 'c', 'd']],
    ['$[1:]', ['seg', 'a', 'b', 'c', 'd']],
    ['$[0,1,-1]', ['id', 'seg', 'd']],
    ['$[0,-1]', ['id', 'd']],
    ['$[-1]', ['d']],
    ['$[:2]', ['id', 'seg']],
    ['$[1:3]', ['seg', 'a']],
    ['$[-2:]', ['c', 'd']],
    ['$[0, 4:]', ['id', 'c', 'd']],
    ['$[::2]', ['id', 'a', 'c']],
    ['$[::-1]', ['d', 'c', 'b', 'a', 'seg', 'id']],
    ['$[10]', []],
    ['$[2:100]', ['a', 'b', 'c', 'd']],
  ])('%s', (expr, expected) => {
    expect(f(expr)).toEqual(expected);
  });

  it.each(['$.features', '$[a]', '$[1:2:0]', '$[]', 'features'])('rejects %s with the expression named', (expr) => {
    expect(() => parseColumnFilter(expr)).toThrow(expr.trim());
  });
});

describe('transformLines', () => {
  const model = fitModel(
    Array.from({ length: 200 }, (_, i) => [i % 10, (i * 3) % 7]),
    Array.from({ length: 200 }, (_, i) => (i % 10 > 5 ? 1 : 0)),
  );

  it('joins the prediction to the input and filters as the contract says', () => {
    const lines = ['C1,basic,9,1', '', 'C2,premium,0,3', ''];
    const { output, scores } = transformLines(
      lines,
      model,
      { InputFilter: '$[2:]', JoinSource: 'Input', OutputFilter: '$[0,1,-1]' },
      'x',
    );
    expect(scores).toEqual(
      predictProba(model, [
        [9, 1],
        [0, 3],
      ]),
    );
    expect(output).toHaveLength(2);
    expect(output[0]).toMatch(/^C1,basic,0\.\d+$/);
    expect(output[1]).toMatch(/^C2,premium,0\.\d+$/);
    expect(Number(output[0]!.split(',')[2])).toBeCloseTo(scores[0]!, 7);
  });

  it('without JoinSource returns only the prediction', () => {
    const { output } = transformLines(['9,1'], model, undefined, 'x');
    expect(output[0]).toMatch(/^0\.\d+$/);
  });

  it('names the line when the filtered row does not fit the model', () => {
    expect(() =>
      transformLines(['C1,basic,9,1', 'C2,basic,9'], model, { InputFilter: '$[2:]' }, 's3://b/in.csv'),
    ).toThrow('s3://b/in.csv line 2: 1 features after InputFilter $[2:], the model expects 2');
    expect(() => transformLines(['C1,basic,9,x'], model, { InputFilter: '$[2:]' }, 's3://b/in.csv')).toThrow(
      's3://b/in.csv line 1 feature 2: "x" is not a number',
    );
  });
});

describeWithServers('local transformer against moto', { moto: true }, (env) => {
  const bucket = uniqueName('artifacts');
  let c: ReturnType<typeof testClients>;
  const model = fitModel(
    Array.from({ length: 300 }, (_, i) => [i % 10, (i * 3) % 7]),
    Array.from({ length: 300 }, (_, i) => (i % 10 > 5 ? 1 : 0)),
  );

  beforeAll(async () => {
    c = testClients(env.moto.endpoint);
    await c.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const put = (Key: string, Body: string | Buffer) => c.s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
    await put('models/m1/model.tar.gz', packModel(model));
    await put('batch/r1/input/part-00001.csv', 'C1,basic,9,1\nC2,standard,1,2\n');
    await put('batch/r1/input/part-00002.csv', 'C3,premium,7,0\n');
    await put(
      'batch/r1/manifest.json',
      JSON.stringify([{ prefix: `s3://${bucket}/batch/r1/input/` }, 'part-00001.csv', 'part-00002.csv']),
    );
    await c.sageMaker.send(
      new CreateModelCommand({
        ModelName: 'churn-v1',
        ExecutionRoleArn: 'arn:aws:iam::123456789012:role/sm',
        PrimaryContainer: {
          Image: 'local/mlops-batch-logistic-regression:2.0.0',
          ModelDataUrl: `s3://${bucket}/models/m1/model.tar.gz`,
        },
      }),
    );
    await c.sageMaker.send(
      new CreateModelCommand({
        ModelName: 'xgb',
        ExecutionRoleArn: 'arn:aws:iam::123456789012:role/sm',
        PrimaryContainer: { Image: 'xgboost:1.7-1', ModelDataUrl: `s3://${bucket}/models/m1/model.tar.gz` },
      }),
    );
  });

  const request = (name: string, modelName = 'churn-v1') => ({
    TransformJobName: name,
    ModelName: modelName,
    BatchStrategy: 'MultiRecord',
    TransformInput: {
      DataSource: {
        S3DataSource: { S3DataType: 'ManifestFile' as const, S3Uri: `s3://${bucket}/batch/r1/manifest.json` },
      },
      ContentType: 'text/csv',
      SplitType: 'Line',
      CompressionType: 'None',
    },
    TransformOutput: {
      S3OutputPath: `s3://${bucket}/results/model_version=1/run=r1`,
      Accept: 'text/csv',
      AssembleWith: 'Line',
    },
    TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1 },
    DataProcessing: { InputFilter: '$[2:]', JoinSource: 'Input' as const, OutputFilter: '$[0,1,-1]' },
  });

  it('writes one .out per manifest entry, records the job and returns DescribeTransformJob', async () => {
    let written = 0;
    const res = await runTransformJob(request('tj-1'), { ...c, onTransformed: (i) => (written = i.scores.length) });
    expect(res.TransformJobStatus).toBe('Completed');
    expect(res.TransformJobArn).toMatch(/transform-job\/tj-1$/);
    expect(written).toBe(3);
    const read = async (k: string) =>
      (await c.s3.send(new GetObjectCommand({ Bucket: bucket, Key: k }))).Body!.transformToString();
    const one = (await read('results/model_version=1/run=r1/part-00001.csv.out')).trim().split('\n');
    const two = (await read('results/model_version=1/run=r1/part-00002.csv.out')).trim().split('\n');
    expect(one.map((l) => l.split(',').slice(0, 2).join(','))).toEqual(['C1,basic', 'C2,standard']);
    expect(two).toHaveLength(1);
    expect(two[0]).toMatch(/^C3,premium,0\.\d+$/);
    const recorded = await c.sageMaker.send(new DescribeTransformJobCommand({ TransformJobName: 'tj-1' }));
    expect(recorded.ModelName).toBe('churn-v1');
  });

  it('refuses a model that was not trained locally', async () => {
    await expect(runTransformJob(request('tj-2', 'xgb'), c)).rejects.toThrow(
      /Model xgb uses image xgboost:1.7-1; the local transformer only runs models trained locally/,
    );
  });
});
