import {
  CreateModelCommand,
  DescribeModelCommand,
  DescribeModelPackageCommand,
  ListModelPackagesCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { NotFoundError, ValidationError } from '../../../../contracts/errors';
import { modelNameFor, resolveModel } from '../../../../lambdas/functions/resolve-model/core';

const sm = mockClient(SageMakerClient);
const client = new SageMakerClient({ region: 'us-east-1' });
const GROUP = 'mlops-batch-dev-churn';
const ARN = `arn:aws:sagemaker:us-east-1:123456789012:model-package/${GROUP}/7`;
const params = {
  groupName: GROUP,
  namePrefix: 'mlops-batch-dev',
  executionRoleArn: 'arn:aws:iam::123456789012:role/sm',
  artifactsBucket: 'artifacts',
};

function approvedPackage(metadata: Record<string, string> = { runId: 'train-1' }) {
  sm.on(ListModelPackagesCommand).resolves({
    ModelPackageSummaryList: [
      {
        ModelPackageArn: ARN,
        ModelPackageVersion: 7,
        ModelPackageGroupName: GROUP,
        CreationTime: new Date(),
        ModelPackageStatus: 'Completed',
        ModelApprovalStatus: 'Approved',
      },
    ],
  });
  sm.on(DescribeModelPackageCommand).resolves({
    ModelPackageArn: ARN,
    ModelPackageVersion: 7,
    ModelPackageGroupName: GROUP,
    ModelApprovalStatus: 'Approved',
    CustomerMetadataProperties: metadata,
    InferenceSpecification: {
      Containers: [{ Image: 'xgb:1.7-1', ModelDataUrl: 's3://artifacts/models/train-1/model.tar.gz' }],
      SupportedContentTypes: ['text/csv'],
      SupportedResponseMIMETypes: ['text/csv'],
    },
  });
}

beforeEach(() => sm.reset());

describe('resolveModel', () => {
  it('asks for the newest Approved package (Descending) and creates the Model named by version', async () => {
    approvedPackage({ runId: 'train-1', preprocessingUri: 's3://artifacts/training/train-1/preprocessing.json' });
    sm.on(DescribeModelCommand).rejects(
      Object.assign(new Error('Could not find model "x".'), { name: 'ValidationException' }),
    );
    sm.on(CreateModelCommand).resolves({ ModelArn: 'arn:model' });

    const r = await resolveModel(client, params);

    expect(r).toEqual({
      modelVersion: 7,
      modelPackageArn: ARN,
      modelName: 'mlops-batch-dev-v7',
      trainingRunId: 'train-1',
      preprocessingUri: 's3://artifacts/training/train-1/preprocessing.json',
      created: true,
    });
    expect(sm).toHaveReceivedCommandWith(ListModelPackagesCommand, {
      ModelPackageGroupName: GROUP,
      ModelApprovalStatus: 'Approved',
      SortBy: 'CreationTime',
      SortOrder: 'Descending',
    });
    expect(sm).toHaveReceivedCommandWith(CreateModelCommand, {
      ModelName: 'mlops-batch-dev-v7',
      ExecutionRoleArn: params.executionRoleArn,
      PrimaryContainer: { Image: 'xgb:1.7-1', ModelDataUrl: 's3://artifacts/models/train-1/model.tar.gz' },
      EnableNetworkIsolation: true,
    });
  });

  it('is idempotent: an existing Model is reused, not re-created', async () => {
    approvedPackage();
    sm.on(DescribeModelCommand).resolves({ ModelName: 'mlops-batch-dev-v7' });
    const r = await resolveModel(client, params);
    expect(r.created).toBe(false);
    expect(r.preprocessingUri).toBe('s3://artifacts/training/train-1/preprocessing.json');
    expect(sm).not.toHaveReceivedCommand(CreateModelCommand);
  });

  it('treats losing a creation race ("already exists") as success', async () => {
    approvedPackage();
    sm.on(DescribeModelCommand).rejects(
      Object.assign(new Error('Could not find model'), { name: 'ValidationException' }),
    );
    sm.on(CreateModelCommand).rejects(
      Object.assign(new Error('Cannot create already existing model "arn:…/mlops-batch-dev-v7".'), {
        name: 'ValidationException',
      }),
    );
    await expect(resolveModel(client, params)).resolves.toMatchObject({
      modelName: 'mlops-batch-dev-v7',
      created: false,
    });
  });

  it('propagates other CreateModel errors', async () => {
    approvedPackage();
    sm.on(DescribeModelCommand).rejects(
      Object.assign(new Error('Could not find model'), { name: 'ValidationException' }),
    );
    sm.on(CreateModelCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(resolveModel(client, params)).rejects.toThrow('Rate exceeded');
  });

  it('fails clearly when no version is approved, naming the group and the approve command', async () => {
    sm.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });
    const err = await resolveModel(client, params).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).name).toBe('NotFoundError');
    expect((err as Error).message).toBe(
      `no approved model version in group ${GROUP}; approve one with: npx mlops-batch approve <version>`,
    );
  });

  it('rejects a package without a way to find its preprocessing spec', async () => {
    approvedPackage({});
    await expect(resolveModel(client, params)).rejects.toThrow(ValidationError);
  });
});

describe('modelNameFor', () => {
  it('names by version and refuses invalid names', () => {
    expect(modelNameFor('p', 12)).toBe('p-v12');
    expect(() => modelNameFor('x'.repeat(70), 1)).toThrow(/not a valid SageMaker name/);
  });
});
