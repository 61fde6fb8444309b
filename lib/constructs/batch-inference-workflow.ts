import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { LOAD_RESULTS_PREFIX, PREPARE_RESULTS_PREFIX } from '../../contracts/s3-layout';
import {
  LockResultSchema,
  PreparedDataSchema,
  PreparedPartSchema,
  PreparePlanSchema,
  ResolvedModelSchema,
  WorkSchema,
} from '../../contracts/states/batch';
import { BatchState } from '../../contracts/states/names';
import type { AppConfig } from '../config';
import { physicalNames } from '../physical-names';
import {
  type BatchFunctions,
  type BatchWorkflowEnvironment,
  createBatchFunctions,
  grantBatchFunctions,
} from './batch-inference-functions';
import { grantDistributedMaps } from './batch-map-access';
import { jsonPathsOf } from './json-path';
import { PrescopedJsonItemReader, PrescopedResultWriter } from './prescoped-map-io';
import { SageMakerTransformJob, transformTimeoutSeconds } from './tasks/transform-job';
import { executionRef, Workflow, WorkflowRetry } from './workflow';

export { TRANSFORM_DATA_PROCESSING, transformTimeoutSeconds } from './tasks/transform-job';

/** JSONPaths into the BatchInference state object (each key is the ResultPath of the state that writes it). */
const $ = jsonPathsOf({
  run: LockResultSchema,
  work: WorkSchema,
  model: ResolvedModelSchema,
  plan: PreparePlanSchema,
  data: PreparedDataSchema,
});
/** JSONPaths into one item of `LoadScores` (a transform input part). */
const part = jsonPathsOf(PreparedPartSchema.shape, '$$.Map.Item.Value');

/**
 * Physical name of the BatchInference state machine, `<namePrefix>-<env>-batch-inference` (lib/physical-names.ts). The
 * Training stack's approval-event function starts runs on approval by this name (the TrainingWorkflow default), not by
 * a reference, avoiding a stack cycle.
 */
export function batchStateMachineName(config: Pick<AppConfig, 'namePrefix' | 'envName'>): string {
  return physicalNames(config).batchStateMachine;
}

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
  /** Score loader (`lambdas/functions/load-scores`, in the VPC with cache access), invoked once per part by `LoadScores`. */
  readonly loaderFunction: lambda.IFunction;
  /** Finalizer (`lambdas/functions/finalize-scores`, in the VPC with cache access), invoked by `FinalizeScores`. */
  readonly finalizeFunction: lambda.IFunction;
  /**
   * Function run by `RecordFailure` (marks the run FAILED with the error).
   * @default - a new ProjectFunction from `lambdas/functions/record-failure/handler.ts`
   */
  readonly recordFailureFunction?: lambda.IFunction;
  /**
   * Version label of the deployed code recorded on each run (`CODE_VERSION`).
   * @default - `resolveCodeVersion()` (lib/code-version.ts)
   */
  readonly codeVersion?: string;
}

/**
 * The BatchInference state machine (JSONPath) and its Lambda functions:
 *
 * `AcquireLock → LockAcquired? (no → AlreadyRunning) → FindUnscored → HasWork? (no → ReleaseLockNoWork →
 * NothingToScore) → ResolveModel → PlanPrepare → PrepareTasks (Distributed Map → PrepareSlice) → PrepareInferenceData
 * (the reducer) → HasRows? (no → CommitLedger) → Transform → LoadScores
 * (Map → LoadPart) → FinalizeScores → CommitLedger → ReleaseLock → MoreWork? (truncated → StartContinuation: a new
 * execution takes the rest of the backlog) → Notify`; an error in any step from AcquireLock to
 * CommitLedger → `RecordFailure → ReleaseLockAfterFailure → Alert → Fail` (the ledger is untouched, so the next run
 * retries).
 *
 * ResolveModel runs before PrepareInferenceData: the data must be validated and encoded with the preprocessing spec
 * the Production model was trained with, so the model has to be known first; it also fails a run without an approved
 * model before any data is read or written.
 *
 * `HasRows?`: when no object has a usable row (every one rejected at file level or without a valid row, within the
 * row budget) there is nothing to transform; CommitLedger then marks the objects QUARANTINED (reason: the validation
 * report) and completes the run with outcome `ALL_QUARANTINED`, and Notify says so. Otherwise one bad file would stay
 * PENDING and fail every later run. An invalid-row ratio over the budget still fails the run in PrepareInferenceData.
 *
 * Execution input: optional `{ "trigger": "schedule" | "manual" | "approval" | … }`; run id = execution name.
 * Output on success: Notify's `{ runId, status: "SUCCEEDED", messageId, summary }`.
 */
