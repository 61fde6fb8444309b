import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { causeMessage } from '../../../../lambdas/functions/record-failure/core';

const ddb = mockClient(DynamoDBDocumentClient);

describe('record-failure', () => {
  beforeAll(() => {
    process.env.TABLE_NAME = 'Pipeline';
    process.env.ARTIFACTS_BUCKET = 'artifacts';
  });
  beforeEach(() => ddb.reset());

  it('extracts the message of a Lambda error cause and keeps plain causes', () => {
    expect(causeMessage(JSON.stringify({ errorType: 'ValidationError', errorMessage: 'bad header', trace: [] }))).toBe(
      'bad header',
    );
    expect(causeMessage('SageMaker job failed: CapacityError')).toBe('SageMaker job failed: CapacityError');
    expect(causeMessage(undefined)).toBeUndefined();
  });

  it('records FAILED with error and cause for any workflow kind (creating the run when missing)', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: {} });
    const { handler } = await import('../../../../lambdas/functions/record-failure/handler');
    const out = await handler({
      runId: 'batch-1',
      kind: 'batch',
      error: { Error: 'IntegrityError', Cause: JSON.stringify({ errorMessage: 'rows loaded 9 != rows sent 10' }) },
    });
    expect(out).toEqual({
      runId: 'batch-1',
      error: 'IntegrityError',
      message: 'rows loaded 9 != rows sent 10',
      recorded: true,
    });
    const input = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input.Key).toEqual({ pk: 'RUN#batch-1', sk: 'RUN' });
    expect(input.ExpressionAttributeValues).toMatchObject({
      ':failed': 'FAILED',
      ':error': { error: 'IntegrityError', cause: 'rows loaded 9 != rows sent 10' },
      ':kind': 'batch',
    });
  });

  it('rejects a malformed input naming the field', async () => {
    const { handler } = await import('../../../../lambdas/functions/record-failure/handler');
    await expect(handler({ runId: 'r', kind: 'other', error: {} })).rejects.toThrow(
      /RecordFailure: invalid input: kind: .*; error\.Error: /,
    );
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  });
});
