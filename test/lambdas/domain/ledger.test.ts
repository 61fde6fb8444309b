import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { commitScored } from '../../../lambdas/domain/ledger-commit';

const ddb = mockClient(DynamoDBDocumentClient);
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));

const item = (key: string, etag: string, extra: Record<string, unknown> = {}) => ({
  Item: {
    pk: `OBJ#${key}`,
    sk: 'OBJ',
    s3Key: key,
    etag,
    size: 1,
    status: 'PENDING',
    source: 'event',
    firstSeenAt: 't',
    updatedAt: 't',
    ...extra,
  },
});

const cancelled = (reasons?: { Code: string }[]) =>
  new TransactionCanceledException({ message: 'cancelled', $metadata: {}, CancellationReasons: reasons });

beforeEach(() => ddb.reset());

describe('commitScored (transaction handling)', () => {
  it('splits into transactions of at most 100 items', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const items = Array.from({ length: 250 }, (_, i) => ({ key: `inference/p${i}.csv`, etag: `e${i}` }));
    const r = await commitScored(doc, 'T', items, 'run', 1);
    expect(r.committed).toHaveLength(250);
    const sizes = ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems?.length);
    expect(sizes).toEqual([100, 100, 50]);
  });

  it('drops the items whose condition failed (per CancellationReasons) and retries the rest', async () => {
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled([{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }, { Code: 'None' }]))
      .resolves({});
    ddb.on(GetCommand).resolves(item('b', 'e-new'));
    const r = await commitScored(
      doc,
      'T',
      [
        { key: 'a', etag: 'ea' },
        { key: 'b', etag: 'eb' },
        { key: 'c', etag: 'ec' },
      ],
      'run',
      1,
    );
    expect(r).toEqual({ committed: ['a', 'c'], skipped: [{ key: 'b', reason: 'object rewritten (etag eb → e-new)' }] });
    const second = ddb.commandCalls(TransactWriteCommand)[1]!.args[0].input.TransactItems;
    expect(second?.map((t) => t.Update?.Key?.pk)).toEqual(['OBJ#a', 'OBJ#c']);
  });

  it('without per-item reasons decides item by item from the current state', async () => {
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled()).resolves({});
    ddb
      .on(GetCommand, { Key: { pk: 'OBJ#a', sk: 'OBJ' } })
      .resolves(item('a', 'ea'))
      .on(GetCommand, { Key: { pk: 'OBJ#b', sk: 'OBJ' } })
      .resolves(item('b', 'eb', { status: 'SCORED', runId: 'other' }));
    const r = await commitScored(
      doc,
      'T',
      [
        { key: 'a', etag: 'ea' },
        { key: 'b', etag: 'eb' },
      ],
      'run',
      1,
    );
    expect(r).toEqual({ committed: ['a'], skipped: [{ key: 'b', reason: 'already scored by run other' }] });
  });

  it('rethrows a cancellation that no item explains (transaction conflict), so the step is retried', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled([{ Code: 'TransactionConflict' }]));
    ddb.on(GetCommand).resolves(item('a', 'ea'));
    await expect(commitScored(doc, 'T', [{ key: 'a', etag: 'ea' }], 'run', 1)).rejects.toThrow('cancelled');
  });

  it('rejects a bad model version before writing', async () => {
    await expect(commitScored(doc, 'T', [{ key: 'a', etag: 'e' }], 'run', 0)).rejects.toThrow(
      'commitScored: modelVersion must be a positive integer, got 0',
    );
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 0);
  });
});
