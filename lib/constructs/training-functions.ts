import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { MAP_RESULTS_PREFIXES, QUARANTINE_PREFIX, REPORTS_PREFIX, TRAINING_PREFIX } from '../../contracts/s3-layout';
import type { AppConfig } from '../config';
import { grantMapFailureRead } from './prescoped-map-io';
import { modelPackageArns, modelPackageGroupArn, type ProjectFunction } from './project-function';
import type { Workflow } from './workflow';

/** The environment TrainingWorkflow gives every function it creates (`CODE_VERSION` follows). */
export type TrainingWorkflowEnvironment = {
  readonly TABLE_NAME: string;
  readonly FEATURES_BUCKET: string;
  readonly ARTIFACTS_BUCKET: string;
  readonly MODEL_PACKAGE_GROUP_NAME: string;
};

/** The functions of the Training workflow, by role. */
export interface TrainingFunctions {
  readonly startRun: ProjectFunction;
  /** PlanTrainingData: the objects of the window as tasks. */
  readonly plan: ProjectFunction;
  /** ProfileTask (ProfileTrainingData's items): validate one task's objects. */
  readonly profile: ProjectFunction;
  /** BuildPreprocessingSpec: merge the profiles, check the report, assign the shards. */
  readonly buildSpec: ProjectFunction;
  /** EncodeTask (EncodeTrainingData's items): encode one task's objects into its shards. */
  readonly encode: ProjectFunction;
  /** PrepareTrainingData: sum the encodings into the step's result, record it on the run. */
  readonly prepare: ProjectFunction;
  readonly evaluate: ProjectFunction;
  readonly register: ProjectFunction;
  readonly notify: ProjectFunction;
  readonly complete: ProjectFunction;
  readonly recordFailure: ProjectFunction;
  /** Handles the registry's approval events (not a state of the machine). */
  readonly approval: ProjectFunction;
}

/** Properties of {@link createTrainingFunctions}. */
export interface TrainingFunctionsProps {
  /** Validated settings (training, gate, validation, transform, batch). */
  readonly config: AppConfig;
  /** XGBoost image URI registered as the inference image of each package. */
  readonly imageUri: string;
  /** Topic NotifyApprovers publishes to. */
  readonly approverTopic: sns.ITopic;
  /** BatchInference state machine the approval function may start. */
  readonly batchStateMachineArn: string;
}

/** Properties of {@link grantTrainingFunctions}. */
export interface TrainingAccessProps {
  /** Validated settings (uses `batch.startOnApproval`). */
  readonly config: AppConfig;
  /** Topic NotifyApprovers publishes to. */
  readonly approverTopic: sns.ITopic;
  /** BatchInference state machine the approval function may start. */
  readonly batchStateMachineArn: string;
  /** The `Pipeline` table (tracking records). */
  readonly table: dynamodb.ITable;
  /** Feature store bucket (`training/` is read). */
  readonly featuresBucket: s3.IBucket;
  /** Artifacts bucket (run folders, reports, quarantine). */
  readonly artifactsBucket: s3.IBucket;
  /** The data key (table, buckets, topics). */
  readonly encryptionKey: kms.IKey;
  /** Model Package Group the functions read and register into. */
  readonly modelPackageGroupName: string;
}

