import { Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import {
  BATCH_PREFIX,
  INFERENCE_PREFIX,
  MAP_RESULTS_PREFIXES,
  QUARANTINE_PREFIX,
  REPORTS_PREFIX,
  TRAINING_PREFIX,
} from '../../contracts/s3-layout';
import { formatLayout, layoutFor } from '../../contracts/score-layout';
import { type AppConfig, rescoreWindowDays } from '../config';
import { acknowledge, iam5ResourceId } from '../nag';
import { grantMapFailureRead } from './prescoped-map-io';
import { ProjectFunction } from './project-function';
import type { Workflow } from './workflow';

/** The environment BatchInferenceWorkflow gives every function it creates (`CODE_VERSION` follows). */
export type BatchWorkflowEnvironment = {
  readonly TABLE_NAME: string;
  readonly FEATURES_BUCKET: string;
  readonly ARTIFACTS_BUCKET: string;
  readonly KMS_KEY_ARN: string;
};

/** The functions the BatchInference workflow creates, by role (for alarms and tests). */
export interface BatchFunctions {
  readonly acquireLock: ProjectFunction;
  readonly releaseLock: ProjectFunction;
  readonly findUnscored: ProjectFunction;
  readonly resolveModel: ProjectFunction;
  /** PlanPrepare: the run's objects into prepare tasks. */
  readonly planPrepare: ProjectFunction;
  /** PrepareSlice: one prepare task (an item of the PrepareTasks Distributed Map). */
  readonly prepareSlice: ProjectFunction;
  /** PrepareInferenceData: the reducer of the prepare tasks. */
  readonly prepareInferenceData: ProjectFunction;
  readonly commitLedger: ProjectFunction;
  readonly notify: ProjectFunction;
}

/** Properties of {@link createBatchFunctions}. */
export interface BatchFunctionsProps {
  /** Validated settings (batch caps, validation, cache segment, drift). */
  readonly config: AppConfig;
  /** Model Package Group the Production model is resolved from. */
  readonly modelPackageGroupName: string;
  /** Role SageMaker assumes to run the model (passed to CreateModel). */
  readonly sageMakerRole: iam.IRole;
  /** Topic for run summaries and failure alerts. */
  readonly alertTopic: sns.ITopic;
}

/** Properties of {@link grantBatchFunctions}. */
export interface BatchAccessProps extends BatchFunctionsProps {
  /** The `Pipeline` table (ledger, lock, tracking). */
  readonly table: dynamodb.ITable;
  /** Feature store bucket (`inference/` is read). */
  readonly featuresBucket: s3.IBucket;
  /** Artifacts bucket (batch input, quarantine, reports; preprocessing specs are read). */
  readonly artifactsBucket: s3.IBucket;
  /** The data key (table, buckets, topic). */
  readonly encryptionKey: kms.IKey;
  /** Prefix of the SageMaker Models ResolveModel creates (`<prefix>-v<version>`). */
  readonly namePrefix: string;
}

/** The functions of the BatchInference workflow in `workflow`, with their environment (a contract with the handlers). */
export function createBatchFunctions(
  workflow: Workflow<BatchWorkflowEnvironment>,
  props: BatchFunctionsProps,
): BatchFunctions {
  const { config } = props;
  const fn = workflow.addFunction.bind(workflow);
  return {
    acquireLock: fn(
      'AcquireLockFunction',
      'acquire-lock',
      'BatchInference: take the batch lock, start the run record',
      {
        LOCK_LEASE_SECONDS: String(config.batch.lockLeaseSeconds),
      },
    ),
    releaseLock: fn('ReleaseLockFunction', 'release-lock', 'BatchInference: release the batch lock (owner only)', {}),
    findUnscored: fn(
      'FindUnscoredFunction',
      'find-unscored',
      'BatchInference: PENDING feature objects and those due for the Production version',
      {
        MAX_OBJECTS_PER_RUN: String(config.batch.maxObjectsPerRun),
        RESCORE_WINDOW_DAYS: String(rescoreWindowDays(config)),
      },
    ),
    resolveModel: fn('ResolveModelFunction', 'resolve-model', 'BatchInference: resolve the Production model', {
      MODEL_PACKAGE_GROUP_NAME: props.modelPackageGroupName,
      SAGEMAKER_ROLE_ARN: props.sageMakerRole.roleArn,
    }),
    planPrepare: fn(
      'PlanPrepareFunction',
      'plan-prepare',
      "BatchInference: split the run's feature objects into prepare tasks",
      {
        PREPARE_BYTES_PER_TASK: String(config.batch.prepareBytesPerTask),
        // The Serving stack gives the cache clients the same value (serving-stack.ts).
        SCORE_LAYOUT: formatLayout(layoutFor(config.cache.shards, config.cache.expectedEntities)),
      },
      { timeout: Duration.minutes(5) },
    ),
    prepareSlice: fn(
      'PrepareSliceFunction',
      'prepare-slice',
      'BatchInference: validate, quarantine and encode one prepare task into transform input parts',
      {
        SEGMENT_FEATURE: config.cache.segmentFeature,
        MAX_REPORTED_VIOLATIONS: String(config.validation.maxReportedViolations),
        TARGET_ROWS_PER_PART: String(config.batch.targetRowsPerPart),
        COALESCE_ROWS: String(config.batch.coalesceRows ?? Math.floor(config.batch.targetRowsPerPart / 4)),
      },
      { timeout: Duration.minutes(15), memorySize: 2048 },
    ),
    prepareInferenceData: fn(
      'PrepareInferenceDataFunction',
      'prepare-inference-data',
      'BatchInference: merge the prepare tasks into the manifest, part lists and reports',
      {
        MAX_INVALID_ROW_RATIO: String(config.validation.maxInvalidRowRatio),
        MAX_REPORTED_VIOLATIONS: String(config.validation.maxReportedViolations),
        DRIFT_PSI_THRESHOLD: String(config.monitoring.driftPsiThreshold),
        FAIL_ON_DRIFT: String(config.monitoring.failOnDrift),
      },
      { timeout: Duration.minutes(15), memorySize: 1024 },
    ),
    commitLedger: fn(
      'CommitLedgerFunction',
      'commit-ledger',
      "BatchInference: mark the run's objects SCORED (or QUARANTINED)",
      { MAX_RUNS_PER_CHAIN: String(config.batch.maxRunsPerChain) },
    ),
    notify: fn('NotifyFunction', 'notify', 'BatchInference: publish the run summary or failure alert', {
      ALERT_TOPIC_ARN: props.alertTopic.topicArn,
    }),
  };
}

/**
 * Least-privilege access of each function (and of `recordFailure` when it is a ProjectFunction created here):
 * explicit actions, resources named or prefix-scoped.
 */
export function grantBatchFunctions(f: BatchFunctions, props: BatchAccessProps, recordFailure: lambda.IFunction): void {
  const { table, featuresBucket, artifactsBucket, encryptionKey: key } = props;
  f.acquireLock.grantTableItems(table, key, ['dynamodb:GetItem', 'dynamodb:PutItem']);
  f.releaseLock.grantTableItems(table, key, ['dynamodb:GetItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem']);
  f.findUnscored.grantTableItems(table, key, ['dynamodb:Query', 'dynamodb:GetItem'], { indexes: true });
  f.resolveModel.grantTableItems(table, key, ['dynamodb:GetItem', 'dynamodb:PutItem']);
  f.commitLedger.grantTableItems(table, key, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
  // Records the feature drift of the run (PSI per feature) on the run record.
  f.prepareInferenceData.grantTableItems(table, key, ['dynamodb:UpdateItem']);
  if (recordFailure instanceof ProjectFunction) {
    recordFailure.grantTableItems(table, key, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    grantMapFailureRead(recordFailure, { bucket: artifactsBucket, key, resultsPrefixes: MAP_RESULTS_PREFIXES.batch });
  }

  f.findUnscored.grantObjects(artifactsBucket, BATCH_PREFIX, 'write', { key });
  f.commitLedger.grantObjects(artifactsBucket, BATCH_PREFIX, 'read', { key });
  // PlanPrepare: reads the work's object list and writes the tasks (batch/), sizes objects by HeadObject (inference/),
  // checks the model's spec (training/).
  f.planPrepare.grantObjects(artifactsBucket, BATCH_PREFIX, 'readwrite', { key });
  f.planPrepare.grantObjects(featuresBucket, INFERENCE_PREFIX, 'read', { key });
  f.planPrepare.grantObjects(artifactsBucket, TRAINING_PREFIX, 'read', { key });
  // PrepareSlice: reads its task and the objects, the model's spec (training/); writes parts and its partial
  // (batch/) and quarantined rows and objects (quarantine/).
  f.prepareSlice.grantObjects(artifactsBucket, BATCH_PREFIX, 'readwrite', { key });
  f.prepareSlice.grantObjects(featuresBucket, INFERENCE_PREFIX, 'read', { key });
  f.prepareSlice.grantObjects(artifactsBucket, TRAINING_PREFIX, 'read', { key });
  f.prepareSlice.grantObjects(artifactsBucket, QUARANTINE_PREFIX, 'write', { key });
  // The reducer: reads the partials and writes the manifest and part lists (batch/), reads the spec, writes reports.
  f.prepareInferenceData.grantObjects(artifactsBucket, BATCH_PREFIX, 'readwrite', { key });
  f.prepareInferenceData.grantObjects(artifactsBucket, TRAINING_PREFIX, 'read', { key });
  f.prepareInferenceData.grantObjects(artifactsBucket, REPORTS_PREFIX, 'write', { key });

  f.notify.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'PublishRunNotifications',
      actions: ['sns:Publish'],
      resources: [props.alertTopic.topicArn],
    }),
  );
  f.notify.grantKeyVia(key, 'sns', ['kms:Decrypt', 'kms:GenerateDataKey']);
  grantResolveModel(f.resolveModel, props);
}

/** Find the Production package of the group, create its SageMaker Model (named by version), pass the model role. */
function grantResolveModel(fn: ProjectFunction, props: BatchAccessProps): void {
  const group = props.modelPackageGroupName;
  const stack = Stack.of(fn);
  // The same registry read as the Training functions (ListModelPackages on `*`: it has no resource-level permissions).
  fn.grantModelPackageRead(group);
  const models = stack.formatArn({ service: 'sagemaker', resource: 'model', resourceName: `${props.namePrefix}-v*` });
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ManageProductionModel',
      actions: ['sagemaker:DescribeModel', 'sagemaker:CreateModel', 'sagemaker:AddTags'],
      resources: [models],
    }),
  );
  acknowledge(fn.role!, {
    id: iam5ResourceId(fn, models),
    reason: `Describe/CreateModel only for Models named ${props.namePrefix}-v<version>; the version is known at run time.`,
  });
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'PassSageMakerRole',
      actions: ['iam:PassRole'],
      resources: [props.sageMakerRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    }),
  );
}
