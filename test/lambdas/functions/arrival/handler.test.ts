import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ValidationError } from '../../../../contracts/errors';
import { isScorableKey } from '../../../../contracts/s3-layout';
import { handler } from '../../../../lambdas/functions/arrival/handler';

const ddb = mockClient(DynamoDBDocumentClient);

const event = (key: string, overrides: { bucket?: string; etag?: string } = {}) => ({
  version: '0',
  id: 'ev-1',
  'detail-type': 'Object Created',
  source: 'aws.s3',
  account: '111122223333',
  time: '2026-03-01T10:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:s3:::features'],
  detail: {
    version: '0',
    bucket: { name: overrides.bucket ?? 'features' },
    object: {
      key,
      size: 1234,
      etag: overrides.etag ?? 'b1946ac92492d2347c6235b4d2611184',
      sequencer: '00617F08299329D189',
    },
    'request-id': 'N4N7GDK58NMKJ12R',
    requester: '123456789012',
    reason: 'PutObject',
  },
});

beforeAll(() => {
  process.env.TABLE_NAME = 'Pipeline';
  process.env.FEATURES_BUCKET = 'features';
});

beforeEach(() => ddb.reset());

describe('arrival handler', () => {
  it('registers an inference CSV as PENDING with a conditional update keyed by the raw key', async () => {
    ddb.on(UpdateCommand).resolves({});
    // EventBridge delivers the key as stored: "=" and ":" are literal, nothing to decode.
    const key = 'inference/dt=2026-03-01/batch 10:00.csv';
    const r = await handler(event(key));
    expect(r).toMatchObject({ recorded: true, key, outcome: 'new', item: { status: 'PENDING', size: 1234 } });
    // The ledger item, then the arrivals marker the freshness metrics read.
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 2);
    expect(ddb.commandCalls(UpdateCommand)[1]!.args[0].input.Key).toEqual({ pk: 'ARRIVALS', sk: 'LATEST' });
    const input = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input.TableName).toBe('Pipeline');
    expect(input.Key).toEqual({ pk: `OBJ#${key}`, sk: 'OBJ' });
    expect(input.ConditionExpression).toContain('#etag <> :etag');
    expect(input.ConditionExpression).toContain('#seq < :seq');
    expect(input.ExpressionAttributeValues).toMatchObject({
      ':etag': 'b1946ac92492d2347c6235b4d2611184',
      ':pending': 'PENDING',
      ':gsi': 'LEDGER#PENDING',
      ':key': key,
    });
  });

  it('reports a duplicate delivery as unchanged', async () => {
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));
    ddb.on(GetCommand).resolves({
      Item: {
        pk: 'OBJ#inference/dt=2026-03-01/a.csv',
        sk: 'OBJ',
        s3Key: 'inference/dt=2026-03-01/a.csv',
        etag: 'b1946ac92492d2347c6235b4d2611184',
        size: 1234,
        status: 'SCORED',
        source: 'event',
        firstSeenAt: 't',
        updatedAt: 't',
        runId: 'run-1',
      },
    });
    const r = await handler(event('inference/dt=2026-03-01/a.csv'));
    expect(r).toMatchObject({ recorded: true, outcome: 'unchanged', item: { status: 'SCORED', runId: 'run-1' } });
  });

  it('does not track training snapshots or non-CSV objects', async () => {
    await expect(handler(event('training/dt=2026-03-01/a.csv'))).resolves.toEqual({
      recorded: false,
      key: 'training/dt=2026-03-01/a.csv',
      reason: 'not an inference/*.csv feature object',
    });
    await expect(handler(event('inference/dt=2026-03-01/_SUCCESS'))).resolves.toMatchObject({ recorded: false });
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 0);
  });

  it('fails on an event from another bucket, naming both buckets', async () => {
    await expect(handler(event('inference/a.csv', { bucket: 'other' }))).rejects.toThrow(
      'Object Created event for bucket "other", expected the features bucket "features"',
    );
  });

  it('fails on a malformed event, naming the field', async () => {
    const bad = event('inference/a.csv');
    (bad.detail.object as { size: unknown }).size = 'big';
    const err = await handler(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toMatch(/detail\.object\.size/);
    await expect(handler({ ...event('inference/a.csv'), 'detail-type': 'Object Deleted' })).rejects.toThrow(
      /detail-type/,
    );
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 0);
  });

  it('propagates DynamoDB errors (EventBridge retries the event)', async () => {
    ddb.on(UpdateCommand).rejects(new Error('ProvisionedThroughputExceeded'));
    await expect(handler(event('inference/a.csv'))).rejects.toThrow('ProvisionedThroughputExceeded');
  });
});

describe('isScorableKey', () => {
  it.each([
    ['inference/dt=2026-01-01/a.csv', true],
    ['inference/dt=2026-01-01/A.CSV', true],
    ['inference/a.csv', true],
    ['inference/dt=2026-01-01/', false],
    ['inference/dt=2026-01-01/a.parquet', false],
    ['training/dt=2026-01-01/a.csv', false],
    ['xinference/a.csv', false],
  ])('%s → %s', (key, expected) => {
    expect(isScorableKey(key)).toBe(expected);
  });
});
