import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { TrainingState } from '../../contracts/states/names';
import {
  EvaluationPlanSchema,
  EvaluationSchema,
  PreparedTrainingDataSchema,
  RegistrationSchema,
  RunInfoSchema,
  ScoringSchema,
  TrainingJobSchema,
} from '../../contracts/states/training';
import type { AppConfig } from '../config';
import { acknowledge } from '../nag';
import { physicalNames } from '../physical-names';
import { xgboostImageUri } from '../xgboost-image';
import { batchStateMachineName } from './batch-inference-workflow';
import { jsonPathsOf } from './json-path';
import type { ProjectFunction } from './project-function';
import { createTrainingJobRole, SageMakerTrainJob } from './tasks/train-job';
import { EVALUATION_DATA_PROCESSING, SageMakerTransformJob } from './tasks/transform-job';
import { evaluationNamePrefix, grantEvaluation, grantEvaluationTransforms } from './training-evaluation';
import {
  createTrainingFunctions,
  grantTrainingFunctions,
  type TrainingFunctions,
  type TrainingWorkflowEnvironment,
} from './training-functions';
import { grantTrainingPrepareMaps, trainingPrepareChain } from './training-prepare';
import { Workflow, WorkflowRetry } from './workflow';

/** JSONPaths into the Training state object (each key is the ResultPath of the state that writes it). */
const $ = jsonPathsOf({
  run: RunInfoSchema,
  data: PreparedTrainingDataSchema,
  training: TrainingJobSchema,
  plan: EvaluationPlanSchema,
  scoring: ScoringSchema,
  evaluation: EvaluationSchema,
  registration: RegistrationSchema,
});

/** Properties of {@link TrainingWorkflow}. */
export interface TrainingWorkflowProps {
  /** Validated settings (uses `namePrefix`, `training`, `gate`, `validation`, `transform`, `batch`, `logRetentionDays`). */
  readonly config: AppConfig;
  /** The `Pipeline` table (tracking records). */
  readonly table: dynamodb.ITable;
  /** Feature store bucket (reads `training/dt=…/`). */
  readonly featuresBucket: s3.IBucket;
  /** Artifacts bucket (training sets, models, checkpoints, reports, quarantine). */
  readonly artifactsBucket: s3.IBucket;
  /** The data key: buckets, table, training volume/output, log group, topics. */
  readonly encryptionKey: kms.IKey;
  /** Model Package Group (data stack). */
  readonly modelPackageGroupName: string;
  /** VPC of the training job (its isolated subnets are used). */
  readonly vpc: ec2.IVpc;
  /**
   * Security groups of the training job (e.g. the network stack's functions group: HTTPS to the endpoints only).
   * When `training.instanceCount > 1` the construct adds a group admitting traffic between the job's instances.
   */
  readonly trainingSecurityGroups: readonly ec2.ISecurityGroup[];
  /** Topic the `Alert` state publishes failures to. */
  readonly alertTopic: sns.ITopic;
  /**
   * Name of the BatchInference state machine started on approval when `batch.startOnApproval` is on (a name, not a
   * reference, so the batch stack may depend on this one without a cycle).
   * @default - `batchStateMachineName(config)`, i.e. `<namePrefix>-<env>-batch-inference`
   */
  readonly batchStateMachineName?: string;
  /**
   * Code version recorded on runs and model packages.
   * @default - `resolveCodeVersion()` (lib/code-version.ts)
   */
  readonly codeVersion?: string;
}

/**
 * The Training workflow: `StartRun → PrepareTrainingData (fanned out: PlanTrainingData → ProfileTrainingData →
 * BuildPreprocessingSpec → EncodeTrainingData → PrepareTrainingData, lib/constructs/training-prepare.ts) → Train → EvaluateModel → ModelGate → RegisterModel →
 * NotifyApprovers → CompleteRun`; a candidate that fails the gate → `RecordGateFailure → GateFailed` (Fail, error
 * `GateFailedError`, run status REJECTED, no package); any error → `RecordFailure → Alert → Fail`.
 *
 * `Train` is {@link SageMakerTrainJob}: managed spot with checkpoints, one job per attempt.
 *
 * Also: the approver topic (KMS), the approval-event rule ("SageMaker Model Package State Change" of this group only)
 * with its function, and a least-privilege SageMaker execution role for the training job.
 */
