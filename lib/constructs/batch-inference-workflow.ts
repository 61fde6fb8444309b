import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct, type IConstruct } from 'constructs';
import type { AppConfig } from '../config';
import { acknowledge, iam5ResourceId, NagIds } from '../nag';
import { ProjectFunction } from './project-function';

/**
 * State names of the BatchInference state machine (DESIGN §6, brief contract 7). Tests and the local runtime
 * address states by these names; never rename one without updating both.
 */
export const BATCH_STATES = {
  acquireLock: 'AcquireLock',
  lockAcquired: 'LockAcquired?',
  alreadyRunning: 'AlreadyRunning',
  findUnscored: 'FindUnscored',
  hasWork: 'HasWork?',
  releaseLockNoWork: 'ReleaseLockNoWork',
  nothingToScore: 'NothingToScore',
  resolveModel: 'ResolveModel',
  prepareInferenceData: 'PrepareInferenceData',
  hasRows: 'HasRows?',
  transform: 'Transform',
  loadScores: 'LoadScores',
  loadPart: 'LoadPart',
  finalizeScores: 'FinalizeScores',
  commitLedger: 'CommitLedger',
  releaseLock: 'ReleaseLock',
  notify: 'Notify',
  recordFailure: 'RecordFailure',
  releaseLockAfterFailure: 'ReleaseLockAfterFailure',
  alert: 'Alert',
  fail: 'Fail',
} as const;

/**
 * Physical name of the BatchInference state machine, `<namePrefix>-batch-inference` (like the Training state machine,
 * `<namePrefix>-training`). The Training stack's approval-event function starts runs on approval by this name (the
 * TrainingWorkflow default), not by a reference, avoiding a stack cycle.
 */
export function batchStateMachineName(config: Pick<AppConfig, 'namePrefix'>): string {
  return `${config.namePrefix}-batch-inference`;
}

/**
 * Timeout of the Transform state: the lock lease minus the time the steps after it need (an hour, or a quarter of a
 * short lease), at least 5 minutes. On timeout Step Functions stops the job and the failure path runs.
 */
export function transformTimeoutSeconds(lockLeaseSeconds: number): number {
  const reserve = Math.min(3600, Math.floor(lockLeaseSeconds / 4));
  return Math.max(300, lockLeaseSeconds - reserve);
}

/** Rows of a transform input part: `<entity_id>,<segment>,<encoded features…>` (brief contract 4). */
export const TRANSFORM_DATA_PROCESSING = {
  InputFilter: '$[2:]',
  JoinSource: 'Input',
  OutputFilter: '$[0,1,-1]',
} as const;

/** Properties of {@link BatchInferenceWorkflow}. */
export interface BatchInferenceWorkflowProps {
  /** Validated settings of the environment (transform size, batch caps, validation, cache segment, retention). */
  readonly config: AppConfig;
  /** The `Pipeline` table (ledger, lock, tracking). */
  readonly table: dynamodb.ITable;
  /** Feature store bucket (`inference/dt=…/*.csv` is read). */
  readonly featuresBucket: s3.IBucket;
  /** Artifacts bucket (batch input, results, quarantine, reports; preprocessing specs are read). */
  readonly artifactsBucket: s3.IBucket;
  /** Customer-managed key of the data stack: transform output and volume, logs, S3 objects written here. */
  readonly encryptionKey: kms.IKey;
  /** Model Package Group the Production model is resolved from. */
  readonly modelPackageGroupName: string;
  /** Role SageMaker assumes to run the model (passed to CreateModel; the only role this workflow may pass). */
  readonly sageMakerRole: iam.IRole;
  /** Topic for the run summary (`Notify`) and failures (`Alert`). */
  readonly alertTopic: sns.ITopic;
  /** Score loader (D's `lambdas/load-scores`, in the VPC with cache access), invoked once per part by `LoadScores`. */
  readonly loaderFunction: lambda.IFunction;
  /** Finalizer (D's `lambdas/finalize-scores`, in the VPC with cache access), invoked by `FinalizeScores`. */
  readonly finalizeFunction: lambda.IFunction;
  /**
   * Function run by `RecordFailure` (marks the run FAILED with the error).
   * @default - a new ProjectFunction from `lambdas/functions/record-failure/handler.ts`
   */
  readonly recordFailureFunction?: lambda.IFunction;
  /**
   * Version label of the deployed code recorded on each run (`CODE_VERSION`).
   * @default 'unknown'
   */
  readonly codeVersion?: string;
}

