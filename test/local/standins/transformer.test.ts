/**
 * The local Transform stand-in: DataProcessing filters (pure), and whole jobs against moto_server with a model the
 * local trainer (XGBoost 1.7) produced; predictions are checked against xgboost's own Booster.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateModelCommand, DescribeTransformJobCommand } from '@aws-sdk/client-sagemaker';
import { LOCAL_IMAGE_URI } from '../../../local/standins/model';
import { runTrainingJob } from '../../../local/standins/trainer';
import {
  applyColumnFilter,
  assembleOutput,
  parseColumnFilter,
  prepareLines,
  runTransformJob,
} from '../../../local/standins/transformer';
import { testClients, uniqueName } from '../../support/aws';
import { describeWithServers } from '../../support/servers';
import { boosterPredict } from '../../support/xgboost';

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

describe('prepareLines / assembleOutput', () => {
  // Joining and filtering only: the scores are given here, the model is exercised in the moto block below.
  it('filters the input, then joins the prediction to it and filters the output as the contract says', () => {
    const processing = { InputFilter: '$[2:]', JoinSource: 'Input' as const, OutputFilter: '$[0,1,-1]' };
    const prepared = prepareLines(['C1,basic,9,1', '', 'C2,premium,0,3', ''], processing, 'x');
    expect(prepared.features).toEqual(['9,1', '0,3']);
    expect(prepared.width).toBe(2);
    expect(assembleOutput(prepared, [0.25, 0.123456789], processing)).toEqual([
      'C1,basic,0.25',
      'C2,premium,0.12345679',
    ]);
  });

  it('without JoinSource returns only the prediction', () => {
    expect(assembleOutput(prepareLines(['9,1'], undefined, 'x'), [0.5], undefined)).toEqual(['0.5']);
  });

  it('names the line when a filtered row differs in width or is not numeric', () => {
    expect(() => prepareLines(['C1,basic,9,1', 'C2,basic,9'], { InputFilter: '$[2:]' }, 's3://b/in.csv')).toThrow(
      's3://b/in.csv line 2: 1 features after InputFilter $[2:], line 1 has 2',
    );
    expect(() => prepareLines(['C1,basic,9,x'], { InputFilter: '$[2:]' }, 's3://b/in.csv')).toThrow(
      's3://b/in.csv line 1 feature 2: "x" is not a number',
    );
  });
});

describeWithServers('local transformer (XGBoost 1.7) against moto', { moto: true, xgboost: true }, (env) => {
  const bucket = uniqueName('artifacts');
  let c: ReturnType<typeof testClients>;
  let modelUri: string;
  const part1 = 'C1,basic,9,1\nC2,standard,1,2\n\nC4,basic,4.5,5\n';
  const part2 = 'C3,premium,7,0\n';

  beforeAll(async () => {
    c = testClients(env.moto.endpoint);
    await c.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const put = (Key: string, Body: string | Buffer) => c.s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
    const rows = (n: number, off: number) =>
      Array.from({ length: n }, (_, i) => `${(i + off) % 10 > 5 ? 1 : 0},${(i + off) % 10},${((i + off) * 3) % 7}`);
    await put('training/t1/train/part-0.csv', `${rows(300, 0).join('\n')}\n`);
    await put('training/t1/validation/part-0.csv', `${rows(100, 7).join('\n')}\n`);
    const trained = await runTrainingJob(
      {
        TrainingJobName: 'tj-model',
        InputDataConfig: ['train', 'validation'].map((ChannelName) => ({
          ChannelName,
          DataSource: { S3DataSource: { S3Uri: `s3://${bucket}/training/t1/${ChannelName}/` } },
        })),
        OutputDataConfig: { S3OutputPath: `s3://${bucket}/models` },
        HyperParameters: { objective: 'binary:logistic', eval_metric: 'auc', num_round: '20', max_depth: '3' },
      },
      c,
    );
    modelUri = trained.ModelArtifacts.S3ModelArtifacts;
    await put('batch/r1/input/part-00001.csv', part1);
    await put('batch/r1/input/part-00002.csv', part2);
    await put('batch/r1/input/part-00003.csv', 'C9,basic,1,2,3\n');
    await put(
      'batch/r1/manifest.json',
      JSON.stringify([{ prefix: `s3://${bucket}/batch/r1/input/` }, 'part-00001.csv', 'part-00002.csv']),
    );
    await put(
      'batch/r1/manifest-wide.json',
      JSON.stringify([{ prefix: `s3://${bucket}/batch/r1/input/` }, 'part-00002.csv', 'part-00003.csv']),
    );
    const model = (ModelName: string, Image: string) =>
      c.sageMaker.send(
        new CreateModelCommand({
          ModelName,
          ExecutionRoleArn: 'arn:aws:iam::123456789012:role/sm',
          PrimaryContainer: { Image, ModelDataUrl: modelUri },
        }),
      );
    await model('churn-v1', LOCAL_IMAGE_URI);
    await model('churn-aws', '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1');
    await model('linear', '382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1');
  });

  const request = (name: string, modelName = 'churn-v1', manifest = 'manifest.json') => ({
    TransformJobName: name,
    ModelName: modelName,
    BatchStrategy: 'MultiRecord',
    TransformInput: {
      DataSource: {
        S3DataSource: { S3DataType: 'ManifestFile' as const, S3Uri: `s3://${bucket}/batch/r1/${manifest}` },
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
  const read = async (k: string) =>
    (await c.s3.send(new GetObjectCommand({ Bucket: bucket, Key: k }))).Body!.transformToString();

  it("writes one .out per manifest entry with the booster's predictions, records the job", async () => {
    let written = 0;
    const res = await runTransformJob(request('tj-1'), { ...c, onTransformed: (i) => (written = i.scores.length) });
    expect(res.TransformJobStatus).toBe('Completed');
    expect(res.TransformJobArn).toMatch(/transform-job\/tj-1$/);
    expect(written).toBe(4);
    const one = (await read('results/model_version=1/run=r1/part-00001.csv.out')).trim().split('\n');
    const two = (await read('results/model_version=1/run=r1/part-00002.csv.out')).trim().split('\n');
    expect(one.map((l) => l.split(',').slice(0, 2).join(','))).toEqual(['C1,basic', 'C2,standard', 'C4,basic']);
    expect(two).toHaveLength(1);
    expect(two[0]).toMatch(/^C3,premium,0\.\d+$/);

    const archive = await c.s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: modelUri.replace(`s3://${bucket}/`, '') }),
    );
    const { scores } = boosterPredict(Buffer.from(await archive.Body!.transformToByteArray()), ['9,1', '1,2', '4.5,5']);
    one.forEach((l, i) => {
      expect(Math.abs(Number(l.split(',')[2]) - scores[i]!)).toBeLessThan(1e-6);
    });
    // The features decide: a row with feature 9 scores high, one with 1 low.
    expect(scores[0]!).toBeGreaterThan(0.8);
    expect(scores[1]!).toBeLessThan(0.2);

    const recorded = await c.sageMaker.send(new DescribeTransformJobCommand({ TransformJobName: 'tj-1' }));
    expect(recorded.ModelName).toBe('churn-v1');
  });

  it("runs a model of SageMaker's own XGBoost 1.7 image (same artifact)", async () => {
    const res = await runTransformJob(request('tj-aws', 'churn-aws'), c);
    expect(res.TransformJobStatus).toBe('Completed');
  });

  it('names the input whose feature count differs from the model', async () => {
    await expect(runTransformJob(request('tj-wide', 'churn-v1', 'manifest-wide.json'), c)).rejects.toThrow(
      `s3://${bucket}/batch/r1/input/part-00003.csv: 3 features after InputFilter $[2:], the model expects 2`,
    );
  });

  it('refuses a model that is not XGBoost 1.7', async () => {
    await expect(runTransformJob(request('tj-2', 'linear'), c)).rejects.toThrow(
      /Model linear uses image .*linear-learner:1; the local transformer runs XGBoost 1.7 models only/,
    );
  });
});
