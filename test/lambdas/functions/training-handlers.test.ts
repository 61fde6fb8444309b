/**
 * Handler-level tests (aws-sdk-client-mock): input parsing, environment, and the calls each thin handler makes.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  CreateModelPackageCommand,
  DescribeModelPackageCommand,
  ListModelPackagesCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { handler as approvalHandler } from '../../../lambdas/functions/approval-event/handler';
import { handler as evaluateHandler } from '../../../lambdas/functions/evaluate-model/handler';
import { handler as notifyHandler } from '../../../lambdas/functions/notify-approvers/handler';
import { handler as registerHandler } from '../../../lambdas/functions/register-model/handler';
import { handler as startRunHandler } from '../../../lambdas/functions/start-run/handler';

const s3 = mockClient(S3Client);
const sm = mockClient(SageMakerClient);
const sns = mockClient(SNSClient);
const sfn = mockClient(SFNClient);
const ddb = mockClient(DynamoDBDocumentClient);

const ARN = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-batch-churn/3';

const run = {
  runId: 'r-1',
  startedAt: '2026-11-26T10:00:00.000Z',
  trigger: 'cli',
  codeVersion: 'abc',
  dataWindow: { from: '2026-10-30', to: '2026-10-31', partitions: ['2026-10-30', '2026-10-31'] },
  trainingJobName: 'r-1',
  modelOutputUri: 's3://art-bucket/training/r-1/model/',
  checkpointUri: 's3://art-bucket/training/r-1/checkpoints/',
};
const data = {
  trainUri: 's3://art-bucket/training/r-1/train/',
  validationUri: 's3://art-bucket/training/r-1/validation/',
  preprocessingUri: 's3://art-bucket/training/r-1/preprocessing.json',
  statsUri: 's3://art-bucket/reports/r-1/stats.json',
  validationReportUri: 's3://art-bucket/reports/r-1/validation.json',
  rowsIn: 10,
  rowsUsed: 10,
  rowsQuarantined: 0,
  trainRows: 8,
  validationRows: 2,
};
const training = {
  TrainingJobName: 'r-1-a0',
  TrainingJobStatus: 'Completed',
  ModelArtifacts: { S3ModelArtifacts: 's3://art-bucket/training/r-1/model/r-1-a0/output/model.tar.gz' },
  FinalMetricDataList: [
    { MetricName: 'validation:auc', Value: 0.8 },
    { MetricName: 'validation:logloss', Value: 0.4 },
  ],
};
const evaluation = {
  passed: true,
  reasons: [],
  notes: [],
  metrics: { auc: 0.8, logloss: 0.4 },
  production: null,
  thresholds: { minAuc: 0.7, maxLogloss: 0.6, maxAucDrop: 0.01 },
  reportUri: 's3://art-bucket/reports/r-1/evaluation.json',
};

beforeAll(() => {
  Object.assign(process.env, {
    TABLE_NAME: 'Pipeline',
    FEATURES_BUCKET: 'feat-bucket',
    ARTIFACTS_BUCKET: 'art-bucket',
    MODEL_PACKAGE_GROUP_NAME: 'mlops-batch-churn',
    GATE_MIN_AUC: '0.7',
    GATE_MAX_LOGLOSS: '0.6',
    GATE_MAX_AUC_DROP: '0.01',
    INFERENCE_IMAGE_URI: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
    TRANSFORM_INSTANCE_TYPES: 'ml.m5.large, ml.m5.xlarge',
    APPROVER_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:approvers',
    CODE_VERSION: 'abc',
    TRAINING_PARAMS: JSON.stringify({ instanceType: 'ml.m5.xlarge' }),
  });
});
beforeEach(() => {
  for (const m of [s3, sm, sns, sfn, ddb]) m.reset();
});

describe('StartRun handler', () => {
  it('creates the run from the execution name, start time and input', async () => {
    s3.on(ListObjectsV2Command).resolves({
      CommonPrefixes: [{ Prefix: 'training/dt=2026-10-30/' }, { Prefix: 'training/dt=2026-10-31/' }],
    });
    ddb.on(PutCommand).resolves({});
    const out = await startRunHandler({
      runId: 'r-1',
      startedAt: '2026-11-26T10:00:00.000Z',
      input: { trigger: 'cli' },
    });
    expect(out).toEqual(run);
    const item = ddb.commandCalls(PutCommand)[0]!.args[0].input.Item;
    expect(item).toMatchObject({
      pk: 'RUN#r-1',
      kind: 'training',
      status: 'RUNNING',
      trigger: 'cli',
      codeVersion: 'abc',
      window: { from: '2026-10-30', to: '2026-10-31', partitions: 2 },
      params: { training: { instanceType: 'ml.m5.xlarge' }, gate: { minAuc: 0.7 }, trainingJobName: 'r-1' },
    });
  });

  it('rejects an unknown execution input key and a bad window, naming them', async () => {
    await expect(
      startRunHandler({ runId: 'r', startedAt: '2026-11-26T10:00:00Z', input: { dataWindw: {} } }),
    ).rejects.toThrow(/StartRun: invalid input: input: Unrecognized key: "dataWindw"/);
    await expect(
      startRunHandler({
        runId: 'r',
        startedAt: '2026-11-26T10:00:00Z',
        input: { dataWindow: { from: '2026-02-30' } },
      }),
    ).rejects.toThrow(/input\.dataWindow\.from: a valid calendar date/);
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
  });
});

describe('EvaluateModel handler', () => {
  // Both models' figures, the reports and the run record: test/integration/training-handlers.test.ts and
  // test/statemachines/training.test.ts (moto_server).
  it('an input without the evaluation plan and the scoring results names them', async () => {
    await expect(evaluateHandler({ runId: 'r-1', training, data: {} })).rejects.toThrow(
      /EvaluateModel: invalid input: .*plan: .*scoring: /,
    );
  });

  it('a training job without model artifacts is a clear input error', async () => {
    await expect(evaluateHandler({ runId: 'r-1', training: { TrainingJobStatus: 'Completed' } })).rejects.toThrow(
      /EvaluateModel: invalid input: training\.ModelArtifacts/,
    );
  });
});

describe('RegisterModel handler', () => {
  it('registers with the image and transform instance types from the environment and links the run', async () => {
    sm.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });
    sm.on(CreateModelPackageCommand).resolves({ ModelPackageArn: ARN });
    ddb.on(TransactWriteCommand).resolves({});
    const out = await registerHandler({ run, data, training, evaluation });
    expect(out).toEqual({ modelPackageArn: ARN, version: 3, created: true });
    expect(sm).toHaveReceivedCommandWith(CreateModelPackageCommand, {
      ModelPackageGroupName: 'mlops-batch-churn',
      InferenceSpecification: expect.objectContaining({
        Containers: [expect.objectContaining({ Image: process.env.INFERENCE_IMAGE_URI })],
        SupportedTransformInstanceTypes: ['ml.m5.large', 'ml.m5.xlarge'],
      }),
    });
    const tx = ddb.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems!;
    expect(tx[0]?.Put?.Item).toMatchObject({ pk: 'MODEL#3', runId: 'r-1', modelPackageArn: ARN });
    expect(tx[1]?.Update?.Key).toEqual({ pk: 'RUN#r-1', sk: 'RUN' });
  });

  it('refuses a candidate that failed the gate', async () => {
    await expect(
      registerHandler({ run, data, training, evaluation: { ...evaluation, passed: false, reasons: ['x'] } }),
    ).rejects.toMatchObject({ name: 'GateFailedError' });
    expect(sm).not.toHaveReceivedCommand(CreateModelPackageCommand);
  });
});

describe('NotifyApprovers handler', () => {
  it('publishes to APPROVER_TOPIC_ARN', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'mid' });
    const out = await notifyHandler({
      runId: 'r-1',
      registration: { modelPackageArn: ARN, version: 3, created: true },
      evaluation,
    });
    expect(out).toEqual({ messageId: 'mid' });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: process.env.APPROVER_TOPIC_ARN });
  });
});

describe('approval-event handler', () => {
  const approved = {
    version: '0',
    id: 'e-1',
    'detail-type': 'SageMaker Model Package State Change',
    source: 'aws.sagemaker',
    account: '123456789012',
    time: '2026-11-26T12:00:00Z',
    region: 'us-east-1',
    resources: [ARN],
    detail: {
      ModelPackageGroupName: 'mlops-batch-churn',
      ModelPackageVersion: 3,
      ModelPackageArn: ARN,
      ModelApprovalStatus: 'Approved',
      LastModifiedBy: { IamIdentity: { Arn: 'arn:aws:sts::123456789012:assumed-role/Approver/alice' } },
      ModelPackageStatus: 'Completed',
    },
  };

  it('records who approved (IAM identity) and starts a batch run when configured', async () => {
    process.env.START_BATCH_ON_APPROVAL = 'true';
    process.env.BATCH_STATE_MACHINE_ARN =
      'arn:aws:states:us-east-1:123456789012:stateMachine:mlops-batch-batch-inference';
    ddb
      .on(GetCommand)
      .resolves({ Item: { pk: 'MODEL#3', version: 3, runId: 'r-1', approvalStatus: 'PendingManualApproval' } });
    ddb.on(UpdateCommand).resolves({ Attributes: { version: 3 } });
    sm.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [{ ModelPackageArn: ARN } as never] });
    sm.on(DescribeModelPackageCommand).resolves({ ModelPackageArn: ARN, ModelPackageVersion: 3 });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec' });
    try {
      const out = await approvalHandler(approved);
      expect(out).toMatchObject({ action: 'approved-batch-started', version: 3, batchExecutionArn: 'arn:exec' });
      const upd = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
      expect(upd.ExpressionAttributeValues?.[':entry']).toEqual([
        {
          status: 'Approved',
          at: '2026-11-26T12:00:00.000Z',
          by: 'arn:aws:sts::123456789012:assumed-role/Approver/alice',
          eventId: 'e-1',
        },
      ]);
      expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
        stateMachineArn: process.env.BATCH_STATE_MACHINE_ARN,
        name: 'approval-v3-e-1',
        input: JSON.stringify({ trigger: 'approval', modelVersion: 3 }),
      });
    } finally {
      delete process.env.START_BATCH_ON_APPROVAL;
      delete process.env.BATCH_STATE_MACHINE_ARN;
    }
  });

  it('rejects an event of another type', async () => {
    await expect(approvalHandler({ ...approved, 'detail-type': 'SageMaker Model State Change' })).rejects.toThrow(
      /ApprovalEvent: invalid input: detail-type/,
    );
  });
});
