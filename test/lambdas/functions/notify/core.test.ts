import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { causeMessage, NotificationSchema, notify, render } from '../../../../lambdas/functions/notify/core';

const sns = mockClient(SNSClient);
const client = new SNSClient({ region: 'us-east-1' });
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:alerts';
const summary = {
  modelVersion: 3,
  objects: 2,
  objectsQuarantined: 0,
  rowsIn: 10,
  rowsUsed: 9,
  rowsQuarantined: 1,
  rowsLoaded: 9,
};

beforeEach(() => {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
});

describe('notify', () => {
  it('publishes a success summary and returns it as the execution output', async () => {
    const r = await notify(client, TOPIC, { kind: 'success', runId: 'run-1', summary });
    expect(r).toEqual({ runId: 'run-1', status: 'SUCCEEDED', messageId: 'm-1', summary });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC,
      Subject: 'Batch run run-1 succeeded: 9 scores, model v3',
    });
    const body = sns.commandCalls(PublishCommand)[0]!.args[0].input.Message!;
    expect(body).toContain('Rows read: 10; used: 9; quarantined: 1; scores loaded: 9');
  });

  it('says so when every object was quarantined (nothing scored) and points at the report', async () => {
    const report = 's3://art/reports/run-q/validation.json';
    const quarantined = {
      ...summary,
      outcome: 'ALL_QUARANTINED' as const,
      objects: 0,
      objectsQuarantined: 2,
      rowsUsed: 0,
      rowsQuarantined: 10,
      rowsLoaded: 0,
      validationReportUri: report,
    };
    const r = await notify(client, TOPIC, { kind: 'success', runId: 'run-q', summary: quarantined });
    expect(r).toMatchObject({ status: 'SUCCEEDED', summary: { outcome: 'ALL_QUARANTINED' } });
    const input = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input.Subject).toBe('Batch run run-q: nothing scored, all 2 object(s) QUARANTINED');
    expect(input.Message).toContain('completed WITHOUT scoring');
    expect(input.Message).toContain(`inspect the validation report ${report}`);
    expect(input.Message).not.toContain('succeeded');
  });

  it('publishes a failure with the Lambda error message, not the raw JSON cause', async () => {
    const cause = JSON.stringify({
      errorType: 'NotFoundError',
      errorMessage: 'no approved model version in group g',
      trace: [],
    });
    const r = await notify(client, TOPIC, {
      kind: 'failure',
      runId: 'run-2',
      error: { Error: 'NotFoundError', Cause: cause },
    });
    expect(r.status).toBe('FAILED');
    expect(r.error).toEqual({ Error: 'NotFoundError', Cause: 'no approved model version in group g' });
    const input = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input.Subject).toBe('Batch run run-2 FAILED: NotFoundError');
    expect(input.Message).toContain('Cause: no approved model version in group g');
    expect(input.Message).toContain('ledger is unchanged');
  });
});

describe('render / causeMessage / schema', () => {
  it('keeps the subject within 100 characters and on one line', () => {
    const { subject } = render({ kind: 'failure', runId: 'r'.repeat(80), error: { Error: 'E\nrr' } });
    expect(subject.length).toBeLessThanOrEqual(100);
    expect(subject).not.toMatch(/\n/);
  });
  it('uses a non-JSON cause as is', () => {
    expect(causeMessage('plain')).toBe('plain');
    expect(causeMessage(undefined)).toBe('(no cause given)');
  });
  it('rejects an unknown kind', () => {
    expect(NotificationSchema.safeParse({ kind: 'other', runId: 'r' }).success).toBe(false);
  });
});