export class BatchInferenceWorkflow extends Workflow<BatchWorkflowEnvironment> {
  public readonly stateMachine: sfn.StateMachine;
  /** Functions created here, by role (for alarms and tests). */
  public readonly functions: BatchFunctions;
  public readonly recordFailureFunction: lambda.IFunction;
  public readonly logGroup: logs.LogGroup;
  /** Prefix of every transform job name and SageMaker Model name this workflow creates. */
  public readonly namePrefix: string;

  constructor(scope: Construct, id: string, props: BatchInferenceWorkflowProps) {
    super(scope, id, {
      config: props.config,
      encryptionKey: props.encryptionKey,
      codeVersion: props.codeVersion,
      functionEnvironment: {
        TABLE_NAME: props.table.tableName,
        FEATURES_BUCKET: props.featuresBucket.bucketName,
        ARTIFACTS_BUCKET: props.artifactsBucket.bucketName,
        KMS_KEY_ARN: props.encryptionKey.keyArn,
      },
      functionLogRetention: props.config.logRetentionDays as logs.RetentionDays,
    });
    const { config } = props;
    this.namePrefix = `${config.namePrefix}-${config.envName}`.slice(0, 40).replace(/-+$/, '');
    this.functions = createBatchFunctions(this, props);
    this.recordFailureFunction =
      props.recordFailureFunction ??
      this.addFunction('RecordFailureFunction', 'record-failure', 'BatchInference: record a failed run', {});
    grantBatchFunctions(this.functions, { ...props, namePrefix: this.namePrefix }, this.recordFailureFunction);

    const { definition, transform } = this.definition(props);
    const { stateMachine, logGroup } = this.createStateMachine({
      stateMachineName: batchStateMachineName(config),
      comment: 'Batch inference: score PENDING feature objects with the Production model and load the scores',
      definition,
      // Never outlive the lock: past its lease another run may take the lock, so this execution must be over by then.
      timeout: Duration.seconds(config.batch.lockLeaseSeconds),
    });
    this.stateMachine = stateMachine;
    this.logGroup = logGroup;
    transform.grantRun(stateMachine);
    grantDistributedMaps(this, stateMachine, props);
  }

  /** The states from AcquireLock to Notify; every step up to CommitLedger is caught into the failure path. */
  private definition(props: BatchInferenceWorkflowProps): {
    definition: sfn.IChainable;
    transform: SageMakerTransformJob;
  } {
    const S = BatchState;
    const f = this.functions;
    const runId = sfn.JsonPath.stringAt($('run', 'runId'));
    const namePrefix = this.namePrefix;
    const recordFailure = this.batchFailurePath();
    const step = (name: string, fn: lambda.IFunction, payload: Record<string, unknown>, resultPath: string) =>
      this.invoke(name, fn, { payload, resultPath, catchInto: recordFailure });

    const acquire = step(
      S.AcquireLock,
      f.acquireLock,
      {
        runId: sfn.JsonPath.executionName,
        startedAt: sfn.JsonPath.stringAt('$$.Execution.StartTime'),
        execution: executionRef(),
        input: sfn.JsonPath.objectAt('$'),
      },
      $('run'),
    );
    const find = step(S.FindUnscored, f.findUnscored, { runId }, $('work'));
    const releaseNoWork = this.invoke(S.ReleaseLockNoWork, f.releaseLock, {
      payload: { runId, execution: executionRef(), outcome: 'NO_WORK' },
      resultPath: '$.release',
      retries: [WorkflowRetry.taskFailed],
    });
    const resolve = step(S.ResolveModel, f.resolveModel, { runId, namePrefix }, $('model'));
    const plan = step(
      S.PlanPrepare,
      f.planPrepare,
      { runId, work: sfn.JsonPath.objectAt($('work')), model: sfn.JsonPath.objectAt($('model')) },
      $('plan'),
    );
    const prepareTasks = this.prepareTasks(props, recordFailure);
    const prep = step(
      S.PrepareInferenceData,
      f.prepareInferenceData,
      {
        runId,
        namePrefix,
        work: sfn.JsonPath.objectAt($('work')),
        model: sfn.JsonPath.objectAt($('model')),
        plan: sfn.JsonPath.objectAt($('plan')),
      },
      $('data'),
    );
    const transform = this.catchInto(this.transformState(props), recordFailure);
    const { loadScores, finalize } = this.scoreLoading(props, recordFailure);
    const commit = this.commitAndNotify(recordFailure, props.config);

    const definition = acquire.next(
      new sfn.Choice(this, S.LockAcquired, { stateName: S.LockAcquired })
        .when(
          sfn.Condition.booleanEquals($('run', 'acquired'), true),
          find.next(
            new sfn.Choice(this, S.HasWork, { stateName: S.HasWork })
              .when(
                sfn.Condition.numberGreaterThan($('work', 'count'), 0),
                resolve
                  .next(plan)
                  .next(prepareTasks)
                  .next(prep)
                  .next(
                    new sfn.Choice(this, S.HasRows, { stateName: S.HasRows })
                      .when(
                        sfn.Condition.numberGreaterThan($('data', 'expectedRows'), 0),
                        transform.next(loadScores).next(finalize).next(commit),
                      )
                      .otherwise(commit),
                  ),
              )
              .otherwise(releaseNoWork.next(new sfn.Succeed(this, S.NothingToScore, { stateName: S.NothingToScore }))),
          ),
        )
        .otherwise(new sfn.Succeed(this, S.AlreadyRunning, { stateName: S.AlreadyRunning })),
    );
    return { definition, transform };
  }