export class TrainingWorkflow extends Workflow<TrainingWorkflowEnvironment> {
  public readonly stateMachine: sfn.StateMachine;
  public readonly logGroup: logs.LogGroup;
  /** Receives "model version N awaits approval" messages. */
  public readonly approverTopic: sns.Topic;
  /** Role the training job runs with. */
  public readonly trainingRole: iam.Role;
  /** Rule routing this group's model package state changes to {@link approvalFunction}. */
  public readonly approvalRule: events.Rule;
  public readonly approvalFunction: ProjectFunction;
  /** Approval events that could not be delivered or handled (rule target DLQ + async on-failure destination). */
  public readonly approvalDeadLetterQueue: sqs.Queue;
  /** The functions by state name (plus `ApprovalEvent`). */
  public readonly functions: Readonly<Record<string, ProjectFunction>>;
  /** RecordFailure function (generic input `{ runId, kind, error }`; the batch workflow may reuse it). */
  public readonly recordFailureFunction: ProjectFunction;
  /** XGBoost image URI (also the inference image registered with each package). */
  public readonly imageUri: string;

  constructor(scope: Construct, id: string, props: TrainingWorkflowProps) {
    super(scope, id, {
      config: props.config,
      encryptionKey: props.encryptionKey,
      codeVersion: props.codeVersion,
      functionEnvironment: {
        TABLE_NAME: props.table.tableName,
        FEATURES_BUCKET: props.featuresBucket.bucketName,
        ARTIFACTS_BUCKET: props.artifactsBucket.bucketName,
        MODEL_PACKAGE_GROUP_NAME: props.modelPackageGroupName,
      },
    });
    const { config } = props;
    const t = config.training;
    const batchSmArn = Stack.of(this).formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: props.batchStateMachineName ?? batchStateMachineName(config),
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.imageUri = xgboostImageUri(this, t.xgboostVersion);
    this.approverTopic = new sns.Topic(this, 'ApproverTopic', {
      displayName: `${config.namePrefix} ${config.envName} model approvals`,
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });

    const f = createTrainingFunctions(this, {
      config,
      imageUri: this.imageUri,
      approverTopic: this.approverTopic,
      batchStateMachineArn: batchSmArn,
    });
    this.recordFailureFunction = f.recordFailure;
    this.approvalFunction = f.approval;
    this.functions = {
      StartRun: f.startRun,
      PlanTrainingData: f.plan,
      ProfileTask: f.profile,
      BuildPreprocessingSpec: f.buildSpec,
      EncodeTask: f.encode,
      PrepareTrainingData: f.prepare,
      EvaluateModel: f.evaluate,
      RegisterModel: f.register,
      NotifyApprovers: f.notify,
      CompleteRun: f.complete,
      RecordFailure: f.recordFailure,
      ApprovalEvent: f.approval,
    };
    grantTrainingFunctions(f, { ...props, approverTopic: this.approverTopic, batchStateMachineArn: batchSmArn });

    this.trainingRole = createTrainingJobRole(this, 'TrainingJobRole', {
      artifactsBucket: props.artifactsBucket,
      encryptionKey: props.encryptionKey,
    });
    const prepareEvaluation = this.createEvaluationFunction(props, f.evaluate);
    this.functions = { ...this.functions, PrepareEvaluation: prepareEvaluation };
    const { definition, train, scoreCandidate } = this.definition(props, f, prepareEvaluation);
    const { stateMachine, logGroup } = this.createStateMachine({
      stateMachineName: physicalNames(config).trainingStateMachine,
      comment: 'Training: validate features, train XGBoost, gate, register for approval',
      definition,
      timeout: Duration.seconds((t.useSpot ? t.maxWaitSeconds : t.maxRuntimeSeconds) * 2 + 3600),
    });
    this.stateMachine = stateMachine;
    this.logGroup = logGroup;
    train.grantRun(stateMachine);
    grantTrainingPrepareMaps(stateMachine, props);
    // Both evaluation transforms share one job-name prefix: one grant covers them.
    scoreCandidate.grantRun(stateMachine);
    stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AlertTopicKey',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sns.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );

    const approvalEvents = this.createApprovalEvents(props.modelPackageGroupName);
    this.approvalDeadLetterQueue = approvalEvents.deadLetterQueue;
    this.approvalRule = approvalEvents.rule;
  }