/**
 * The BatchInference state machine (JSONPath) and its Lambda functions:
 *
 * `AcquireLock → LockAcquired? (no → AlreadyRunning) → FindUnscored → HasWork? (no → ReleaseLockNoWork →
 * NothingToScore) → ResolveModel → PrepareInferenceData → HasRows? (no → CommitLedger) → Transform → LoadScores
 * (Map → LoadPart) → FinalizeScores → CommitLedger → ReleaseLock → Notify`; an error in any step from AcquireLock to
 * CommitLedger →
 * `RecordFailure → ReleaseLockAfterFailure → Alert → Fail` (the ledger is untouched, so the next run retries).
 *
 * ResolveModel runs before PrepareInferenceData (DESIGN §6 lists them the other way round): the data must be
 * validated and encoded with the preprocessing spec the Production model was trained with, so the model has to be
 * known first; it also fails a run without an approved model before any data is read or written.
 *
 * `HasRows?`: when no object has a usable row (every one rejected at file level or without a valid row, within the
 * row budget) there is nothing to transform; CommitLedger then marks the objects QUARANTINED (reason: the validation
 * report) and completes the run with outcome `ALL_QUARANTINED`, and Notify says so. Otherwise one bad file would stay
 * PENDING and fail every later run. An invalid-row ratio over the budget still fails the run in PrepareInferenceData.
 *
 * Execution input: optional `{ "trigger": "schedule" | "manual" | "approval" | … }`; run id = execution name.
 * Output on success: Notify's `{ runId, status: "SUCCEEDED", messageId, summary }`.
 */
