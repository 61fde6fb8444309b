import { HeadObjectCommand, ListObjectsV2Command, NotFound, S3Client } from '@aws-sdk/client-s3';
import {
  BatchGetCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ValidationError } from '../../../../contracts/errors';
import { handler } from '../../../../lambdas/functions/reconcile/handler';

const s3 = mockClient(S3Client);
const ddb = mockClient(DynamoDBDocumentClient);

const obj = (Key: string, ETag = '"e1"', Size = 10) => ({ Key, ETag, Size, LastModified: new Date('2026-03-01') });

beforeAll(() => {
  process.env.TABLE_NAME = 'Pipeline';
  process.env.FEATURES_BUCKET = 'features';
});

beforeEach(() => {
  s3.reset();
  ddb.reset();
  ddb.on(UpdateCommand).resolves({});
  ddb.on(QueryCommand).resolves({ Items: [] });
  ddb.on(GetCommand).resolves({});
  // No object is in the ledger yet (reconcile reads the ledger etags before writing).
  ddb.on(BatchGetCommand).resolves({ Responses: {} });
});

describe('reconcile handler', () => {
  it('pages through the listing and registers every feature CSV (etag unquoted)', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [obj('inference/dt=2026-03-01/a.csv'), obj('inference/dt=2026-03-01/_SUCCESS')],
        IsTruncated: true,
        NextContinuationToken: 'tok',
      })
      .resolvesOnce({ Contents: [obj('inference/dt=2026-03-02/b.csv', '"e2"', 20)], IsTruncated: false });
    const r = await handler({});
    expect(r).toMatchObject({
      bucket: 'features',
      prefix: 'inference/',
      listed: 3,
      new: 2,
      requeued: 0,
      unchanged: 0,
      ignored: 1,
      ignoredKeys: ['inference/dt=2026-03-01/_SUCCESS'],
    });
    const lists = s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input);
    expect(lists).toEqual([
      { Bucket: 'features', Prefix: 'inference/' },
      { Bucket: 'features', Prefix: 'inference/', ContinuationToken: 'tok' },
    ]);
    const all = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    // Each new object also moves the arrivals marker forward (freshness).
    expect(all.filter((u) => u.Key?.pk === 'ARRIVALS')).toHaveLength(2);
    // The scheduled reconcile saves its cursor at the end: the listing reached its end, the pass is complete.
    expect(all.filter((u) => u.Key?.pk === 'RECONCILE')).toHaveLength(1);
    expect(r.cursor).toMatchObject({ passCompleted: true, passes: 1, saved: true });
    const updates = all.filter((u) => u.Key?.pk !== 'ARRIVALS' && u.Key?.pk !== 'RECONCILE');
    expect(updates.map((u) => u.Key?.pk)).toEqual([
      'OBJ#inference/dt=2026-03-01/a.csv',
      'OBJ#inference/dt=2026-03-02/b.csv',
    ]);
    expect(updates[1]?.ExpressionAttributeValues).toMatchObject({ ':etag': 'e2', ':size': 20, ':source': 'reconcile' });
  });

  it('a date range starts the listing at the first partition and skips keys outside it', async () => {
    s3.on(ListObjectsV2Command).resolves({
      Contents: [obj('inference/dt=2026-03-02/a.csv'), obj('inference/dt=2026-03-04/b.csv')],
      IsTruncated: false,
    });
    const r = await handler({ from: '2026-03-02', to: '2026-03-03' });
    expect(r).toMatchObject({ listed: 1, new: 1, outsideRange: 1 });
    expect(s3.commandCalls(ListObjectsV2Command)[0]!.args[0].input).toEqual({
      Bucket: 'features',
      Prefix: 'inference/',
      StartAfter: 'inference/dt=2026-03-02',
    });
  });

  it('stops between pages when the invocation runs out of time and says where to continue', async () => {
    s3.on(ListObjectsV2Command).resolves({
      Contents: [obj('inference/dt=2026-03-01/a.csv')],
      IsTruncated: true,
      NextContinuationToken: 'more',
    });
    const context = { getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
    const r = await handler({}, context);
    expect(r.nextStartAfter).toBe('inference/dt=2026-03-01/a.csv');
    expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 1);
  });

  it('removes unscored ledger items whose object is gone (confirmed by HeadObject), never listed ones', async () => {
    const pending = (key: string, etag: string) => ({
      pk: `OBJ#${key}`,
      sk: 'OBJ',
      s3Key: key,
      etag,
      size: 1,
      status: 'PENDING',
      source: 'event',
      firstSeenAt: 't',
      updatedAt: 't',
    });
    ddb.on(QueryCommand, { ExpressionAttributeValues: { ':g': 'LEDGER#PENDING', ':p': 'inference/' } }).resolves({
      Items: [
        pending('inference/dt=2026-03-01/a.csv', 'e1'),
        pending('inference/dt=2026-03-01/gone.csv', 'eg'),
        pending('inference/dt=2026-03-01/racy.csv', 'er'),
      ],
    });
    ddb.on(DeleteCommand).resolves({});
    s3.on(ListObjectsV2Command).resolves({ Contents: [obj('inference/dt=2026-03-01/a.csv')], IsTruncated: false });
    s3.on(HeadObjectCommand, { Key: 'inference/dt=2026-03-01/gone.csv' })
      .rejects(new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }))
      .on(HeadObjectCommand, { Key: 'inference/dt=2026-03-01/racy.csv' })
      .resolves({ ETag: '"er"' });

    const r = await handler({});
    expect(r).toMatchObject({ removed: 1, removedKeys: ['inference/dt=2026-03-01/gone.csv'], unchanged: 0, new: 1 });
    const deletes = ddb.commandCalls(DeleteCommand).map((c) => c.args[0].input);
    expect(deletes).toEqual([
      expect.objectContaining({
        Key: { pk: 'OBJ#inference/dt=2026-03-01/gone.csv', sk: 'OBJ' },
        ConditionExpression: '#etag = :etag AND #status <> :scored',
        ExpressionAttributeValues: { ':etag': 'eg', ':scored': 'SCORED' },
      }),
    ]);
  });

  it('does not prune after a partial listing or when asked not to', async () => {
    ddb.on(QueryCommand).resolves({
      Items: [
        { pk: 'OBJ#inference/x.csv', sk: 'OBJ', s3Key: 'inference/x.csv', etag: 'e', size: 1, status: 'PENDING' },
      ],
    });
    s3.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: false });
    expect(await handler({ prune: false })).toMatchObject({ removed: 0 });
    expect(await handler({ startAfter: 'inference/a' })).toMatchObject({ removed: 0 });
    expect(s3).toHaveReceivedCommandTimes(HeadObjectCommand, 0);
    expect(ddb).toHaveReceivedCommandTimes(DeleteCommand, 0);
  });

  it('rejects bad input naming the field', async () => {
    const err = await handler({ prefix: 'training/' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toBe('Reconcile: invalid input: prefix: must start with "inference/"');
    await expect(handler({ from: '2026-03-05', to: '2026-03-01' })).rejects.toThrow('from: from must be <= to');
    await expect(handler({ from: '5 March' })).rejects.toThrow(/from: YYYY-MM-DD/);
    await expect(handler({ extra: 1 })).rejects.toThrow(/extra/);
    expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 0);
  });

  it('fails when a listed object lacks an ETag (never registers half an item)', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'inference/a.csv', Size: 1 }], IsTruncated: false });
    await expect(handler({})).rejects.toThrow('Reconcile: listing of s3://features/inference/a.csv lacks ETag or Size');
  });
});