/** The functions of the Training workflow in `workflow`, with their environment (a contract with the handlers). */
export function createTrainingFunctions(
  workflow: Workflow<TrainingWorkflowEnvironment>,
  props: TrainingFunctionsProps,
): TrainingFunctions {
  const { config } = props;
  const t = config.training;
  const fn = workflow.addFunction.bind(workflow);
  const gateEnv = {
    GATE_MIN_AUC: String(config.gate.minAuc),
    GATE_MAX_LOGLOSS: String(config.gate.maxLogloss),
    GATE_MAX_AUC_DROP: String(config.gate.maxAucDropVsProduction),
  };
  return {
    startRun: fn('StartRunFunction', 'start-run', 'Training: resolve the data window, create the run record', {
      ...gateEnv,
      VALIDATION_SHARE: String(t.validationShare),
      MAX_INVALID_ROW_RATIO: String(config.validation.maxInvalidRowRatio),
      TRAINING_PARAMS: JSON.stringify({
        instanceType: t.instanceType,
        instanceCount: t.instanceCount,
        useSpot: t.useSpot,
        maxRuntimeSeconds: t.maxRuntimeSeconds,
        maxWaitSeconds: t.maxWaitSeconds,
        xgboostVersion: t.xgboostVersion,
        hyperparameters: t.hyperparameters,
      }),
    }),
    plan: fn(
      'PlanTrainingDataFunction',
      'plan-training-data',
      'Training: list the objects of the data window as prepare tasks',
      { PREPARE_TASK_BYTES: String(t.prepareTaskBytes) },
      { timeout: Duration.minutes(5), memorySize: 512 },
    ),
    profile: fn(
      'ProfileTrainingDataFunction',
      'profile-training-data',
      'Training: validate one task of objects against the contract, quarantine, profile',
      {
        VALIDATION_SHARE: String(t.validationShare),
        MAX_REPORTED_VIOLATIONS: String(config.validation.maxReportedViolations),
      },
      { timeout: Duration.minutes(15), memorySize: 2048 },
    ),
    buildSpec: fn(
      'BuildPreprocessingSpecFunction',
      'build-preprocessing-spec',
      'Training: merge the profiles into the report and preprocessing spec, assign the shards',
      {
        VALIDATION_SHARE: String(t.validationShare),
        MAX_INVALID_ROW_RATIO: String(config.validation.maxInvalidRowRatio),
        MAX_REPORTED_VIOLATIONS: String(config.validation.maxReportedViolations),
        TRAINING_INSTANCE_COUNT: String(t.instanceCount),
        TRAIN_SHARD_MAX_ROWS: String(t.maxRowsPerShard),
      },
      // Reads every profile (B6: ~0.2 s each with its reservoir samples): thousands of tasks need minutes.
      { timeout: Duration.minutes(15), memorySize: 2048 },
    ),
    encode: fn(
      'EncodeTrainingDataFunction',
      'encode-training-data',
      'Training: encode one task of objects into its train shards and validation file',
      { VALIDATION_SHARE: String(t.validationShare) },
      { timeout: Duration.minutes(15), memorySize: 2048 },
    ),
    prepare: fn(
      'PrepareTrainingDataFunction',
      'prepare-training-data',
      'Training: sum the encoded tasks, write the spec and reports, record the counts on the run',
      {
        VALIDATION_SHARE: String(t.validationShare),
        MAX_INVALID_ROW_RATIO: String(config.validation.maxInvalidRowRatio),
        MAX_REPORTED_VIOLATIONS: String(config.validation.maxReportedViolations),
        TRAINING_INSTANCE_COUNT: String(t.instanceCount),
        TRAIN_SHARD_MAX_ROWS: String(t.maxRowsPerShard),
      },
      { timeout: Duration.minutes(5), memorySize: 1024 },
    ),
    evaluate: fn(
      'EvaluateModelFunction',
      'evaluate-model',
      'Training: both models on the same rows, gate decision, reports',
      { ...gateEnv, GATE_DECISION_THRESHOLD: String(config.gate.decisionThreshold) },
      { memorySize: 1024, timeout: Duration.minutes(5) },
    ),
    register: fn('RegisterModelFunction', 'register-model', 'Training: register the model package', {
      INFERENCE_IMAGE_URI: props.imageUri,
      TRANSFORM_INSTANCE_TYPES: config.transform.instanceType,
    }),
    notify: fn('NotifyApproversFunction', 'notify-approvers', 'Training: ask approvers to review', {
      APPROVER_TOPIC_ARN: props.approverTopic.topicArn,
    }),
    complete: fn('CompleteRunFunction', 'complete-run', 'Training: end the run SUCCEEDED or REJECTED', {}),
    recordFailure: fn('RecordFailureFunction', 'record-failure', 'Record a run failure (any workflow)', {}),
    approval: fn(
      'ApprovalEventFunction',
      'approval-event',
      'Model registry: approval history, rollback, optional batch run on approval',
      {
        START_BATCH_ON_APPROVAL: String(config.batch.startOnApproval),
        BATCH_STATE_MACHINE_ARN: props.batchStateMachineArn,
      },
    ),
  };
}

