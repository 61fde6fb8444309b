import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { approvalMessage, consoleLink, notifyApprovers } from '../../../../lambdas/functions/notify-approvers/core';

const ARN = 'arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-batch-churn/7';
const params = (production: null | { version: number; arn: string; auc?: number; logloss?: number }) => ({
  runId: 'run-7',
  registration: { modelPackageArn: ARN, version: 7, created: true },
  evaluation: {
    metrics: { auc: 0.8512, logloss: 0.4 },
    production,
    reportUri: 's3://art/reports/run-7/evaluation.json',
    notes: production ? [] : ['no Production model (no Approved version): comparison with Production skipped'],
  },
  groupName: 'mlops-batch-churn',
  region: 'eu-west-1',
  topicArn: 'arn:aws:sns:eu-west-1:123456789012:approvers',
});

describe('notify-approvers core', () => {
  it('states version, metrics vs Production, console link and both approve commands', () => {
    const { subject, body } = approvalMessage(params({ version: 5, arn: 'p5', auc: 0.84, logloss: 0.42 }));
    expect(subject).toBe('[mlops-batch-churn] model version 7 awaits approval (AUC 0.8512)');
    expect(body).toContain('Model version 7 of mlops-batch-churn is waiting for approval');
    expect(body).toContain('AUC      0.8512 vs 0.8400 (version 5) (+0.0112)');
    expect(body).toContain('logloss  0.4000 vs 0.4200 (-0.0200)');
    expect(body).toContain(consoleLink('eu-west-1', 'mlops-batch-churn', 7));
    expect(body).toContain('  npx mlops-batch approve 7\n');
    expect(body).toContain(
      `aws sagemaker update-model-package --region eu-west-1 --model-package-arn ${ARN} --model-approval-status Approved`,
    );
    expect(body).toContain('npx mlops-batch reject 7');
  });

  it('sends the side-by-side table of candidate and Production on the same rows, with the interval', () => {
    const summary = (version: number | null, auc: number) => ({
      modelVersion: version,
      runId: version ? `run-${version}` : 'run-7',
      rows: 2071,
      positives: 447,
      auc,
      prAuc: auc - 0.26,
      logLoss: 0.4,
      brierScore: 0.13,
      threshold: 0.5,
      precision: 0.59,
      recall: 0.36,
      f1: 0.45,
      accuracy: 0.81,
    });
    const base = params({ version: 5, arn: 'p5', auc: 0.84 });
    const { body } = approvalMessage({
      ...base,
      evaluation: {
        ...base.evaluation,
        summary: { candidate: summary(null, 0.8196), champion: summary(5, 0.8107) },
        comparison: { difference: 0.0089, lower: -0.0011, upper: 0.0195, level: 0.95, resamples: 1000, seed: 1 },
      },
    });
    expect(body).toContain('Candidate vs Production on the same validation rows:');
    expect(body).toMatch(/AUC +0\.8196 +0\.8107 +\+0\.0089/);
    expect(body).toContain('[-0.0011, +0.0195]');
    expect(body).toContain(consoleLink('eu-west-1', 'mlops-batch-churn', 7));
  });

  it('says when there is no Production model yet', () => {
    const { body } = approvalMessage(params(null));
    expect(body).toContain('AUC      0.8512 (no Production model yet)');
    expect(body).toContain('note: no Production model');
  });

  it('console links use the partition console host', () => {
    expect(consoleLink('cn-north-1', 'g', 1)).toMatch(/^https:\/\/cn-north-1\.console\.amazonaws\.cn\//);
    expect(consoleLink('us-east-1', 'g', 2)).toBe(
      'https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/model-registry/g/versions/2',
    );
  });

  it('publishes to the approver topic with the version as a message attribute', async () => {
    const sns = mockClient(SNSClient);
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    await expect(notifyApprovers(new SNSClient({}), params(null))).resolves.toEqual({ messageId: 'm-1' });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: 'arn:aws:sns:eu-west-1:123456789012:approvers',
      MessageAttributes: {
        modelVersion: { DataType: 'Number', StringValue: '7' },
        runId: { DataType: 'String', StringValue: 'run-7' },
      },
    });
  });
});
