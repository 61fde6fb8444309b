/**
 * BatchInference handler cores against moto_server: lock (with run record), find, commit, release.
 */

import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { IntegrityError } from '../../contracts/errors';
import type { ResolvedModel } from '../../contracts/states/batch';
import { getLedgerItem, registerArrival } from '../../lambdas/domain/ledger';
import { getLock } from '../../lambdas/domain/lock';
import { getRun } from '../../lambdas/domain/tracking';
import { loadWorkObjects } from '../../lambdas/domain/work';
import { acquireBatchLock } from '../../lambdas/functions/acquire-lock/core';
import { commitLedger } from '../../lambdas/functions/commit-ledger/core';
import { findUnscored } from '../../lambdas/functions/find-unscored/core';
import { releaseBatchLock } from '../../lambdas/functions/release-lock/core';
import { putJson } from '../../lambdas/platform/s3';
import { createBucket, createPipelineTable, testClients } from '../support/aws';
import { describeWithServers } from '../support/servers';

const model: ResolvedModel = {
  modelVersion: 3,
  modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3',
  modelName: 'p-v3',
  trainingRunId: 'train-1',
  preprocessingUri: 's3://artifacts/training/train-1/preprocessing.json',
  created: true,
};

describeWithServers('batch handler cores against moto', { moto: true }, (env) => {
  let doc: DynamoDBDocumentClient;
  let s3: S3Client;
  let table: string;
  let bucket: string;

  beforeAll(async () => {
    const c = testClients(env.moto.endpoint);
    doc = c.doc;
    s3 = c.s3;
    table = await createPipelineTable(c.ddb);
    bucket = await createBucket(s3);
  });

  /** parts.json of a run, as PrepareInferenceData writes it (CommitLedger reads the quarantined keys there). */
  const putParts = (runId: string, quarantinedObjects: string[]) =>
    putJson(s3, bucket, `batch/${runId}/parts.json`, { runId, parts: [], quarantinedObjects });

  const acquire = (runId: string, now = new Date()) =>
    acquireBatchLock(doc, {
      tableName: table,
      runId,
      trigger: 'schedule',
      startedAt: now.toISOString(),
      leaseSeconds: 600,
      codeVersion: 'test',
      now,
    });

  it('one run takes the lock and gets a run record; a second one is told who holds it and touches nothing', async () => {
    const a = await acquire('run-a');
    expect(a).toMatchObject({ runId: 'run-a', acquired: true, trigger: 'schedule' });
    expect(a.leaseExpiresAt).toBeGreaterThan(Date.now() / 1000);
    expect(await getRun(doc, table, 'run-a')).toMatchObject({ kind: 'batch', status: 'RUNNING', trigger: 'schedule' });

    const b = await acquire('run-b');
    expect(b).toEqual({ runId: 'run-b', acquired: false, trigger: 'schedule', heldBy: 'run-a' });
    expect(await getRun(doc, table, 'run-b')).toBeUndefined();

    // A retried AcquireLock of the holder is idempotent.
    expect((await acquire('run-a')).acquired).toBe(true);

    // Only the owner releases; releasing twice is harmless.
    expect(await releaseBatchLock(doc, { tableName: table, runId: 'run-b' })).toEqual({
      runId: 'run-b',
      released: false,
      heldBy: 'run-a',
    });
    expect(await releaseBatchLock(doc, { tableName: table, runId: 'run-a' })).toEqual({
      runId: 'run-a',
      released: true,
    });
    expect(await releaseBatchLock(doc, { tableName: table, runId: 'run-a' })).toEqual({
      runId: 'run-a',
      released: false,
    });
    expect(await getLock(doc, table)).toBeUndefined();
  });

  it('two runs racing for the lock: exactly one acquires', async () => {
    const results = await Promise.all(['race-1', 'race-2', 'race-3'].map((r) => acquire(r)));
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
    const winner = results.find((r) => r.acquired)!.runId;
    for (const r of results.filter((x) => !x.acquired)) expect(r.heldBy).toBe(winner);
    await releaseBatchLock(doc, { tableName: table, runId: winner });
  });

  it('NO_WORK release completes the run record', async () => {
    await acquire('idle-run');
    await releaseBatchLock(doc, { tableName: table, runId: 'idle-run', outcome: 'NO_WORK' });
    expect(await getRun(doc, table, 'idle-run')).toMatchObject({ status: 'SUCCEEDED', outcome: 'NO_WORK' });
  });

  it('finds PENDING objects inline, or via S3 when the list is long, and commits them SCORED', async () => {
    const t = await createPipelineTable(testClients(env.moto.endpoint).ddb);
    const keys = Array.from({ length: 60 }, (_, i) => `inference/dt=2026-01-01/f${String(i).padStart(3, '0')}.csv`);
    for (const key of keys) await registerArrival(doc, t, { key, etag: `e-${key}`, size: 10, source: 'event' });

    // The list always travels as an S3 manifest, however short.
    const small = await findUnscored(doc, s3, { tableName: t, runId: 'r0', limit: 5, artifactsBucket: bucket });
    expect(small).toEqual({ count: 5, truncated: true, objectsUri: `s3://${bucket}/batch/r0/objects.json` });
    expect(await loadWorkObjects(s3, small)).toEqual(
      keys.slice(0, 5).map((key) => ({ key, etag: `e-${key}`, size: 10 })),
    );

    const big = await findUnscored(doc, s3, { tableName: t, runId: 'r1', limit: 100, artifactsBucket: bucket });
    expect(big).toEqual({ count: 60, truncated: false, objectsUri: `s3://${bucket}/batch/r1/objects.json` });
    const listed = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'batch/r1/objects.json' }));
    expect(JSON.parse(await listed.Body!.transformToString())).toHaveLength(60);

    await acquireBatchLock(doc, {
      tableName: t,
      runId: 'r1',
      trigger: 'manual',
      startedAt: new Date().toISOString(),
      leaseSeconds: 60,
      codeVersion: 'test',
    });
    const data = {
      rowsIn: 120,
      rowsUsed: 118,
      rowsQuarantined: 2,
      expectedRows: 118,
      // keys[2] had no usable row: it is marked QUARANTINED, not SCORED (its key is read from parts.json).
      partsUri: await putParts('r1', [keys[2]!]),
      objectsQuarantined: 1,
      validationReportUri: `s3://${bucket}/reports/r1/validation.json`,
    };

    // A loaded-row mismatch commits nothing.
    await expect(
      commitLedger(doc, s3, { tableName: t, runId: 'r1', model, work: big, data, finalize: { rowsScored: 117 } }),
    ).rejects.toThrow(IntegrityError);
    expect((await getLedgerItem(doc, t, keys[0]!))?.status).toBe('PENDING');

    // An object rewritten while the run was in flight stays PENDING with its new etag.
    await registerArrival(doc, t, { key: keys[1]!, etag: 'new-etag', size: 11, source: 'event' });

    const res = await commitLedger(doc, s3, {
      tableName: t,
      runId: 'r1',
      model,
      work: big,
      data,
      finalize: { rowsScored: 118 },
    });
    expect(res.committed).toBe(58);
    expect(res.skippedCount).toBe(1);
    expect(res.skipped[0]?.key).toBe(keys[1]);
    expect(res.summary).toEqual({
      outcome: 'SCORED',
      validationReportUri: `s3://${bucket}/reports/r1/validation.json`,
      modelVersion: 3,
      objects: 58,
      objectsQuarantined: 1,
      rowsIn: 120,
      rowsUsed: 118,
      rowsQuarantined: 2,
      rowsLoaded: 118,
      truncated: false,
      iterations: 1,
      totals: { objects: 58, objectsQuarantined: 1, rowsIn: 120, rowsUsed: 118, rowsQuarantined: 2, rowsLoaded: 118 },
    });
    expect(await getLedgerItem(doc, t, keys[0]!)).toMatchObject({ status: 'SCORED', runId: 'r1', modelVersion: 3 });
    expect(await getLedgerItem(doc, t, keys[1]!)).toMatchObject({ status: 'PENDING', etag: 'new-etag' });
    expect(await getLedgerItem(doc, t, keys[2]!)).toMatchObject({ status: 'QUARANTINED', runId: 'r1' });
    expect(await getRun(doc, t, 'r1')).toMatchObject({
      status: 'SUCCEEDED',
      objectsScored: 58,
      objectsQuarantined: 1,
      rowsLoaded: 118,
      modelVersion: 3,
    });

    // Re-committing the same run is idempotent.
    const again = await commitLedger(doc, s3, {
      tableName: t,
      runId: 'r1',
      model,
      work: big,
      data,
      finalize: { rowsScored: 118 },
    });
    expect(again.committed).toBe(58);

    const after = await findUnscored(doc, s3, { tableName: t, runId: 'r2', limit: 100, artifactsBucket: bucket });
    expect(after).toMatchObject({ count: 1, truncated: false });
    expect(await loadWorkObjects(s3, after)).toEqual([{ key: keys[1], etag: 'new-etag', size: 11 }]);
  });

  it('no usable row (finalize null): every object QUARANTINED with the report, run ALL_QUARANTINED, not retried', async () => {
    const t = await createPipelineTable(testClients(env.moto.endpoint).ddb);
    const keys = ['inference/dt=2026-01-02/bad-header.csv', 'inference/no-partition.csv'];
    for (const key of keys) await registerArrival(doc, t, { key, etag: `e-${key}`, size: 10, source: 'event' });
    const work = await findUnscored(doc, s3, { tableName: t, runId: 'q1', limit: 10, artifactsBucket: bucket });
    expect(work.count).toBe(2);
    await acquireBatchLock(doc, {
      tableName: t,
      runId: 'q1',
      trigger: 'schedule',
      startedAt: new Date().toISOString(),
      leaseSeconds: 60,
      codeVersion: 'test',
    });
    const reportUri = `s3://${bucket}/reports/q1/validation.json`;
    const data = {
      rowsIn: 3,
      rowsUsed: 0,
      rowsQuarantined: 3,
      expectedRows: 0,
      partsUri: await putParts('q1', keys),
      objectsQuarantined: 2,
      validationReportUri: reportUri,
    };
    const base = { tableName: t, runId: 'q1', model, work };

    // Guards: rows claimed sent, or an object neither scored nor quarantined, commit nothing.
    await expect(
      commitLedger(doc, s3, {
        ...base,
        data: { ...data, rowsUsed: 1, rowsQuarantined: 2, expectedRows: 1 },
        finalize: null,
      }),
    ).rejects.toThrow(/no scores were loaded \(no FinalizeScores result\) but 1 rows were sent/);
    await expect(
      commitLedger(doc, s3, {
        ...base,
        data: { ...data, partsUri: await putParts('q1-one', [keys[0]!]), objectsQuarantined: 1 },
        finalize: null,
      }),
    ).rejects.toThrow(/no rows were scored but 1 object\(s\) were not quarantined: inference\/no-partition\.csv/);
    for (const key of keys) expect((await getLedgerItem(doc, t, key))?.status).toBe('PENDING');

    const res = await commitLedger(doc, s3, { ...base, data, finalize: null });
    expect(res.committed).toBe(0);
    expect(res.summary).toEqual({
      outcome: 'ALL_QUARANTINED',
      validationReportUri: reportUri,
      modelVersion: 3,
      objects: 0,
      objectsQuarantined: 2,
      rowsIn: 3,
      rowsUsed: 0,
      rowsQuarantined: 3,
      rowsLoaded: 0,
      truncated: false,
      iterations: 1,
      totals: { objects: 0, objectsQuarantined: 2, rowsIn: 3, rowsUsed: 0, rowsQuarantined: 3, rowsLoaded: 0 },
    });
    for (const key of keys) {
      const item = await getLedgerItem(doc, t, key);
      expect(item).toMatchObject({ status: 'QUARANTINED', runId: 'q1' });
      expect(item?.reason).toContain(reportUri);
    }
    expect(await getRun(doc, t, 'q1')).toMatchObject({
      status: 'SUCCEEDED',
      outcome: 'ALL_QUARANTINED',
      objectsScored: 0,
      objectsQuarantined: 2,
      rowsLoaded: 0,
      validationReportUri: reportUri,
    });
    // The next run does not pick them up again.
    expect(
      await findUnscored(doc, s3, { tableName: t, runId: 'q2', limit: 10, artifactsBucket: bucket }),
    ).toMatchObject({
      count: 0,
    });
  });
});
