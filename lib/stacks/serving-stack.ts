import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { type FunctionEnvironment, functionEnvironment } from '../../contracts/function-env';
import { LOAD_RESULTS_PREFIX, RESULTS_PREFIX, resultsPrefix, s3Uri } from '../../contracts/s3-layout';
import { formatLayout, layoutFor } from '../../contracts/score-layout';
import { productionKey } from '../../contracts/table-keys';
import type { AppConfig } from '../config';
import { ProjectFunction } from '../constructs/project-function';
import { acknowledge, iam5ResourceId } from '../nag';

/** The variables every score-cache client function gets (the same in the loader, finalizer and reader). */
export type CacheEnvironment = Pick<
  FunctionEnvironment<'load-scores'>,
  'CACHE_HOST' | 'CACHE_PORT' | 'CACHE_TLS' | 'CACHE_AUTH_SECRET_ARN' | 'CACHE_CLUSTER' | 'SCORE_LAYOUT'
>;

/** Stage of the read API (a literal: the execution log group's name needs it without a reference to the stage). */
export const API_STAGE = 'v1';

/** Engine versions per configured engine (ElastiCache replication group). */
export const CACHE_ENGINE_VERSIONS = { redis: '7.1', valkey: '8.0' } as const;
/** The default cluster-mode parameter group of each engine version above. */
export const CLUSTER_PARAMETER_GROUPS = {
  redis: 'default.redis7.cluster.on',
  valkey: 'default.valkey8.cluster.on',
} as const;

/** Properties of {@link ServingStack}. */
export interface ServingStackProps extends StackProps {
  /** Validated settings (uses `cache`, `api`, `namePrefix`, `envName`). */
  readonly config: AppConfig;
  /** VPC with isolated subnets (network stack). */
  readonly vpc: ec2.IVpc;
  /** Security group every in-VPC function carries for HTTPS to the VPC endpoints (network stack). */
  readonly functionsSecurityGroup: ec2.ISecurityGroup;
  /** Customer-managed key: cache at rest, AUTH secret, log groups (data stack). */
  readonly encryptionKey: kms.IKey;
  /**
   * Name of the artifacts bucket holding `results/` (data stack's stack-agnostic `artifactsBucketName`, so object ARNs
   * here need no cross-stack reference).
   */
  readonly artifactsBucketName: string;
  /** Pipeline table (data stack): the finalizer and the reader read its Production pointer item only. */
  readonly table: dynamodb.ITable;
}

/**
 * Serving: the score store — an ElastiCache replication group (Redis or Valkey; TLS, AUTH token kept
 * in Secrets Manager, KMS at rest, non-default port, isolated subnets, reachable only from the loader and reader
 * security groups) — the loader and finalizer functions the BatchInference workflow invokes, the read API (REST, IAM
 * auth, throttling, KMS-encrypted access logs, request validation) and the Glue table over `results/` for Athena.
 *
 * The cache holds derived data only (every score is reloadable from `results/`), so it lives here with its clients;
 * it is snapshotted, not retained, when the stack is deleted.
 */
export class ServingStack extends Stack {
  /**
   * The replication group: `cache.shards` 1 → cluster mode disabled (one shard); more → cluster mode enabled with
   * that many shards; `replicasPerShard` replicas each.
   */
  public readonly cache: elasticache.CfnReplicationGroup;
  /** Security group of the cache: admits the cache port from the loader and reader groups only. */
  public readonly cacheSecurityGroup: ec2.SecurityGroup;
  /** Secret holding the cache AUTH token (plain string, generated at deploy time). */
  public readonly cacheAuthSecret: secretsmanager.Secret;
  /** Security group of the loader and finalizer (cache clients that write). */
  public readonly loaderSecurityGroup: ec2.SecurityGroup;
  /** Security group of the reader (cache client that reads). */
  public readonly readerSecurityGroup: ec2.SecurityGroup;
  /** `LoadScores` function (`lambdas/load-scores`), invoked by the BatchInference Map. */
  public readonly loaderFunction: ProjectFunction;
  /** `FinalizeScores` function (`lambdas/finalize-scores`), invoked after the Map. */
  public readonly finalizeFunction: ProjectFunction;
  /** Read API function (`lambdas/read-scores`). */
  public readonly readerFunction: ProjectFunction;
  /** The read API. */
  public readonly api: apigw.RestApi;
  /** Execution log group of the API's stage (`API-Gateway-Execution-Logs_<api id>/<stage>`). */
  public readonly executionLogGroup: logs.LogGroup;
  /** Glue database of the offline score storage. */
  public readonly glueDatabaseName: string;
  /** Glue table over `results/` (partition projection on model_version and run). */
  public readonly glueTableName: string;
  /** Environment variables naming the cache (read by lambdas/platform/redis.ts), for any further cache client. */
  public readonly cacheEnvironment: CacheEnvironment;

