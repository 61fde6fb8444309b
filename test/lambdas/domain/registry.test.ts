import {
  CreateModelPackageCommand,
  DescribeModelPackageCommand,
  ListModelPackagesCommand,
  SageMakerClient,
  UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  clientTokenFor,
  createModelPackage,
  findProductionPackage,
  updateApprovalStatus,
  versionFromArn,
} from '../../../lambdas/domain/registry';

const sm = mockClient(SageMakerClient);
const ARN = 'arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-batch-churn/7';

const base = {
  groupName: 'mlops-batch-churn',
  runId: 'run-7',
  codeVersion: 'abc',
  dataWindow: '2024-01-01..2024-01-31',
  imageUri: 'img',
  modelDataUrl: 's3://a/model.tar.gz',
  preprocessingUri: 's3://a/pre.json',
  trainingStatsUri: 's3://a/stats.json',
  evaluationReportUri: 's3://a/eval.json',
  metrics: { auc: 0.9, logloss: 0.3 },
  transformInstanceTypes: ['ml.m5.large'],
};

beforeEach(() => sm.reset());

describe('registry core', () => {
  it('parses the version from a package ARN and rejects others', () => {
    expect(versionFromArn(ARN)).toBe(7);
    expect(() => versionFromArn('arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/x')).toThrow(
      /Not a versioned model package ARN/,
    );
  });

  it('findProductionPackage asks for the newest Approved explicitly (the API default is ascending)', async () => {
    sm.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });
    await expect(findProductionPackage(new SageMakerClient({}), 'g')).resolves.toBeNull();
    expect(sm).toHaveReceivedCommandWith(ListModelPackagesCommand, {
      ModelPackageGroupName: 'g',
      ModelApprovalStatus: 'Approved',
      SortBy: 'CreationTime',
      SortOrder: 'Descending',
      MaxResults: 1,
    });
  });

  it('creates PendingManualApproval with ClientToken, batch-transform spec, ModelMetrics and metadata', async () => {
    sm.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });
    sm.on(CreateModelPackageCommand).resolves({ ModelPackageArn: ARN });
    const notBefore = new Date('2024-02-01T00:00:00Z');
    const res = await createModelPackage(new SageMakerClient({}), { ...base, notBefore });
    expect(res).toEqual({ arn: ARN, version: 7, created: true });
    expect(sm).toHaveReceivedCommandWith(ListModelPackagesCommand, { CreationTimeAfter: notBefore });
    const input = sm.commandCalls(CreateModelPackageCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      ModelPackageGroupName: 'mlops-batch-churn',
      ModelApprovalStatus: 'PendingManualApproval',
      ClientToken: clientTokenFor('run-7'),
      InferenceSpecification: {
        Containers: [{ Image: 'img', ModelDataUrl: 's3://a/model.tar.gz' }],
        SupportedContentTypes: ['text/csv'],
        SupportedTransformInstanceTypes: ['ml.m5.large'],
      },
      ModelMetrics: { ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: 's3://a/eval.json' } } },
      CustomerMetadataProperties: {
        runId: 'run-7',
        codeVersion: 'abc',
        dataWindow: '2024-01-01..2024-01-31',
        preprocessingUri: 's3://a/pre.json',
        trainingStatsUri: 's3://a/stats.json',
        validationAuc: '0.9',
        validationLogloss: '0.3',
      },
    });
    expect(clientTokenFor('run-7')).toMatch(/^[a-f0-9]{32}$/);
  });

  it('returns the existing package of the same run instead of creating a second one', async () => {
    sm.on(ListModelPackagesCommand).resolves({
      ModelPackageSummaryList: [{ ModelPackageArn: ARN, ModelPackageVersion: 7 } as never],
    });
    sm.on(DescribeModelPackageCommand).resolves({
      ModelPackageArn: ARN,
      ModelPackageVersion: 7,
      CustomerMetadataProperties: { runId: 'run-7' },
    });
    await expect(createModelPackage(new SageMakerClient({}), base)).resolves.toEqual({
      arn: ARN,
      version: 7,
      created: false,
    });
    expect(sm).not.toHaveReceivedCommand(CreateModelPackageCommand);
  });

  it('rejects metadata the API would refuse (comma in the data window), naming the key', async () => {
    sm.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });
    await expect(
      createModelPackage(new SageMakerClient({}), { ...base, dataWindow: '2024-01-01,2024-01-31' }),
    ).rejects.toThrow(/metadata dataWindow = "2024-01-01,2024-01-31" is not allowed/);
    expect(sm).not.toHaveReceivedCommand(CreateModelPackageCommand);
  });

  it('update always sends ModelApprovalStatus and re-sends the metadata', async () => {
    sm.on(DescribeModelPackageCommand).resolves({
      ModelPackageArn: ARN,
      ModelApprovalStatus: 'Approved',
      CustomerMetadataProperties: { runId: 'run-7', validationAuc: '0.9' },
    });
    sm.on(UpdateModelPackageCommand).resolves({ ModelPackageArn: ARN });
    const info = await updateApprovalStatus(new SageMakerClient({}), ARN, 'Approved', 'looks good');
    expect(info.metrics.auc).toBe(0.9);
    expect(sm).toHaveReceivedCommandWith(UpdateModelPackageCommand, {
      ModelPackageArn: ARN,
      ModelApprovalStatus: 'Approved',
      ApprovalDescription: 'looks good',
      CustomerMetadataProperties: { runId: 'run-7', validationAuc: '0.9' },
    });
  });
});