  /** The Train state, in the VPC's isolated subnets (plus a group between the instances of a distributed job). */
  private createTrainState(props: TrainingWorkflowProps): SageMakerTrainJob {
    const t = props.config.training;
    const securityGroups = [...props.trainingSecurityGroups];
    if (t.instanceCount > 1) {
      const cluster = new ec2.SecurityGroup(this, 'TrainingClusterSecurityGroup', {
        vpc: props.vpc,
        description: 'Training job instances: traffic between the instances of one distributed job',
        allowAllOutbound: false,
      });
      cluster.addIngressRule(cluster, ec2.Port.allTcp(), 'between training instances');
      cluster.addEgressRule(cluster, ec2.Port.allTcp(), 'between training instances');
      securityGroups.push(cluster);
    }
    return new SageMakerTrainJob(this, TrainingState.Train, {
      settings: t,
      role: this.trainingRole,
      imageUri: this.imageUri,
      encryptionKey: props.encryptionKey,
      subnetIds: props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds,
      securityGroups,
      jobNameBasePath: $('run', 'trainingJobName'),
      trainDataPath: $('data', 'trainUri'),
      validationDataPath: $('data', 'validationUri'),
      modelOutputPath: $('run', 'modelOutputUri'),
      checkpointPath: $('run', 'checkpointUri'),
      runIdPath: $('run', 'runId'),
      resultPath: $('training'),
    });
  }

  /** `RecordFailure → Alert (SNS) → Fail`; returns RecordFailure. */
  private trainingFailurePath(props: TrainingWorkflowProps, recordFailureFunction: ProjectFunction): sfn.TaskStateBase {
    const S = TrainingState;
    const { config } = props;
    const alert = () =>
      new tasks.SnsPublish(this, S.Alert, {
        stateName: S.Alert,
        topic: props.alertTopic,
        subject: `[${config.namePrefix} ${config.envName}] Training run failed`,
        message: sfn.TaskInput.fromObject({
          workflow: 'Training',
          'runId.$': '$$.Execution.Name',
          'execution.$': '$$.Execution.Id',
          // The whole Catch object: a missing Cause field must not turn the alert into a States.Runtime error.
          'error.$': '$.error',
        }),
        resultPath: sfn.JsonPath.DISCARD,
      });
    return this.failurePath({
      recordFailureFunction: recordFailureFunction,
      runKind: 'training',
      recordResultPath: '$.failureRecord',
      alert,
    });
  }

