/** What IAM evaluates for an SDK call or a Task state: actions, resource ARNs and condition keys from the input. */
import { deriveRequests } from '../../local/iam/requests';
import { taskRequests, tasksNotRun } from '../../local/iam/state-machine-actions';

const where = { region: 'eu-west-1', account: '111122223333' };

describe('deriveRequests', () => {
  it('maps S3 operations to their actions, object or bucket ARNs and condition keys', () => {
    expect(deriveRequests('S3', 'ListObjectsV2', { Bucket: 'b', Prefix: 'training/x/' }, where)).toEqual([
      { action: 's3:ListBucket', resource: 'arn:aws:s3:::b', context: { 's3:prefix': 'training/x/' } },
    ]);
    expect(deriveRequests('S3', 'HeadObject', { Bucket: 'b', Key: 'k' }, where)).toEqual([
      { action: 's3:GetObject', resource: 'arn:aws:s3:::b/k' },
    ]);
    expect(deriveRequests('S3', 'CopyObject', { Bucket: 'd', Key: 'q/x', CopySource: 'src/a%20b.csv' }, where)).toEqual(
      [
        { action: 's3:PutObject', resource: 'arn:aws:s3:::d/q/x', data: 'write' },
        { action: 's3:GetObject', resource: 'arn:aws:s3:::src/a b.csv', data: 'read' },
      ],
    );
    expect(
      deriveRequests('S3', 'PutObject', { Bucket: 'b', Key: 'k', SSEKMSKeyId: 'arn:aws:kms:eu-west-1:1:key/x' }, where),
    ).toEqual([
      { action: 's3:PutObject', resource: 'arn:aws:s3:::b/k', data: 'write', kmsKey: 'arn:aws:kms:eu-west-1:1:key/x' },
    ]);
  });

  it('names the table, the index and each table of a transaction', () => {
    expect(deriveRequests('DynamoDB', 'Query', { TableName: 't', IndexName: 'gsi1' }, where)).toEqual([
      {
        action: 'dynamodb:Query',
        resource: 'arn:aws:dynamodb:eu-west-1:111122223333:table/t/index/gsi1',
        data: 'read',
      },
    ]);
    const tx = deriveRequests(
      'DynamoDB',
      'TransactWriteItems',
      { TransactItems: [{ Put: { TableName: 't' } }, { ConditionCheck: { TableName: 'u' } }] },
      where,
    );
    expect(tx.map((r) => `${r.action} ${r.resource}`)).toEqual([
      'dynamodb:PutItem arn:aws:dynamodb:eu-west-1:111122223333:table/t',
      'dynamodb:ConditionCheckItem arn:aws:dynamodb:eu-west-1:111122223333:table/u',
    ]);
  });

  it('adds iam:PassRole and sagemaker:AddTags to a tagged CreateModel, and lists take no resource', () => {
    const reqs = deriveRequests(
      'SageMaker',
      'CreateModel',
      { ModelName: 'M-v1', ExecutionRoleArn: 'arn:aws:iam::111122223333:role/r', Tags: [{ Key: 'k', Value: 'v' }] },
      where,
    );
    expect(reqs).toEqual([
      { action: 'sagemaker:CreateModel', resource: 'arn:aws:sagemaker:eu-west-1:111122223333:model/m-v1' },
      {
        action: 'iam:PassRole',
        resource: 'arn:aws:iam::111122223333:role/r',
        context: { 'iam:PassedToService': 'sagemaker.amazonaws.com' },
      },
      { action: 'sagemaker:AddTags', resource: 'arn:aws:sagemaker:eu-west-1:111122223333:model/m-v1' },
    ]);
    expect(deriveRequests('SageMaker', 'ListModelPackages', { ModelPackageGroupName: 'g' }, where)).toEqual([
      { action: 'sagemaker:ListModelPackages', resource: '*' },
    ]);
    expect(deriveRequests('CloudWatch', 'PutMetricData', { Namespace: 'N' }, where)).toEqual([
      { action: 'cloudwatch:PutMetricData', resource: '*', context: { 'cloudwatch:namespace': 'N' } },
    ]);
  });

  it('fails naming the service, the operation and where to add the rule', () => {
    expect(() => deriveRequests('SageMaker', 'CreateEndpoint', {}, where)).toThrow(
      /no IAM rule for SageMaker CreateEndpoint: add one to local\/iam\/requests\.ts/,
    );
    expect(() => deriveRequests('S3', 'GetObject', { Bucket: 'b' }, where)).toThrow('GetObject: no Key in the request');
  });
});