export class BatchInferenceWorkflow extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  /** Functions created here, by role (for alarms and tests). */
  public readonly functions: Readonly<
    Record<
      | 'acquireLock'
      | 'releaseLock'
      | 'findUnscored'
      | 'resolveModel'
      | 'prepareInferenceData'
      | 'commitLedger'
      | 'notify',
      ProjectFunction
    >
  >;
  public readonly recordFailureFunction: lambda.IFunction;
  public readonly logGroup: logs.LogGroup;
  /** Prefix of every transform job name and SageMaker Model name this workflow creates. */
  public readonly namePrefix: string;

  constructor(scope: Construct, id: string, props: BatchInferenceWorkflowProps) {
    super(scope, id);
    const { config, table, featuresBucket, artifactsBucket, encryptionKey: key } = props;
    const stack = Stack.of(this);
    this.namePrefix = `${config.namePrefix}-${config.envName}`.slice(0, 40).replace(/-+$/, '');
    const namePrefix = this.namePrefix;

    const baseEnv = {
      TABLE_NAME: table.tableName,
      FEATURES_BUCKET: featuresBucket.bucketName,
      ARTIFACTS_BUCKET: artifactsBucket.bucketName,
      KMS_KEY_ARN: key.keyArn,
      CODE_VERSION: props.codeVersion ?? 'unknown',
    };
    const fn = (fid: string, name: string, description: string, environment: Record<string, string>, extra = {}) =>
      new ProjectFunction(this, fid, {
        entry: `lambdas/functions/${name}/handler.ts`,
        description,
        environment: { ...baseEnv, ...environment },
        logEncryptionKey: key,
        logRetention: config.logRetentionDays as logs.RetentionDays,
        ...extra,
      });

    const acquireLock = fn(
      'AcquireLockFunction',
      'acquire-lock',
      'BatchInference: take the batch lock, start the run record',
      {
        LOCK_LEASE_SECONDS: String(config.batch.lockLeaseSeconds),
      },
    );
    const releaseLock = fn(
      'ReleaseLockFunction',
      'release-lock',
      'BatchInference: release the batch lock (owner only)',
      {},
    );
    const findUnscored = fn('FindUnscoredFunction', 'find-unscored', 'BatchInference: list PENDING feature objects', {
      MAX_OBJECTS_PER_RUN: String(config.batch.maxObjectsPerRun),
    });
    const resolveModel = fn('ResolveModelFunction', 'resolve-model', 'BatchInference: resolve the Production model', {
      MODEL_PACKAGE_GROUP_NAME: props.modelPackageGroupName,
      SAGEMAKER_ROLE_ARN: props.sageMakerRole.roleArn,
    });
    const prepare = fn(
      'PrepareInferenceDataFunction',
      'prepare-inference-data',
      'BatchInference: validate, quarantine and encode feature objects into transform input',
      {
        SEGMENT_FEATURE: config.cache.segmentFeature,
        MAX_INVALID_ROW_RATIO: String(config.validation.maxInvalidRowRatio),
        MAX_REPORTED_VIOLATIONS: String(config.validation.maxReportedViolations),
        DRIFT_PSI_THRESHOLD: String(config.monitoring.driftPsiThreshold),
        FAIL_ON_DRIFT: String(config.monitoring.failOnDrift),
      },
      { timeout: Duration.minutes(15), memorySize: 2048 },
    );
    const commitLedger = fn(
      'CommitLedgerFunction',
      'commit-ledger',
      "BatchInference: mark the run's objects SCORED (or QUARANTINED)",
      {},
    );
    const notify = fn('NotifyFunction', 'notify', 'BatchInference: publish the run summary or failure alert', {
      ALERT_TOPIC_ARN: props.alertTopic.topicArn,
    });
    this.recordFailureFunction =
      props.recordFailureFunction ??
      fn('RecordFailureFunction', 'record-failure', 'BatchInference: record a failed run', {});
    this.functions = {
      acquireLock,
      releaseLock,
      findUnscored,
      resolveModel,
      prepareInferenceData: prepare,
      commitLedger,
      notify,
    };

    this.grantFunctionAccess(props, {
      acquireLock,
      releaseLock,
      findUnscored,
      resolveModel,
      prepare,
      commitLedger,
      notify,
    });

    // ----------------------------------------------------------------------------------------------------------
    // States
    // ----------------------------------------------------------------------------------------------------------
    const S = BATCH_STATES;
    const runId = sfn.JsonPath.stringAt('$.run.runId');
    // The score store keeps, per entity, the value with the newest (asOf, runId). Execution names are not ordered
    // (scheduled runs get random names, CLI runs timestamps, approval runs version ids), so the stamp written with the
    // scores is `<execution start time>_<execution name>`: for the same asOf, the later run wins (e.g. a rescore after
    // a rollback), and a rerun of a failed run is a new execution, hence newer.
    const scoreStamp = sfn.JsonPath.format(
      '{}_{}',
      sfn.JsonPath.stringAt('$$.Execution.StartTime'),
      sfn.JsonPath.executionName,
    );
    const invoke = (
      sid: string,
      f: lambda.IFunction,
      payload: Record<string, unknown>,
      resultPath: string | undefined,
    ) =>
      new tasks.LambdaInvoke(this, sid, {
        stateName: sid,
        lambdaFunction: f,
        payloadResponseOnly: true,
        payload: sfn.TaskInput.fromObject(payload),
        resultPath,
      });

    // Failure path: RecordFailure → ReleaseLockAfterFailure → Alert → Fail. Each step is caught so a failure in the
    // failure path still releases the lock and alerts; Fail re-raises the original error.
    const fail = new sfn.Fail(this, S.fail, {
      stateName: S.fail,
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    const alert = invoke(
      S.alert,
      notify,
      { kind: 'failure', runId: sfn.JsonPath.executionName, error: sfn.JsonPath.objectAt('$.error') },
      '$.alert',
    );
    alert.addCatch(fail, { resultPath: '$.alertError' });
    alert.next(fail);
    const releaseAfterFailure = invoke(
      S.releaseLockAfterFailure,
      releaseLock,
      { runId: sfn.JsonPath.executionName },
      '$.release',
    );
    releaseAfterFailure.addCatch(alert, { resultPath: '$.releaseError' });
    releaseAfterFailure.next(alert);
    const recordFailure = invoke(
      S.recordFailure,
      this.recordFailureFunction,
      { runId: sfn.JsonPath.executionName, kind: 'batch', error: sfn.JsonPath.objectAt('$.error') },
      '$.failure',
    );
    recordFailure.addCatch(releaseAfterFailure, { resultPath: '$.recordFailureError' });
    recordFailure.next(releaseAfterFailure);
    const onError = <T extends { addCatch(h: sfn.IChainable, p?: sfn.CatchProps): unknown }>(state: T): T => {
      state.addCatch(recordFailure, { errors: ['States.ALL'], resultPath: '$.error' });
      return state;
    };

    const acquire = onError(
      invoke(
        S.acquireLock,
        acquireLock,
        {
          runId: sfn.JsonPath.executionName,
          startedAt: sfn.JsonPath.stringAt('$$.Execution.StartTime'),
          input: sfn.JsonPath.objectAt('$'),
        },
        '$.run',
      ),
    );
    const find = onError(invoke(S.findUnscored, findUnscored, { runId }, '$.work'));
    const releaseNoWork = invoke(S.releaseLockNoWork, releaseLock, { runId, outcome: 'NO_WORK' }, '$.release');
    releaseNoWork.addRetry({
      errors: ['States.TaskFailed'],
      interval: Duration.seconds(2),
      maxAttempts: 3,
      backoffRate: 2,
    });
    const resolve = onError(invoke(S.resolveModel, resolveModel, { runId, namePrefix }, '$.model'));
    const prep = onError(
      invoke(
        S.prepareInferenceData,
        prepare,
        { runId, namePrefix, work: sfn.JsonPath.objectAt('$.work'), model: sfn.JsonPath.objectAt('$.model') },
        '$.data',
      ),
    );
    const transform = onError(
      new sfn.CustomState(this, S.transform, {
        stateJson: {
          Type: 'Task',
          Resource: `arn:${stack.partition}:states:::sagemaker:createTransformJob.sync`,
          Parameters: {
            'TransformJobName.$': '$.data.transformJobName',
            'ModelName.$': '$.model.modelName',
            BatchStrategy: 'MultiRecord',
            MaxPayloadInMB: config.transform.maxPayloadInMB,
            MaxConcurrentTransforms: config.transform.maxConcurrentTransforms,
            TransformInput: {
              DataSource: { S3DataSource: { S3DataType: 'ManifestFile', 'S3Uri.$': '$.data.manifestUri' } },
              ContentType: 'text/csv',
              SplitType: 'Line',
              CompressionType: 'None',
            },
            TransformOutput: {
              'S3OutputPath.$': '$.data.outputUri',
              Accept: 'text/csv',
              AssembleWith: 'Line',
              KmsKeyId: key.keyArn,
            },
            TransformResources: {
              InstanceType: config.transform.instanceType,
              InstanceCount: config.transform.instanceCount,
              VolumeKmsKeyId: key.keyArn,
            },
            DataProcessing: { ...TRANSFORM_DATA_PROCESSING },
            Tags: [{ Key: 'runId', 'Value.$': '$.run.runId' }],
          },
          ResultSelector: { 'jobName.$': '$.TransformJobName', 'status.$': '$.TransformJobStatus' },
          ResultPath: '$.transform',
          // Ends (and stops the job) in time for the failure path to release the lock before the lease runs out.
          TimeoutSeconds: transformTimeoutSeconds(config.batch.lockLeaseSeconds),
        },
      }),
    );
    transform.addRetry({
      errors: ['ThrottlingException', 'SageMaker.ThrottlingException'],
      interval: Duration.seconds(15),
      maxAttempts: 5,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });

    const loadPart = new tasks.LambdaInvoke(this, S.loadPart, {
      stateName: S.loadPart,
      lambdaFunction: props.loaderFunction,
      payloadResponseOnly: true,
    });
    loadPart.addRetry({ errors: ['DependencyError'], interval: Duration.seconds(5), maxAttempts: 3, backoffRate: 2 });
    const loadScores = onError(
      new sfn.Map(this, S.loadScores, {
        stateName: S.loadScores,
        itemsPath: '$.data.parts',
        maxConcurrency: config.batch.loadConcurrency,
        itemSelector: {
          bucket: sfn.JsonPath.stringAt('$.data.resultsBucket'),
          resultKey: sfn.JsonPath.format(
            '{}{}.out',
            sfn.JsonPath.stringAt('$.data.resultsPrefix'),
            sfn.JsonPath.stringAt('$$.Map.Item.Value.part'),
          ),
          part: sfn.JsonPath.stringAt('$$.Map.Item.Value.part'),
          asOf: sfn.JsonPath.stringAt('$$.Map.Item.Value.asOf'),
          expectedRows: sfn.JsonPath.numberAt('$$.Map.Item.Value.rows'),
          runId: scoreStamp,
          modelVersion: sfn.JsonPath.numberAt('$.model.modelVersion'),
        },
        resultPath: '$.load',
      }),
    );
    loadScores.itemProcessor(loadPart);
    const finalize = onError(
      invoke(
        S.finalizeScores,
        props.finalizeFunction,
        {
          runId: scoreStamp,
          modelVersion: sfn.JsonPath.numberAt('$.model.modelVersion'),
          expectedRows: sfn.JsonPath.numberAt('$.data.expectedRows'),
          loads: sfn.JsonPath.objectAt('$.load'),
        },
        // Replaces the `finalize: null` placeholder of PrepareInferenceData's result, so CommitLedger reads
        // `$.data.finalize` on both routes of HasRows? (a Parameters path that does not exist fails the state).
        '$.data.finalize',
      ),
    );
    finalize.addRetry({ errors: ['DependencyError'], interval: Duration.seconds(5), maxAttempts: 3, backoffRate: 2 });
    const commit = onError(
      invoke(
        S.commitLedger,
        commitLedger,
        {
          runId,
          model: sfn.JsonPath.objectAt('$.model'),
          work: sfn.JsonPath.objectAt('$.work'),
          data: {
            rowsIn: sfn.JsonPath.numberAt('$.data.rowsIn'),
            rowsUsed: sfn.JsonPath.numberAt('$.data.rowsUsed'),
            rowsQuarantined: sfn.JsonPath.numberAt('$.data.rowsQuarantined'),
            expectedRows: sfn.JsonPath.numberAt('$.data.expectedRows'),
            partsUri: sfn.JsonPath.stringAt('$.data.partsUri'),
            quarantinedObjects: sfn.JsonPath.listAt('$.data.quarantinedObjects'),
            validationReportUri: sfn.JsonPath.stringAt('$.data.validationReportUri'),
          },
          finalize: sfn.JsonPath.objectAt('$.data.finalize'),
        },
        '$.commit',
      ),
    );
    // After CommitLedger the run has succeeded: ReleaseLock and Notify are retried but not routed to the failure
    // path (which would record a committed run as FAILED). If they still fail the execution fails and alarms; an
    // unreleased lock expires after its lease.
    // DynamoDB/S3 outages surface as DependencyError; the commit is idempotent for the same run, so retry it.
    commit.addRetry({ errors: ['DependencyError'], interval: Duration.seconds(5), maxAttempts: 3, backoffRate: 2 });
    const release = invoke(S.releaseLock, releaseLock, { runId }, '$.release');
    release.addRetry({ errors: ['States.TaskFailed'], interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
    // The execution's output is Notify's result alone (ResultPath + OutputPath rather than ResultPath "$").
    const notifyState = new tasks.LambdaInvoke(this, S.notify, {
      stateName: S.notify,
      lambdaFunction: notify,
      payloadResponseOnly: true,
      payload: sfn.TaskInput.fromObject({ kind: 'success', runId, summary: sfn.JsonPath.objectAt('$.commit.summary') }),
      resultPath: '$.notification',
      outputPath: '$.notification',
    });
    notifyState.addRetry({
      errors: ['States.TaskFailed'],
      interval: Duration.seconds(2),
      maxAttempts: 3,
      backoffRate: 2,
    });

    commit.next(release).next(notifyState);
    const definition = acquire.next(
      new sfn.Choice(this, S.lockAcquired, { stateName: S.lockAcquired })
        .when(
          sfn.Condition.booleanEquals('$.run.acquired', true),
          find.next(
            new sfn.Choice(this, S.hasWork, { stateName: S.hasWork })
              .when(
                sfn.Condition.numberGreaterThan('$.work.count', 0),
                resolve
                  .next(prep)
                  .next(
                    new sfn.Choice(this, S.hasRows, { stateName: S.hasRows })
                      .when(
                        sfn.Condition.numberGreaterThan('$.data.expectedRows', 0),
                        transform.next(loadScores).next(finalize).next(commit),
                      )
                      .otherwise(commit),
                  ),
              )
              .otherwise(releaseNoWork.next(new sfn.Succeed(this, S.nothingToScore, { stateName: S.nothingToScore }))),
          ),
        )
        .otherwise(new sfn.Succeed(this, S.alreadyRunning, { stateName: S.alreadyRunning })),
    );

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: config.logRetentionDays as logs.RetentionDays,
      encryptionKey: key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: batchStateMachineName(config),
      comment: 'Batch inference: score PENDING feature objects with the Production model and load the scores',
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      tracingEnabled: true,
      // Never outlive the lock: past its lease another run may take the lock, so this execution must be over by then.
      timeout: Duration.seconds(config.batch.lockLeaseSeconds),
      // Execution data stays out of the logs: error causes can quote entity ids and feature values (the run record and
      // the alert carry them, access-controlled); state transitions and error names are still logged.
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    this.grantTransform(key);
    this.acknowledgeStateMachineRole(props, [
      acquireLock,
      releaseLock,
      findUnscored,
      resolveModel,
      prepare,
      commitLedger,
      notify,
    ]);
  }

  /** Written reasons for the wildcard resources of the state machine role (cdk-nag IAM5, exact finding ids). */
  private acknowledgeStateMachineRole(props: BatchInferenceWorkflowProps, own: lambda.IFunction[]): void {
    const role = this.stateMachine.role;
    const stack = Stack.of(this);
    const fns = [...own, this.recordFailureFunction, props.loaderFunction, props.finalizeFunction];
    acknowledge(
      role,
      {
        id: NagIds.iam5Resource,
        reason:
          'X-Ray tracing (xray:PutTraceSegments/PutTelemetryRecords/GetSampling*) and CloudWatch Logs vended delivery ' +
          '(logs:CreateLogDelivery, DescribeResourcePolicies …) that Step Functions logging needs do not support ' +
          'resource-level permissions.',
      },
      {
        id: iam5ResourceId(
          role,
          stack.formatArn({ service: 'sagemaker', resource: 'transform-job', resourceName: `${this.namePrefix}-*` }),
        ),
        reason: `Transform jobs are named ${this.namePrefix}-<run id>-<hash> per run (known only at run time).`,
      },
    );
    for (const f of fns) {
      acknowledgeWildcardLater(
        role,
        `${f.functionArn}:*`,
        'lambda:InvokeFunction on the versions/aliases (<function ARN>:*) of a function this state machine invokes.',
      );
    }
  }

  /**
   * Least-privilege access of each function: explicit statements (no `*` actions; resources named or prefix-scoped).
   * Not `table.grant*()`/`bucket.grant*()`/`key.grant*()`: those add `*`-suffixed actions and, for the data stack's
   * key, would edit its key policy from this stack (a cross-stack cycle). The key policy trusts the account, so IAM
   * statements suffice; `kms:ViaService` limits each key use to the service that needs it.
   */
  private grantFunctionAccess(
    props: BatchInferenceWorkflowProps,
    f: Record<
      'acquireLock' | 'releaseLock' | 'findUnscored' | 'resolveModel' | 'prepare' | 'commitLedger' | 'notify',
      ProjectFunction
    >,
  ): void {
    const { featuresBucket, artifactsBucket } = props;
    const stack = Stack.of(this);
    const access = new ResourceAccess(props.table, props.encryptionKey, stack.region);

    access.table(f.acquireLock, ['dynamodb:GetItem', 'dynamodb:PutItem']);
    access.table(f.releaseLock, ['dynamodb:GetItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem']);
    access.table(f.findUnscored, ['dynamodb:Query'], { index: true });
    access.table(f.commitLedger, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    // Records the feature drift of the run (PSI per feature) on the run record.
    access.table(f.prepare, ['dynamodb:UpdateItem']);
    if (this.recordFailureFunction instanceof ProjectFunction) {
      access.table(this.recordFailureFunction, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    }

    access.objects(f.findUnscored, artifactsBucket, 'batch/', 'write');
    access.objects(f.commitLedger, artifactsBucket, 'batch/', 'read');
    access.objects(f.prepare, artifactsBucket, 'batch/', 'readwrite');
    access.objects(f.prepare, featuresBucket, 'inference/', 'read');
    access.objects(f.prepare, artifactsBucket, 'training/', 'read');
    access.objects(f.prepare, artifactsBucket, 'quarantine/', 'write');
    access.objects(f.prepare, artifactsBucket, 'reports/', 'write');

    f.notify.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PublishRunNotifications',
        actions: ['sns:Publish'],
        resources: [props.alertTopic.topicArn],
      }),
    );
    access.keyVia(f.notify, 'sns', ['kms:Decrypt', 'kms:GenerateDataKey']);

    const group = props.modelPackageGroupName;
    f.resolveModel.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadModelRegistry',
        actions: ['sagemaker:ListModelPackages', 'sagemaker:DescribeModelPackage'],
        resources: [
          stack.formatArn({ service: 'sagemaker', resource: 'model-package-group', resourceName: group }),
          stack.formatArn({ service: 'sagemaker', resource: 'model-package', resourceName: `${group}/*` }),
        ],
      }),
    );
    f.resolveModel.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ManageProductionModel',
        actions: ['sagemaker:DescribeModel', 'sagemaker:CreateModel', 'sagemaker:AddTags'],
        resources: [
          stack.formatArn({ service: 'sagemaker', resource: 'model', resourceName: `${this.namePrefix}-v*` }),
        ],
      }),
    );
    acknowledge(
      f.resolveModel.role!,
      {
        id: iam5ResourceId(
          f.resolveModel,
          stack.formatArn({ service: 'sagemaker', resource: 'model-package', resourceName: `${group}/*` }),
        ),
        reason: `DescribeModelPackage on the versions of group ${group} only; the Production version is found at run time.`,
      },
      {
        id: iam5ResourceId(
          f.resolveModel,
          stack.formatArn({ service: 'sagemaker', resource: 'model', resourceName: `${this.namePrefix}-v*` }),
        ),
        reason: `Describe/CreateModel only for Models named ${this.namePrefix}-v<version>; the version is known at run time.`,
      },
    );
    f.resolveModel.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PassSageMakerRole',
        actions: ['iam:PassRole'],
        resources: [props.sageMakerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      }),
    );
  }

  /** What `createTransformJob.sync` needs: the job (prefix-scoped), its tags, and the managed EventBridge rule. */
  private grantTransform(key: kms.IKey): void {
    const stack = Stack.of(this);
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RunTransformJobs',
        actions: [
          'sagemaker:CreateTransformJob',
          'sagemaker:DescribeTransformJob',
          'sagemaker:StopTransformJob',
          'sagemaker:AddTags',
          'sagemaker:ListTags',
        ],
        resources: [
          stack.formatArn({ service: 'sagemaker', resource: 'transform-job', resourceName: `${this.namePrefix}-*` }),
        ],
      }),
    );
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'SyncTransformJobEvents',
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          stack.formatArn({
            service: 'events',
            resource: 'rule',
            resourceName: 'StepFunctionsGetEventsForSageMakerTransformJobsRule',
          }),
        ],
      }),
    );
    // CreateTransformJob with VolumeKmsKeyId/KmsKeyId: the caller must be able to describe the key and create a
    // grant for the transform instances (only for AWS resources).
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'TransformKmsGrant',
        actions: ['kms:CreateGrant'],
        resources: [key.keyArn],
        conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      }),
    );
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'TransformKmsDescribe', actions: ['kms:DescribeKey'], resources: [key.keyArn] }),
    );
  }
}

