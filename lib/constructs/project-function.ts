import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { keysUnder } from '../../contracts/s3-layout';
import { type EnvironmentConfig, EnvironmentConfigSchema, loadConfig } from '../config';
import { acknowledge, NagIds } from '../nag';
import { acknowledgeWildcards } from './wildcards';

/** Repository root (this file lives in `lib/constructs/`). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** CloudFormation metadata key holding the handler module path relative to the repository root. */
export const ENTRY_METADATA_KEY = 'mlops:entry';

/** Namespace of every custom metric the handlers emit (Powertools Metrics / EMF). */
export const METRICS_NAMESPACE = 'MlopsBatchPipeline';

/** The Lambda runtime every project function uses: the newest Node.js line aws-cdk-lib knows. */
export const PROJECT_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** Properties of {@link ProjectFunction}. */
export interface ProjectFunctionProps {
  /**
   * Handler module, relative to the repository root (`lambdas/<name>/handler.ts`) or absolute.
   * The module must export `handler`.
   */
  readonly entry: string;
  /** What the function does (shown in the console). */
  readonly description: string;
  /**
   * Powertools service name (`POWERTOOLS_SERVICE_NAME`), used by the logger, metrics dimension and tracer.
   * @default - the handler's directory name, e.g. `load-scores` for `lambdas/functions/load-scores/handler.ts`
   */
  readonly serviceName?: string;
  /**
   * Environment variables (names from the team contract, e.g. `TABLE_NAME`). The Powertools and
   * `NODE_OPTIONS` variables are set by the construct and cannot be overridden here.
   * @default - only the construct's own variables
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * VPC to run in; the function is placed in its isolated subnets.
   * @default - not in a VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Security groups when `vpc` is set (e.g. the network stack's `functionsSecurityGroup` for endpoint access plus a
   * per-function group for data-plane access such as the cache).
   * @default - a new security group without egress rules when `vpc` is set
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * Maximum run time of one invocation.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Memory in MB (CPU scales with it).
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Reserved concurrency (caps parallel executions, e.g. to protect a downstream store).
   * @default - unreserved (account pool)
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Retention of the function's log group.
   * @default - `logRetentionDays` of the chosen environment in cdk.json; the schema default (30 days) when the app
   *   carries no `environments` context (unit tests)
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Customer-managed key encrypting the function's log group. The key policy must allow the CloudWatch Logs service
   * principal (the data stack's key does).
   * @default - CloudWatch Logs service-side encryption with an AWS-owned key
   */
  readonly logEncryptionKey?: kms.IKey;
  /**
   * Removal policy of the log group.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (logs outlive a stack deletion for audits)
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** What a function may do with objects under a prefix: read = GetObject, write = PutObject. */
export type ObjectAccess = 'read' | 'write' | 'readwrite';

/** Options of {@link ProjectFunction.grantObjects}. */
export interface GrantObjectsOptions {
  /** The key the bucket encrypts objects with (SSE-KMS); its use is limited to S3 (`kms:ViaService`). */
  readonly key: kms.IKey;
  /**
   * Also allow `s3:AbortMultipartUpload` with the writes (uploads large enough to be split into parts).
   * @default false
   */
  readonly abortMultipart?: boolean;
  /**
   * Why the `<prefix>*` wildcard is acceptable (the cdk-nag IAM5 acknowledgement on the role).
   * @default - the actions and the prefix, and that its keys carry run ids or partitions known only at run time
   */
  readonly reason?: string;
}

/** Options of {@link ProjectFunction.grantTableItems}. */
export interface GrantTableItemsOptions {
  /**
   * Also allow the actions on the table's indexes (`<table ARN>/index/*`).
   * @default false
   */
  readonly indexes?: boolean;
}

/**
 * SageMaker registry actions that take no resource-level permissions: the Service Authorization Reference lists no
 * resource type for them (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html),
 * so a statement naming the group or package ARNs never matches and the call is denied. Granted on `*` here only.
 * (DescribeModelPackage, DescribeModel and CreateModel do take resource ARNs and stay scoped.)
 */
export const UNSCOPED_REGISTRY_ACTIONS = ['sagemaker:ListModelPackages'] as const;

/** ARN of a Model Package Group of this stack's account and region. */
export function modelPackageGroupArn(scope: Construct, group: string): string {
  return Stack.of(scope).formatArn({ service: 'sagemaker', resource: 'model-package-group', resourceName: group });
}

/** ARNs of the versioned packages of a group (these ARNs use the lower-cased group name). */
export function modelPackageArns(scope: Construct, group: string): string {
  return Stack.of(scope).formatArn({
    service: 'sagemaker',
    resource: 'model-package',
    resourceName: `${group.toLowerCase()}/*`,
  });
}

/** Repository-relative POSIX path of a handler entry. */
export function entryRelativePath(entry: string): string {
  const abs = path.isAbsolute(entry) ? entry : path.resolve(REPO_ROOT, entry);
  return path.relative(REPO_ROOT, abs).split(path.sep).join('/');
}

/** The chosen environment's config; the schema defaults when the app carries no `environments` context (unit tests). */
function configuredEnvironment(scope: Construct): EnvironmentConfig {
  const node = scope.node;
  return node.tryGetContext('environments') === undefined ? EnvironmentConfigSchema.parse({}) : loadConfig(node);
}

/**
 * The execution role of a project function (a sibling of the function, created before it): log writes scoped to its
 * own log group, and the ENI actions Lambda needs in a VPC.
 */
function createExecutionRole(
  scope: Construct,
  id: string,
  serviceName: string,
  logGroup: logs.ILogGroup,
  inVpc: boolean,
): iam.Role {
  const statements = [
    new iam.PolicyStatement({
      sid: 'WriteOwnLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  ];
  if (inVpc) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'ManageVpcNetworkInterfaces',
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );
  }
  return new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Execution role of ${serviceName}`,
    inlinePolicies: { Base: new iam.PolicyDocument({ statements }) },
  });
}

/**
 * A Node.js Lambda function with the project defaults: newest Node.js runtime, ARM64, X-Ray active tracing, minified
 * CommonJS bundle with source maps (`NODE_OPTIONS=--enable-source-maps`; config `sourceMaps`), an explicit log group with the
 * configured retention (optionally KMS-encrypted), Powertools environment, and a least-privilege execution role
 * (no AWS managed policies: log writes scoped to its own log group; ENI actions only when in a VPC).
 *
 * The handler module path is recorded in the CloudFormation metadata key `mlops:entry` (relative to the repository
 * root) so the local runtime can map a Lambda ARN in a synthesized state machine back to its module.
 */
export class ProjectFunction extends NodejsFunction {
  /** The function's log group. */
  public readonly functionLogGroup: logs.LogGroup;
  /** Handler module path relative to the repository root (the `mlops:entry` metadata value). */
  public readonly entryPath: string;
  /** Powertools service name of this function. */
  public readonly serviceName: string;

  constructor(scope: Construct, id: string, props: ProjectFunctionProps) {
    const entryPath = entryRelativePath(props.entry);
    const serviceName = props.serviceName ?? path.posix.basename(path.posix.dirname(entryPath));
    const config = configuredEnvironment(scope);
    const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetention ?? (config.logRetentionDays as logs.RetentionDays),
      encryptionKey: props.logEncryptionKey,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    const role = createExecutionRole(scope, `${id}Role`, serviceName, logGroup, props.vpc !== undefined);

    super(scope, id, {
      entry: path.resolve(REPO_ROOT, entryPath),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: PROJECT_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      tracing: lambda.Tracing.ACTIVE,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      logGroup,
      role,
      vpc: props.vpc,
      vpcSubnets: props.vpc ? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } : undefined,
      securityGroups: props.vpc ? props.securityGroups : undefined,
      allowAllOutbound: props.vpc && !props.securityGroups ? false : undefined,
      environment: {
        ...props.environment,
        ...(config.sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
        POWERTOOLS_SERVICE_NAME: serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
      bundling: {
        minify: true,
        // The maps are about half of cdk.out (see the README's Configuration table, `sourceMaps`).
        sourceMap: config.sourceMaps,
        sourcesContent: false,
        format: OutputFormat.CJS,
        // esbuild's per-bundle size table and timing (4 lines per function) only bury synth's own messages.
        logLevel: LogLevel.ERROR,
        // The AWS SDK v3 ships with the Node.js runtime; bundle everything else.
        externalModules: ['@aws-sdk/*'],
      },
    });
    this.functionLogGroup = logGroup;
    this.entryPath = entryPath;
    this.serviceName = serviceName;
    (this.node.defaultChild as lambda.CfnFunction).addMetadata(ENTRY_METADATA_KEY, entryPath);

    // Role and log group are siblings (created before super()); the nag finding lives on the role's policies.
    acknowledge(role, {
      id: NagIds.iam5Resource,
      reason: props.vpc
        ? `${serviceName}: X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) and the Lambda VPC ENI actions ` +
          '(Create/Describe/DeleteNetworkInterface, DescribeSubnets, Assign/UnassignPrivateIpAddresses) do not support ' +
          'resource-level permissions; all other statements name their resources.'
        : `${serviceName}: X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) do not support resource-level ` +
          'permissions; all other statements name their resources.',
    });
  }

  // Explicit statements rather than `table.grant*()` / `bucket.grant*()` / `key.grant*()`: those add `*`-suffixed
  // actions and, for the data stack's key, would edit its key policy from another stack (a cross-stack cycle). The
  // key policy trusts the account, so IAM statements suffice; `kms:ViaService` limits each key use to one service.

  /**
   * Item actions on `table` (and its indexes with `indexes`), plus the key use DynamoDB makes on the caller's behalf
   * (encrypt and generate data keys only when an action writes).
   */
  public grantTableItems(
    table: dynamodb.ITable,
    key: kms.IKey,
    actions: string[],
    options: GrantTableItemsOptions = {},
  ): void {
    const resources = [table.tableArn];
    const indexes = `${table.tableArn}/index/*`;
    if (options.indexes) resources.push(indexes);
    this.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
    if (options.indexes) {
      acknowledgeWildcards(
        this.role ?? this,
        "Query on the Pipeline table's indexes (gsi1: pending ledger objects, runs by kind); the index ARN ends in /index/<name>.",
        indexes,
      );
    }
    const writes = actions.some((a) => /Put|Update|Delete|Write/.test(a));
    this.grantKeyVia(
      key,
      'dynamodb',
      writes
        ? ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey']
        : ['kms:Decrypt', 'kms:DescribeKey'],
    );
  }

  /** Object access under `prefix` of `bucket`, with the SSE-KMS key use it needs. */
  public grantObjects(bucket: s3.IBucket, prefix: string, mode: ObjectAccess, options: GrantObjectsOptions): void {
    const writes = options.abortMultipart ? ['s3:PutObject', 's3:AbortMultipartUpload'] : ['s3:PutObject'];
    const actions = [...(mode !== 'write' ? ['s3:GetObject'] : []), ...(mode !== 'read' ? writes : [])];
    const objects = bucket.arnForObjects(keysUnder(prefix));
    this.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [objects] }));
    acknowledgeWildcards(
      this.role ?? this,
      options.reason ??
        `${actions.join('/')} under ${prefix} only: keys there are per run (run id = execution name) or per partition (dt=), known only at run time.`,
      objects,
    );
    this.grantKeyVia(options.key, 's3', mode === 'read' ? ['kms:Decrypt'] : ['kms:Decrypt', 'kms:GenerateDataKey']);
  }

  /** `s3:ListBucket` on `bucket`, limited to keys under `prefix`. */
  public grantListPrefix(bucket: s3.IBucket, prefix: string): void {
    this.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [keysUnder(prefix)] } },
      }),
    );
  }

  /** Use of `key` through one AWS service only (`kms:ViaService`, e.g. `sns` for an encrypted topic). */
  public grantKeyVia(key: kms.IKey, service: string, actions: string[]): void {
    this.addToRolePolicy(
      new iam.PolicyStatement({
        actions,
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `${service}.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }

  /**
   * Describe the packages of Model Package Group `group`, and list packages. The one registry read every function uses
   * (Training and BatchInference stacks alike).
   */
  public grantModelPackageRead(group: string): void {
    const packages = modelPackageArns(this, group);
    this.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sagemaker:DescribeModelPackage'], resources: [packages] }),
    );
    this.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'ListModelPackages', actions: [...UNSCOPED_REGISTRY_ACTIONS], resources: ['*'] }),
    );
    acknowledgeWildcards(
      this.role ?? this,
      'Model package versions of this group only (versions are created at run time); ListModelPackages supports no ' +
        'resource-level permissions.',
      packages,
    );
  }
}
