/**
 * The synthesized BatchInference state machine (the real app from bin/app.ts), validated with asl-validator and
 * executed with aws-local-stepfunctions (local/sfn-runner.ts): every Lambda state runs its real handler in-process
 * against moto_server (S3, DynamoDB, SageMaker registry, SNS) and a real redis-server; `Transform` is replaced by a
 * fake that reads the manifest's parts and writes `<part>.out` rows `id,segment,score` (the contract's DataProcessing
 * result), or fails on demand.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DescribeModelCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import Redis from 'ioredis';
import { DependencyError } from '../../contracts/errors';
import { BatchState as S } from '../../contracts/states/names';
import { contractColumns } from '../../lambdas/data/contract';
import { getLedgerItem, registerArrival } from '../../lambdas/domain/ledger';
import { getLock } from '../../lambdas/domain/lock';
import { createModelPackage, updateApprovalStatus } from '../../lambdas/domain/registry';
import { getRun } from '../../lambdas/domain/tracking';
import { prepareTrainingData } from '../../lambdas/functions/prepare-training-data/core';
import {
  type AslDefinition,
  extractDefinition,
  type LocalFunction,
  type LocalResources,
  resolveResources,
} from '../../local/runtime/inventory';
import { invokeFunction } from '../../local/runtime/lambda-invoke';
import { provision } from '../../local/runtime/provision';
import { type RunResult, runStateMachine } from '../../local/runtime/sfn-runner';
import { synthesizeApp } from '../../local/runtime/synth';
import type { StateOverride } from '../../local/runtime/task-handlers';
import { devContextWithBatch } from '../support/app-context';
import { testClients } from '../support/aws';
import { contract, featureValues, s3Text, writeTransformOutputs } from '../support/batch-fixtures';
import { scoreTtl, storedScores } from '../support/score-dump';
import { describeWithServers } from '../support/servers';

// asl-validator ships no type declarations.
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: () => string;
};

// The whole app as `cdk synth` builds it (bin/app.ts, cdk.json context).
// One part (or more) per object, as the per-part faults here are written (coalescing: prepare-parts.test.ts).
const app = synthesizeApp({ context: devContextWithBatch({ coalesceRows: 0 }) });
const definition: AslDefinition = extractDefinition(app, 'WorkflowStateMachine');

describe('BatchInference definition', () => {
  it('is valid ASL (JSONPath)', () => {
    const res = aslValidator(definition);
    expect(res.errorsText()).toBe('');
    expect(res.isValid).toBe(true);
  });
});

// ---- data -----------------------------------------------------------------------------------------------------

/** A CSV in the contract's column order; `bad` row indexes get an unknown plan (quarantined). */
function snapshot(mode: 'training' | 'inference', dt: string, ids: string[], bad: number[] = []): string {
  const header = contractColumns(contract, mode);
  const lines = [header.join(',')];
  ids.forEach((id, i) => {
    const v: Record<string, string> = {
      customer_id: id,
      as_of: dt,
      churned: i % 3 === 0 ? '1' : '0',
      ...featureValues(i),
      ...(bad.includes(i) ? { plan: 'gold' } : {}),
    };
    lines.push(header.map((c) => v[c] ?? '').join(','));
  });
  return `${lines.join('\n')}\n`;
}

const ids = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);

interface TransformRequest {
  TransformJobName: string;
  ModelName: string;
  TransformInput: { DataSource: { S3DataSource: { S3DataType: string; S3Uri: string } }; SplitType: string };
  TransformOutput: { S3OutputPath: string; AssembleWith: string; KmsKeyId: string };
  DataProcessing: { InputFilter: string; JoinSource: string; OutputFilter: string };
}