  constructor(scope: Construct, id: string, props: ServingStackProps) {
    super(scope, id, props);
    const { config, vpc, encryptionKey: key, artifactsBucketName } = props;
    const cacheCfg = config.cache;
    const sharded = cacheCfg.shards > 1;
    const isolated: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

    // --- Security groups -------------------------------------------------------------------------------------
    const sg = (sgId: string, description: string) =>
      new ec2.SecurityGroup(this, sgId, { vpc, description, allowAllOutbound: false });
    this.cacheSecurityGroup = sg('CacheSecurityGroup', 'Score cache: cache port from loader and reader only');
    this.loaderSecurityGroup = sg('LoaderSecurityGroup', 'Score loader/finalizer: egress to the cache port');
    this.readerSecurityGroup = sg('ReaderSecurityGroup', 'Score reader: egress to the cache port');
    for (const [client, name] of [
      [this.loaderSecurityGroup, 'loader'],
      [this.readerSecurityGroup, 'reader'],
    ] as const) {
      this.cacheSecurityGroup.addIngressRule(client, ec2.Port.tcp(cacheCfg.port), `Cache from the ${name}`);
      client.addEgressRule(this.cacheSecurityGroup, ec2.Port.tcp(cacheCfg.port), 'To the score cache');
    }

    // --- AUTH token: generated by Secrets Manager, referenced dynamically, never in the template ---------------
    this.cacheAuthSecret = new secretsmanager.Secret(this, 'CacheAuthToken', {
      description: `${config.namePrefix} ${config.envName}: AUTH token of the score cache`,
      encryptionKey: key,
      // ElastiCache AUTH tokens: 16-128 printable characters without @ " / (no punctuation at all here).
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    });
    acknowledge(this.cacheAuthSecret, {
      id: 'AwsSolutions-SMG4',
      reason:
        'The cache AUTH token cannot be rotated by a Secrets Manager rotation schedule alone: rotation needs ' +
        'ModifyReplicationGroup(AuthTokenUpdateStrategy ROTATE then SET) in step with the clients; it is an operator runbook step ' +
        '(put the new token in the secret, ModifyReplicationGroup ROTATE, recycle the functions ' +
        'so new containers read it, then SET).',
    });

    // --- Replication group ---------------------------------------------------------------------------------------
    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'CacheSubnetGroup', {
      description: 'Score cache: isolated subnets',
      subnetIds: vpc.selectSubnets(isolated).subnetIds,
    });
    this.cache = new elasticache.CfnReplicationGroup(this, 'ScoreCache', {
      replicationGroupDescription: `${config.namePrefix} ${config.envName} score store`,
      engine: cacheCfg.engine,
      engineVersion: CACHE_ENGINE_VERSIONS[cacheCfg.engine],
      cacheNodeType: cacheCfg.nodeType,
      numNodeGroups: cacheCfg.shards,
      replicasPerNodeGroup: cacheCfg.replicasPerShard,
      // Cluster mode enabled requires automatic failover (AWS rejects it off).
      ...(sharded
        ? {
            clusterMode: 'enabled',
            cacheParameterGroupName: CLUSTER_PARAMETER_GROUPS[cacheCfg.engine],
          }
        : {}),
      automaticFailoverEnabled: cacheCfg.multiAz || sharded,
      multiAzEnabled: cacheCfg.multiAz,
      port: cacheCfg.port,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.cacheSecurityGroup.securityGroupId],
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      kmsKeyId: key.keyArn,
      authToken: this.cacheAuthSecret.secretValue.unsafeUnwrap(),
      autoMinorVersionUpgrade: true,
      snapshotRetentionLimit: cacheCfg.multiAz ? 1 : 0,
      preferredMaintenanceWindow: 'sun:04:00-sun:05:00',
    });
    this.cache.applyRemovalPolicy(RemovalPolicy.SNAPSHOT);
    if (!cacheCfg.multiAz) {
      acknowledge(this.cache, {
        id: 'AwsSolutions-AEC4',
        reason: `Environment ${config.envName} runs one cache node (cache.multiAz=false) to save cost; every score is reloadable from results/ by re-running the batch. Prod config enables Multi-AZ with a replica.`,
      });
    }

    this.cacheEnvironment = {
      // Cluster mode disabled: the primary endpoint follows a failover to the promoted replica. Cluster mode: the
      // configuration endpoint, from which the client discovers every shard.
      CACHE_HOST: sharded ? this.cache.attrConfigurationEndPointAddress : this.cache.attrPrimaryEndPointAddress,
      CACHE_PORT: String(cacheCfg.port),
      CACHE_TLS: 'true',
      CACHE_AUTH_SECRET_ARN: this.cacheAuthSecret.secretArn,
      CACHE_CLUSTER: String(sharded),
      SCORE_LAYOUT: formatLayout(layoutFor(cacheCfg.shards, cacheCfg.expectedEntities)),
    };
    // The reader reads from replicas when there are any, so loads on the primary do not delay reads: the reader
    // endpoint (one shard) or replica routing by the cluster client (READONLY connections, CACHE_CLUSTER).
    const readerEnvironment: CacheEnvironment =
      !sharded && cacheCfg.replicasPerShard > 0
        ? { ...this.cacheEnvironment, CACHE_HOST: this.cache.attrReaderEndPointAddress }
        : this.cacheEnvironment;

    // --- Functions -------------------------------------------------------------------------------------------
    const inVpc = (clientSg: ec2.ISecurityGroup) => ({
      vpc,
      securityGroups: [props.functionsSecurityGroup, clientSg],
      logEncryptionKey: key,
    });
    this.loaderFunction = new ProjectFunction(this, 'LoadScores', {
      entry: 'lambdas/functions/load-scores/handler.ts',
      description: 'LoadScores: stream one transform result file into the score cache (conditional batched upsert)',
      environment: functionEnvironment('load-scores', {
        ...this.cacheEnvironment,
        SCORE_TTL_SECONDS: String(cacheCfg.scoreTtlDays * 86_400),
      }),
      timeout: Duration.minutes(10),
      memorySize: 1024,
      ...inVpc(this.loaderSecurityGroup),
    });
    this.finalizeFunction = new ProjectFunction(this, 'FinalizeScores', {
      entry: 'lambdas/functions/finalize-scores/handler.ts',
      description: 'FinalizeScores: reconcile row counts, write fallback records and meta:latest',
      environment: functionEnvironment('finalize-scores', {
        ...this.cacheEnvironment,
        SEGMENT_FEATURE: cacheCfg.segmentFeature,
        TABLE_NAME: props.table.tableName,
      }),
      timeout: Duration.minutes(2),
      ...inVpc(this.loaderSecurityGroup),
    });
    this.readerFunction = new ProjectFunction(this, 'ReadScores', {
      entry: 'lambdas/functions/read-scores/handler.ts',
      description: 'Read API: score by entity id (model or fallback), batch lookup',
      environment: functionEnvironment('read-scores', {
        ...readerEnvironment,
        MAX_BATCH_IDS: String(config.api.maxBatchIds),
        TABLE_NAME: props.table.tableName,
      }),
      timeout: Duration.seconds(10),
      memorySize: 1024,
      ...inVpc(this.readerSecurityGroup),
    });
    // Explicit statements instead of secret.grantRead()/key.grantDecrypt(): those would add this stack's roles to the
    // data stack's key policy (a cross-stack cycle). The key policy trusts the account, so IAM policies suffice; the
    // kms:ViaService condition limits each decrypt to the service that needs it.
    for (const fn of [this.loaderFunction, this.finalizeFunction, this.readerFunction]) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'ReadCacheAuthToken',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [this.cacheAuthSecret.secretArn],
        }),
      );
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'DecryptCacheAuthToken',
          actions: ['kms:Decrypt'],
          resources: [key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${this.region}.amazonaws.com` } },
        }),
      );
    }
    // The finalizer and the reader read one item of the table: the Production pointer (its partition key only).
    for (const fn of [this.finalizeFunction, this.readerFunction]) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'ReadProductionPointer',
          actions: ['dynamodb:GetItem'],
          resources: [props.table.tableArn],
          conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [productionKey().pk] } },
        }),
      );
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'DecryptPipelineTable',
          actions: ['kms:Decrypt'],
          resources: [key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${this.region}.amazonaws.com` } },
        }),
      );
    }
    // The loader reads result files only (results/ is SSE-KMS with the data key).
    const resultsObjects = `arn:${Aws.PARTITION}:s3:::${artifactsBucketName}/${RESULTS_PREFIX}*`;
    this.loaderFunction.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'ReadTransformResults', actions: ['s3:GetObject'], resources: [resultsObjects] }),
    );
    acknowledge(this.loaderFunction.role!, {
      id: iam5ResourceId(this, resultsObjects),
      reason:
        'LoadScores reads whichever result file the BatchInference Map hands it (results/model_version=N/run=R/part.out); ' +
        'the grant is GetObject only and limited to the results/ prefix.',
    });
    this.loaderFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DecryptTransformResults',
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` } },
      }),
    );

    // The finalizer reads the LoadScores Distributed Map's per-part results (ResultWriter files, SSE-KMS).
    const loadResults = `arn:${Aws.PARTITION}:s3:::${artifactsBucketName}/${LOAD_RESULTS_PREFIX}*`;
    this.finalizeFunction.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'ReadLoadResults', actions: ['s3:GetObject'], resources: [loadResults] }),
    );
    acknowledge(this.finalizeFunction.role!, {
      id: iam5ResourceId(this, loadResults),
      reason:
        'FinalizeScores reads the manifest and result files the LoadScores Distributed Map wrote under a map-run id ' +
        'known only at run time; GetObject only, limited to that prefix.',
    });
    this.finalizeFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DecryptLoadResults',
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` } },
      }),
    );

    // --- Read API ---------------------------------------------------------------------------------------------
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      encryptionKey: key,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    this.api = new apigw.RestApi(this, 'ReadApi', {
      restApiName: `${config.namePrefix}-${config.envName}-scores`,
      description: 'Score read API (IAM auth): GET /scores/{entityId}, POST /scores/batch',
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
      deployOptions: {
        stageName: API_STAGE,
        throttlingRateLimit: config.api.throttleRateLimit,
        throttlingBurstLimit: config.api.throttleBurstLimit,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
      },
    });
    // Execution logging (loggingLevel ERROR) writes to `API-Gateway-Execution-Logs_<api id>/<stage>`, a group API
    // Gateway would otherwise create itself, unencrypted and never expiring. Created here first (the stage depends on
    // it), with the project key and retention; its name follows the API id, so a retried first deploy never collides.
    this.executionLogGroup = new logs.LogGroup(this, 'ApiExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${API_STAGE}`,
      retention: config.logRetentionDays as logs.RetentionDays,
      encryptionKey: key,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    this.api.deploymentStage.node.addDependency(this.executionLogGroup);
    acknowledge(this.api, {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        'Account-level API Gateway CloudWatch role (execution logging, required by APIG6): AWS documents this managed ' +
        'policy for it; it is assumed by apigateway.amazonaws.com only.',
    });
    acknowledge(
      this.api,
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'IAM-authorized internal API (SigV4-signed callers only, no anonymous traffic) with stage throttling; a WAF ' +
          'web ACL adds cost without protecting anything IAM auth does not already reject.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason: 'Callers are AWS principals (services, operators) authorized with IAM (SigV4), not Cognito end users.',
      },
    );

    const integration = new apigw.LambdaIntegration(this.readerFunction, { proxy: true });
    // One validator checking parameters and body (cdk-nag APIG2 wants both on); GET has no body to check.
    const validator = new apigw.RequestValidator(this, 'ValidateRequests', {
      restApi: this.api,
      validateRequestParameters: true,
      validateRequestBody: true,
    });
    const batchModel = this.api.addModel('BatchRequest', {
      contentType: 'application/json',
      modelName: 'BatchRequest',
      description: `Batch lookup: 1..${config.api.maxBatchIds} entity ids`,
      schema: {
        schema: apigw.JsonSchemaVersion.DRAFT4,
        title: 'BatchRequest',
        type: apigw.JsonSchemaType.OBJECT,
        required: ['ids'],
        additionalProperties: false,
        properties: {
          ids: {
            type: apigw.JsonSchemaType.ARRAY,
            minItems: 1,
            maxItems: config.api.maxBatchIds,
            items: { type: apigw.JsonSchemaType.STRING, minLength: 1, maxLength: 128 },
          },
        },
      },
    });
    const scores = this.api.root.addResource('scores');
    scores.addResource('{entityId}').addMethod('GET', integration, {
      requestParameters: { 'method.request.path.entityId': true },
      requestValidator: validator,
    });
    scores.addResource('batch').addMethod('POST', integration, {
      requestModels: { 'application/json': batchModel },
      requestValidator: validator,
    });

    // --- Offline storage: Glue table over results/ for Athena -----------------------------------------------
    this.glueDatabaseName = `${config.namePrefix}_${config.envName}`.replace(/-/g, '_');
    this.glueTableName = 'scores';
    const database = new glue.CfnDatabase(this, 'ResultsDatabase', {
      catalogId: this.account,
      databaseInput: { name: this.glueDatabaseName, description: 'Batch scoring results (offline storage)' },
    });
    const table = new glue.CfnTable(this, 'ResultsTable', {
      catalogId: this.account,
      databaseName: this.glueDatabaseName,
      tableInput: {
        name: this.glueTableName,
        description: 'Transform results: entity_id, segment, score per model version and run',
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          classification: 'csv',
          EXTERNAL: 'TRUE',
          'projection.enabled': 'true',
          'projection.model_version.type': 'integer',
          'projection.model_version.range': '1,1000000',
          'projection.run.type': 'injected',
          // Glue substitutes the partition values into the same layout the transform writes.
          'storage.location.template': s3Uri(artifactsBucketName, resultsPrefix(`\${model_version}`, `\${run}`)),
        },
        partitionKeys: [
          { name: 'model_version', type: 'int' },
          { name: 'run', type: 'string' },
        ],
        storageDescriptor: {
          location: s3Uri(artifactsBucketName, RESULTS_PREFIX),
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
            parameters: { 'field.delim': ',' },
          },
          columns: [
            { name: 'entity_id', type: 'string' },
            { name: 'segment', type: 'string' },
            { name: 'score', type: 'double' },
          ],
        },
      },
    });
    table.addResourceDependency(database);

    // --- Outputs ---------------------------------------------------------------------------------------------
    const out = (outId: string, value: string, description: string) =>
      new CfnOutput(this, outId, { value, description });
    out('ApiUrl', this.api.url, 'Read API base URL (IAM auth): GET scores/{entityId}, POST scores/batch');
    out(
      'CacheEndpoint',
      this.cacheEnvironment.CACHE_HOST,
      sharded
        ? 'Score cache configuration endpoint (CACHE_HOST, cluster mode)'
        : 'Score cache primary endpoint (CACHE_HOST)',
    );
    out('CachePort', String(cacheCfg.port), 'Score cache port (CACHE_PORT)');
    out(
      'CacheAuthSecretArn',
      this.cacheAuthSecret.secretArn,
      'Secret with the cache AUTH token (CACHE_AUTH_SECRET_ARN)',
    );
    out('LoaderFunctionArn', this.loaderFunction.functionArn, 'LoadScores function');
    out('FinalizeFunctionArn', this.finalizeFunction.functionArn, 'FinalizeScores function');
    out('ReaderFunctionArn', this.readerFunction.functionArn, 'Read API function');
    out('GlueDatabaseName', this.glueDatabaseName, 'Glue database of the results table (Athena)');
    out('GlueTableName', this.glueTableName, 'Glue table over results/ (query with WHERE run = ...)');
  }
}