  /** The states from StartRun to CompleteRun / GateFailed, every step caught into the failure path. */
  private definition(
    props: TrainingWorkflowProps,
    f: TrainingFunctions,
    prepareEvaluation: ProjectFunction,
  ): { definition: sfn.IChainable; train: SageMakerTrainJob; scoreCandidate: SageMakerTransformJob } {
    const S = TrainingState;
    const recordFailure = this.trainingFailurePath(props, f.recordFailure);
    const step = (name: string, fn: ProjectFunction, payload: Record<string, unknown>, resultPath?: string) =>
      this.invoke(name, fn, {
        payload,
        resultPath,
        retries: [{ ...WorkflowRetry.dependency, jitterStrategy: sfn.JitterType.FULL }],
        catchInto: recordFailure,
      });
    const runId = $('run', 'runId');

    const startRun = step(
      S.StartRun,
      f.startRun,
      {
        'runId.$': '$$.Execution.Name',
        'startedAt.$': '$$.Execution.StartTime',
        'executionArn.$': '$$.Execution.Id',
        'input.$': '$',
      },
      $('run'),
    );
    const prepare = trainingPrepareChain(this, {
      config: props.config,
      functions: f,
      runIdPath: runId,
      dataWindowPath: $('run', 'dataWindow'),
      resultPath: $('data'),
      step,
      item: (name, fn) => this.invoke(name, fn, { retries: [WorkflowRetry.dependency] }),
      catchInto: (state) => this.catchInto(state, recordFailure),
    });
    const train = this.catchInto(this.createTrainState(props), recordFailure);
    const planEvaluation = step(
      S.PrepareEvaluation,
      prepareEvaluation,
      { 'runId.$': runId, 'training.$': $('training'), 'data.$': $('data') },
      $('plan'),
    );
    const { scoreValidation, scoreCandidate } = this.scoreValidation(props, recordFailure);
    const evaluate = step(
      S.EvaluateModel,
      f.evaluate,
      {
        'runId.$': runId,
        'codeVersion.$': $('run', 'codeVersion'),
        'training.$': $('training'),
        'data.$': $('data'),
        'plan.$': $('plan'),
        'scoring.$': $('scoring'),
      },
      $('evaluation'),
    );
    const register = step(
      S.RegisterModel,
      f.register,
      { 'run.$': $('run'), 'data.$': $('data'), 'training.$': $('training'), 'evaluation.$': $('evaluation') },
      $('registration'),
    );
    const notify = step(
      S.NotifyApprovers,
      f.notify,
      { 'runId.$': runId, 'registration.$': $('registration'), 'evaluation.$': $('evaluation') },
      '$.notification',
    );
    // No ResultPath: the result replaces the state and is the execution's output.
    const complete = step(S.CompleteRun, f.complete, {
      outcome: 'registered',
      'runId.$': runId,
      'registration.$': $('registration'),
      'evaluation.$': $('evaluation'),
    });
    const gateFailed = new sfn.Fail(this, S.GateFailed, {
      stateName: S.GateFailed,
      errorPath: '$.gateFailure.error',
      causePath: '$.gateFailure.cause',
    });
    const recordGateFailure = step(
      S.RecordGateFailure,
      f.complete,
      { outcome: 'rejected', 'runId.$': runId, 'evaluation.$': $('evaluation') },
      '$.gateFailure',
    ).next(gateFailed);
    const gate = new sfn.Choice(this, S.ModelGate, { stateName: S.ModelGate })
      .when(sfn.Condition.booleanEquals($('evaluation', 'passed'), true), register.next(notify).next(complete))
      .otherwise(recordGateFailure);
    const evaluation = planEvaluation.next(scoreValidation).next(evaluate);
    return { definition: startRun.next(prepare).next(train).next(evaluation).next(gate), train, scoreCandidate };
  }

  /**
   * The PrepareEvaluation function (its environment needs the model role, created after the other functions) and
   * the access of the evaluation states.
   */
  private createEvaluationFunction(props: TrainingWorkflowProps, evaluate: ProjectFunction): ProjectFunction {
    const fn = this.addFunction(
      'PrepareEvaluationFunction',
      'prepare-evaluation',
      'Training: Models and transform jobs scoring the validation rows with the candidate and Production',
      {
        EVALUATION_NAME_PREFIX: evaluationNamePrefix(props.config),
        INFERENCE_IMAGE_URI: this.imageUri,
        SAGEMAKER_ROLE_ARN: this.trainingRole.roleArn,
      },
      { timeout: Duration.minutes(5), memorySize: 1024 },
    );
    grantEvaluation(fn, evaluate, { ...props, modelRole: this.trainingRole });
    grantEvaluationTransforms(this.trainingRole, props.artifactsBucket);
    return fn;
  }

