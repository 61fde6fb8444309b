import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import type { Construct } from 'constructs';
import { BATCH_PREFIX, QUARANTINE_PREFIX } from '../../contracts/s3-layout';
import { GSI1_NAME, GSI1_PK, GSI1_SK, TABLE_PK, TABLE_SK } from '../../contracts/table-keys';
import type { AppConfig } from '../config';
import { allowCloudWatchLogs } from '../constructs/logs-key-policy';
import { acknowledge, NagIds } from '../nag';
import { physicalNames } from '../physical-names';

/** Properties of {@link DataStack}. */
export interface DataStackProps extends StackProps {
  /** Validated settings of the chosen environment (uses `namePrefix`). */
  readonly config: AppConfig;
}

/** Days objects under the temporary `batch/` prefix (transform input, manifests) are kept. */
export const BATCH_PREFIX_EXPIRY_DAYS = 30;
/** Days quarantined rows are kept for inspection. */
export const QUARANTINE_PREFIX_EXPIRY_DAYS = 90;
/** Days a non-current object version is kept before it expires. */
export const NONCURRENT_VERSION_EXPIRY_DAYS = 90;
/** Days server access logs are kept. */
export const ACCESS_LOG_EXPIRY_DAYS = 365;

/**
 * Stateful resources of the pipeline: the customer-managed KMS key, the features / artifacts /
 * access-log buckets, the `Pipeline` DynamoDB table (tracking, ledger, lock) and the SageMaker Model Package Group.
 *
 * Everything here is retained on stack deletion and update (`RETAIN_ON_UPDATE_OR_DELETE`, CloudFormation's
 * RetainExceptOnCreate: a resource created by a deploy that rolls back is deleted, so the fixed bucket and group names
 * are free for the retry; the table alone is plain RETAIN, see below). The Model Package Group lives here rather than in the Training stack
 * because the registry is state (model versions, approval history): redeploying or replacing the stateless Training
 * stack must never touch it.
 */
export class DataStack extends Stack {
  /**
   * Physical name of the features bucket, `<namePrefix>-<env>-features-<account>-<region>`. The account and region are
   * pseudo parameters that resolve in whichever stack uses the string, so other stacks can build object ARNs from it
   * without a cross-stack reference (see {@link featuresObjectsArn}).
   */
  public readonly featuresBucketName: string;
  /** Physical name of the artifacts bucket, `<namePrefix>-<env>-artifacts-<account>-<region>` (see featuresBucketName). */
  public readonly artifactsBucketName: string;
  /** Customer-managed key (rotation on) for buckets, table, log groups and other pipeline data. */
  public readonly key: kms.Key;
  /** Feature store bucket (`training/dt=…/`, `inference/dt=…/`); emits EventBridge notifications. */
  public readonly featuresBucket: s3.Bucket;
  /** Artifacts bucket (training sets, models, reports, quarantine, batch input, results). */
  public readonly artifactsBucket: s3.Bucket;
  /** Target of S3 server access logs of the other buckets. */
  public readonly accessLogsBucket: s3.Bucket;
  /** The single `Pipeline` table (`pk`/`sk`, sparse GSI `gsi1`). */
  public readonly table: dynamodb.Table;
  /** Name of the SageMaker Model Package Group (`<namePrefix>-<env>-churn`). */
  public readonly modelPackageGroupName: string;
  /** ARN of the SageMaker Model Package Group. */
  public readonly modelPackageGroupArn: string;
  /** The Model Package Group resource. */
  public readonly modelPackageGroup: sagemaker.CfnModelPackageGroup;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { namePrefix } = props.config;
    const names = physicalNames(props.config);

