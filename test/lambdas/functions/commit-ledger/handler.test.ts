import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';

const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);
/** parts.json as PrepareInferenceData writes it: CommitLedger reads the quarantined keys there. */
const partsJson = (quarantinedObjects: string[]) =>
  ({
    Body: {
      // parts.json as PrepareInferenceData writes it: the rows each object sent, and the quarantined keys.
      transformToString: async () =>
        JSON.stringify({
          runId: 'r1',
          parts: [{ part: 'part-00001.csv', sourceKey: 'inference/dt=2026-11-01/a.csv', rows: 7 }],
          quarantinedObjects,
        }),
    },
  }) as never;
mockClient(DynamoDBClient);
process.env.TABLE_NAME = 'pipeline';

import { handler } from '../../../../lambdas/functions/commit-ledger/handler';

const event = {
  runId: 'r1',
  model: {
    modelVersion: 2,
    modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/g/2',
    modelName: 'p-v2',
    preprocessingUri: 's3://art/training/t/preprocessing.json',
    created: false,
  },
  work: {
    count: 2,
    truncated: false,
    objects: [
      { key: 'inference/dt=2026-11-01/a.csv', etag: 'ea', size: 1 },
      { key: 'inference/dt=2026-11-01/b.csv', etag: 'eb', size: 1 },
    ],
  },
  data: {
    rowsIn: 10,
    rowsUsed: 7,
    rowsQuarantined: 3,
    expectedRows: 7,
    partsUri: 's3://art/batch/r1/parts.json',
    objectsQuarantined: 1,
    validationReportUri: 's3://art/reports/r1/validation.json',
  },
  finalize: { rowsScored: 7, runId: 'r1' },
};

beforeEach(() => {
  ddb.reset();
  s3.reset();
  s3.on(GetObjectCommand).callsFake(() => partsJson(['inference/dt=2026-11-01/b.csv']));
});

describe('CommitLedger handler', () => {
  it('marks scored objects SCORED and no-row objects QUARANTINED, then completes the run', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    ddb.on(UpdateCommand).resolves({ Attributes: { pk: 'RUN#r1', status: 'SUCCEEDED' } });
    const out = await handler(event);
    expect(out.summary).toEqual({
      outcome: 'SCORED',
      validationReportUri: 's3://art/reports/r1/validation.json',
      modelVersion: 2,
      objects: 1,
      objectsQuarantined: 1,
      rowsIn: 10,
      rowsUsed: 7,
      rowsQuarantined: 3,
      rowsLoaded: 7,
      truncated: false,
      // A run that continues no other and is not truncated: a chain of one.
      iterations: 1,
      totals: { objects: 1, objectsQuarantined: 1, rowsIn: 10, rowsUsed: 7, rowsQuarantined: 3, rowsLoaded: 7 },
    });
    expect(out.continuation).toBeUndefined();
    const tx = ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems?.[0]?.Update);
    expect(tx.map((u) => [u?.Key?.pk, u?.ExpressionAttributeValues?.[':etag']])).toEqual([
      ['OBJ#inference/dt=2026-11-01/b.csv', 'eb'],
      ['OBJ#inference/dt=2026-11-01/a.csv', 'ea'],
    ]);
    expect(tx[1]?.ExpressionAttributeValues).toMatchObject({ ':scored': 'SCORED', ':run': 'r1', ':mv': 2, ':rows': 7 });
    expect(tx[1]?.ExpressionAttributeValues).toMatchObject({
      ':g': 'LEDGER#SCORED',
      ':key': 'inference/dt=2026-11-01/a.csv',
    });
  });

  it('refuses to commit when the loaded rows differ from the rows sent', async () => {
    await expect(handler({ ...event, finalize: { rowsScored: 6 } })).rejects.toThrow(
      'Run r1: 6 scores loaded but 7 rows were sent to the transform; ledger not committed',
    );
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('without a FinalizeScores result (HasRows? skipped the transform) refuses a run that sent rows', async () => {
    await expect(handler({ ...event, finalize: null })).rejects.toThrow(
      'Run r1: no scores were loaded (no FinalizeScores result) but 7 rows were sent to the transform; ledger not committed',
    );
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('accepts finalize null when every object was quarantined: all QUARANTINED, outcome ALL_QUARANTINED', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    ddb.on(UpdateCommand).resolves({ Attributes: { pk: 'RUN#r1', status: 'SUCCEEDED' } });
    const keys = event.work.objects.map((o) => o.key);
    s3.on(GetObjectCommand).callsFake(() => partsJson(keys));
    const out = await handler({
      ...event,
      data: { ...event.data, rowsIn: 4, rowsUsed: 0, rowsQuarantined: 4, expectedRows: 0, objectsQuarantined: 2 },
      finalize: null,
    });
    expect(out.summary).toMatchObject({ outcome: 'ALL_QUARANTINED', objects: 0, objectsQuarantined: 2, rowsLoaded: 0 });
    // Both objects in QUARANTINED updates with the report as reason; none marked SCORED.
    const updates = ddb
      .commandCalls(TransactWriteCommand)
      .flatMap((c) => c.args[0].input.TransactItems ?? [])
      .map((i) => i.Update);
    expect(updates.map((u) => u?.Key?.pk).sort()).toEqual(keys.map((k) => `OBJ#${k}`));
    for (const u of updates) {
      const values = JSON.stringify(u?.ExpressionAttributeValues);
      expect(values).toContain('"QUARANTINED"');
      expect(values).not.toContain('"SCORED"');
      expect(values).toContain('s3://art/reports/r1/validation.json');
    }
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input.ExpressionAttributeValues).toMatchObject({
      ':f0': 'ALL_QUARANTINED',
    });
  });

  it('names the bad field of a malformed input', async () => {
    await expect(handler({ ...event, work: { count: 3, truncated: false, objects: [] } })).rejects.toThrow(
      /CommitLedger: invalid input: work/,
    );
  });
});