  /**
   * ScoreValidation (Parallel): the candidate and, when PrepareEvaluation found one that can read these rows, the
   * Production model batch-transform the candidate's validation channel (label joined to the score). A failed
   * candidate transform fails the run; a failed champion transform is caught (`ChampionScoringFailed`) and becomes
   * a recorded note of the gate decision, as does `NoChampion`.
   */
  private scoreValidation(
    props: TrainingWorkflowProps,
    recordFailure: sfn.IChainable,
  ): { scoreValidation: sfn.Parallel; scoreCandidate: SageMakerTransformJob } {
    const S = TrainingState;
    const job = (name: string, role: 'candidate' | 'champion') =>
      new SageMakerTransformJob(this, name, {
        settings: props.config.transform,
        encryptionKey: props.encryptionKey,
        jobNamePrefix: `${evaluationNamePrefix(props.config)}-ev`,
        jobNamePath: $('plan', role, 'transformJobName'),
        modelNamePath: $('plan', role, 'modelName'),
        manifestUriPath: $('plan', role, 'inputUri'),
        inputType: 'S3Prefix',
        dataProcessing: EVALUATION_DATA_PROCESSING,
        outputUriPath: $('plan', role, 'outputUri'),
        runIdPath: $('run', 'runId'),
        timeout: Duration.seconds(props.config.training.maxRuntimeSeconds),
      });
    const scoreCandidate = job(S.ScoreCandidate, 'candidate');
    const scoreChampion = job(S.ScoreChampion, 'champion');
    const championFailed = new sfn.Pass(this, S.ChampionScoringFailed, {
      stateName: S.ChampionScoringFailed,
      parameters: { status: 'Failed', 'error.$': '$.error' },
    });
    scoreChampion.addCatch(championFailed, { errors: ['States.ALL'], resultPath: '$.error' });
    // "IsNull: true → NoChampion" rather than "IsNull: false → ScoreChampion": the same in AWS, and the local
    // emulator (aws-local-stepfunctions) evaluates IsNull false as never matching.
    const noChampion = new sfn.Pass(this, S.NoChampion, {
      stateName: S.NoChampion,
      result: sfn.Result.fromObject({ status: 'None' }),
    });
    const champion = new sfn.Choice(this, S.HasChampion, { stateName: S.HasChampion })
      .when(sfn.Condition.isNull($('plan', 'champion')), noChampion)
      .otherwise(scoreChampion);
    const scoreValidation = new sfn.Parallel(this, S.ScoreValidation, {
      stateName: S.ScoreValidation,
      resultSelector: { 'candidate.$': '$[0]', 'champion.$': '$[1]' },
      resultPath: $('scoring'),
    })
      .branch(scoreCandidate)
      .branch(champion);
    return { scoreValidation: this.catchInto(scoreValidation, recordFailure), scoreCandidate };
  }

  /**
   * Approval events of this group only → the approval function. Undeliverable events (rule target) and events the
   * function failed on after Lambda's async retries land in a dead-letter queue: an approval change is never dropped
   * silently. SSE-SQS: EventBridge itself writes the rule target's DLQ, and the data key's policy (data stack) does
   * not admit events.amazonaws.com.
   */
  private createApprovalEvents(group: string): { deadLetterQueue: sqs.Queue; rule: events.Rule } {
    const deadLetterQueue = new sqs.Queue(this, 'ApprovalEventsDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(deadLetterQueue, {
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue IS the dead-letter queue of the approval-event rule target and of the approval function's " +
        'asynchronous invocations; a dead-letter queue does not get one of its own.',
    });
    this.approvalFunction.configureAsyncInvoke({
      retryAttempts: 2,
      onFailure: new destinations.SqsDestination(deadLetterQueue),
    });
    const rule = new events.Rule(this, 'ApprovalRule', {
      description: `Model package state changes of ${group} → approval history`,
      eventPattern: {
        source: ['aws.sagemaker'],
        detailType: ['SageMaker Model Package State Change'],
        detail: { ModelPackageGroupName: [group] },
      },
      targets: [
        new eventTargets.LambdaFunction(this.approvalFunction, { retryAttempts: 8, deadLetterQueue: deadLetterQueue }),
      ],
    });
    return { deadLetterQueue, rule };
  }
}