describe('taskRequests', () => {
  it('maps createTransformJob.sync to the job actions and the managed event rule', () => {
    const reqs = taskRequests(
      {
        stateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:s',
        state: 'Transform',
        resource: 'arn:aws:states:::sagemaker:createTransformJob.sync',
        input: { TransformJobName: 'Job-1', ModelName: 'm' },
      },
      where,
    );
    expect(reqs.map((r) => `${r.action} ${r.resource}`)).toEqual([
      'sagemaker:CreateTransformJob arn:aws:sagemaker:eu-west-1:111122223333:transform-job/job-1',
      'sagemaker:DescribeTransformJob arn:aws:sagemaker:eu-west-1:111122223333:transform-job/job-1',
      'sagemaker:StopTransformJob arn:aws:sagemaker:eu-west-1:111122223333:transform-job/job-1',
      'sagemaker:ListTags arn:aws:sagemaker:eu-west-1:111122223333:transform-job/job-1',
      'events:PutTargets arn:aws:events:eu-west-1:111122223333:rule/StepFunctionsGetEventsForSageMakerTransformJobsRule',
      'events:PutRule arn:aws:events:eu-west-1:111122223333:rule/StepFunctionsGetEventsForSageMakerTransformJobsRule',
      'events:DescribeRule arn:aws:events:eu-west-1:111122223333:rule/StepFunctionsGetEventsForSageMakerTransformJobsRule',
    ]);
  });

  it('maps Lambda, SNS and aws-sdk integrations, and names an unknown one', () => {
    const sm = 'arn:aws:states:eu-west-1:111122223333:stateMachine:s';
    const fn = 'arn:aws:lambda:eu-west-1:111122223333:function:f';
    expect(taskRequests({ stateMachineArn: sm, state: 'A', resource: fn, input: {} }, where)).toEqual([
      { action: 'lambda:InvokeFunction', resource: fn },
    ]);
    expect(
      taskRequests(
        { stateMachineArn: sm, state: 'B', resource: 'arn:aws:states:::sns:publish', input: { TopicArn: 'arn:t' } },
        where,
      ),
    ).toEqual([{ action: 'sns:Publish', resource: 'arn:t', data: 'readwrite' }]);
    expect(
      taskRequests(
        {
          stateMachineArn: sm,
          state: 'C',
          resource: 'arn:aws:states:::aws-sdk:s3:getObject',
          input: { Bucket: 'b', Key: 'k' },
        },
        where,
      ),
    ).toEqual([{ action: 's3:GetObject', resource: 'arn:aws:s3:::b/k', data: 'read' }]);
    expect(() =>
      taskRequests(
        { stateMachineArn: sm, state: 'D', resource: 'arn:aws:states:::glue:startJobRun.sync', input: {} },
        where,
      ),
    ).toThrow(/state D: no IAM rule for Task resource arn:aws:states:::glue:startJobRun\.sync/);
  });

  it('finds the Task states no run reached, with the input their definition fixes', () => {
    const machine = {
      arn: 'arn:sm',
      definition: {
        States: {
          Ran: { Type: 'Task', Resource: 'arn:aws:lambda:eu-west-1:1:function:f' },
          Alert: {
            Type: 'Task',
            Resource: 'arn:aws:states:::sns:publish',
            Parameters: { TopicArn: 'arn:t', 'Message.$': '$' },
          },
        },
      },
    };
    const ran = [
      { stateMachineArn: 'arn:sm', state: 'Ran', resource: 'arn:aws:lambda:eu-west-1:1:function:f', input: {} },
    ];
    expect(tasksNotRun([machine], ran)).toEqual([
      {
        stateMachineArn: 'arn:sm',
        state: 'Alert',
        resource: 'arn:aws:states:::sns:publish',
        input: { TopicArn: 'arn:t' },
      },
    ]);
  });
});
