import { CreateModelPackageGroupCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { CreateStateMachineCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createModel, getModel } from '../../lambdas/domain/model-records';
import { createModelPackage, findProductionPackage, updateApprovalStatus } from '../../lambdas/domain/registry';
import { createRun } from '../../lambdas/domain/tracking';
import {
  type ApprovalParams,
  handleApprovalEvent,
  type ModelPackageStateChange,
} from '../../lambdas/functions/approval-event/core';
import { createPipelineTable, testClients, uniqueName } from '../support/aws';
import { describeWithServers } from '../support/servers';

describeWithServers('approval events against moto', { moto: true }, (env) => {
  let sm: SageMakerClient;
  let doc: DynamoDBDocumentClient;
  let sfn: SFNClient;
  let table: string;
  let group: string;
  let batchArn: string;
  const arns: Record<number, string> = {};
  let eventCounter = 0;

  /** The event SageMaker emits after an approval status change (detail = the package as described). */
  const event = (
    version: number,
    status: 'Approved' | 'Rejected',
    by = 'alice',
    group_ = group,
  ): ModelPackageStateChange => {
    eventCounter += 1;
    return {
      version: '0',
      id: `evt-${eventCounter}`,
      account: '123456789012',
      time: '2026-11-26T12:00:00Z',
      region: 'us-east-1',
      resources: [arns[version] ?? `arn:aws:sagemaker:us-east-1:123456789012:model-package/${group_}/${version}`],
      source: 'aws.sagemaker',
      'detail-type': 'SageMaker Model Package State Change',
      detail: {
        ModelPackageGroupName: group_,
        ModelPackageArn: arns[version] ?? `arn:aws:sagemaker:us-east-1:123456789012:model-package/${group_}/${version}`,
        ModelPackageVersion: version,
        ModelApprovalStatus: status,
        ApprovalDescription: `${status} by test`,
        LastModifiedTime: '2026-11-26T12:00:00Z',
        LastModifiedBy: { UserProfileName: by },
      },
    };
  };

  const params = (over: Partial<ApprovalParams> = {}): ApprovalParams => ({
    groupName: group,
    table,
    startBatchOnApproval: false,
    ...over,
  });

  /** Register version N for a tracked run, as RegisterModel does. */
  async function register(runId: string, auc: number): Promise<number> {
    await createRun(doc, table, { runId, kind: 'training', trigger: 'test', codeVersion: 'c' });
    const pkg = await createModelPackage(sm, {
      groupName: group,
      runId,
      codeVersion: 'c',
      dataWindow: '2026-01-01..2026-01-31',
      imageUri: 'img',
      modelDataUrl: `s3://a/${runId}/model.tar.gz`,
      preprocessingUri: `s3://a/${runId}/preprocessing.json`,
      trainingStatsUri: `s3://a/${runId}/stats.json`,
      evaluationReportUri: `s3://a/${runId}/evaluation.json`,
      metrics: { auc },
      transformInstanceTypes: ['ml.m5.large'],
    });
    await createModel(doc, table, { version: pkg.version, runId, modelPackageArn: pkg.arn });
    arns[pkg.version] = pkg.arn;
    return pkg.version;
  }

  /** What an operator does: change the status in the registry, then SageMaker emits the event. */
  async function setStatus(version: number, status: 'Approved' | 'Rejected', extra: Partial<ApprovalParams> = {}) {
    await updateApprovalStatus(sm, arns[version]!, status, `${status} by test`);
    const e = event(version, status);
    return { e, outcome: await handleApprovalEvent({ sageMaker: sm, doc, sfn }, params(extra), e) };
  }

  beforeAll(async () => {
    const c = testClients(env.moto.endpoint);
    sm = c.sageMaker;
    doc = c.doc;
    sfn = new SFNClient({ endpoint: env.moto.endpoint, region: process.env.AWS_REGION ?? 'us-east-1' });
    table = await createPipelineTable(c.ddb);
    group = uniqueName('approvals');
    await sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: group }));
    const created = await sfn.send(
      new CreateStateMachineCommand({
        name: uniqueName('batch'),
        roleArn: 'arn:aws:iam::123456789012:role/sfn',
        definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } }),
      }),
    );
    batchArn = created.stateMachineArn!;
  });

  it('approval: history with status, by and at; redelivery is recorded once', async () => {
    const v1 = await register('run-a', 0.8);
    const { e, outcome } = await setStatus(v1, 'Approved');
    expect(outcome).toEqual({ action: 'approved', version: v1, status: 'Approved', productionVersion: v1 });
    const again = await handleApprovalEvent({ sageMaker: sm, doc, sfn }, params(), e);
    expect(again.action).toBe('unchanged');
    const model = await getModel(doc, table, v1);
    expect(model?.approvalStatus).toBe('Approved');
    expect(model?.approvals).toEqual([
      expect.objectContaining({ status: 'PendingManualApproval', reason: 'registered' }),
      { status: 'Approved', by: 'alice', at: '2026-11-26T12:00:00.000Z', reason: 'Approved by test', eventId: e.id },
    ]);
  });

  it('events of another group are ignored', async () => {
    const outcome = await handleApprovalEvent(
      { sageMaker: sm, doc, sfn },
      params(),
      event(1, 'Rejected', 'bob', 'other-group'),
    );
    expect(outcome.action).toBe('ignored-other-group');
    expect((await getModel(doc, table, 1))?.approvalStatus).toBe('Approved');
  });

  it('startOnApproval starts one BatchInference run for the new Production version', async () => {
    const v2 = await register('run-b', 0.82);
    const { e, outcome } = await setStatus(v2, 'Approved', {
      startBatchOnApproval: true,
      batchStateMachineArn: batchArn,
    });
    expect(outcome).toMatchObject({ action: 'approved-batch-started', version: v2, productionVersion: v2 });
    expect(outcome.batchExecutionArn).toContain(`approval-v${v2}-${e.id}`);
    const list = await sfn.send(new ListExecutionsCommand({ stateMachineArn: batchArn }));
    expect(list.executions?.map((x) => x.name)).toEqual([`approval-v${v2}-${e.id}`]);
  });

  it('rejecting the Production version rolls back to the previous Approved one, recorded on both', async () => {
    const v1 = 1;
    const v2 = 2;
    expect((await findProductionPackage(sm, group))?.version).toBe(v2);
    const { outcome } = await setStatus(v2, 'Rejected');
    expect(outcome).toMatchObject({ action: 'rollback', version: v2, status: 'Rejected', productionVersion: v1 });
    expect((await findProductionPackage(sm, group))?.version).toBe(v1);
    const rejected = await getModel(doc, table, v2);
    expect(rejected?.approvalStatus).toBe('Rejected');
    expect(rejected?.approvals.at(-1)?.reason).toBe(
      `Rejected by test | rollback: Production was version ${v2}, is now version ${v1}`,
    );
    const restored = await getModel(doc, table, v1);
    expect(restored?.approvals.at(-1)).toMatchObject({
      status: 'Approved',
      reason: `Production again after version ${v2} was rejected (rollback)`,
    });
  });

  it('rejecting a version that is not Production is recorded without rollback', async () => {
    const v3 = await register('run-c', 0.79);
    const { outcome } = await setStatus(v3, 'Rejected');
    expect(outcome).toEqual({ action: 'recorded', version: v3, status: 'Rejected', productionVersion: 1 });
  });

  it('rejecting the only Approved version leaves no Production model, and says so', async () => {
    const { outcome } = await setStatus(1, 'Rejected');
    expect(outcome).toMatchObject({ action: 'rollback', productionVersion: null });
    expect(outcome.detail).toMatch(/no earlier Approved version, so there is no Production model now/);
    expect(await findProductionPackage(sm, group)).toBeNull();
  });

  it('a package registered outside the pipeline without a tracked run is reported, not recorded', async () => {
    const pkg = await createModelPackage(sm, {
      groupName: group,
      runId: 'never-tracked',
      codeVersion: 'c',
      dataWindow: 'x',
      imageUri: 'img',
      modelDataUrl: 's3://a/m.tar.gz',
      preprocessingUri: 's3://a/p.json',
      trainingStatsUri: 's3://a/s.json',
      evaluationReportUri: 's3://a/e.json',
      metrics: { auc: 0.9 },
      transformInstanceTypes: ['ml.m5.large'],
    });
    arns[pkg.version] = pkg.arn;
    const { outcome } = await setStatus(pkg.version, 'Approved');
    expect(outcome.action).toBe('untracked');
    expect(outcome.detail).toMatch(/runId never-tracked/);
    expect(await getModel(doc, table, pkg.version)).toBeUndefined();
  });
});
