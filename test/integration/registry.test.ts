import { CreateModelPackageGroupCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import {
  type CreatePackageParams,
  createModelPackage,
  findPackageByRunId,
  findPackageByVersion,
  findPreviousApproved,
  findProductionPackage,
  listPackages,
  updateApprovalStatus,
} from '../../lambdas/domain/registry';
import { testClients, uniqueName } from '../support/aws';
import { describeWithServers } from '../support/servers';

const params = (groupName: string, runId: string, auc: number): CreatePackageParams => ({
  groupName,
  runId,
  codeVersion: 'abc1234',
  dataWindow: '2024-01-01..2024-03-31',
  imageUri: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
  modelDataUrl: `s3://artifacts/training/${runId}/model/job/output/model.tar.gz`,
  preprocessingUri: `s3://artifacts/training/${runId}/preprocessing.json`,
  trainingStatsUri: `s3://artifacts/reports/${runId}/stats.json`,
  evaluationReportUri: `s3://artifacts/reports/${runId}/evaluation.json`,
  metrics: { auc, logloss: 0.4 },
  transformInstanceTypes: ['ml.m5.large'],
});

describeWithServers('model registry against moto', { moto: true }, (env) => {
  let sm: SageMakerClient;
  let group: string;

  beforeAll(async () => {
    sm = testClients(env.moto.endpoint).sageMaker;
    group = uniqueName('grp');
    await sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: group }));
  });

  it('registers PendingManualApproval with metadata, metrics and the inference spec; a retry reuses it', async () => {
    const first = await createModelPackage(sm, params(group, 'run-1', 0.81));
    expect(first).toMatchObject({ version: 1, created: true });
    const again = await createModelPackage(sm, params(group, 'run-1', 0.81));
    expect(again).toEqual({ arn: first.arn, version: 1, created: false });

    const info = await findPackageByRunId(sm, group, 'run-1');
    expect(info).toMatchObject({
      arn: first.arn,
      version: 1,
      status: 'PendingManualApproval',
      runId: 'run-1',
      metrics: { auc: 0.81, logloss: 0.4 },
      preprocessingUri: 's3://artifacts/training/run-1/preprocessing.json',
      evaluationReportUri: 's3://artifacts/reports/run-1/evaluation.json',
      modelDataUrl: 's3://artifacts/training/run-1/model/job/output/model.tar.gz',
    });
    expect(info?.metadata).toMatchObject({
      codeVersion: 'abc1234',
      dataWindow: '2024-01-01..2024-03-31',
      trainingStatsUri: 's3://artifacts/reports/run-1/stats.json',
    });
    expect(await findProductionPackage(sm, group)).toBeNull();
  });

  it('Production is the newest Approved; approval keeps the metadata; rejection rolls back', async () => {
    const v2 = await createModelPackage(sm, params(group, 'run-2', 0.82));
    const v3 = await createModelPackage(sm, params(group, 'run-3', 0.83));
    expect([v2.version, v3.version]).toEqual([2, 3]);

    const approved1 = await updateApprovalStatus(sm, (await findPackageByVersion(sm, group, 1)).arn, 'Approved', 'ok');
    expect(approved1).toMatchObject({ status: 'Approved', runId: 'run-1', approvalDescription: 'ok' });
    await updateApprovalStatus(sm, v2.arn, 'Approved');
    expect((await findProductionPackage(sm, group))?.version).toBe(2);

    // v3 stays pending: Production is still v2
    expect((await findProductionPackage(sm, group))?.runId).toBe('run-2');
    expect((await findPreviousApproved(sm, group, 2))?.version).toBe(1);
    expect(await findPreviousApproved(sm, group, 1)).toBeNull();

    await updateApprovalStatus(sm, v2.arn, 'Rejected', 'bad drift');
    expect((await findProductionPackage(sm, group))?.version).toBe(1);

    const all = await listPackages(sm, group);
    expect(all.map((p) => [p.version, p.status])).toEqual([
      [3, 'PendingManualApproval'],
      [2, 'Rejected'],
      [1, 'Approved'],
    ]);
    expect((await listPackages(sm, group, { status: 'Approved' })).map((p) => p.version)).toEqual([1]);
    expect((await listPackages(sm, group, { limit: 1 })).map((p) => p.version)).toEqual([3]);
  });

  it('a missing version is a NotFoundError naming the group', async () => {
    await expect(findPackageByVersion(sm, group, 99)).rejects.toThrow(new RegExp(`${group} has no version 99`));
  });
});