  /**
   * PrepareTasks: a Distributed Map over PlanPrepare's tasks (`prepare-tasks.json`, ItemReader), one PrepareSlice per
   * task, per-task results to S3 (ResultWriter under `batch/prepare-results/`; the reducer reads the partial results
   * at their own keys). Tolerates no failure: a run is prepared whole or not at all. Its result is discarded, so the
   * state stays constant in tasks. Built as LoadScores is (see scoreLoading).
   */
  private prepareTasks(props: BatchInferenceWorkflowProps, recordFailure: sfn.IChainable): sfn.DistributedMap {
    const S = BatchState;
    const mapScope = new Construct(this, 'PrepareTasksMap');
    mapScope.node.setContext(cxapi.STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2, true);
    const bucketNamePath = sfn.JsonPath.stringAt($('plan', 'bucket'));
    const map = this.catchInto(
      new sfn.DistributedMap(mapScope, S.PrepareTasks, {
        stateName: S.PrepareTasks,
        itemReader: new PrescopedJsonItemReader({ bucketNamePath, key: sfn.JsonPath.stringAt($('plan', 'tasksKey')) }),
        resultWriterV2: new PrescopedResultWriter({ bucketNamePath, resultsPrefix: PREPARE_RESULTS_PREFIX }),
        maxConcurrency: props.config.batch.prepareConcurrency,
        toleratedFailurePercentage: 0,
        label: 'PrepareTasks',
        itemSelector: {
          runId: sfn.JsonPath.stringAt($('run', 'runId')),
          task: sfn.JsonPath.numberAt('$$.Map.Item.Value.task'),
          preprocessingUri: sfn.JsonPath.stringAt($('model', 'preprocessingUri')),
        },
        resultPath: sfn.JsonPath.DISCARD,
      }),
      recordFailure,
    );
    map.itemProcessor(
      this.invoke(S.PrepareSlice, this.functions.prepareSlice, { retries: [WorkflowRetry.dependency] }),
    );
    return map;
  }

  /** `RecordFailure → ReleaseLockAfterFailure → Alert (Notify with kind "failure") → Fail`; returns RecordFailure. */
  private batchFailurePath(): sfn.TaskStateBase {
    const alert = () =>
      this.invoke(BatchState.Alert, this.functions.notify, {
        payload: { kind: 'failure', runId: sfn.JsonPath.executionName, error: sfn.JsonPath.objectAt('$.error') },
        resultPath: '$.alert',
      });
    return this.failurePath({
      recordFailureFunction: this.recordFailureFunction,
      runKind: 'batch',
      recordResultPath: '$.failure',
      alert,
      releaseLockFunction: this.functions.releaseLock,
    });
  }

