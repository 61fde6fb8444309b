import { ArnFormat, CfnOutput, Duration, Stack, type StackProps, TimeZone } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { functionEnvironment } from '../../contracts/function-env';
import { BATCH_PREFIX, INFERENCE_PREFIX, RESULTS_PREFIX, TRAINING_PREFIX } from '../../contracts/s3-layout';
import type { AppConfig } from '../config';
import { BatchInferenceWorkflow } from '../constructs/batch-inference-workflow';
import { ProjectFunction } from '../constructs/project-function';
import { sageMakerKeyServices } from '../constructs/tasks/train-job';
import { acknowledgeWildcards } from '../constructs/wildcards';
import { acknowledge, iam5ResourceId, NagIds } from '../nag';

/** Properties of {@link BatchInferenceStack}. */
export interface BatchInferenceStackProps extends StackProps {
  readonly config: AppConfig;
  /** The `Pipeline` table (data stack). */
  readonly table: dynamodb.ITable;
  /**
   * Physical name of the feature store bucket (data stack `featuresBucketName`); it must send events to EventBridge.
   * Names, not bucket references: object ARNs are built from the name without a cross-stack reference.
   */
  readonly featuresBucketName: string;
  /** Physical name of the artifacts bucket (data stack `artifactsBucketName`). */
  readonly artifactsBucketName: string;
  /** The data stack's key (queues, logs, transform output/volume). */
  readonly encryptionKey: kms.IKey;
  readonly modelPackageGroupName: string;
  /**
   * Role SageMaker assumes for Models and transform jobs.
   * @default - a new role (see {@link BatchInferenceStack.transformRole}): reads models and batch input, writes results
   */
  readonly sageMakerRole?: iam.IRole;
  /** Score loader function (Serving stack, `lambdas/load-scores`). */
  readonly loaderFunction: lambda.IFunction;
  /** Score finalizer function (Serving stack, `lambdas/finalize-scores`). */
  readonly finalizeFunction: lambda.IFunction;
  /**
   * Topic for run summaries and failure alerts.
   * @default - a new KMS-encrypted topic in this stack
   */
  readonly alertTopic?: sns.ITopic;
  /**
   * Function run by `RecordFailure`.
   * @default - a new function from `lambdas/functions/record-failure/handler.ts`
   */
  readonly recordFailureFunction?: lambda.IFunction;
  /**
   * Code version recorded on each run (`CODE_VERSION`).
   * @default - `resolveCodeVersion()` (lib/code-version.ts)
   */
  readonly codeVersion?: string;
}

/**
 * BatchInference: the state machine, its EventBridge Scheduler trigger (cron + time zone, retries, KMS
 * dead-letter queue), the arrival rule (S3 Object Created under `inference/` → ledger) and the reconcile function.
 */