describeWithServers('BatchInference state machine on moto + redis', { moto: true, redis: true }, (env) => {
  let resources: LocalResources;
  let s3: S3Client;
  let doc: DynamoDBDocumentClient;
  let sm: SageMakerClient;
  let redis: Redis;
  let featuresBucket: string;
  let artifactsBucket: string;
  let table: string;
  let group: string;
  let packageArn: string;
  let loader: LocalFunction;
  const transformCalls: TransformRequest[] = [];

  const text = (uri: string) => s3Text(s3, uri);

  /** Fake `Transform`: honours the manifest and writes `<part>.out` with `id,segment,score` per input row. */
  const fakeTransform =
    (fail = false): StateOverride =>
    async (input) => {
      const req = input as TransformRequest;
      transformCalls.push(req);
      if (fail) {
        throw Object.assign(new Error('Transform job failed: ClientError: the model container exited with code 137'), {
          name: 'SageMaker.AmazonSageMakerException',
        });
      }
      await writeTransformOutputs(
        s3,
        req.TransformInput.DataSource.S3DataSource.S3Uri,
        req.TransformOutput.S3OutputPath,
        (features) => 1 / (1 + Math.exp(-(features.reduce((x, y) => x + y, 0) / 1000 - 1))),
      );
      return { TransformJobName: req.TransformJobName, TransformJobStatus: 'Completed', ModelName: req.ModelName };
    };

  const run = (name: string, overrides: Record<string, StateOverride> = {}): Promise<RunResult> =>
    runStateMachine({
      definition,
      functions: resources.functions,
      overrides: { [S.Transform]: fakeTransform(), ...overrides },
      input: { trigger: 'test' },
      name,
      env: { AWS_ENDPOINT_URL: env.moto.endpoint, REDIS_URL: env.redis.url },
    });

  const fn = (entry: string): LocalFunction => {
    const f = Object.values(resources.functions).find((x) => x.entry === entry);
    if (!f) throw new Error(`${entry} not found in the synthesized app`);
    return f;
  };

  /** Upload feature objects and record their arrival (what the S3 → EventBridge → arrival path does). */
  const arrive = async (key: string, body: string) => {
    const put = await s3.send(new PutObjectCommand({ Bucket: featuresBucket, Key: key, Body: body }));
    await registerArrival(doc, table, { key, etag: put.ETag!, size: Buffer.byteLength(body), source: 'event' });
  };

  const ledger = async (key: string) => getLedgerItem(doc, table, key);
  const scoreKeys = async () => Object.keys(await storedScores(redis));
  const failurePath = [S.RecordFailure, S.ReleaseLockAfterFailure, S.Alert, S.Fail];

  beforeAll(async () => {
    const c = testClients(env.moto.endpoint);
    s3 = c.s3;
    doc = c.doc;
    sm = c.sageMaker;
    redis = new Redis(env.redis.url);
    await redis.flushall();
    resources = resolveResources(app);
    const common = { endpoint: env.moto.endpoint, region: process.env.AWS_REGION ?? 'us-east-1' };
    await provision(resources, { s3, dynamodb: new DynamoDBClient(common), sns: new SNSClient(common), sageMaker: sm });
    const prepare = fn('lambdas/functions/prepare-inference-data/handler.ts');
    featuresBucket = prepare.environment.FEATURES_BUCKET!;
    artifactsBucket = prepare.environment.ARTIFACTS_BUCKET!;
    table = fn('lambdas/functions/acquire-lock/handler.ts').environment.TABLE_NAME!;
    group = fn('lambdas/functions/resolve-model/handler.ts').environment.MODEL_PACKAGE_GROUP_NAME!;
    loader = fn('lambdas/functions/load-scores/handler.ts');

    // A trained model version: real training data prepared by the data core (its preprocessing spec is what the
    // batch must encode with), registered PendingManualApproval.
    await s3.send(
      new PutObjectCommand({
        Bucket: featuresBucket,
        Key: 'training/dt=2026-10-31/part-0.csv',
        Body: snapshot('training', '2026-10-31', ids('T', 300)),
      }),
    );
    const trained = await prepareTrainingData({
      s3,
      contract,
      bucket: featuresBucket,
      artifactsBucket,
      keys: ['training/dt=2026-10-31/part-0.csv'],
      runId: 'train-1',
      validationShare: 0.2,
      maxInvalidRowRatio: 0.05,
      maxReportedViolations: 100,
    });
    const pkg = await createModelPackage(sm, {
      groupName: group,
      runId: 'train-1',
      codeVersion: 'test',
      dataWindow: '2026-10-31..2026-10-31',
      imageUri: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
      modelDataUrl: `s3://${artifactsBucket}/training/train-1/model/model.tar.gz`,
      preprocessingUri: trained.preprocessingUri,
      trainingStatsUri: trained.statsUri,
      evaluationReportUri: `s3://${artifactsBucket}/reports/train-1/evaluation.json`,
      metrics: { auc: 0.81 },
      transformInstanceTypes: ['ml.m5.large'],
    });
    packageArn = pkg.arn;

    // Day 1: two feature objects, one row of the second is invalid (quarantined, within the 5 % budget).
    await arrive('inference/dt=2026-11-01/a.csv', snapshot('inference', '2026-11-01', ids('A', 40)));
    await arrive('inference/dt=2026-11-01/b.csv', snapshot('inference', '2026-11-01', ids('B', 30), [7]));
  }, 180_000);

  afterAll(async () => {
    await redis?.quit();
  });

  beforeEach(() => {
    transformCalls.length = 0;
  });

  it('no approved model: fails clearly, ledger untouched, lock released, run FAILED', async () => {
    const res = await run('batch-no-model');
    expect(res.status).toBe('FAILED');
    expect(res.path).toEqual([
      S.AcquireLock,
      S.LockAcquired,
      S.FindUnscored,
      S.HasWork,
      S.ResolveModel,
      ...failurePath,
    ]);
    expect(res.error?.Error).toBe('NotFoundError');
    expect(res.error?.Cause).toContain(
      `no approved model version in group ${group}; approve one with: npx mlops-batch approve <version>`,
    );
    expect(transformCalls).toHaveLength(0);
    expect((await ledger('inference/dt=2026-11-01/a.csv'))?.status).toBe('PENDING');
    expect(await getLock(doc, table)).toBeUndefined();
    expect(await getRun(doc, table, 'batch-no-model')).toMatchObject({
      kind: 'batch',
      status: 'FAILED',
      error: { error: 'NotFoundError' },
    });
  });

  it('transform failure: ledger untouched, lock released, alert raised', async () => {
    await updateApprovalStatus(sm, packageArn, 'Approved', 'approved in test');
    const res = await run('batch-transform-fails', { [S.Transform]: fakeTransform(true) });
    expect(res.status).toBe('FAILED');
    expect(res.path).toEqual([
      S.AcquireLock,
      S.LockAcquired,
      S.FindUnscored,
      S.HasWork,
      S.ResolveModel,
      S.PlanPrepare,
      S.PrepareTasks,
      S.PrepareInferenceData,
      S.HasRows,
      S.Transform,
      ...failurePath,
    ]);
    expect(res.error).toMatchObject({ Error: 'SageMaker.AmazonSageMakerException' });
    for (const key of ['inference/dt=2026-11-01/a.csv', 'inference/dt=2026-11-01/b.csv']) {
      expect(await ledger(key)).toMatchObject({ status: 'PENDING' });
      expect((await ledger(key))?.runId).toBeUndefined();
    }
    expect(await getLock(doc, table)).toBeUndefined();
    expect(await scoreKeys()).toEqual([]);
    expect((await getRun(doc, table, 'batch-transform-fails'))?.status).toBe('FAILED');
  });

  it('success: scores every valid row, exact counts, ledger SCORED with run and model version', async () => {
    const res = await run('batch-ok-1');
    expect(res.error).toBeUndefined();
    expect(res.status).toBe('SUCCEEDED');
    expect(res.path).toEqual([
      S.AcquireLock,
      S.LockAcquired,
      S.FindUnscored,
      S.HasWork,
      S.ResolveModel,
      S.PlanPrepare,
      S.PrepareTasks,
      S.PrepareInferenceData,
      S.HasRows,
      S.Transform,
      S.LoadScores,
      S.FinalizeScores,
      S.CommitLedger,
      S.ReleaseLock,
      S.MoreWork,
      S.Notify,
    ]);
    expect(res.output).toMatchObject({
      runId: 'batch-ok-1',
      status: 'SUCCEEDED',
      summary: {
        modelVersion: 1,
        objects: 2,
        objectsQuarantined: 0,
        rowsIn: 70,
        rowsUsed: 69,
        rowsQuarantined: 1,
        rowsLoaded: 69,
        truncated: false,
      },
    });

    // Transform: the contract's request, job name derived from the run id, model named by version.
    expect(transformCalls).toHaveLength(1);
    const req = transformCalls[0]!;
    expect(req.TransformJobName).toMatch(/^mlops-batch-dev-batch-ok-1-[0-9a-f]{8}$/);
    expect(req.ModelName).toBe('mlops-batch-dev-v1');
    expect(req.DataProcessing).toEqual({ InputFilter: '$[2:]', JoinSource: 'Input', OutputFilter: '$[0,1,-1]' });
    expect(req.TransformInput.DataSource.S3DataSource).toEqual({
      S3DataType: 'ManifestFile',
      S3Uri: `s3://${artifactsBucket}/batch/batch-ok-1/manifest.json`,
    });
    expect(req.TransformOutput.S3OutputPath).toBe(`s3://${artifactsBucket}/results/model_version=1/run=batch-ok-1/`);
    await expect(sm.send(new DescribeModelCommand({ ModelName: 'mlops-batch-dev-v1' }))).resolves.toMatchObject({
      ModelName: 'mlops-batch-dev-v1',
    });

    // Scores: one per valid row; the quarantined one (B0007) is not scored.
    const keys = await scoreKeys();
    expect(keys).toHaveLength(69);
    expect(keys).not.toContain('score:B0007');
    expect(await scoreTtl(redis, 'A0000')).toBeGreaterThan(0);

    for (const key of ['inference/dt=2026-11-01/a.csv', 'inference/dt=2026-11-01/b.csv']) {
      expect(await ledger(key)).toMatchObject({ status: 'SCORED', runId: 'batch-ok-1', modelVersion: 1 });
    }
    expect(await getLock(doc, table)).toBeUndefined();
    expect(await getRun(doc, table, 'batch-ok-1')).toMatchObject({
      kind: 'batch',
      status: 'SUCCEEDED',
      trigger: 'test',
      modelVersion: 1,
      rowsIn: 70,
      rowsUsed: 69,
      rowsQuarantined: 1,
      rowsLoaded: 69,
      objectsScored: 2,
    });
  });

  it('nothing to score: releases the lock and ends in NothingToScore without touching data', async () => {
    const before = await scoreKeys();
    const res = await run('batch-idle');
    expect(res.status).toBe('SUCCEEDED');
    expect(res.path).toEqual([
      S.AcquireLock,
      S.LockAcquired,
      S.FindUnscored,
      S.HasWork,
      S.ReleaseLockNoWork,
      S.NothingToScore,
    ]);
    expect(transformCalls).toHaveLength(0);
    expect(await scoreKeys()).toEqual(before);
    expect(await getLock(doc, table)).toBeUndefined();
    expect(await getRun(doc, table, 'batch-idle')).toMatchObject({ status: 'SUCCEEDED', outcome: 'NO_WORK' });
  });

  it('cache failure mid-load: ledger untouched; a rerun completes with exact counts', async () => {
    await arrive('inference/dt=2026-11-02/c.csv', snapshot('inference', '2026-11-02', ids('C', 25)));
    await arrive('inference/dt=2026-11-02/d.csv', snapshot('inference', '2026-11-02', ids('D', 35)));
    const loads: string[] = [];
    const flakyCache: StateOverride = async (input) => {
      const part = (input as { part: string }).part;
      loads.push(part);
      if (part === 'part-00000-00002.csv') {
        throw new DependencyError('Redis connection to the score cache was lost (simulated)');
      }
      return invokeFunction(loader, input, { env: { AWS_ENDPOINT_URL: env.moto.endpoint, REDIS_URL: env.redis.url } });
    };
    const failed = await run('batch-cache-down', { [S.LoadPart]: flakyCache });
    expect(failed.status).toBe('FAILED');
    // A Distributed Map fails as a whole when an item fails (no failure tolerated); RecordFailure reads the item's own
    // error from the map run's FAILED file into the run record.
    expect(failed.error?.Error).toBe('States.ExceedToleratedFailureThreshold');
    expect(failed.error?.Cause).toMatch(/1 of 2 items failed/);
    expect(await getRun(doc, table, 'batch-cache-down')).toMatchObject({
      status: 'FAILED',
      error: {
        error: 'DependencyError',
        cause: expect.stringMatching(
          /^Redis connection to the score cache was lost \(simulated\) \[first failed item of LoadScores \(s3:.*\/batch\/load-results\/batch-cache-down\/.*\/FAILED_0\.json\); the map failed with States\.ExceedToleratedFailureThreshold: .*\]$/,
        ),
      },
    });
    expect(failed.path).toEqual([
      S.AcquireLock,
      S.LockAcquired,
      S.FindUnscored,
      S.HasWork,
      S.ResolveModel,
      S.PlanPrepare,
      S.PrepareTasks,
      S.PrepareInferenceData,
      S.HasRows,
      S.Transform,
      S.LoadScores,
      ...failurePath,
    ]);
    // The failing part was retried (DependencyError is retryable) before the run gave up.
    expect(loads.filter((p) => p === 'part-00000-00002.csv')).toHaveLength(4);
    for (const key of ['inference/dt=2026-11-02/c.csv', 'inference/dt=2026-11-02/d.csv']) {
      expect(await ledger(key)).toMatchObject({ status: 'PENDING' });
    }
    expect(await getLock(doc, table)).toBeUndefined();

    const rerun = await run('batch-cache-back');
    expect(rerun.status).toBe('SUCCEEDED');
    expect(rerun.output).toMatchObject({
      summary: { objects: 2, rowsIn: 60, rowsUsed: 60, rowsQuarantined: 0, rowsLoaded: 60 },
    });
    const keys = await scoreKeys();
    expect(keys).toHaveLength(69 + 60);
    expect(keys.filter((k) => k.startsWith('score:C') || k.startsWith('score:D'))).toHaveLength(60);
    for (const key of ['inference/dt=2026-11-02/c.csv', 'inference/dt=2026-11-02/d.csv']) {
      expect(await ledger(key)).toMatchObject({ status: 'SCORED', runId: 'batch-cache-back', modelVersion: 1 });
    }
  });

  it('two executions started together: one proceeds, the other exits cleanly as AlreadyRunning', async () => {
    await arrive('inference/dt=2026-11-03/e.csv', snapshot('inference', '2026-11-03', ids('E', 20)));
    const [a, b] = await Promise.all([run('batch-race-a'), run('batch-race-b')]);
    const results = [a, b];
    expect(results.map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const winners = results.filter((r) => r.path.includes(S.Notify));
    const losers = results.filter((r) => r.path.at(-1) === S.AlreadyRunning);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    expect(losers[0]!.path).toEqual([S.AcquireLock, S.LockAcquired, S.AlreadyRunning]);
    expect(await getRun(doc, table, losers[0]!.name)).toBeUndefined();
    expect(transformCalls).toHaveLength(1);
    expect(await ledger('inference/dt=2026-11-03/e.csv')).toMatchObject({
      status: 'SCORED',
      runId: winners[0]!.name,
    });
    expect(await getLock(doc, table)).toBeUndefined();
  });

  it('every object rejected at file level: quarantined, run SUCCEEDED without a transform; the next run scores', async () => {
    const broken = 'inference/dt=2026-11-04/broken.csv';
    const good = snapshot('inference', '2026-11-04', ids('G', 12));
    // A header that breaks the contract (a column renamed): a file-level rejection.
    await arrive(broken, good.replace('customer_id', 'customerid'));
    const before = await scoreKeys();
    const meta = await redis.get('meta:latest');

    const res = await run('batch-all-quarantined');
    expect(res.error).toBeUndefined();
    expect(res.status).toBe('SUCCEEDED');
    expect(res.path).toEqual([
      S.AcquireLock,
      S.LockAcquired,
      S.FindUnscored,
      S.HasWork,
      S.ResolveModel,
      S.PlanPrepare,
      S.PrepareTasks,
      S.PrepareInferenceData,
      S.HasRows,
      S.CommitLedger,
      S.ReleaseLock,
      S.MoreWork,
      S.Notify,
    ]);
    const reportUri = `s3://${artifactsBucket}/reports/batch-all-quarantined/validation.json`;
    expect(res.output).toMatchObject({
      runId: 'batch-all-quarantined',
      status: 'SUCCEEDED',
      summary: {
        outcome: 'ALL_QUARANTINED',
        modelVersion: 1,
        objects: 0,
        objectsQuarantined: 1,
        rowsUsed: 0,
        rowsLoaded: 0,
        validationReportUri: reportUri,
      },
    });
    expect(transformCalls).toHaveLength(0);
    // Nothing loaded: no score, fallbacks and freshness untouched.
    expect(await scoreKeys()).toEqual(before);
    expect(await redis.get('meta:latest')).toBe(meta);
    const item = await ledger(broken);
    expect(item).toMatchObject({ status: 'QUARANTINED' });
    expect(item?.reason).toContain(reportUri);
    expect(JSON.parse(await text(reportUri))).toMatchObject({ files: [{ file: broken, status: 'failed' }] });
    expect(await getLock(doc, table)).toBeUndefined();
    expect(await getRun(doc, table, 'batch-all-quarantined')).toMatchObject({
      status: 'SUCCEEDED',
      outcome: 'ALL_QUARANTINED',
      objectsScored: 0,
      objectsQuarantined: 1,
      rowsLoaded: 0,
    });

    // A good object arrives: the next run scores it; the quarantined one is not picked up again.
    const fixed = 'inference/dt=2026-11-04/good.csv';
    await arrive(fixed, good);
    const next = await run('batch-after-quarantine');
    expect(next.status).toBe('SUCCEEDED');
    expect(next.path).toContain(S.Transform);
    expect(next.output).toMatchObject({
      summary: { outcome: 'SCORED', objects: 1, objectsQuarantined: 0, rowsIn: 12, rowsUsed: 12, rowsLoaded: 12 },
    });
    expect(await ledger(fixed)).toMatchObject({ status: 'SCORED', runId: 'batch-after-quarantine' });
    expect(await ledger(broken)).toMatchObject({ status: 'QUARANTINED' });
    expect((await scoreKeys()).filter((k) => k.startsWith('score:G'))).toHaveLength(12);
    expect(await getLock(doc, table)).toBeUndefined();
  });
});