  /** The Transform state: the run's transform job over its manifest, with the Production model. */
  private transformState(props: BatchInferenceWorkflowProps): SageMakerTransformJob {
    return new SageMakerTransformJob(this, BatchState.Transform, {
      settings: props.config.transform,
      encryptionKey: props.encryptionKey,
      jobNamePrefix: this.namePrefix,
      jobNamePath: $('data', 'transformJobName'),
      modelNamePath: $('model', 'modelName'),
      manifestUriPath: $('data', 'manifestUri'),
      outputUriPath: $('data', 'outputUri'),
      runIdPath: $('run', 'runId'),
      resultPath: '$.transform',
      // Ends (and stops the job) in time for the failure path to release the lock before the lease runs out.
      timeout: Duration.seconds(transformTimeoutSeconds(props.config.batch.lockLeaseSeconds)),
    });
  }

  /**
   * LoadScores (Map over the parts → LoadPart) and FinalizeScores.
   *
   * The score store keeps, per entity, the value with the newest (asOf, runId). Execution names are not ordered
   * (scheduled runs get random names, CLI runs timestamps, approval runs version ids), so the stamp written with the
   * scores is `<execution start time>_<execution name>`: for the same asOf, the later run wins (e.g. a rescore after
   * a rollback), and a rerun of a failed run is a new execution, hence newer.
   */
  private scoreLoading(
    props: BatchInferenceWorkflowProps,
    recordFailure: sfn.IChainable,
  ): { loadScores: sfn.DistributedMap; finalize: sfn.TaskStateBase } {
    const S = BatchState;
    const scoreStamp = sfn.JsonPath.format(
      '{}_{}',
      sfn.JsonPath.stringAt('$$.Execution.StartTime'),
      sfn.JsonPath.executionName,
    );
    const modelVersion = sfn.JsonPath.numberAt($('model', 'modelVersion'));
    const loadPart = this.invoke(S.LoadPart, props.loaderFunction, { retries: [WorkflowRetry.dependency] });
    // A Distributed Map: the parts are read from S3 (load-items.json) and the per-part results written to S3, so
    // neither grows the execution's state (256 KB) and each part's events are in its own child execution's history
    // (an inline Map's iterations share the parent's 25 000 events).
    // The bucket is given by path, and the reader and writer add no statements of their own (given a path, CDK would
    // grant their S3 actions on `*`): grantDistributedMaps grants exactly the two prefixes. ResultWriterV2 is the writer that accepts a bucket path; its feature flag is
    // set on a scope of its own so it changes nothing else of the app.
    const mapScope = new Construct(this, 'LoadScoresMap');
    mapScope.node.setContext(cxapi.STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2, true);
    const bucketNamePath = sfn.JsonPath.stringAt($('data', 'resultsBucket'));
    const loadScores = this.catchInto(
      new sfn.DistributedMap(mapScope, S.LoadScores, {
        stateName: S.LoadScores,
        itemReader: new PrescopedJsonItemReader({
          bucketNamePath,
          key: sfn.JsonPath.stringAt($('data', 'loadItemsKey')),
        }),
        resultWriterV2: new PrescopedResultWriter({ bucketNamePath, resultsPrefix: LOAD_RESULTS_PREFIX }),
        maxConcurrency: props.config.batch.loadConcurrency,
        toleratedFailurePercentage: 0,
        label: 'LoadScores',
        itemSelector: {
          bucket: sfn.JsonPath.stringAt($('data', 'resultsBucket')),
          resultKey: sfn.JsonPath.format(
            '{}{}.out',
            sfn.JsonPath.stringAt($('data', 'resultsPrefix')),
            sfn.JsonPath.stringAt(part('part')),
          ),
          part: sfn.JsonPath.stringAt(part('part')),
          asOf: sfn.JsonPath.stringAt(part('asOf')),
          expectedRows: sfn.JsonPath.numberAt(part('rows')),
          runId: scoreStamp,
          modelVersion,
        },
        resultPath: '$.load',
      }),
      recordFailure,
    );
    loadScores.itemProcessor(loadPart);
    const finalize = this.invoke(S.FinalizeScores, props.finalizeFunction, {
      payload: {
        runId: scoreStamp,
        modelVersion,
        expectedRows: sfn.JsonPath.numberAt($('data', 'expectedRows')),
        loadResults: sfn.JsonPath.objectAt('$.load.ResultWriterDetails'),
      },
      // Replaces the `finalize: null` placeholder of PrepareInferenceData's result, so CommitLedger reads
      // `$.data.finalize` on both routes of HasRows? (a Parameters path that does not exist fails the state).
      resultPath: $('data', 'finalize'),
      catchInto: recordFailure,
      retries: [WorkflowRetry.dependency],
    });
    return { loadScores, finalize };
  }

