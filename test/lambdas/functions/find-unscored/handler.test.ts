import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';

const ddb = mockClient(DynamoDBDocumentClient);
mockClient(DynamoDBClient);
const s3 = mockClient(S3Client);

process.env.TABLE_NAME = 'pipeline';
process.env.ARTIFACTS_BUCKET = 'artifacts';
process.env.MAX_OBJECTS_PER_RUN = '100';
process.env.RESCORE_WINDOW_DAYS = '7';

import { handler } from '../../../../lambdas/functions/find-unscored/handler';

const item = (i: number) => ({
  pk: `OBJ#inference/dt=2026-11-01/f${i}.csv`,
  sk: 'OBJ',
  key: `inference/dt=2026-11-01/f${i}.csv`,
  etag: `e${i}`,
  size: 10,
  status: 'PENDING',
  firstSeenAt: '2026-11-01T00:00:00Z',
  updatedAt: '2026-11-01T00:00:00Z',
  source: 'event',
});

beforeEach(() => {
  ddb.reset();
  s3.reset();
  process.env.MAX_OBJECTS_PER_RUN = '100';
  // No Production pointer and no arrivals marker: PENDING objects only.
  ddb.on(GetCommand).resolves({});
});

describe('FindUnscored handler', () => {
  it('writes nothing when there is no work', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    await expect(handler({ runId: 'r1' })).resolves.toEqual({ count: 0, truncated: false });
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('writes the list, short or long, to S3 and returns only its URI', async () => {
    ddb.on(QueryCommand).resolves({ Items: Array.from({ length: 51 }, (_, i) => item(i)) });
    s3.on(PutObjectCommand).resolves({});
    await expect(handler({ runId: 'r1' })).resolves.toEqual({
      count: 51,
      truncated: false,
      objectsUri: 's3://artifacts/batch/r1/objects.json',
    });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: 'artifacts', Key: 'batch/r1/objects.json' });
  });

  it('fails loudly on a bad MAX_OBJECTS_PER_RUN', async () => {
    process.env.MAX_OBJECTS_PER_RUN = '0';
    await expect(handler({ runId: 'r1' })).rejects.toThrow(/MAX_OBJECTS_PER_RUN must be a positive integer/);
  });
});