/** Least-privilege access of each function: explicit actions, resources named or prefix-scoped. */
export function grantTrainingFunctions(f: TrainingFunctions, props: TrainingAccessProps): void {
  const { table, featuresBucket, artifactsBucket, encryptionKey: key } = props;
  const group = props.modelPackageGroupName;
  const prefixReason = (what: string) =>
    `${what}: keys under a fixed prefix carry run ids or partition dates known only at run time.`;
  const prepareObjects = {
    key,
    abortMultipart: true,
    reason: prefixReason('Reads training/ features, writes the run folders'),
  };
  const itemWrites = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'];

  f.startRun.grantTableItems(table, key, ['dynamodb:PutItem', 'dynamodb:GetItem']);
  f.startRun.grantListPrefix(featuresBucket, TRAINING_PREFIX);
  // The prepare fan-out: each function reads and writes only what its phase needs (the partials are under
  // training/<runId>/prepare/, the channels under training/<runId>/{train,validation}/).
  f.plan.grantListPrefix(featuresBucket, TRAINING_PREFIX);
  f.plan.grantObjects(artifactsBucket, TRAINING_PREFIX, 'write', prepareObjects);
  for (const reader of [f.profile, f.encode])
    reader.grantObjects(featuresBucket, TRAINING_PREFIX, 'read', prepareObjects);
  f.profile.grantObjects(artifactsBucket, TRAINING_PREFIX, 'write', prepareObjects);
  f.profile.grantObjects(artifactsBucket, QUARANTINE_PREFIX, 'write', prepareObjects);
  for (const merger of [f.buildSpec, f.encode, f.prepare]) {
    merger.grantObjects(artifactsBucket, TRAINING_PREFIX, 'readwrite', prepareObjects);
  }
  f.buildSpec.grantObjects(artifactsBucket, REPORTS_PREFIX, 'write', prepareObjects);
  f.prepare.grantObjects(artifactsBucket, REPORTS_PREFIX, 'write', prepareObjects);
  f.prepare.grantTableItems(table, key, ['dynamodb:UpdateItem']);
  f.evaluate.grantObjects(artifactsBucket, REPORTS_PREFIX, 'readwrite', {
    key,
    abortMultipart: true,
    reason: prefixReason('Writes reports/<runId>/evaluation.json, reads the Production report'),
  });
  f.evaluate.grantTableItems(table, key, ['dynamodb:UpdateItem']);
  f.register.grantModelPackageRead(group);
  f.register.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'CreateModelPackageInGroup',
      actions: ['sagemaker:CreateModelPackage'],
      resources: [modelPackageGroupArn(f.register, group), modelPackageArns(f.register, group)],
    }),
  );
  f.register.grantTableItems(table, key, itemWrites);
  f.notify.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [props.approverTopic.topicArn] }),
  );
  f.notify.grantKeyVia(key, 'sns', ['kms:GenerateDataKey', 'kms:Decrypt']);
  f.complete.grantTableItems(table, key, ['dynamodb:UpdateItem', 'dynamodb:GetItem']);
  // GetItem: a failure under a run id another execution owns reads that record to name it (and leaves it).
  f.recordFailure.grantTableItems(table, key, ['dynamodb:UpdateItem', 'dynamodb:GetItem']);
  grantMapFailureRead(f.recordFailure, {
    bucket: artifactsBucket,
    key,
    resultsPrefixes: MAP_RESULTS_PREFIXES.training,
  });
  f.approval.grantModelPackageRead(group);
  f.approval.grantTableItems(table, key, itemWrites);
  if (props.config.batch.startOnApproval) {
    f.approval.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [props.batchStateMachineArn] }),
    );
  }
}
