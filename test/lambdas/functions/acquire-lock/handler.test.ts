import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';

const ddb = mockClient(DynamoDBDocumentClient);
mockClient(DynamoDBClient);

process.env.TABLE_NAME = 'pipeline';
process.env.LOCK_LEASE_SECONDS = '600';

import { handler } from '../../../../lambdas/functions/acquire-lock/handler';

const event = { runId: 'run-1', startedAt: '2026-11-01T02:00:00.000Z', input: { trigger: 'schedule' } };

beforeEach(() => {
  ddb.reset();
  process.env.LOCK_LEASE_SECONDS = '600';
});

describe('AcquireLock handler', () => {
  it('takes the lock and creates the batch run record', async () => {
    ddb.on(PutCommand).resolves({});
    const out = await handler(event);
    expect(out).toMatchObject({ runId: 'run-1', acquired: true, trigger: 'schedule' });
    const puts = ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item);
    expect(puts[0]).toMatchObject({ pk: 'LOCK#batch', owner: 'run-1' });
    expect(puts[1]).toMatchObject({ pk: 'RUN#run-1', kind: 'batch', status: 'RUNNING', trigger: 'schedule' });
  });

  it('contention: returns acquired:false with the holder and writes nothing else', async () => {
    ddb
      .on(PutCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    ddb.on(GetCommand).resolves({ Item: { pk: 'LOCK#batch', sk: 'LOCK', owner: 'other-run', leaseExpiresAt: 9e9 } });
    const out = await handler(event);
    expect(out).toEqual({ runId: 'run-1', acquired: false, trigger: 'schedule', heldBy: 'other-run' });
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 1);
  });

  it('defaults the trigger to manual when the execution input has none', async () => {
    ddb.on(PutCommand).resolves({});
    await expect(handler({ ...event, input: {} })).resolves.toMatchObject({ trigger: 'manual' });
    await expect(handler({ ...event, input: null })).resolves.toMatchObject({ trigger: 'manual' });
  });

  it('rejects bad input naming the field, and a bad lease setting', async () => {
    await expect(handler({ ...event, runId: '' })).rejects.toThrow(/AcquireLock: invalid input: runId/);
    await expect(handler({ ...event, input: { trigger: 'Not A Word' } })).rejects.toThrow(/input\.trigger/);
    process.env.LOCK_LEASE_SECONDS = 'soon';
    await expect(handler(event)).rejects.toThrow(/LOCK_LEASE_SECONDS must be a positive integer/);
  });
});