/**
 * Explicit IAM statements for the `Pipeline` table and the data buckets (SSE-KMS with the data key).
 * Used by this construct and the BatchInference stack.
 */
export class ResourceAccess {
  constructor(
    private readonly tableRef: dynamodb.ITable,
    private readonly key: kms.IKey,
    private readonly region: string,
  ) {}

  /** Item actions on the table (and its indexes when `index`), plus the key use DynamoDB makes on the caller's behalf. */
  table(fn: lambda.IFunction, actions: string[], opts: { index?: boolean } = {}): void {
    const resources = [this.tableRef.tableArn];
    const indexes = `${this.tableRef.tableArn}/index/*`;
    if (opts.index) resources.push(indexes);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
    if (opts.index) {
      this.ack(
        fn,
        indexes,
        "Query on the Pipeline table's indexes (gsi1: pending ledger objects, runs by kind); the index ARN ends in /index/<name>.",
      );
    }
    const writes = actions.some((a) => /Put|Update|Delete|Write/.test(a));
    this.keyVia(
      fn,
      'dynamodb',
      writes
        ? ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey']
        : ['kms:Decrypt', 'kms:DescribeKey'],
    );
  }

  /** Object access under `prefix` of `bucket` (read = GetObject, write = PutObject), with the SSE-KMS key use. */
  objects(fn: lambda.IFunction, bucket: s3.IBucket, prefix: string, mode: 'read' | 'write' | 'readwrite'): void {
    const actions = [...(mode !== 'write' ? ['s3:GetObject'] : []), ...(mode !== 'read' ? ['s3:PutObject'] : [])];
    const objects = bucket.arnForObjects(`${prefix}*`);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [objects] }));
    this.ack(
      fn,
      objects,
      `${actions.join('/')} under ${prefix} only: keys there are per run (run id = execution name) or per partition (dt=), known only at run time.`,
    );
    this.keyVia(fn, 's3', mode === 'read' ? ['kms:Decrypt'] : ['kms:Decrypt', 'kms:GenerateDataKey']);
  }

  /** `s3:ListBucket` limited to keys under `prefix`. */
  list(fn: lambda.IFunction, bucket: s3.IBucket, prefix: string): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }),
    );
  }

  /** Acknowledge the cdk-nag IAM5 finding of one prefix-scoped wildcard resource on the function's role. */
  private ack(fn: lambda.IFunction, resource: string, reason: string): void {
    acknowledgeWildcardLater(fn.role ?? fn, resource, reason);
  }

  /** Key use through one AWS service only (`kms:ViaService`). */
  keyVia(fn: lambda.IFunction, service: string, actions: string[]): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions,
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `${service}.${this.region}.amazonaws.com` } },
      }),
    );
  }
}

/**
 * Acknowledge the cdk-nag IAM5 finding of a wildcard `resource` on `scope`, computing the finding id after the app's
 * references are resolved (node validations run after that step): a resource built from another stack's value (a
 * table ARN, a function ARN) renders as that stack's export only then, so the id matches what cdk-nag reports.
 */
export function acknowledgeWildcardLater(scope: IConstruct, resource: string, reason: string): void {
  let done = false;
  scope.node.addValidation({
    validate: () => {
      if (!done) {
        acknowledge(scope, { id: iam5ResourceId(scope, resource), reason });
        done = true;
      }
      return [];
    },
  });
}
