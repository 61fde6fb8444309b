import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConflictError, NotFoundError, ValidationError } from '../../contracts/errors';
import { appendApproval, createModel, getModel, listModels } from '../../lambdas/domain/model-records';
import { completeRun, createRun, failRun, getRun, listRuns, updateRun } from '../../lambdas/domain/tracking';
import { createPipelineTable, testClients } from '../support/aws';
import { describeWithServers } from '../support/servers';

const at = (minute: number) => new Date(Date.UTC(2026, 2, 1, 10, minute));

describeWithServers('tracking against moto DynamoDB', { moto: true }, (env) => {
  let doc: DynamoDBDocumentClient;
  let table: string;

  beforeEach(async () => {
    const c = testClients(env.moto.endpoint);
    doc = c.doc;
    table = await createPipelineTable(c.ddb);
  });

  const newRun = (runId: string, kind: 'training' | 'batch' = 'training', minute = 0) =>
    createRun(doc, table, {
      runId,
      kind,
      trigger: 'cli',
      codeVersion: 'abc123',
      params: { maxDepth: 5 },
      window: { from: '2026-01-01', to: '2026-01-31' },
      startedAt: at(minute),
    });

  it('creates, updates and completes a run', async () => {
    const created = await newRun('t-1');
    expect(created).toEqual({
      runId: 't-1',
      kind: 'training',
      status: 'RUNNING',
      trigger: 'cli',
      codeVersion: 'abc123',
      params: { maxDepth: 5 },
      window: { from: '2026-01-01', to: '2026-01-31' },
      startedAt: at(0).toISOString(),
      updatedAt: at(0).toISOString(),
    });
    await updateRun(doc, table, 't-1', { rowCounts: { in: 10, used: 9, quarantined: 1 } }, at(1));
    await updateRun(doc, table, 't-1', { metrics: { auc: 0.81 }, gate: { passed: true } }, at(2));
    const done = await completeRun(doc, table, 't-1', { fields: { modelVersion: 4 }, now: at(3) });
    expect(done).toMatchObject({
      status: 'SUCCEEDED',
      rowCounts: { in: 10, used: 9, quarantined: 1 },
      metrics: { auc: 0.81 },
      gate: { passed: true },
      modelVersion: 4,
      completedAt: at(3).toISOString(),
    });
    expect(done).not.toHaveProperty('pk');
    expect(done).not.toHaveProperty('gsi1pk');
    expect(await getRun(doc, table, 't-1')).toEqual(done);
    // Retried CompleteRun: same status is fine; another terminal status is a conflict.
    await expect(completeRun(doc, table, 't-1', { now: at(4) })).resolves.toMatchObject({ status: 'SUCCEEDED' });
    await expect(completeRun(doc, table, 't-1', { status: 'REJECTED' })).rejects.toThrow(
      'Run t-1 already ended with status SUCCEEDED; cannot mark it REJECTED',
    );
  });

  it('createRun is idempotent for the same kind and refuses another kind', async () => {
    const a = await newRun('r-1', 'batch');
    expect(await newRun('r-1', 'batch', 5)).toEqual(a);
    await expect(newRun('r-1', 'training')).rejects.toThrow(ConflictError);
  });

  it('createRun with an execution: only that execution (same ARN and start) gets the record back; failRun of another execution leaves it', async () => {
    const arn = 'arn:aws:states:us-east-1:123456789012:execution:batch:r-x';
    const create = (executionArn: string, start: Date, kind: 'batch' | 'training' = 'batch') =>
      createRun(doc, table, { runId: 'r-x', kind, trigger: 't', codeVersion: 'c', executionArn, startedAt: start });
    const a = await create(arn, at(0));
    expect(a).toMatchObject({ executionArn: arn, startedAt: at(0).toISOString() });
    expect(await create(arn, at(0))).toEqual(a); // a retried StartRun / AcquireLock
    await expect(create(arn, at(5))).rejects.toThrow(
      `Run id r-x is already used by the batch run started ${at(0).toISOString()} (RUNNING)`,
    );
    await expect(create(`${arn}-other`, at(0))).rejects.toThrow(ConflictError);
    await expect(create(arn, at(0), 'training')).rejects.toThrow(ConflictError);
    await completeRun(doc, table, 'r-x', { now: at(9) });
    const done = await getRun(doc, table, 'r-x');

    // RecordFailure of the second execution: refused, the record as it ended.
    await expect(
      failRun(doc, table, 'r-x', {
        error: 'ConflictError',
        kind: 'batch',
        execution: { arn, startedAt: at(5).toISOString() },
      }),
    ).rejects.toThrow(`Run r-x belongs to another execution (the batch run started ${at(0).toISOString()}, SUCCEEDED)`);
    expect(await getRun(doc, table, 'r-x')).toEqual(done);
    // Its own execution's failure path still records (and creates a record that never existed, with the execution).
    const ghost = await failRun(doc, table, 'r-y', {
      error: 'States.Timeout',
      kind: 'batch',
      execution: { arn: `${arn}-y`, startedAt: at(3).toISOString() },
      now: at(10),
    });
    expect(ghost).toMatchObject({ status: 'FAILED', executionArn: `${arn}-y`, startedAt: at(3).toISOString() });
    const again = await failRun(doc, table, 'r-y', {
      error: 'X',
      kind: 'batch',
      execution: { arn: `${arn}-y`, startedAt: at(3).toISOString() },
    });
    expect(again).toMatchObject({ error: { error: 'X' } });
  });

  it('update/complete of a missing run is NotFoundError; protected fields are refused', async () => {
    await expect(updateRun(doc, table, 'nope', { x: 1 })).rejects.toThrow(NotFoundError);
    await expect(completeRun(doc, table, 'nope')).rejects.toThrow('Run nope not found');
    await newRun('t-2');
    await expect(updateRun(doc, table, 't-2', { status: 'SUCCEEDED' })).rejects.toThrow(
      new ValidationError('updateRun: field "status" cannot be set here'),
    );
    await expect(updateRun(doc, table, 't-2', { 'a.b': 1 })).rejects.toThrow('updateRun: invalid field name "a.b"');
  });

  it('failRun records error and cause; creates the record when StartRun never ran', async () => {
    await newRun('t-3');
    const failed = await failRun(doc, table, 't-3', { error: 'ValidationError', cause: 'line 3: bad', now: at(9) });
    expect(failed).toMatchObject({
      status: 'FAILED',
      error: { error: 'ValidationError', cause: 'line 3: bad' },
      completedAt: at(9).toISOString(),
      params: { maxDepth: 5 },
    });
    await expect(failRun(doc, table, 'ghost', { error: 'X' })).rejects.toThrow(NotFoundError);
    const ghost = await failRun(doc, table, 'ghost', { error: 'States.Timeout', kind: 'batch', now: at(10) });
    expect(ghost).toMatchObject({ runId: 'ghost', kind: 'batch', status: 'FAILED', startedAt: at(10).toISOString() });
    expect((await listRuns(doc, table, 'batch')).runs.map((r) => r.runId)).toEqual(['ghost']);
  });

  it('lists runs by kind, newest first, with paging', async () => {
    await newRun('t-a', 'training', 1);
    await newRun('t-b', 'training', 3);
    await newRun('t-c', 'training', 2);
    await newRun('b-a', 'batch', 4);
    const page1 = await listRuns(doc, table, 'training', { limit: 2 });
    expect(page1.runs.map((r) => r.runId)).toEqual(['t-b', 't-c']);
    expect(page1.nextToken).toBeDefined();
    const page2 = await listRuns(doc, table, 'training', { limit: 2, nextToken: page1.nextToken });
    expect(page2.runs.map((r) => r.runId)).toEqual(['t-a']);
    await expect(listRuns(doc, table, 'training', { nextToken: 'garbage!' })).rejects.toThrow(ValidationError);
  });

  it('creates a model record linked both ways, idempotently', async () => {
    await newRun('t-m');
    const arn = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/7';
    const m = await createModel(doc, table, {
      version: 7,
      runId: 't-m',
      modelPackageArn: arn,
      attributes: { metrics: { auc: 0.8 } },
      createdAt: at(5),
    });
    expect(m).toMatchObject({
      version: 7,
      runId: 't-m',
      approvalStatus: 'PendingManualApproval',
      metrics: { auc: 0.8 },
    });
    expect(await getRun(doc, table, 't-m')).toMatchObject({ modelPackageArn: arn, modelVersion: 7 });
    expect(await createModel(doc, table, { version: 7, runId: 't-m', modelPackageArn: arn, createdAt: at(6) })).toEqual(
      m,
    );
    await newRun('t-other');
    await expect(createModel(doc, table, { version: 7, runId: 't-other', modelPackageArn: `${arn}x` })).rejects.toThrow(
      ConflictError,
    );
    await expect(createModel(doc, table, { version: 8, runId: 'missing', modelPackageArn: arn })).rejects.toThrow(
      'Run missing not found',
    );
    expect(await getModel(doc, table, 8)).toBeUndefined();
  });

  it('appends approval history, once per event id, and lists models newest first', async () => {
    await newRun('t-1');
    await newRun('t-2');
    await createModel(doc, table, { version: 1, runId: 't-1', modelPackageArn: 'arn:p/1', createdAt: at(1) });
    await createModel(doc, table, { version: 12, runId: 't-2', modelPackageArn: 'arn:p/12', createdAt: at(2) });
    const approved = { status: 'Approved' as const, by: 'alice', at: at(3).toISOString(), eventId: 'ev-1' };
    expect((await appendApproval(doc, table, 12, approved)).appended).toBe(true);
    expect((await appendApproval(doc, table, 12, approved)).appended).toBe(false);
    const rejected = { status: 'Rejected' as const, at: at(4).toISOString(), reason: 'drift', eventId: 'ev-2' };
    const { model } = await appendApproval(doc, table, 12, rejected);
    expect(model.approvalStatus).toBe('Rejected');
    expect(model.approvals).toEqual([
      { status: 'PendingManualApproval', at: at(2).toISOString(), reason: 'registered' },
      { status: 'Approved', by: 'alice', at: at(3).toISOString(), eventId: 'ev-1' },
      { status: 'Rejected', at: at(4).toISOString(), reason: 'drift', eventId: 'ev-2' },
    ]);
    expect(model).not.toHaveProperty('approvalEventIds');
    await expect(appendApproval(doc, table, 99, approved)).rejects.toThrow('Model version 99 not found');
    // Numeric order, not string order (12 > 1).
    expect((await listModels(doc, table)).models.map((x) => x.version)).toEqual([12, 1]);
    expect((await listModels(doc, table, { ascending: true })).models.map((x) => x.version)).toEqual([1, 12]);
  });
});
