import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateModelPackageGroupCommand,
  DescribeModelPackageCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EvaluationPlan, TrainingJob } from '../../contracts/states/training';
import { getModel } from '../../lambdas/domain/model-records';
import { listPackages, updateApprovalStatus } from '../../lambdas/domain/registry';
import { createRun, getRun } from '../../lambdas/domain/tracking';
import { evaluateModel } from '../../lambdas/functions/evaluate-model/core';
import { registerModel } from '../../lambdas/functions/register-model/core';
import { mulberry32 } from '../../lambdas/platform/random';
import { createPipelineTable, testClients, uniqueName } from '../support/aws';
import { describeWithServers } from '../support/servers';

const T = { minAuc: 0.7, maxLogloss: 0.6, maxAucDrop: 0.01 };
const job = (runId: string): TrainingJob => ({
  TrainingJobName: `${runId}-a0`,
  TrainingJobStatus: 'Completed',
  ModelArtifacts: { S3ModelArtifacts: `s3://art/training/${runId}/model/${runId}-a0/output/model.tar.gz` },
  FinalMetricDataList: [{ MetricName: 'validation:auc', Value: 0.9 }],
});

/** 2000 validation rows (30% positives) and a model's scores of them: `signal` 0 ignores the label. */
const N = 2000;
const labels = (() => {
  const r = mulberry32(7);
  return Array.from({ length: N }, () => (r() < 0.3 ? 1 : 0));
})();
function scores(signal: number, seed: number): number[] {
  const r = mulberry32(seed);
  return labels.map((y) => {
    const z = signal * (y - 0.3) * 3 + (r() - 0.5) * 4 - 0.85;
    return 1 / (1 + Math.exp(-z));
  });
}

describeWithServers('EvaluateModel and RegisterModel cores against moto', { moto: true }, (env) => {
  let s3: S3Client;
  let sm: SageMakerClient;
  let doc: DynamoDBDocumentClient;
  let table: string;
  let group: string;
  let bucket: string;

  beforeAll(async () => {
    const c = testClients(env.moto.endpoint);
    s3 = c.s3;
    sm = c.sageMaker;
    doc = c.doc;
    table = await createPipelineTable(c.ddb);
    group = uniqueName('grp');
    bucket = uniqueName('art');
    await sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: group }));
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });

  /** Write a transform output (`<label>,<score>` lines) as the evaluation transforms do. */
  async function writeScores(prefix: string, s: readonly number[]): Promise<string> {
    const body = `${s.map((p, i) => `${labels[i]},${p}`).join('\n')}\n`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}part-00001.csv.out`, Body: body }));
    return `s3://${bucket}/${prefix}`;
  }

  async function trainAndRegister(
    runId: string,
    candidate: number[],
    champion?: { version: number; arn: string; s: number[] },
  ) {
    const startedAt = new Date().toISOString();
    await createRun(doc, table, { runId, kind: 'training', trigger: 'test', codeVersion: 'c' });
    const training = job(runId);
    const job1 = (role: string) => ({
      modelName: `m-${role}`,
      transformJobName: `j-${role}`,
      inputUri: `s3://${bucket}/training/${runId}/validation/`,
      outputUri: `s3://${bucket}/training/${runId}/evaluation/${role}/`,
    });
    const plan: EvaluationPlan = {
      candidate: {
        ...job1('candidate'),
        outputUri: await writeScores(`training/${runId}/evaluation/candidate/`, candidate),
      },
      champion: champion
        ? {
            ...job1('champion'),
            outputUri: await writeScores(`training/${runId}/evaluation/champion/`, champion.s),
            version: champion.version,
            arn: champion.arn,
            runId: 'run-1',
          }
        : null,
      contractVersion: '1.0.0',
    };
    const evaluation = await evaluateModel(s3, {
      runId,
      codeVersion: 'c',
      training,
      data: { validationRows: N },
      plan,
      scoring: { candidate: { status: 'Completed' }, champion: { status: champion ? 'Completed' : 'None' } },
      thresholds: T,
      decisionThreshold: 0.5,
      artifactsBucket: bucket,
    });
    const register = () =>
      registerModel(
        { sageMaker: sm, doc },
        {
          runId,
          startedAt,
          codeVersion: 'c',
          dataWindow: { from: '2026-10-30', to: '2026-10-31' },
          training,
          preprocessingUri: `s3://${bucket}/training/${runId}/preprocessing.json`,
          statsUri: `s3://${bucket}/reports/${runId}/stats.json`,
          evaluation,
          groupName: group,
          imageUri: 'img',
          transformInstanceTypes: ['ml.m5.large'],
          table,
        },
      );
    return { evaluation, register };
  }

  const strong = scores(1, 11);

  it('a retried RegisterModel reuses the package and the model record; the package points at model quality', async () => {
    const { evaluation, register } = await trainAndRegister('run-1', strong);
    expect(evaluation.passed).toBe(true);
    expect(evaluation.notes[0]).toMatch(/no Production model/);
    const first = await register();
    const second = await register();
    expect(first.created).toBe(true);
    expect(second).toEqual({ ...first, created: false });
    expect((await listPackages(sm, group)).map((p) => p.runId)).toEqual(['run-1']);
    expect(await getModel(doc, table, first.version)).toMatchObject({
      runId: 'run-1',
      modelPackageArn: first.modelPackageArn,
      modelQualityUri: `s3://${bucket}/reports/run-1/model-quality.json`,
    });
    expect(await getRun(doc, table, 'run-1')).toMatchObject({
      modelPackageArn: first.modelPackageArn,
      modelVersion: first.version,
    });
    const d = await sm.send(new DescribeModelPackageCommand({ ModelPackageName: first.modelPackageArn }));
    expect(d.ModelMetrics?.ModelQuality?.Statistics).toEqual({
      ContentType: 'application/json',
      S3Uri: `s3://${bucket}/reports/run-1/model-quality.json`,
    });
  });

  it('after approval: clearly worse on the same rows fails on the interval; a small drop passes with a note', async () => {
    const [pkg] = await listPackages(sm, group);
    await updateApprovalStatus(sm, pkg!.arn, 'Approved');
    const champion = { version: pkg!.version, arn: pkg!.arn, s: strong };
    const worse = await trainAndRegister('run-2', scores(0.6, 12), champion);
    expect(worse.evaluation).toMatchObject({ passed: false, production: { version: pkg!.version, runId: 'run-1' } });
    const cmp = worse.evaluation.comparison!;
    expect(cmp.upper).toBeLessThan(-T.maxAucDrop);
    expect(worse.evaluation.reasons).toEqual([
      expect.stringMatching(
        /AUC difference -0\.\d+ vs Production version \d+ on the same 2000 rows \(95% CI .*the whole interval is below the allowed drop −0\.01/,
      ),
    ]);
    await expect(worse.register()).rejects.toMatchObject({ name: 'GateFailedError' });
    // Same model quality, other noise: the difference is within sampling noise of zero.
    const close = await trainAndRegister('run-3', scores(1, 13), champion);
    expect(close.evaluation.passed).toBe(true);
    expect(close.evaluation.comparison!.lower).toBeLessThan(0);
    expect(close.evaluation.comparison!.upper).toBeGreaterThan(-T.maxAucDrop);
    expect(close.evaluation.summary?.champion?.rows).toBe(N);
  });
});
