/**
 * RecordFailure on moto_server (DynamoDB + S3): a failed Distributed Map's run record names its first failed item's
 * own error, with the map's error as context; without readable result files the map's error is recorded as before.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { MAP_RESULTS_PREFIXES, mapRunsPrefix, PREPARE_RESULTS_PREFIX } from '../../../../contracts/s3-layout';
import { getRun } from '../../../../lambdas/domain/tracking';
import { recordFailure, reportedError } from '../../../../lambdas/functions/record-failure/core';
import { createBucket, createPipelineTable, testClients } from '../../../support/aws';
import { describeWithServers } from '../../../support/servers';

const THRESHOLD = {
  Error: 'States.ExceedToleratedFailureThreshold',
  Cause: 'The specified tolerated failure threshold was exceeded',
};
const itemCause = JSON.stringify({
  errorType: 'ValidationError',
  errorMessage: 's3://features/inference/dt=2026-11-01/x.csv line 3: bad',
  trace: ['ValidationError: …'],
});

describe('reportedError', () => {
  it("puts the item's error first and keeps the map's error as context", () => {
    expect(
      reportedError(THRESHOLD, {
        map: 'PrepareTasks',
        error: 'ValidationError',
        cause: itemCause,
        resultsUri: 's3://a/batch/prepare-results/r/id/FAILED_0.json',
      }),
    ).toEqual({
      error: 'ValidationError',
      message:
        's3://features/inference/dt=2026-11-01/x.csv line 3: bad [first failed item of PrepareTasks ' +
        '(s3://a/batch/prepare-results/r/id/FAILED_0.json); the map failed with States.ExceedToleratedFailureThreshold: ' +
        'The specified tolerated failure threshold was exceeded]',
    });
    expect(reportedError({ Error: 'X' }, { error: 'States.Timeout', resultsUri: 's3://a/k' })).toEqual({
      error: 'States.Timeout',
      message: '[first failed item of the Distributed Map (s3://a/k); the map failed with X]',
    });
    expect(reportedError(THRESHOLD, undefined)).toEqual({ error: THRESHOLD.Error, message: THRESHOLD.Cause });
  });
});

describeWithServers('recordFailure with a failed Distributed Map (moto)', { moto: true }, (env) => {
  let s3: S3Client;
  let doc: DynamoDBDocumentClient;
  let table: string;
  let bucket: string;

  beforeAll(async () => {
    const c = testClients(env.moto.endpoint);
    s3 = c.s3;
    doc = c.doc;
    table = await createPipelineTable(c.ddb);
    bucket = await createBucket(s3);
  });

  const results = () => ({ s3, bucket, prefixes: MAP_RESULTS_PREFIXES.batch });

  it("records the first failed item's error and cause, the map's error as context", async () => {
    const folder = `${mapRunsPrefix(PREPARE_RESULTS_PREFIX, 'batch-item-1')}0a1b/`;
    const put = (key: string, body: unknown) =>
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(body) }));
    await put(`${folder}FAILED_0.json`, [{ Error: 'ValidationError', Cause: itemCause, Status: 'FAILED' }]);
    await put(`${folder}manifest.json`, {
      MapRunArn: 'arn:aws:states:us-east-1:123456789012:mapRun:m/PrepareTasks:0a1b',
      ResultFiles: { FAILED: [{ Key: `${folder}FAILED_0.json`, Size: 200 }], PENDING: [], SUCCEEDED: [] },
    });
    const out = await recordFailure(doc, table, { runId: 'batch-item-1', kind: 'batch', error: THRESHOLD }, results());
    expect(out).toMatchObject({ recorded: true, error: 'ValidationError' });
    expect(out.itemNotFound).toBeUndefined();
    const run = await getRun(doc, table, 'batch-item-1');
    expect(run?.status).toBe('FAILED');
    expect(run?.error).toEqual({
      error: 'ValidationError',
      cause: `s3://features/inference/dt=2026-11-01/x.csv line 3: bad [first failed item of PrepareTasks (s3://${bucket}/${folder}FAILED_0.json); the map failed with States.ExceedToleratedFailureThreshold: The specified tolerated failure threshold was exceeded]`,
    });
  });

  it("keeps the map's error when no result file can be read (absent, or S3 refusing), without failing", async () => {
    const absent = await recordFailure(
      doc,
      table,
      { runId: 'batch-item-2', kind: 'batch', error: THRESHOLD },
      results(),
    );
    expect(absent).toMatchObject({ recorded: true, error: THRESHOLD.Error, message: THRESHOLD.Cause });
    expect(absent.itemNotFound).toMatch(/no map run results under/);
    expect((await getRun(doc, table, 'batch-item-2'))?.error).toEqual({
      error: THRESHOLD.Error,
      cause: THRESHOLD.Cause,
    });

    const refused = await recordFailure(
      doc,
      table,
      { runId: 'batch-item-3', kind: 'batch', error: THRESHOLD },
      { ...results(), bucket: 'no-such-bucket-rf' },
    );
    expect(refused).toMatchObject({ recorded: true, error: THRESHOLD.Error });
    expect(refused.itemNotFound).toMatch(/NoSuchBucket/);
  });

  it('does not look for map results for any other error', async () => {
    const out = await recordFailure(
      doc,
      table,
      { runId: 'batch-item-4', kind: 'batch', error: { Error: 'IntegrityError', Cause: 'rows' } },
      { ...results(), bucket: 'no-such-bucket-rf' },
    );
    expect(out).toEqual({ runId: 'batch-item-4', error: 'IntegrityError', message: 'rows', recorded: true });
  });
});
