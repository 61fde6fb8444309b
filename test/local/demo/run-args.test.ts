import { parseArgs } from '../../../local/demo/run';
import { modelPackageStateChangeEvent } from '../../../local/runtime/approval';

describe('parseArgs', () => {
  it('reads every option, with = or a separate value', () => {
    expect(
      parseArgs([
        '--customers',
        '500',
        '--seed=3',
        '--env',
        'dev',
        '--out',
        '/tmp/x',
        '--keep',
        '--redis',
        'standin',
        '--verbose',
      ]),
    ).toEqual({
      customers: 500,
      seed: 3,
      env: 'dev',
      outDir: '/tmp/x',
      keep: true,
      redis: 'standin',
      verbose: true,
    });
    expect(parseArgs([])).toEqual({});
  });

  it.each([
    [['--customers', 'many'], '--customers needs an integer >= 10, got "many"'],
    [['--customers', '5'], '--customers needs an integer >= 10, got "5"'],
    [['--customers'], '--customers needs an integer >= 10, got nothing'],
    [['--redis', 'cluster'], '--redis must be auto or standin, got "cluster"'],
    [['--fast'], 'unknown option --fast (see --help)'],
  ])('rejects %j with one clear line', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe('modelPackageStateChangeEvent', () => {
  it('has the shape EventBridge delivers for a registry status change', () => {
    const e = modelPackageStateChangeEvent(
      {
        arn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3',
        version: 3,
        groupName: 'churn',
        status: 'Approved',
        createdAt: undefined,
        runId: 'train-1',
        metrics: {},
        metadata: { runId: 'train-1' },
        imageUri: undefined,
        modelDataUrl: undefined,
        preprocessingUri: undefined,
        evaluationReportUri: undefined,
        approvalDescription: 'looks good',
        lastModifiedBy: undefined,
      },
      { now: new Date('2026-11-05T10:00:00Z'), by: 'alice' },
    );
    expect(e).toMatchObject({
      source: 'aws.sagemaker',
      'detail-type': 'SageMaker Model Package State Change',
      time: '2026-11-05T10:00:00.000Z',
      resources: ['arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3'],
      detail: {
        ModelPackageGroupName: 'churn',
        ModelPackageVersion: 3,
        ModelApprovalStatus: 'Approved',
        ApprovalDescription: 'looks good',
        LastModifiedBy: { UserProfileName: 'alice' },
        CustomerMetadataProperties: { runId: 'train-1' },
      },
    });
  });
});
