import { App } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../../lib/config';
import { bucketName, DataStack } from '../../lib/stacks/data-stack';
import { testContext } from './context';

process.env.CDK_VALIDATION = 'false';

const app = new App({ context: testContext() });
const config = loadConfig(app.node);
const stack = new DataStack(app, 'Data', { config });
const template = Template.fromStack(stack);
const keyId = stack.getLogicalId(stack.key.node.defaultChild as never);
const logsBucketId = stack.getLogicalId(stack.accessLogsBucket.node.defaultChild as never);
const featuresId = stack.getLogicalId(stack.featuresBucket.node.defaultChild as never);
const artifactsId = stack.getLogicalId(stack.artifactsBucket.node.defaultChild as never);

const resource = (logicalId: string) => template.toJSON().Resources[logicalId] as Record<string, unknown>;

describe('DataStack', () => {
  test('KMS key rotates, is retained and admits CloudWatch Logs of this account/region only', () => {
    template.hasResource('AWS::KMS::Key', {
      Properties: { EnableKeyRotation: true },
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
    });
    const statements = new Capture();
    template.hasResourceProperties('AWS::KMS::Key', { KeyPolicy: { Statement: statements } });
    const logsStatement = (statements.asArray() as Record<string, unknown>[]).find(
      (s) => s.Sid === 'AllowCloudWatchLogsOfThisAccount',
    );
    expect(logsStatement).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
      Condition: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':logs:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':log-group:*',
              ],
            ],
          },
        },
      },
    });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/mlops-batch-dev-data' });
  });

  test('three buckets, all versioned, public access blocked and retained', () => {
    template.resourceCountIs('AWS::S3::Bucket', 3);
    for (const id of [logsBucketId, featuresId, artifactsId]) {
      expect(resource(id)).toMatchObject({
        DeletionPolicy: 'RetainExceptOnCreate',
        Properties: {
          VersioningConfiguration: { Status: 'Enabled' },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
        },
      });
    }
  });

  test.each([
    ['features', () => featuresId, 'features/'],
    ['artifacts', () => artifactsId, 'artifacts/'],
  ])('%s bucket: KMS with the data key, bucket key, access logs to the log bucket', (_name, id, prefix) => {
    expect(resource(id()).Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] },
            },
          },
        ],
      },
      LoggingConfiguration: { DestinationBucketName: { Ref: logsBucketId }, LogFilePrefix: prefix },
    });
  });

  test('data buckets have stack-agnostic physical names (account and region as pseudo parameters)', () => {
    const nameOf = (purpose: string) => ({
      'Fn::Join': ['', [`mlops-batch-dev-${purpose}-`, { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }]],
    });
    expect(resource(featuresId).Properties).toMatchObject({ BucketName: nameOf('features') });
    expect(resource(artifactsId).Properties).toMatchObject({ BucketName: nameOf('artifacts') });
    expect(stack.resolve(stack.artifactsObjectsArn('results/*'))).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':s3:::mlops-batch-dev-artifacts-',
          { Ref: 'AWS::AccountId' },
          '-',
          { Ref: 'AWS::Region' },
          '/results/*',
        ],
      ],
    });
    expect(() =>
      bucketName({ ...config, namePrefix: 'a-very-long-prefix-xx', envName: 'production' }, 'artifacts'),
    ).toThrow(/can exceed 63 characters: shorten namePrefix/);
  });

  test('access-log bucket uses S3-managed keys (log delivery cannot write SSE-KMS) and expires logs', () => {
    expect(resource(logsBucketId).Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LifecycleConfiguration: {
        Rules: expect.arrayContaining([{ Id: 'expire-access-logs', ExpirationInDays: 365, Status: 'Enabled' }]),
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logsBucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
          }),
        ]),
      },
    });
  });

  test('every bucket denies non-TLS access', () => {
    for (const id of [logsBucketId, featuresId, artifactsId]) {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  test('artifacts bucket expires temporary prefixes and old versions', () => {
    expect(resource(artifactsId).Properties).toMatchObject({
      LifecycleConfiguration: {
        Rules: expect.arrayContaining([
          { Id: 'expire-batch-input', Prefix: 'batch/', ExpirationInDays: 30, Status: 'Enabled' },
          { Id: 'expire-quarantine', Prefix: 'quarantine/', ExpirationInDays: 90, Status: 'Enabled' },
          { Id: 'expire-noncurrent', NoncurrentVersionExpiration: { NoncurrentDays: 90 }, Status: 'Enabled' },
          {
            Id: 'abort-incomplete-uploads',
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
            Status: 'Enabled',
          },
        ]),
      },
    });
    // The feature store keeps current objects: no prefix expiry there.
    const featureRules = (resource(featuresId).Properties as { LifecycleConfiguration: { Rules: { Id: string }[] } })
      .LifecycleConfiguration.Rules;
    expect(featureRules.map((r) => r.Id).sort()).toEqual(['abort-incomplete-uploads', 'expire-noncurrent']);
  });

  test('only the features bucket sends EventBridge notifications', () => {
    template.resourceCountIs('Custom::S3BucketNotifications', 1);
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: featuresId },
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
  });

  test('Pipeline table: pk/sk, sparse gsi1 (ALL), on-demand, PITR, customer-managed KMS, retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayEquals([
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'gsi1pk', AttributeType: 'S' },
          { AttributeName: 'gsi1sk', AttributeType: 'S' },
        ]),
        BillingMode: 'PAY_PER_REQUEST',
        GlobalSecondaryIndexes: [
          {
            IndexName: 'gsi1',
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } },
        DeletionProtectionEnabled: true,
      },
    });
  });

  test('Model Package Group is named <namePrefix>-<env>-churn and retained except on a failed create', () => {
    template.hasResource('AWS::SageMaker::ModelPackageGroup', {
      Properties: { ModelPackageGroupName: 'mlops-batch-dev-churn' },
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
    });
    expect(stack.modelPackageGroupName).toBe('mlops-batch-dev-churn');
  });

  test('outputs name every resource an operator needs', () => {
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs).sort()).toEqual(
      expect.arrayContaining([
        'KeyArn',
        'FeaturesBucketName',
        'ArtifactsBucketName',
        'AccessLogsBucketName',
        'TableName',
        'TableArn',
        'ModelPackageGroupName',
        'ModelPackageGroupArn',
      ]),
    );
    template.hasOutput('FeaturesBucketName', { Value: { Ref: featuresId } });
    template.hasOutput('ModelPackageGroupArn', {
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ModelPackageGroup'), 'ModelPackageGroupArn'] },
    });
  });
});