    this.key = new kms.Key(this, 'DataKey', {
      description: `${namePrefix}: pipeline data (S3, DynamoDB, logs, secrets)`,
      enableKeyRotation: true,
      alias: names.keyAlias('data'),
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    // CloudWatch Logs encrypts the project's log groups (functions, flow logs, API access logs, state machines)
    // with this key; the encryption context pins the grant to log groups of this account and region.
    allowCloudWatchLogs(this.key);

    // Server access logging cannot deliver to a bucket encrypted with SSE-KMS (S3 log delivery does not support it),
    // so the log bucket uses S3-managed keys; it holds request metadata only, never pipeline data.
    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      lifecycleRules: [
        { id: 'expire-access-logs', expiration: Duration.days(ACCESS_LOG_EXPIRY_DAYS) },
        { id: 'expire-noncurrent', noncurrentVersionExpiration: Duration.days(30) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
    });
    acknowledge(this.accessLogsBucket, {
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log target bucket; logging it into itself would create an endless log loop.',
    });

    this.featuresBucketName = bucketName(props.config, 'features');
    this.artifactsBucketName = bucketName(props.config, 'artifacts');
    const dataBucket = (
      id: string,
      name: string,
      logPrefix: string,
      rules: s3.LifecycleRule[],
      eventBridgeEnabled: boolean,
    ) =>
      new s3.Bucket(this, id, {
        bucketName: name,
        encryption: s3.BucketEncryption.KMS,
        encryptionKey: this.key,
        bucketKeyEnabled: true,
        enforceSSL: true,
        versioned: true,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        serverAccessLogsBucket: this.accessLogsBucket,
        serverAccessLogsPrefix: logPrefix,
        eventBridgeEnabled,
        removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        lifecycleRules: [
          ...rules,
          { id: 'expire-noncurrent', noncurrentVersionExpiration: Duration.days(NONCURRENT_VERSION_EXPIRY_DAYS) },
          { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
        ],
      });

    this.featuresBucket = dataBucket('FeaturesBucket', this.featuresBucketName, 'features/', [], true);
    // eventBridgeEnabled is applied by CDK's singleton BucketNotificationsHandler (a custom resource Lambda).
    const notificationsHandler = this.node.children.find((c) => c.node.id.startsWith('BucketNotificationsHandler'));
    if (notificationsHandler) {
      acknowledge(notificationsHandler, {
        id: NagIds.iam4LambdaBasic,
        reason:
          'CDK-internal BucketNotificationsHandler (turns on EventBridge delivery for the features bucket at deploy ' +
          'time); its role is generated by aws-cdk-lib and only writes its own CloudWatch logs with this policy.',
      });
    }
    this.artifactsBucket = dataBucket(
      'ArtifactsBucket',
      this.artifactsBucketName,
      'artifacts/',
      [
        { id: 'expire-batch-input', prefix: BATCH_PREFIX, expiration: Duration.days(BATCH_PREFIX_EXPIRY_DAYS) },
        {
          id: 'expire-quarantine',
          prefix: QUARANTINE_PREFIX,
          expiration: Duration.days(QUARANTINE_PREFIX_EXPIRY_DAYS),
        },
      ],
      false,
    );

    // Table (not TableV2): TableV2 cannot render a customer-managed key in an environment-agnostic stack.
    this.table = new dynamodb.Table(this, 'PipelineTable', {
      partitionKey: { name: TABLE_PK, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_SK, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      // Plain RETAIN: deletion protection would fail the delete RetainExceptOnCreate makes on a rolled-back create, and
      // the generated name means a table left behind never blocks the retry.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: GSI1_NAME,
      partitionKey: { name: GSI1_PK, type: dynamodb.AttributeType.STRING },
      sortKey: { name: GSI1_SK, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    this.modelPackageGroupName = names.modelPackageGroup;
    this.modelPackageGroup = new sagemaker.CfnModelPackageGroup(this, 'ModelPackageGroup', {
      modelPackageGroupName: this.modelPackageGroupName,
      modelPackageGroupDescription: 'Churn model versions: candidates that passed the gate, approved = Production',
    });
    this.modelPackageGroup.applyRemovalPolicy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);
    this.modelPackageGroupArn = this.modelPackageGroup.attrModelPackageGroupArn;

    const out = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    out('KeyArn', this.key.keyArn, 'KMS key for pipeline data (KMS_KEY_ARN)');
    out('FeaturesBucketName', this.featuresBucket.bucketName, 'Feature store bucket (FEATURES_BUCKET)');
    out('ArtifactsBucketName', this.artifactsBucket.bucketName, 'Artifacts bucket (ARTIFACTS_BUCKET)');
    out('AccessLogsBucketName', this.accessLogsBucket.bucketName, 'S3 server access log bucket');
    out('TableName', this.table.tableName, 'Pipeline table: tracking, ledger, lock (TABLE_NAME)');
    out('TableArn', this.table.tableArn, 'Pipeline table ARN');
    out('ModelPackageGroupName', this.modelPackageGroupName, 'Model registry group (MODEL_PACKAGE_GROUP_NAME)');
    out('ModelPackageGroupArn', this.modelPackageGroupArn, 'Model registry group ARN');
  }

  /**
   * ARN of objects in the features bucket matching `keyPattern` (e.g. `inference/*`), as a stack-agnostic string:
   * use it in IAM statements of other stacks (no cross-stack reference; readable cdk-nag finding ids).
   */
  public featuresObjectsArn(keyPattern: string): string {
    return `arn:${Aws.PARTITION}:s3:::${this.featuresBucketName}/${keyPattern}`;
  }

  /** ARN of objects in the artifacts bucket matching `keyPattern` (e.g. `results/*`); see {@link featuresObjectsArn}. */
  public artifactsObjectsArn(keyPattern: string): string {
    return `arn:${Aws.PARTITION}:s3:::${this.artifactsBucketName}/${keyPattern}`;
  }
}

/** Longest region name (`ap-southeast-N`, 14) and an account id (12) bound the generated bucket names. */
const MAX_BUCKET_NAME = 63;

/** `<namePrefix>-<env>-<purpose>-<account>-<region>`; fails synth when it could exceed the S3 limit of 63 characters. */
export function bucketName(config: AppConfig, purpose: string): string {
  const fixed = `${config.namePrefix}-${config.envName}-${purpose}`;
  if (fixed.length + 1 + 12 + 1 + 14 > MAX_BUCKET_NAME) {
    throw new Error(
      `Bucket name "${fixed}-<account>-<region>" can exceed ${MAX_BUCKET_NAME} characters: shorten namePrefix ("${config.namePrefix}") or the environment name ("${config.envName}")`,
    );
  }
  return `${fixed}-${Aws.ACCOUNT_ID}-${Aws.REGION}`;
}
