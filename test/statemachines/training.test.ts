/**
 * The synthesized Training state machine, validated with asl-validator and executed with aws-local-stepfunctions
 * (local/sfn-runner.ts): every Lambda state runs its real handler in-process against moto_server (S3, DynamoDB,
 * SageMaker registry, SNS). `Train` runs the local trainer (XGBoost 1.7) in the tests marked "real XGBoost"; the
 * others are about the workflow around it (gate, data validation, run records) and replace it with a fake that writes
 * a model.tar.gz and returns DescribeTrainingJob's shape with chosen metrics.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DescribeModelPackageCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { compareModels, compareText, showModel, showText } from '../../cli/models-compare';
import type { Target } from '../../cli/target';
import { EvaluationReportSchema } from '../../contracts/evaluation';
import { TrainingState as S } from '../../contracts/states/names';
import { getModel } from '../../lambdas/domain/model-records';
import {
  describePackage,
  findPackageByRunId,
  findProductionPackage,
  updateApprovalStatus,
} from '../../lambdas/domain/registry';
import { getRun } from '../../lambdas/domain/tracking';
import {
  type AslDefinition,
  extractDefinition,
  type LocalResources,
  resolveResources,
} from '../../local/runtime/inventory';
import { provision } from '../../local/runtime/provision';
import { runStateMachine } from '../../local/runtime/sfn-runner';
import { synthesizeApp } from '../../local/runtime/synth';
import { trainingOverride } from '../../local/standins/trainer';
import { transformOverride } from '../../local/standins/transformer';
import { findXgboost } from '../../local/standins/xgboost';
import { testClients } from '../support/aws';
import { describeWithServers } from '../support/servers';
import { buildTrainingApp } from '../support/training-app';

// asl-validator ships no type declarations.
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: () => string;
};

const app = synthesizeApp({
  build: buildTrainingApp,
  context: { '@aws-cdk/core:defaultCrossStackReferences': 'strong' },
});
const definition: AslDefinition = extractDefinition(app, 'TrainingStateMachine');

describe('Training definition', () => {
  it('is valid ASL (JSONPath)', () => {
    const res = aslValidator(definition);
    expect(res.errorsText()).toBe('');
    expect(res.isValid).toBe(true);
  });
});

const HEADER =
  'customer_id,as_of,churned,tenure_months,monthly_charges,total_charges,support_tickets_90d,logins_30d,has_autopay,plan,region';
const PLANS = ['basic', 'standard', 'premium'];
const REGIONS = ['north', 'south', 'east', 'west', ''];

/** A valid labelled snapshot of `rows` customers for partition `dt`. */
function snapshot(dt: string, rows: number, prefix: string, label = (i: number) => (i % 3 === 0 ? 1 : 0)): string {
  const lines = [HEADER];
  for (let i = 0; i < rows; i++) {
    const tenure = (i * 7) % 72;
    const monthly = 20 + ((i * 13) % 100);
    lines.push(
      [
        `${prefix}${String(i).padStart(5, '0')}`,
        dt,
        label(i),
        tenure,
        monthly.toFixed(2),
        i % 17 === 0 ? '' : (tenure * monthly).toFixed(2),
        i % 9,
        (i * 5) % 60,
        i % 2 === 0 ? 'true' : 'false',
        PLANS[i % 3],
        REGIONS[i % 5],
      ].join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

interface TrainRequest {
  TrainingJobName: string;
  HyperParameters?: Record<string, string>;
  OutputDataConfig: { S3OutputPath: string; KmsKeyId?: string };
  InputDataConfig: { ChannelName: string; DataSource: { S3DataSource: { S3Uri: string } } }[];
  CheckpointConfig?: { S3Uri: string };
  EnableManagedSpotTraining?: boolean;
}

/** The states of the fanned-out PrepareTrainingData step, in order (each Map is one state of the path). */
const PREPARE = [
  S.PlanTrainingData,
  S.ProfileTrainingData,
  S.BuildPreprocessingSpec,
  S.EncodeTrainingData,
  S.PrepareTrainingData,
];

const parseUri = (uri: string) => {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!m) throw new Error(`not an S3 URI: ${uri}`);
  return { Bucket: m[1]!, Key: m[2]! };
};

describeWithServers('Training state machine on moto', { moto: true }, (env) => {
  let resources: LocalResources;
  let s3: S3Client;
  let doc: DynamoDBDocumentClient;
  let sm: SageMakerClient;
  let featuresBucket: string;
  let artifactsBucket: string;
  let table: string;
  let group: string;
  const trainCalls: TrainRequest[] = [];

  /** Fake `Train`: checks the channels exist, writes model.tar.gz, returns DescribeTrainingJob's shape. */
  const fakeTrain = (auc: number, logloss: number) => async (input: unknown) => {
    const req = input as TrainRequest;
    trainCalls.push(req);
    for (const ch of req.InputDataConfig) {
      const { Bucket, Key } = parseUri(ch.DataSource.S3DataSource.S3Uri);
      const body = await s3.send(new GetObjectCommand({ Bucket, Key: `${Key}part-00001.csv` }));
      expect((await body.Body?.transformToString())?.length).toBeGreaterThan(0);
    }
    const modelUri = `${req.OutputDataConfig.S3OutputPath}${req.TrainingJobName}/output/model.tar.gz`;
    await s3.send(new PutObjectCommand({ ...parseUri(modelUri), Body: Buffer.from('fake model archive') }));
    return {
      TrainingJobName: req.TrainingJobName,
      TrainingJobStatus: 'Completed',
      ModelArtifacts: { S3ModelArtifacts: modelUri },
      FinalMetricDataList: [
        { MetricName: 'validation:auc', Value: auc, Timestamp: new Date().toISOString() },
        { MetricName: 'validation:logloss', Value: logloss, Timestamp: new Date().toISOString() },
        { MetricName: 'train:auc', Value: 0.99 },
      ],
    };
  };

  /**
   * Fake `ScoreCandidate`/`ScoreChampion`: reads the validation channel (label first) and writes `<label>,<score>`
   * with `score(label, row)`, as the transform's DataProcessing join would.
   */
  const fakeScore = (score: (label: number, row: number) => number) => async (input: unknown) => {
    const req = input as {
      TransformJobName: string;
      TransformInput: { DataSource: { S3DataSource: { S3Uri: string } } };
      TransformOutput: { S3OutputPath: string };
    };
    const src = parseUri(req.TransformInput.DataSource.S3DataSource.S3Uri);
    const body = await s3.send(new GetObjectCommand({ Bucket: src.Bucket, Key: `${src.Key}part-00001.csv` }));
    const lines = ((await body.Body?.transformToString()) ?? '').split('\n').filter(Boolean);
    const out = lines.map((l, i) => {
      const label = Number(l.split(',')[0]);
      return `${label},${score(label, i)}`;
    });
    const dst = parseUri(req.TransformOutput.S3OutputPath);
    await s3.send(
      new PutObjectCommand({ Bucket: dst.Bucket, Key: `${dst.Key}part-00001.csv.out`, Body: `${out.join('\n')}\n` }),
    );
    return { TransformJobName: req.TransformJobName, TransformJobStatus: 'Completed' };
  };
  /** Separates the classes well (AUC 1 with a little overlap-free jitter). */
  const goodScores = fakeScore((y, i) => (y === 1 ? 0.7 : 0.2) + (i % 10) / 100);
  /** Ignores the label (AUC about 0.5, log loss about 0.69 on a third of positives). */
  const uselessScores = fakeScore((_y, i) => 0.45 + (i % 7) / 100);

  const run = (
    name: string,
    input: unknown,
    train: (input: unknown) => Promise<unknown>,
    scores: { candidate?: (input: unknown) => Promise<unknown>; champion?: (input: unknown) => Promise<unknown> } = {},
  ) =>
    runStateMachine({
      definition,
      functions: resources.functions,
      overrides: {
        [S.Train]: train,
        [S.ScoreCandidate]: scores.candidate ?? goodScores,
        [S.ScoreChampion]: scores.champion ?? goodScores,
      },
      input,
      name,
      env: { AWS_ENDPOINT_URL: env.moto.endpoint },
    });

  beforeAll(async () => {
    const c = testClients(env.moto.endpoint);
    s3 = c.s3;
    doc = c.doc;
    sm = c.sageMaker;
    resources = resolveResources(app);
    const common = { endpoint: env.moto.endpoint, region: process.env.AWS_REGION ?? 'us-east-1' };
    await provision(resources, {
      s3,
      dynamodb: new DynamoDBClient(common),
      sns: new SNSClient(common),
      sageMaker: sm,
    });
    const startRun = Object.values(resources.functions).find(
      (f) => f.entry === 'lambdas/functions/start-run/handler.ts',
    );
    if (!startRun) throw new Error('StartRun function not found in the synthesized app');
    featuresBucket = startRun.environment.FEATURES_BUCKET!;
    artifactsBucket = startRun.environment.ARTIFACTS_BUCKET!;
    table = startRun.environment.TABLE_NAME!;
    group = startRun.environment.MODEL_PACKAGE_GROUP_NAME!;
    for (const dt of ['2026-10-30', '2026-10-31']) {
      await s3.send(
        new PutObjectCommand({
          Bucket: featuresBucket,
          Key: `training/dt=${dt}/part-0.csv`,
          Body: snapshot(dt, 150, `C${dt.slice(8)}`),
        }),
      );
    }
    // A partition without a single churner: AUC is undefined on its validation rows.
    await s3.send(
      new PutObjectCommand({
        Bucket: featuresBucket,
        Key: 'training/dt=2026-03-01/part-0.csv',
        Body: snapshot('2026-03-01', 150, 'N', () => 0),
      }),
    );
    // A partition whose file breaks the contract (wrong header): used only through an explicit data window.
    await s3.send(
      new PutObjectCommand({
        Bucket: featuresBucket,
        Key: 'training/dt=2026-01-15/part-0.csv',
        Body: 'customer_id,as_of,churned,tenure\r\nA1,2026-01-15,0,3\r\n',
      }),
    );
  }, 120_000);

  beforeEach(() => {
    trainCalls.length = 0;
  });

  it('success: registers a PendingManualApproval package linked both ways with the run', async () => {
    const res = await run('train-ok-1', { trigger: 'test', dataWindow: { from: '2026-10-30' } }, fakeTrain(0.86, 0.41));
    expect(res.error).toBeUndefined();
    expect(res.status).toBe('SUCCEEDED');
    expect(res.path).toEqual([
      S.StartRun,
      ...PREPARE,
      S.Train,
      S.PrepareEvaluation,
      S.ScoreValidation,
      S.ScoreCandidate,
      S.HasChampion,
      S.NoChampion,
      S.EvaluateModel,
      S.ModelGate,
      S.RegisterModel,
      S.NotifyApprovers,
      S.CompleteRun,
    ]);
    const out = res.output as { runId: string; status: string; modelPackageArn: string; modelVersion: number };
    // The gate's figures are the candidate's own scores of the validation rows (not the job's metric list).
    expect(out).toMatchObject({ runId: 'train-ok-1', status: 'SUCCEEDED', metrics: { auc: 1 } });
    const logloss = (out as unknown as { metrics: { logloss: number } }).metrics.logloss;
    expect(logloss).toBeGreaterThan(0.2);
    expect(logloss).toBeLessThan(0.4);

    // Train got the job name from the run id, spot + checkpoint under the run folder, KMS output
    expect(trainCalls).toHaveLength(1);
    expect(trainCalls[0]).toMatchObject({
      TrainingJobName: 'train-ok-1-a0',
      EnableManagedSpotTraining: true,
      CheckpointConfig: { S3Uri: `s3://${artifactsBucket}/training/train-ok-1/checkpoints/` },
      OutputDataConfig: { S3OutputPath: `s3://${artifactsBucket}/training/train-ok-1/model/` },
    });

    // registry: PendingManualApproval with the run's metadata
    const pkg = await describePackage(sm, out.modelPackageArn);
    expect(pkg).toMatchObject({
      status: 'PendingManualApproval',
      runId: 'train-ok-1',
      version: out.modelVersion,
      metrics: { auc: 1, logloss },
      preprocessingUri: `s3://${artifactsBucket}/training/train-ok-1/preprocessing.json`,
      evaluationReportUri: `s3://${artifactsBucket}/reports/train-ok-1/evaluation.json`,
      modelDataUrl: `s3://${artifactsBucket}/training/train-ok-1/model/train-ok-1-a0/output/model.tar.gz`,
    });
    expect(pkg.metadata).toMatchObject({ dataWindow: '2026-10-30..2026-10-31', codeVersion: 'test-sha' });
    expect(pkg.imageUri).toMatch(/\/sagemaker-xgboost:1\.7-1$/);

    // links: run → model and model → run
    const runRec = await getRun(doc, table, 'train-ok-1');
    expect(runRec).toMatchObject({
      status: 'SUCCEEDED',
      kind: 'training',
      trigger: 'test',
      modelPackageArn: out.modelPackageArn,
      modelVersion: out.modelVersion,
      window: { from: '2026-10-30', to: '2026-10-31', partitions: 2 },
      rowCounts: { in: 300, used: 300, quarantined: 0 },
      metrics: { auc: 1, logloss },
      trainingJobMetrics: { auc: 0.86, logloss: 0.41 },
      gate: { passed: true, reasons: [] },
      lineage: {
        contractVersion: expect.any(String),
        trainingObjectCount: 2,
        trainingObjects: [
          { key: 'training/dt=2026-10-30/part-0.csv', etag: expect.any(String) },
          { key: 'training/dt=2026-10-31/part-0.csv', etag: expect.any(String) },
        ],
      },
    });
    const model = await getModel(doc, table, out.modelVersion);
    expect(model).toMatchObject({
      runId: 'train-ok-1',
      modelPackageArn: out.modelPackageArn,
      approvalStatus: 'PendingManualApproval',
    });

    // evaluation report in S3
    const report = await s3.send(
      new GetObjectCommand({ Bucket: artifactsBucket, Key: 'reports/train-ok-1/evaluation.json' }),
    );
    const doc1 = EvaluationReportSchema.parse(JSON.parse((await report.Body?.transformToString()) ?? '{}'));
    expect(doc1).toMatchObject({
      runId: 'train-ok-1',
      gate: { passed: true },
      candidate: { auc: 1, modelVersion: null },
      champion: null,
      lineage: { codeVersion: 'test-sha' },
    });
    expect(doc1.lineage.trainingObjects).toHaveLength(2);
    // The registry's quality view: SageMaker's model-quality statistics, referenced from the package.
    const d = await sm.send(new DescribeModelPackageCommand({ ModelPackageName: out.modelPackageArn }));
    expect(d.ModelMetrics?.ModelQuality?.Statistics?.S3Uri).toBe(
      `s3://${artifactsBucket}/reports/train-ok-1/model-quality.json`,
    );
    const mq = await s3.send(
      new GetObjectCommand({ Bucket: artifactsBucket, Key: 'reports/train-ok-1/model-quality.json' }),
    );
    const stats = JSON.parse((await mq.Body?.transformToString()) ?? '{}');
    expect(stats.binary_classification_metrics.auc.value).toBe(1);
    expect(stats.dataset.item_count).toBe(doc1.candidate.rows);
    expect(pkg.metadata).toMatchObject({
      lineageUri: `s3://${artifactsBucket}/reports/train-ok-1/lineage.json`,
      trainingObjectCount: '2',
    });
  });

  // Without XGBoost these fail under CI=true (the stand-in names the apt command) and are skipped otherwise.
  const itXgboost = findXgboost().runtime || process.env.CI ? it : it.skip;

  itXgboost('real XGBoost: Train trains on the prepared channels; the gate reads its evaluation log', async () => {
    const real = trainingOverride({ s3, sageMaker: sm });
    const real2 = transformOverride({ s3, sageMaker: sm });
    const res = await run(
      'train-xgb-1',
      { trigger: 'test', dataWindow: { from: '2026-10-30' } },
      (input) => {
        trainCalls.push(input as TrainRequest);
        return real(input);
      },
      { candidate: real2, champion: real2 },
    );
    expect(res.error).toBeUndefined();
    expect(res.status).toBe('SUCCEEDED');
    expect(res.path).toContain(S.RegisterModel);
    const training = res.stateOutputs[S.Train] as {
      training: { FinalMetricDataList: { MetricName: string; Value: number }[]; HyperParameters: unknown };
    };
    const final = Object.fromEntries(training.training.FinalMetricDataList.map((m) => [m.MetricName, m.Value]));
    expect(Object.keys(final).sort()).toEqual(['train:auc', 'train:logloss', 'validation:auc', 'validation:logloss']);
    // The configured hyperparameters reached XGBoost unchanged.
    expect(training.training.HyperParameters).toEqual(trainCalls[0]!.HyperParameters);
    expect(training.training.HyperParameters).toMatchObject({ objective: 'binary:logistic', num_round: '200' });
    const out = res.output as { metrics: { auc: number; logloss: number }; modelPackageArn: string };
    // The candidate's transform of the validation channel ranks as XGBoost's own evaluation did. (Its log loss is
    // that of the model kept at the best round; the job's metric list reports the last round's.)
    expect(out.metrics.auc).toBeCloseTo(final['validation:auc']!, 4);
    expect(out.metrics.logloss).toBeGreaterThan(0);
    const pkg = await describePackage(sm, out.modelPackageArn);
    expect(pkg.modelDataUrl).toBe(
      `s3://${artifactsBucket}/training/train-xgb-1/model/train-xgb-1-a0/output/model.tar.gz`,
    );
    await s3.send(new GetObjectCommand(parseUri(pkg.modelDataUrl!)));
  });

  itXgboost('real XGBoost: an invalid hyperparameter fails the job (retried once), then RecordFailure', async () => {
    const real = trainingOverride({ s3, sageMaker: sm });
    const res = await run('train-xgb-bad-1', { dataWindow: { from: '2026-10-30' } }, (input) => {
      const req = input as TrainRequest & { HyperParameters: Record<string, string> };
      trainCalls.push(req);
      return real({ ...req, HyperParameters: { ...req.HyperParameters, eta: '1.5' } });
    });
    expect(res.status).toBe('FAILED');
    expect(res.path.slice(-3)).toEqual([S.RecordFailure, S.Alert, S.Fail]);
    // Two jobs: the Retry on States.TaskFailed runs one more. (The local runner reports $$.State.RetryCount as 0 on
    // the retry too, so both carry the suffix -a0 here; in AWS the second is -a1.)
    expect(trainCalls.map((c) => c.TrainingJobName)).toEqual(['train-xgb-bad-1-a0', 'train-xgb-bad-1-a0']);
    expect(res.error?.Error).toBe('States.TaskFailed');
    expect(JSON.parse(res.error!.Cause)).toMatchObject({
      TrainingJobStatus: 'Failed',
      FailureReason: "ClientError: Hyperparameter 'eta': 1.5 is outside [0, 1]",
    });
    const runRec = await getRun(doc, table, 'train-xgb-bad-1');
    expect(runRec).toMatchObject({ status: 'FAILED', error: { error: 'States.TaskFailed' } });
  });

  it('validation failure: RecordFailure → Alert → Fail with the report; no training, no package', async () => {
    const res = await run(
      'train-bad-data-1',
      { dataWindow: { from: '2026-01-01', to: '2026-01-31' } },
      fakeTrain(0.9, 0.3),
    );
    expect(res.status).toBe('FAILED');
    expect(res.path).toEqual([
      S.StartRun,
      S.PlanTrainingData,
      S.ProfileTrainingData,
      S.BuildPreprocessingSpec,
      S.RecordFailure,
      S.Alert,
      S.Fail,
    ]);
    expect(res.error?.Error).toBe('ValidationError');
    expect(res.error?.Cause).toContain('reports/train-bad-data-1/validation.json');
    expect(trainCalls).toHaveLength(0);
    const runRec = await getRun(doc, table, 'train-bad-data-1');
    expect(runRec?.status).toBe('FAILED');
    expect(runRec?.error?.error).toBe('ValidationError');
    expect(runRec?.error?.cause).toContain('reports/train-bad-data-1/validation.json');
    expect(await findPackageByRunId(sm, group, 'train-bad-data-1')).toBeNull();
    const report = await s3.send(
      new GetObjectCommand({ Bucket: artifactsBucket, Key: 'reports/train-bad-data-1/validation.json' }),
    );
    expect(JSON.parse((await report.Body?.transformToString()) ?? '{}')).toMatchObject({ status: 'failed' });
  });

  it('gate failure: no package, run REJECTED with the reason, execution fails with GateFailedError', async () => {
    const res = await run('train-weak-1', { dataWindow: { from: '2026-10-30' } }, fakeTrain(0.9, 0.3), {
      candidate: uselessScores,
    });
    expect(res.status).toBe('FAILED');
    expect(res.path).toEqual([
      S.StartRun,
      ...PREPARE,
      S.Train,
      S.PrepareEvaluation,
      S.ScoreValidation,
      S.ScoreCandidate,
      S.HasChampion,
      S.NoChampion,
      S.EvaluateModel,
      S.ModelGate,
      S.RecordGateFailure,
      S.GateFailed,
    ]);
    expect(res.error?.Error).toBe('GateFailedError');
    expect(res.error?.Cause).toMatch(/AUC 0\.\d+ < minimum 0\.7/);
    expect(res.error?.Cause).toMatch(/log loss 0\.\d+ > maximum 0\.6/);
    expect(await findPackageByRunId(sm, group, 'train-weak-1')).toBeNull();
    const runRec = await getRun(doc, table, 'train-weak-1');
    expect(runRec).toMatchObject({
      status: 'REJECTED',
      gate: { passed: false },
      rejectionReasons: expect.arrayContaining([
        expect.stringMatching(/^AUC 0\.\d+ </),
        expect.stringMatching(/^log loss/),
      ]),
    });
    expect(runRec?.modelPackageArn).toBeUndefined();
  });

  it('a StartRun failure (no partition in the window) is still recorded on a run record', async () => {
    const res = await run('train-empty-1', { dataWindow: { from: '2030-01-01' } }, fakeTrain(0.9, 0.3));
    expect(res.status).toBe('FAILED');
    expect(res.path).toEqual([S.StartRun, S.RecordFailure, S.Alert, S.Fail]);
    expect(res.error?.Error).toBe('NotFoundError');
    const runRec = await getRun(doc, table, 'train-empty-1');
    expect(runRec).toMatchObject({ status: 'FAILED', kind: 'training', error: { error: 'NotFoundError' } });
    expect(runRec?.error?.cause).toMatch(/No training partitions .* within data window 2030-01-01\.\.\(open\)/);
  });

  /** The evaluation document of a run, checked against its contract. */
  const evaluationOf = async (runId: string) => {
    const obj = await s3.send(
      new GetObjectCommand({ Bucket: artifactsBucket, Key: `reports/${runId}/evaluation.json` }),
    );
    return EvaluationReportSchema.parse(JSON.parse((await obj.Body?.transformToString()) ?? '{}'));
  };
  /** A Production model to compare with: the real-XGBoost one when it ran, else the fake one of the success test. */
  const ensureProduction = async (runId = 'train-ok-1') => {
    const prod = await findProductionPackage(sm, group);
    if (prod) return prod;
    const pkg = await findPackageByRunId(sm, group, runId);
    if (!pkg) throw new Error(`no package of ${runId} to approve`);
    return updateApprovalStatus(sm, pkg.arn, 'Approved', 'test: Production to compare with');
  };

  itXgboost('real XGBoost: the second candidate and Production score the same rows; gate on the CI', async () => {
    const prod = await ensureProduction('train-xgb-1');
    const train = trainingOverride({ s3, sageMaker: sm });
    const transform = transformOverride({ s3, sageMaker: sm });
    const res = await run('train-xgb-2', { dataWindow: { from: '2026-10-30', to: '2026-10-31' } }, train, {
      candidate: transform,
      champion: transform,
    });
    expect(res.error).toBeUndefined();
    expect(res.path).toEqual(
      expect.arrayContaining([S.PrepareEvaluation, S.ScoreCandidate, S.HasChampion, S.ScoreChampion, S.EvaluateModel]),
    );
    const doc2 = await evaluationOf('train-xgb-2');
    expect(doc2.champion).not.toBeNull();
    expect(doc2.champion).toMatchObject({ modelVersion: prod.version, runId: prod.runId });
    // Same rows: same count and the same labels, so the same positives.
    expect(doc2.champion!.rows).toBe(doc2.candidate.rows);
    expect(doc2.champion!.positives).toBe(doc2.candidate.positives);
    const cmp = doc2.comparison!;
    expect(cmp.difference).toBeCloseTo(doc2.candidate.auc! - doc2.champion!.auc!, 12);
    expect(cmp.lower).toBeLessThanOrEqual(cmp.upper);
    expect(cmp.resamples).toBe(1000);
    expect(doc2.gate.notes.join(' ')).toMatch(/AUC difference .* vs Production version \d+ on the same \d+ rows/);
    for (const f of [doc2.candidate, doc2.champion!]) {
      expect(f.lift).toHaveLength(10);
      expect(f.calibration).toHaveLength(10);
      expect(f.roc[0]).toEqual({ x: 0, y: 0, threshold: 1 });
      expect(f.roc.at(-1)).toMatchObject({ x: 1, y: 1 });
    }
    const runRec = await getRun(doc, table, 'train-xgb-2');
    expect(runRec).toMatchObject({
      gate: { passed: true, production: { version: prod.version }, comparison: { difference: cmp.difference } },
      evaluation: { championStatus: 'Completed' },
    });

    // What the approver sees: `models compare` (default: newest pending vs Production) and `models show`.
    const target: Target = {
      mode: 'local',
      envName: 'test',
      outputs: { ModelPackageGroupName: group },
      clients: { s3, doc, sm, sfn: undefined as never },
    };
    const pending = (runRec as { modelVersion?: number }).modelVersion;
    const cmpOut = await compareModels(target);
    expect(cmpOut).toMatchObject({ b: prod.version, sameRows: true, evaluationRunId: 'train-xgb-2' });
    if (pending !== undefined) expect(cmpOut.a).toBe(pending);
    expect(cmpOut.comparison?.difference).toBeCloseTo(cmp.difference, 12);
    const text = compareText(cmpOut);
    expect(text).toMatch(
      new RegExp(`model version ${cmpOut.a} vs ${prod.version} \\(evaluation of run train-xgb-2\\)`),
    );
    expect(text).toMatch(/AUC +\d\.\d{4} +\d\.\d{4} +[-+]\d\.\d{4}/);
    const shown = await showModel(target, String(cmpOut.a));
    expect(shown.version).toBe(cmpOut.a);
    expect(showText(shown)).toContain('train-xgb-2');
    await expect(compareModels(target, String(prod.version), String(prod.version))).rejects.toThrow(
      `compare needs two versions; both are ${prod.version}`,
    );
  });

  it('bad input: the champion transform fails → the gate decides on the candidate alone, the reason is recorded', async () => {
    const prod = await ensureProduction();
    const res = await run('train-champ-fail-1', { dataWindow: { from: '2026-10-30' } }, fakeTrain(0.9, 0.3), {
      champion: async () => {
        const e = new Error('ClientError: model.tar.gz could not be loaded');
        e.name = 'SageMaker.TransformJobFailed';
        throw e;
      },
    });
    expect(res.error).toBeUndefined();
    expect(res.path).toEqual(expect.arrayContaining([S.ScoreChampion, S.ChampionScoringFailed, S.RegisterModel]));
    const ev = await evaluationOf('train-champ-fail-1');
    expect(ev.champion).toBeNull();
    expect(ev.championNote).toMatch(new RegExp(`Production version ${prod.version}: transform job .* failed`));
    expect(ev.championNote).toMatch(/SageMaker\.TransformJobFailed/);
    const runRec = await getRun(doc, table, 'train-champ-fail-1');
    expect(runRec).toMatchObject({
      gate: { passed: true, championNote: ev.championNote },
      evaluation: { championStatus: 'Failed' },
    });
  });

  it('bad input: a validation channel without positives fails the gate (AUC undefined), reason on the run', async () => {
    await ensureProduction();
    const res = await run(
      'train-no-pos-1',
      { dataWindow: { from: '2026-03-01', to: '2026-03-01' } },
      fakeTrain(0.9, 0.3),
    );
    expect(res.status).toBe('FAILED');
    expect(res.error?.Error).toBe('GateFailedError');
    expect(res.error?.Cause).toMatch(/0 positives .*AUC is undefined/);
    const runRec = await getRun(doc, table, 'train-no-pos-1');
    expect(runRec).toMatchObject({ status: 'REJECTED', gate: { passed: false } });
    expect((runRec!.gate as { reasons: string[] }).reasons[0]).toMatch(/0 positives/);
    const ev = await evaluationOf('train-no-pos-1');
    expect(ev.candidate.auc).toBeNull();
    expect(ev.comparison).toBeNull();
  });

  it('bad input: a Production model of another contract version is not scored; the note says why', async () => {
    const prod = await ensureProduction();
    const specUri = parseUri(prod.preprocessingUri!);
    const original = await (await s3.send(new GetObjectCommand(specUri))).Body!.transformToString();
    const older = { ...JSON.parse(original), contractVersion: '0.0.1' };
    await s3.send(new PutObjectCommand({ ...specUri, Body: JSON.stringify(older) }));
    try {
      const res = await run('train-other-contract-1', { dataWindow: { from: '2026-10-30' } }, fakeTrain(0.9, 0.3));
      expect(res.error).toBeUndefined();
      expect(res.path).toContain(S.NoChampion);
      const ev = await evaluationOf('train-other-contract-1');
      expect(ev.champion).toBeNull();
      expect(ev.championNote).toMatch(/was trained with contract .* 0\.0\.1, the candidate with .*comparison skipped/);
      const runRec = await getRun(doc, table, 'train-other-contract-1');
      expect((runRec!.gate as { notes: string[] }).notes).toContain(ev.championNote);
    } finally {
      await s3.send(new PutObjectCommand({ ...specUri, Body: original }));
    }
  });
});
