/**
 * A Distributed Map item that fails, on the real Training definition (local/runtime/sfn-runner.ts with the
 * Distributed Map emulation, real handlers, moto_server): the execution fails with the map's
 * `States.ExceedToleratedFailureThreshold` as on AWS, and RecordFailure writes the failed item's own error and cause
 * into the run record, read from the map run's FAILED file under the run's ResultWriter folder (the files AWS writes).
 *
 * The item fails on a corrupt artifact its real handler reads: a ProfileTask item with a malformed key list in the
 * run's tasks.json. The batch workflow's case: batch-map-item-failure.test.ts.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mapRunsPrefix, TRAINING_PREPARE_RESULTS_PREFIX, trainingPrepareKeys } from '../../contracts/s3-layout';
import { TrainingState as T } from '../../contracts/states/names';
import { getRun } from '../../lambdas/domain/tracking';
import { generateSampleData } from '../../local/demo/sample-data';
import { extractDefinition, resolveResources } from '../../local/runtime/inventory';
import { invokeFunction } from '../../local/runtime/lambda-invoke';
import { provision } from '../../local/runtime/provision';
import { runStateMachine } from '../../local/runtime/sfn-runner';
import { synthesizeApp } from '../../local/runtime/synth';
import { testClients } from '../support/aws';
import { describeWithServers } from '../support/servers';
import { buildTrainingApp } from '../support/training-app';

const THRESHOLD = 'States.ExceedToleratedFailureThreshold';

const app = synthesizeApp({
  build: buildTrainingApp,
  context: {
    '@aws-cdk/core:defaultCrossStackReferences': 'strong',
    environments: { dev: { training: { useSpot: false, prepareTaskBytes: 40_000, prepareConcurrency: 2 } } },
  },
});
const definition = extractDefinition(app, 'TrainingStateMachine');

describeWithServers('A failed ProfileTask item in the run record', { moto: true }, (env) => {
  let s3: S3Client;
  let doc: DynamoDBDocumentClient;
  let artifactsBucket: string;
  let table: string;
  let day = '';
  const resources = resolveResources(app);
  const fn = (entry: string) => Object.values(resources.functions).find((f) => f.entry === entry)!;

  beforeAll(async () => {
    const c = testClients(env.moto.endpoint);
    s3 = c.s3;
    doc = c.doc;
    const common = { endpoint: env.moto.endpoint, region: process.env.AWS_REGION ?? 'us-east-1' };
    await provision(resources, {
      s3,
      dynamodb: new DynamoDBClient(common),
      sns: new SNSClient(common),
      sageMaker: c.sageMaker,
    });
    const startRun = fn('lambdas/functions/start-run/handler.ts');
    artifactsBucket = startRun.environment.ARTIFACTS_BUCKET!;
    table = startRun.environment.TABLE_NAME!;
    // One labelled snapshot cut into three objects of ~20 KB: a task each.
    const data = generateSampleData({ customers: 1800, seed: 7 });
    const f = data.files.find((x) => x.kind === 'training' && x.phase === 'initial')!;
    day = /dt=(\d{4}-\d{2}-\d{2})/.exec(f.key)![1]!;
    const [header, ...rows] = f.body.trimEnd().split('\n');
    const per = Math.ceil(rows.length / 3);
    for (let i = 0; i < 3; i++) {
      await s3.send(
        new PutObjectCommand({
          Bucket: startRun.environment.FEATURES_BUCKET!,
          Key: f.key.replace('part-0.csv', `part-${i}.csv`),
          Body: `${[header, ...rows.slice(i * per, (i + 1) * per)].join('\n')}\n`,
        }),
      );
    }
  }, 120_000);

  it("records the item's own error (a malformed task item) with the map's error as context", async () => {
    const run = 'train-item-fails';
    const tasksKey = trainingPrepareKeys(run).tasks;
    const res = await runStateMachine({
      definition,
      functions: resources.functions,
      overrides: {
        // The real PlanTrainingData, then one task's key list is corrupted in the tasks file the Maps read.
        [T.PlanTrainingData]: async (input) => {
          const out = await invokeFunction(fn('lambdas/functions/plan-training-data/handler.ts'), input, {
            env: { AWS_ENDPOINT_URL: env.moto.endpoint },
          });
          const obj = await s3.send(new GetObjectCommand({ Bucket: artifactsBucket, Key: tasksKey }));
          const tasks = JSON.parse(await obj.Body!.transformToString()) as { keys: unknown[] }[];
          expect(tasks.length).toBeGreaterThanOrEqual(2);
          tasks[1] = { ...tasks[1]!, keys: [42] };
          await s3.send(new PutObjectCommand({ Bucket: artifactsBucket, Key: tasksKey, Body: JSON.stringify(tasks) }));
          return out;
        },
      },
      input: { trigger: 'test', dataWindow: { from: day, to: day } },
      name: run,
      env: { AWS_ENDPOINT_URL: env.moto.endpoint },
    });
    expect(res.status).toBe('FAILED');
    expect(res.path.slice(-4)).toEqual([T.ProfileTrainingData, T.RecordFailure, T.Alert, T.Fail]);
    expect(res.error?.Error).toBe(THRESHOLD);
    expect(res.error?.Cause).not.toMatch(/ProfileTask/);

    const listed = await s3.send(
      new ListObjectsV2Command({
        Bucket: artifactsBucket,
        Prefix: mapRunsPrefix(TRAINING_PREPARE_RESULTS_PREFIX, run),
      }),
    );
    const failedFile = (listed.Contents ?? []).map((o) => o.Key!).find((k) => k.endsWith('/FAILED_0.json'));
    expect(failedFile).toBeDefined();
    const record = await getRun(doc, table, run);
    expect(record?.status).toBe('FAILED');
    expect(record?.error?.error).toBe('ValidationError');
    expect(record?.error?.cause).toMatch(/^ProfileTask: invalid input: keys\.0: /);
    expect(record?.error?.cause).toContain(
      `[first failed item of ProfileTrainingData (s3://${artifactsBucket}/${failedFile}); the map failed with ${THRESHOLD}: `,
    );
  });
});
