import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';

const ddb = mockClient(DynamoDBDocumentClient);
mockClient(DynamoDBClient);
process.env.TABLE_NAME = 'pipeline';

import { handler } from '../../../../lambdas/functions/release-lock/handler';

const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

beforeEach(() => ddb.reset());

describe('ReleaseLock handler', () => {
  it('deletes the lock only on the owner condition', async () => {
    ddb.on(DeleteCommand).resolves({});
    await expect(handler({ runId: 'r1' })).resolves.toEqual({ runId: 'r1', released: true });
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, {
      Key: { pk: 'LOCK#batch', sk: 'LOCK' },
      ConditionExpression: '(#owner = :owner AND attribute_not_exists(#execution))',
      ExpressionAttributeValues: { ':owner': 'r1' },
    });
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  });

  it('with the execution (what the state machine passes), deletes only the lock of that execution', async () => {
    ddb.on(DeleteCommand).resolves({});
    const execution = { id: 'arn:aws:states:us-east-1:1:execution:b:r1', startTime: '2026-11-01T00:00:00.000Z' };
    await expect(handler({ runId: 'r1', execution })).resolves.toEqual({ runId: 'r1', released: true });
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, {
      ConditionExpression: '(#owner = :owner AND #execution = :execution)',
      ExpressionAttributeValues: { ':owner': 'r1', ':execution': `${execution.id}@${execution.startTime}` },
    });
  });

  it("leaves another run's lock alone and is idempotent when there is none", async () => {
    ddb.on(DeleteCommand).rejects(conditionFailed());
    ddb
      .on(GetCommand)
      .resolvesOnce({ Item: { owner: 'r2', leaseExpiresAt: 1 } })
      .resolvesOnce({});
    await expect(handler({ runId: 'r1' })).resolves.toEqual({ runId: 'r1', released: false, heldBy: 'r2' });
    await expect(handler({ runId: 'r1' })).resolves.toEqual({ runId: 'r1', released: false });
  });

  it('NO_WORK completes the run record before releasing', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { pk: 'RUN#r1', status: 'SUCCEEDED' } });
    ddb.on(DeleteCommand).resolves({});
    await handler({ runId: 'r1', outcome: 'NO_WORK' });
    const update = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(update.Key).toEqual({ pk: 'RUN#r1', sk: 'RUN' });
    expect(Object.values(update.ExpressionAttributeValues ?? {})).toContain('NO_WORK');
  });

  it('rejects an unknown outcome', async () => {
    await expect(handler({ runId: 'r1', outcome: 'DONE' })).rejects.toThrow(/ReleaseLock: invalid input: outcome/);
  });
});