  /**
   * CommitLedger → ReleaseLock → MoreWork? (yes → StartContinuation) → Notify; returns CommitLedger. After
   * CommitLedger the run has succeeded: ReleaseLock, StartContinuation and Notify are retried but not routed to the
   * failure path (which would record a committed run as FAILED). If they still fail the execution fails and alarms;
   * an unreleased lock expires after its lease, and a backlog that did not continue waits for the next schedule.
   *
   * MoreWork?: when FindUnscored left due objects (`work.truncated`), CommitLedger names the next execution
   * (`$.commit.continuation`, lambdas/domain/chain.ts) and StartContinuation starts this same state machine (by its
   * physical name) with it, once the lock is released; the new execution takes the lock and the next
   * `batch.maxObjectsPerRun` objects. One run per execution keeps each run's history, lease and timeout as they are.
   */
  private commitAndNotify(recordFailure: sfn.IChainable, config: AppConfig): sfn.TaskStateBase {
    const S = BatchState;
    const f = this.functions;
    const runId = sfn.JsonPath.stringAt($('run', 'runId'));
    const data = (k: 'rowsIn' | 'rowsUsed' | 'rowsQuarantined' | 'expectedRows' | 'objectsQuarantined') =>
      sfn.JsonPath.numberAt($('data', k));
    const commit = this.invoke(S.CommitLedger, f.commitLedger, {
      payload: {
        runId,
        model: sfn.JsonPath.objectAt($('model')),
        work: sfn.JsonPath.objectAt($('work')),
        data: {
          rowsIn: data('rowsIn'),
          rowsUsed: data('rowsUsed'),
          rowsQuarantined: data('rowsQuarantined'),
          expectedRows: data('expectedRows'),
          partsUri: sfn.JsonPath.stringAt($('data', 'partsUri')),
          objectsQuarantined: data('objectsQuarantined'),
          validationReportUri: sfn.JsonPath.stringAt($('data', 'validationReportUri')),
        },
        finalize: sfn.JsonPath.objectAt($('data', 'finalize')),
        executionInput: sfn.JsonPath.objectAt('$$.Execution.Input'),
      },
      resultPath: '$.commit',
      catchInto: recordFailure,
      // DynamoDB/S3 outages surface as DependencyError; the commit is idempotent for the same run, so retry it.
      retries: [WorkflowRetry.dependency],
    });
    const release = this.invoke(S.ReleaseLock, f.releaseLock, {
      payload: { runId, execution: executionRef() },
      resultPath: '$.release',
      retries: [WorkflowRetry.taskFailed],
    });
    // The execution's output is Notify's result alone (ResultPath + OutputPath rather than ResultPath "$").
    const notify = this.invoke(S.Notify, f.notify, {
      payload: { kind: 'success', runId, summary: sfn.JsonPath.objectAt('$.commit.summary') },
      resultPath: '$.notification',
      outputPath: '$.notification',
      retries: [WorkflowRetry.taskFailed],
    });
    const self = sfn.StateMachine.fromStateMachineName(this, 'Continuation', batchStateMachineName(config));
    const startContinuation = new tasks.StepFunctionsStartExecution(this, S.StartContinuation, {
      stateName: S.StartContinuation,
      stateMachine: self,
      name: sfn.JsonPath.stringAt('$.commit.continuation.name'),
      input: sfn.TaskInput.fromJsonPathAt('$.commit.continuation.input'),
      integrationPattern: sfn.IntegrationPattern.REQUEST_RESPONSE,
      resultSelector: { executionArn: sfn.JsonPath.stringAt('$.ExecutionArn') },
      resultPath: '$.continued',
    });
    startContinuation.addRetry(WorkflowRetry.taskFailed);
    // A retry after a lost response finds the continuation already started: that is success.
    startContinuation.addCatch(notify, {
      errors: ['StepFunctions.ExecutionAlreadyExistsException'],
      resultPath: '$.continuationError',
    });
    commit
      .next(release)
      .next(
        new sfn.Choice(this, S.MoreWork, { stateName: S.MoreWork })
          .when(sfn.Condition.isPresent('$.commit.continuation'), startContinuation.next(notify))
          .otherwise(notify),
      );
    return commit;
  }
}
