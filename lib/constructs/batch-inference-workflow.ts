import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  LockResultSchema,
  PreparedDataSchema,
  PreparedPartSchema,
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
import { jsonPathsOf } from './json-path';
import { SageMakerTransformJob, transformTimeoutSeconds } from './tasks/transform-job';
import { Workflow, WorkflowRetry } from './workflow';

export { TRANSFORM_DATA_PROCESSING, transformTimeoutSeconds } from './tasks/transform-job';

/** JSONPaths into the BatchInference state object (each key is the ResultPath of the state that writes it). */
const $ = jsonPathsOf({
  run: LockResultSchema,
  work: WorkSchema,
  model: ResolvedModelSchema,
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
 * NothingToScore) → ResolveModel → PrepareInferenceData → HasRows? (no → CommitLedger) → Transform → LoadScores
 * (Map → LoadPart) → FinalizeScores → CommitLedger → ReleaseLock → Notify`; an error in any step from AcquireLock to
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
        input: sfn.JsonPath.objectAt('$'),
      },
      $('run'),
    );
    const find = step(S.FindUnscored, f.findUnscored, { runId }, $('work'));
    const releaseNoWork = this.invoke(S.ReleaseLockNoWork, f.releaseLock, {
      payload: { runId, outcome: 'NO_WORK' },
      resultPath: '$.release',
      retries: [WorkflowRetry.taskFailed],
    });
    const resolve = step(S.ResolveModel, f.resolveModel, { runId, namePrefix }, $('model'));
    const prep = step(
      S.PrepareInferenceData,
      f.prepareInferenceData,
      { runId, namePrefix, work: sfn.JsonPath.objectAt($('work')), model: sfn.JsonPath.objectAt($('model')) },
      $('data'),
    );
    const transform = this.catchInto(this.transformState(props), recordFailure);
    const { loadScores, finalize } = this.scoreLoading(props, recordFailure);
    const commit = this.commitAndNotify(recordFailure);

    const definition = acquire.next(
      new sfn.Choice(this, S.LockAcquired, { stateName: S.LockAcquired })
        .when(
          sfn.Condition.booleanEquals($('run', 'acquired'), true),
          find.next(
            new sfn.Choice(this, S.HasWork, { stateName: S.HasWork })
              .when(
                sfn.Condition.numberGreaterThan($('work', 'count'), 0),
                resolve
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
  ): { loadScores: sfn.Map; finalize: sfn.TaskStateBase } {
    const S = BatchState;
    const scoreStamp = sfn.JsonPath.format(
      '{}_{}',
      sfn.JsonPath.stringAt('$$.Execution.StartTime'),
      sfn.JsonPath.executionName,
    );
    const modelVersion = sfn.JsonPath.numberAt($('model', 'modelVersion'));
    const loadPart = this.invoke(S.LoadPart, props.loaderFunction, { retries: [WorkflowRetry.dependency] });
    const loadScores = this.catchInto(
      new sfn.Map(this, S.LoadScores, {
        stateName: S.LoadScores,
        itemsPath: $('data', 'parts'),
        maxConcurrency: props.config.batch.loadConcurrency,
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
        loads: sfn.JsonPath.objectAt('$.load'),
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
   * CommitLedger → ReleaseLock → Notify; returns CommitLedger. After CommitLedger the run has succeeded: ReleaseLock
   * and Notify are retried but not routed to the failure path (which would record a committed run as FAILED). If
   * they still fail the execution fails and alarms; an unreleased lock expires after its lease.
   */
  private commitAndNotify(recordFailure: sfn.IChainable): sfn.TaskStateBase {
    const S = BatchState;
    const f = this.functions;
    const runId = sfn.JsonPath.stringAt($('run', 'runId'));
    const data = (k: 'rowsIn' | 'rowsUsed' | 'rowsQuarantined' | 'expectedRows') => sfn.JsonPath.numberAt($('data', k));
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
          quarantinedObjects: sfn.JsonPath.listAt($('data', 'quarantinedObjects')),
          validationReportUri: sfn.JsonPath.stringAt($('data', 'validationReportUri')),
        },
        finalize: sfn.JsonPath.objectAt($('data', 'finalize')),
      },
      resultPath: '$.commit',
      catchInto: recordFailure,
      // DynamoDB/S3 outages surface as DependencyError; the commit is idempotent for the same run, so retry it.
      retries: [WorkflowRetry.dependency],
    });
    const release = this.invoke(S.ReleaseLock, f.releaseLock, {
      payload: { runId },
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
    commit.next(release).next(notify);
    return commit;
  }
}
