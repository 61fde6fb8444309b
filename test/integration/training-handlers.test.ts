import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateModelPackageGroupCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TrainingJob } from '../../contracts/states/training';
import { getModel } from '../../lambdas/domain/model-records';
import { listPackages, updateApprovalStatus } from '../../lambdas/domain/registry';
import { createRun, getRun } from '../../lambdas/domain/tracking';
import { evaluateModel } from '../../lambdas/functions/evaluate-model/core';
import { registerModel } from '../../lambdas/functions/register-model/core';
import { createPipelineTable, testClients, uniqueName } from '../support/aws';
import { describeWithServers } from '../support/servers';

const T = { minAuc: 0.7, maxLogloss: 0.6, maxAucDrop: 0.01 };
const job = (runId: string, auc: number): TrainingJob => ({
  TrainingJobName: `${runId}-a0`,
  TrainingJobStatus: 'Completed',
  ModelArtifacts: { S3ModelArtifacts: `s3://art/training/${runId}/model/${runId}-a0/output/model.tar.gz` },
  FinalMetricDataList: [
    { MetricName: 'validation:auc', Value: auc },
    { MetricName: 'validation:logloss', Value: 0.4 },
  ],
});

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

  async function trainAndRegister(runId: string, auc: number) {
    const startedAt = new Date().toISOString();
    await createRun(doc, table, { runId, kind: 'training', trigger: 'test', codeVersion: 'c' });
    const training = job(runId, auc);
    const evaluation = await evaluateModel(
      { s3, sageMaker: sm },
      { runId, training, thresholds: T, artifactsBucket: bucket, modelPackageGroupName: group },
    );
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

  it('a retried RegisterModel reuses the package and the model record (links both ways once)', async () => {
    const { evaluation, register } = await trainAndRegister('run-1', 0.8);
    expect(evaluation.passed).toBe(true);
    const first = await register();
    const second = await register();
    expect(first.created).toBe(true);
    expect(second).toEqual({ ...first, created: false });
    expect((await listPackages(sm, group)).map((p) => p.runId)).toEqual(['run-1']);
    expect(await getModel(doc, table, first.version)).toMatchObject({
      runId: 'run-1',
      modelPackageArn: first.modelPackageArn,
    });
    expect(await getRun(doc, table, 'run-1')).toMatchObject({
      modelPackageArn: first.modelPackageArn,
      modelVersion: first.version,
    });
  });

  it('after approval, a candidate worse than Production by more than the tolerance fails the gate', async () => {
    const [pkg] = await listPackages(sm, group);
    await updateApprovalStatus(sm, pkg!.arn, 'Approved');
    const worse = await trainAndRegister('run-2', 0.78);
    expect(worse.evaluation).toMatchObject({
      passed: false,
      production: { version: pkg!.version, runId: 'run-1', auc: 0.8 },
    });
    expect(worse.evaluation.reasons).toEqual([
      `validation:auc 0.78 is 0.02 below Production version ${pkg!.version} (0.8); allowed drop 0.01`,
    ]);
    await expect(worse.register()).rejects.toMatchObject({ name: 'GateFailedError' });
    const close = await trainAndRegister('run-3', 0.795);
    expect(close.evaluation.passed).toBe(true);
  });
});
