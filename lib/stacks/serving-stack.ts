import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as elasticache from 'aws-cdk-lib/aws-elasticache';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { type FunctionEnvironment, functionEnvironment } from '../../contracts/function-env';
import { formatLayout, layoutFor } from '../../contracts/score-layout';
import type { AppConfig } from '../config';
import { ProjectFunction } from '../constructs/project-function';
import { grantServingFunctions } from './serving/grants';
import { addReadApi } from './serving/read-api';
import { addResultsTable } from './serving/results-table';
import { addScoreCache } from './serving/score-cache';

/** The variables every score-cache client function gets (the same in the loader, finalizer and reader). */
export type CacheEnvironment = Pick<
  FunctionEnvironment<'load-scores'>,
  'CACHE_HOST' | 'CACHE_PORT' | 'CACHE_TLS' | 'CACHE_AUTH_SECRET_ARN' | 'CACHE_CLUSTER' | 'SCORE_LAYOUT'
>;

export { API_STAGE } from './serving/read-api';

export { CACHE_ENGINE_VERSIONS, CLUSTER_PARAMETER_GROUPS } from './serving/score-cache';

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

    const store = addScoreCache(this, { config, vpc, encryptionKey: key });
    this.cacheSecurityGroup = store.cacheSecurityGroup;
    this.loaderSecurityGroup = store.loaderSecurityGroup;
    this.readerSecurityGroup = store.readerSecurityGroup;
    this.cacheAuthSecret = store.cacheAuthSecret;
    this.cache = store.cache;

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
    grantServingFunctions(this, {
      loader: this.loaderFunction,
      finalizer: this.finalizeFunction,
      reader: this.readerFunction,
      cacheAuthSecretArn: this.cacheAuthSecret.secretArn,
      encryptionKey: key,
      table: props.table,
      artifactsBucketName,
    });

    // --- Read API and offline storage (Glue table over results/ for Athena) -------------------------------------
    const readApi = addReadApi(this, { config, encryptionKey: key, reader: this.readerFunction });
    this.api = readApi.api;
    this.executionLogGroup = readApi.executionLogGroup;
    const results = addResultsTable(this, config, artifactsBucketName);
    this.glueDatabaseName = results.databaseName;
    this.glueTableName = results.tableName;

    this.addOutputs(sharded, cacheCfg.port);
  }

  /** The stack's outputs: API URL, cache endpoint, port and secret, function ARNs, Glue names. */
  private addOutputs(sharded: boolean, port: number): void {
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
    out('CachePort', String(port), 'Score cache port (CACHE_PORT)');
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