export class BatchInferenceStack extends Stack {
  public readonly workflow: BatchInferenceWorkflow;
  /** Role SageMaker assumes to run the Production model in transform jobs. */
  public readonly transformRole: iam.IRole;
  public readonly alertTopic: sns.ITopic;
  public readonly schedule: scheduler.Schedule;
  public readonly scheduleDeadLetterQueue: sqs.Queue;
  public readonly arrivalDeadLetterQueue: sqs.Queue;
  public readonly arrivalFunction: ProjectFunction;
  public readonly reconcileFunction: ProjectFunction;
  public readonly arrivalRule: events.Rule;
  /** Periodic ledger reconcile (config `batch.reconcileSchedule`). */
  public readonly reconcileSchedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: BatchInferenceStackProps) {
    super(scope, id, props);
    const { config, encryptionKey: key, table } = props;
    const featuresBucket = s3.Bucket.fromBucketName(this, 'FeaturesBucket', props.featuresBucketName);
    const artifactsBucket = s3.Bucket.fromBucketName(this, 'ArtifactsBucket', props.artifactsBucketName);
    this.transformRole = props.sageMakerRole ?? this.createTransformRole(artifactsBucket, key);

    this.alertTopic =
      props.alertTopic ??
      new sns.Topic(this, 'AlertTopic', {
        displayName: `${config.namePrefix} ${config.envName} batch runs`,
        masterKey: key,
        enforceSSL: true,
      });

    this.workflow = new BatchInferenceWorkflow(this, 'Workflow', {
      config,
      table,
      featuresBucket,
      artifactsBucket,
      encryptionKey: key,
      modelPackageGroupName: props.modelPackageGroupName,
      sageMakerRole: this.transformRole,
      alertTopic: this.alertTopic,
      loaderFunction: props.loaderFunction,
      finalizeFunction: props.finalizeFunction,
      recordFailureFunction: props.recordFailureFunction,
      codeVersion: props.codeVersion,
    });
    const stateMachine = this.workflow.stateMachine;

    // ---- Scheduler → StartExecution, with retries and a KMS-encrypted dead-letter queue -----------------------
    this.scheduleDeadLetterQueue = new sqs.Queue(this, 'ScheduleDeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.scheduleDeadLetterQueue, {
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue IS the dead-letter queue of the EventBridge Scheduler batch schedule (StartExecution calls that ' +
        'failed after all retries); a dead-letter queue does not get one of its own.',
    });
    const schedulerRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
      description: 'EventBridge Scheduler: start BatchInference executions',
    });
    // Scheduler decrypts the schedule (customer-managed key) and sends to the KMS-encrypted DLQ with this role: the key
    // is used through those two services only.
    schedulerRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'UseDataKeyForScheduleAndDeadLetters',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [key.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': [`scheduler.${this.region}.amazonaws.com`, `sqs.${this.region}.amazonaws.com`],
          },
        },
      }),
    );
    this.schedule = new scheduler.Schedule(this, 'BatchSchedule', {
      description: `Start the BatchInference state machine (${config.schedule.cron} ${config.schedule.timezone})`,
      schedule: scheduler.ScheduleExpression.expression(config.schedule.cron, TimeZone.of(config.schedule.timezone)),
      enabled: config.schedule.enabled,
      key,
      target: new schedulerTargets.StepFunctionsStartExecution(stateMachine, {
        role: schedulerRole,
        input: scheduler.ScheduleTargetInput.fromObject({ trigger: 'schedule' }),
        retryAttempts: config.schedule.maxRetryAttempts,
        maxEventAge: Duration.hours(1),
        deadLetterQueue: this.scheduleDeadLetterQueue,
      }),
    });

    // ---- Arrival ledger: S3 Object Created (features bucket, inference/) → arrival handler --------------------
    // EventBridge itself (not a role) delivers to a rule target's DLQ, which would need the data key's policy to admit
    // events.amazonaws.com (owned by the data stack); SSE-SQS encryption avoids that cross-stack edit.
    this.arrivalDeadLetterQueue = new sqs.Queue(this, 'ArrivalDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.arrivalDeadLetterQueue, {
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue IS the dead-letter queue of the feature-arrival rule target; ' +
        'undelivered arrival events land here and reconcile re-derives them from the bucket listing anyway.',
    });
    const ledgerEnv = {
      TABLE_NAME: table.tableName,
      FEATURES_BUCKET: featuresBucket.bucketName,
      KMS_KEY_ARN: key.keyArn,
    };
    this.arrivalFunction = new ProjectFunction(this, 'ArrivalFunction', {
      entry: 'lambdas/functions/arrival/handler.ts',
      description: 'Ledger: record an arrived or changed feature object as PENDING',
      environment: functionEnvironment('arrival', ledgerEnv),
      logEncryptionKey: key,
      logRetention: config.logRetentionDays,
    });
    this.arrivalFunction.grantTableItems(table, key, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    this.arrivalRule = new events.Rule(this, 'FeatureArrivalRule', {
      description: `Feature object created under ${INFERENCE_PREFIX} → ledger (PENDING)`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [featuresBucket.bucketName] },
          object: { key: events.Match.prefix(INFERENCE_PREFIX) },
        },
      },
      targets: [
        new eventTargets.LambdaFunction(this.arrivalFunction, {
          retryAttempts: 8,
          maxEventAge: Duration.hours(6),
          deadLetterQueue: this.arrivalDeadLetterQueue,
        }),
      ],
    });

    this.reconcileFunction = new ProjectFunction(this, 'ReconcileFunction', {
      entry: 'lambdas/functions/reconcile/handler.ts',
      description: 'Ledger: list the features bucket and add missed or changed objects as PENDING (backfill)',
      environment: functionEnvironment('reconcile', ledgerEnv),
      timeout: Duration.minutes(15),
      memorySize: 1024,
      logEncryptionKey: key,
      logRetention: config.logRetentionDays,
    });
    // BatchGetItem: the ledger versions of a listed page, so only missing or changed objects are written.
    this.reconcileFunction.grantTableItems(
      table,
      key,
      ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
      { indexes: true },
    );
    // HeadObject (does a pending object still exist?) needs s3:GetObject.
    this.reconcileFunction.grantObjects(featuresBucket, INFERENCE_PREFIX, 'read', { key });
    this.reconcileFunction.grantListPrefix(featuresBucket, INFERENCE_PREFIX);
    this.reconcileSchedule = new scheduler.Schedule(this, 'ReconcileSchedule', {
      description: `Reconcile the ledger with ${INFERENCE_PREFIX} of the features bucket (${config.batch.reconcileSchedule})`,
      schedule: scheduler.ScheduleExpression.expression(
        config.batch.reconcileSchedule,
        TimeZone.of(config.schedule.timezone),
      ),
      enabled: config.schedule.enabled,
      key,
      target: new schedulerTargets.LambdaInvoke(this.reconcileFunction, {
        role: schedulerRole,
        input: scheduler.ScheduleTargetInput.fromObject({}),
        retryAttempts: config.schedule.maxRetryAttempts,
        maxEventAge: Duration.hours(1),
        deadLetterQueue: this.scheduleDeadLetterQueue,
      }),
    });

    acknowledgeWildcards(
      schedulerRole,
      'EventBridge Scheduler invokes the reconcile function; the LambdaInvoke target grants its versions/aliases (<ARN>:*).',
      `${this.reconcileFunction.functionArn}:*`,
    );

    // A run on approval (config batch.startOnApproval) is started by the Training stack's approval-event function,
    // which records the approval first; it finds this state machine by name (batchStateMachineName()).

    new CfnOutput(this, 'BatchInferenceStateMachineArn', {
      value: stateMachine.stateMachineArn,
      description: 'BatchInference state machine (start on demand: aws stepfunctions start-execution)',
    });
    new CfnOutput(this, 'BatchScheduleName', {
      value: this.schedule.scheduleName,
      description: 'EventBridge Scheduler schedule',
    });
    new CfnOutput(this, 'ReconcileFunctionName', {
      value: this.reconcileFunction.functionName,
      description: 'Invoke to reconcile the ledger with the features bucket (missed events, backfills)',
    });
    new CfnOutput(this, 'AlertTopicArn', {
      value: this.alertTopic.topicArn,
      description: 'Batch run summaries and alerts',
    });
  }

  /**
   * The SageMaker execution role of the transform jobs: read the model artifact (`training/<runId>/model/…`) and the
   * run's transform input (`batch/…`), write results (`results/…`), use the data key for S3 and the job volume, pull
   * the XGBoost image, write job logs and metrics. Nothing else.
   */
  private createTransformRole(bucket: s3.IBucket, key: kms.IKey): iam.Role {
    const role = new iam.Role(this, 'TransformRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
      description: 'SageMaker batch transform: run the Production model over batch/ input, write results/',
    });
    const add = (props: iam.PolicyStatementProps) => role.addToPolicy(new iam.PolicyStatement(props));
    const wildcards = [
      bucket.arnForObjects(`${TRAINING_PREFIX}*/model/*`),
      bucket.arnForObjects(`${BATCH_PREFIX}*`),
      bucket.arnForObjects(`${RESULTS_PREFIX}*`),
    ];
    add({ sid: 'ReadModelArtifacts', actions: ['s3:GetObject'], resources: [wildcards[0]!] });
    add({ sid: 'ReadTransformInput', actions: ['s3:GetObject'], resources: [wildcards[1]!] });
    add({ sid: 'WriteResults', actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: [wildcards[2]!] });
    add({
      sid: 'ListTransformInput',
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${BATCH_PREFIX}*`] } },
    });
    add({
      sid: 'DataKeyForS3',
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` } },
    });
    add({
      sid: 'DataKeyForVolume',
      actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': sageMakerKeyServices(this) } },
    });
    const jobLogs = this.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: '/aws/sagemaker/TransformJobs:*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    add({
      sid: 'JobLogs',
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: [jobLogs],
    });
    add({
      sid: 'JobMetrics',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringLike: { 'cloudwatch:namespace': ['/aws/sagemaker/TransformJobs', 'aws/sagemaker/*'] } },
    });
    // No ECR statements: SageMaker pulls built-in algorithm images (XGBoost) with its own credentials, not the
    // execution role's (SageMaker API reference, AlgorithmSpecification).
    acknowledge(role, {
      id: NagIds.iam5Resource,
      reason:
        'SageMaker transform role: cloudwatch:PutMetricData (limited by a namespace condition) does not support ' +
        'resource-level permissions.',
    });
    const reason =
      "The transform job reads the model of the Production version (training/<runId>/model/), the run's input " +
      '(batch/<runId>/) and writes results/model_version=<N>/run=<runId>/; run ids and versions are known only at ' +
      'run time. Its log streams are named by job.';
    acknowledge(role, ...[...wildcards, jobLogs].map((r) => ({ id: iam5ResourceId(role, r), reason })));
    return role;
  }
}
