/**
 * The fanned-out PrepareTrainingData on the synthesized Training definition, run locally (local/runtime/sfn-runner.ts
 * with the Distributed Map emulation): a small `training.prepareTaskBytes` makes several tasks of the window's
 * objects and `training.instanceCount` 2 a sharded train channel; the real XGBoost stand-ins train on the shards and
 * score the several validation files, and EvaluateModel checks it scored every validation row.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TRAINING_PREPARE_RESULTS_PREFIX, trainingPrepareKeys } from '../../contracts/s3-layout';
import { TrainingState as S } from '../../contracts/states/names';
import type { PreparedTrainingData } from '../../contracts/states/training';
import { getRun } from '../../lambdas/domain/tracking';
import { generateSampleData } from '../../local/demo/sample-data';
import { extractDefinition, type LocalResources, resolveResources } from '../../local/runtime/inventory';
import { provision } from '../../local/runtime/provision';
import { runStateMachine } from '../../local/runtime/sfn-runner';
import { synthesizeApp } from '../../local/runtime/synth';
import { trainingOverride } from '../../local/standins/trainer';
import { transformOverride } from '../../local/standins/transformer';
import { findXgboost } from '../../local/standins/xgboost';
import { testClients } from '../support/aws';
import { describeWithServers } from '../support/servers';
import { buildTrainingApp } from '../support/training-app';

const TASK_BYTES = 40_000;
const app = synthesizeApp({
  build: buildTrainingApp,
  context: {
    '@aws-cdk/core:defaultCrossStackReferences': 'strong',
    environments: {
      dev: {
        training: { instanceCount: 2, useSpot: false, prepareTaskBytes: TASK_BYTES, prepareConcurrency: 3 },
        gate: { minAuc: 0.5 },
      },
    },
  },
});
const definition = extractDefinition(app, 'TrainingStateMachine');

describeWithServers('Training: PrepareTrainingData fanned out on the real definition', { moto: true }, (env) => {
  let resources: LocalResources;
  let s3: S3Client;
  let doc: DynamoDBDocumentClient;
  let sm: SageMakerClient;
  let featuresBucket: string;
  let artifactsBucket: string;
  let table: string;
  const objects: string[] = [];

  beforeAll(async () => {
    const c = testClients(env.moto.endpoint);
    s3 = c.s3;
    doc = c.doc;
    sm = c.sageMaker;
    resources = resolveResources(app);
    const common = { endpoint: env.moto.endpoint, region: process.env.AWS_REGION ?? 'us-east-1' };
    await provision(resources, { s3, dynamodb: new DynamoDBClient(common), sns: new SNSClient(common), sageMaker: sm });
    const startRun = Object.values(resources.functions).find(
      (f) => f.entry === 'lambdas/functions/start-run/handler.ts',
    )!;
    featuresBucket = startRun.environment.FEATURES_BUCKET!;
    artifactsBucket = startRun.environment.ARTIFACTS_BUCKET!;
    table = startRun.environment.TABLE_NAME!;
    // The two labelled snapshots of the demo data, each cut into four objects of ~25 KB (tasks of one object).
    const data = generateSampleData({ customers: 2400, seed: 5 });
    for (const f of data.files.filter((x) => x.kind === 'training' && x.phase === 'initial')) {
      const [header, ...rows] = f.body.trimEnd().split('\n');
      const per = Math.ceil(rows.length / 4);
      for (let p = 0; p < 4; p++) {
        const key = f.key.replace('part-0.csv', `part-${p}.csv`);
        const body = `${[header, ...rows.slice(p * per, (p + 1) * per)].join('\n')}\n`;
        await s3.send(new PutObjectCommand({ Bucket: featuresBucket, Key: key, Body: body }));
        objects.push(key);
      }
    }
  }, 120_000);

  const itXgboost = findXgboost().runtime || process.env.CI ? it : it.skip;

  itXgboost(
    'several tasks → shards a multiple of the instances, several validation files, a registered model',
    async () => {
      const train = trainingOverride({ s3, sageMaker: sm });
      const transform = transformOverride({ s3, sageMaker: sm });
      const res = await runStateMachine({
        definition,
        functions: resources.functions,
        overrides: { [S.Train]: train, [S.ScoreCandidate]: transform, [S.ScoreChampion]: transform },
        input: { trigger: 'test', dataWindow: { from: '2026-10-30' } },
        name: 'train-fan-1',
        env: { AWS_ENDPOINT_URL: env.moto.endpoint },
      });
      expect(res.error).toBeUndefined();
      expect(res.status).toBe('SUCCEEDED');
      expect(res.path.slice(0, 7)).toEqual([
        S.StartRun,
        S.PlanTrainingData,
        S.ProfileTrainingData,
        S.BuildPreprocessingSpec,
        S.EncodeTrainingData,
        S.PrepareTrainingData,
        S.Train,
      ]);

      const tasksObj = await s3.send(
        new GetObjectCommand({ Bucket: artifactsBucket, Key: trainingPrepareKeys('train-fan-1').tasks }),
      );
      const tasks = JSON.parse(await tasksObj.Body!.transformToString()) as { task: number; keys: string[] }[];
      expect(tasks.length).toBeGreaterThanOrEqual(4);
      expect(tasks.flatMap((t) => t.keys)).toEqual([...objects].sort());

      const data = (res.stateOutputs[S.PrepareTrainingData] as { data: PreparedTrainingData }).data;
      // The last step replaced the plan with today's payload: nothing else of the fan-out stays in the state.
      expect(Object.keys(data).sort()).toEqual(
        [
          'contractVersion',
          'lineageUri',
          'preprocessingUri',
          'rowsIn',
          'rowsQuarantined',
          'rowsUsed',
          'statsUri',
          'trainRows',
          'trainShards',
          'trainUri',
          'validationReportUri',
          'validationRows',
          'validationUri',
        ].sort(),
      );
      expect(data.rowsIn).toBe(data.rowsUsed + data.rowsQuarantined);
      expect(data.trainRows + data.validationRows).toBe(data.rowsUsed);
      const list = async (prefix: string) =>
        (await s3.send(new ListObjectsV2Command({ Bucket: artifactsBucket, Prefix: prefix }))).Contents ?? [];
      const shards = await list('training/train-fan-1/train/');
      expect(shards).toHaveLength(data.trainShards!);
      expect(data.trainShards! % 2).toBe(0);
      expect(data.trainShards!).toBeGreaterThanOrEqual(tasks.length);
      expect((await list('training/train-fan-1/validation/')).length).toBe(tasks.length);
      // Both Maps wrote their run results to S3 (ResultWriter), not into the state.
      const manifests = (await list(TRAINING_PREPARE_RESULTS_PREFIX)).filter((o) => o.Key!.endsWith('manifest.json'));
      expect(manifests.length).toBeGreaterThanOrEqual(2);

      const run = await getRun(doc, table, 'train-fan-1');
      expect(run).toMatchObject({
        status: 'SUCCEEDED',
        trainShards: data.trainShards,
        rowCounts: { in: data.rowsIn, train: data.trainRows, validation: data.validationRows },
      });
      // EvaluateModel checked the candidate scored exactly validationRows rows, read from every validation file.
      expect(res.path).toContain(S.RegisterModel);
    },
  );
});
