import { ArnFormat, Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct, type IConstruct } from 'constructs';
import type { AppConfig } from '../config';
import { acknowledge, iam5ResourceId, NagIds } from '../nag';
import { xgboostImageUri, xgboostRepositoryArn } from '../xgboost-image';
import { ProjectFunction } from './project-function';

/** State names of the Training state machine (DESIGN §6, brief contract 8): local overrides and tests use them. */
export const TRAINING_STATES = {
  startRun: 'StartRun',
  prepareTrainingData: 'PrepareTrainingData',
  train: 'Train',
  evaluateModel: 'EvaluateModel',
  modelGate: 'ModelGate',
  registerModel: 'RegisterModel',
  notifyApprovers: 'NotifyApprovers',
  completeRun: 'CompleteRun',
  recordGateFailure: 'RecordGateFailure',
  gateFailed: 'GateFailed',
  recordFailure: 'RecordFailure',
  alert: 'Alert',
  fail: 'Fail',
} as const;

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
   * @default `${namePrefix}-batch-inference`
   */
  readonly batchStateMachineName?: string;
  /**
   * Code version recorded on runs and model packages.
   * @default - `CODE_VERSION` or `CODEBUILD_RESOLVED_SOURCE_VERSION` at synth time, else `unknown`
   */
  readonly codeVersion?: string;
}

/**
 * The Training workflow (DESIGN §6): `StartRun → PrepareTrainingData → Train → EvaluateModel → ModelGate →
 * RegisterModel → NotifyApprovers → CompleteRun`; a candidate that fails the gate → `RecordGateFailure → GateFailed`
 * (Fail, error `GateFailedError`, run status REJECTED, no package); any error → `RecordFailure → Alert → Fail`.
 *
 * `Train` is SageMaker CreateTrainingJob `.sync` with the built-in XGBoost image, managed spot (max wait, checkpoints),
 * the data key for volume and output, the VPC's isolated subnets, network isolation, and retries on throttling,
 * instance limits and failed jobs (capacity). It is emitted as raw state JSON because the CDK task lacks spot and
 * checkpoint settings; the job name is `<run-derived base>-a<$$.State.RetryCount>`, so every attempt has its own job.
 *
 * Also: the approver topic (KMS), the approval-event rule ("SageMaker Model Package State Change" of this group only)
 * with its function, and a least-privilege SageMaker execution role for the training job.
 */
export class TrainingWorkflow extends Construct {
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
    super(scope, id);
    const { config, table, featuresBucket, artifactsBucket, encryptionKey: key } = props;
    const stack = Stack.of(this);
    const t = config.training;
    const group = props.modelPackageGroupName;
    const codeVersion =
      props.codeVersion ?? process.env.CODE_VERSION ?? process.env.CODEBUILD_RESOLVED_SOURCE_VERSION ?? 'unknown';
    const batchSmName = props.batchStateMachineName ?? `${config.namePrefix}-batch-inference`;
    const batchSmArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: batchSmName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.imageUri = xgboostImageUri(this, t.xgboostVersion);

    this.approverTopic = new sns.Topic(this, 'ApproverTopic', {
      displayName: `${config.namePrefix} ${config.envName} model approvals`,
      masterKey: key,
      enforceSSL: true,
    });

    // ---------------------------------------------------------------------------------------------------------------
    // Functions
    const common: Record<string, string> = {
      TABLE_NAME: table.tableName,
      FEATURES_BUCKET: featuresBucket.bucketName,
      ARTIFACTS_BUCKET: artifactsBucket.bucketName,
      MODEL_PACKAGE_GROUP_NAME: group,
      CODE_VERSION: codeVersion,
    };
    const fn = (fid: string, dir: string, description: string, env: Record<string, string>, extra = {}) =>
      new ProjectFunction(this, fid, {
        entry: `lambdas/functions/${dir}/handler.ts`,
        description,
        environment: { ...common, ...env },
        logEncryptionKey: key,
        ...extra,
      });
    const gateEnv = {
      GATE_MIN_AUC: String(config.gate.minAuc),
      GATE_MAX_LOGLOSS: String(config.gate.maxLogloss),
      GATE_MAX_AUC_DROP: String(config.gate.maxAucDropVsProduction),
    };
    const startRun = fn('StartRunFunction', 'start-run', 'Training: resolve the data window, create the run record', {
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
    });
    const prepare = fn(
      'PrepareTrainingDataFunction',
      'prepare-training-data',
      'Training: validate features against the contract, quarantine, encode, split, profile',
      {
        VALIDATION_SHARE: String(t.validationShare),
        MAX_INVALID_ROW_RATIO: String(config.validation.maxInvalidRowRatio),
        MAX_REPORTED_VIOLATIONS: String(config.validation.maxReportedViolations),
      },
      { timeout: Duration.minutes(15), memorySize: 2048 },
    );
    const evaluate = fn('EvaluateModelFunction', 'evaluate-model', 'Training: metrics, gate decision, report', gateEnv);
    const register = fn('RegisterModelFunction', 'register-model', 'Training: register the model package', {
      INFERENCE_IMAGE_URI: this.imageUri,
      TRANSFORM_INSTANCE_TYPES: config.transform.instanceType,
    });
    const notify = fn('NotifyApproversFunction', 'notify-approvers', 'Training: ask approvers to review', {
      APPROVER_TOPIC_ARN: this.approverTopic.topicArn,
    });
    const complete = fn('CompleteRunFunction', 'complete-run', 'Training: end the run SUCCEEDED or REJECTED', {});
    this.recordFailureFunction = fn(
      'RecordFailureFunction',
      'record-failure',
      'Record a run failure (any workflow)',
      {},
    );
    this.approvalFunction = fn(
      'ApprovalEventFunction',
      'approval-event',
      'Model registry: approval history, rollback, optional batch run on approval',
      {
        START_BATCH_ON_APPROVAL: String(config.batch.startOnApproval),
        BATCH_STATE_MACHINE_ARN: batchSmArn,
      },
    );
    this.functions = {
      StartRun: startRun,
      PrepareTrainingData: prepare,
      EvaluateModel: evaluate,
      RegisterModel: register,
      NotifyApprovers: notify,
      CompleteRun: complete,
      RecordFailure: this.recordFailureFunction,
      ApprovalEvent: this.approvalFunction,
    };

    const access = new Access(stack, table, key);
    access.table(startRun, ['dynamodb:PutItem', 'dynamodb:GetItem']);
    access.list(startRun, featuresBucket, 'training/');
    access.list(prepare, featuresBucket, 'training/');
    access.objects(prepare, featuresBucket, 'training/', 'read');
    for (const prefix of ['training/', 'reports/', 'quarantine/'])
      access.objects(prepare, artifactsBucket, prefix, 'write');
    access.table(prepare, ['dynamodb:UpdateItem']);
    access.registryRead(evaluate, group);
    access.objects(evaluate, artifactsBucket, 'reports/', 'readwrite');
    access.table(evaluate, ['dynamodb:UpdateItem']);
    access.registryRead(register, group);
    register.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'CreateModelPackageInGroup',
        actions: ['sagemaker:CreateModelPackage'],
        resources: [access.packageGroupArn(group), access.packageArns(group)],
      }),
    );
    access.table(register, [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:ConditionCheckItem',
    ]);
    notify.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.approverTopic.topicArn] }),
    );
    access.keyVia(notify, 'sns', ['kms:GenerateDataKey', 'kms:Decrypt']);
    access.table(complete, ['dynamodb:UpdateItem', 'dynamodb:GetItem']);
    access.table(this.recordFailureFunction, ['dynamodb:UpdateItem']);
    access.registryRead(this.approvalFunction, group);
    access.table(this.approvalFunction, [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:ConditionCheckItem',
    ]);
    if (config.batch.startOnApproval) {
      this.approvalFunction.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [batchSmArn] }),
      );
    }

    const prefixReason = (what: string) =>
      `${what}: keys under a fixed prefix carry run ids or partition dates known only at run time.`;
    ackWildcards(
      prepare.role!,
      prefixReason('Reads training/ features, writes the run folders'),
      featuresBucket.arnForObjects('training/*'),
      artifactsBucket.arnForObjects('training/*'),
      artifactsBucket.arnForObjects('reports/*'),
      artifactsBucket.arnForObjects('quarantine/*'),
    );
    ackWildcards(
      evaluate.role!,
      prefixReason('Writes reports/<runId>/evaluation.json, reads the Production report'),
      artifactsBucket.arnForObjects('reports/*'),
    );
    for (const f of [evaluate, register, this.approvalFunction]) {
      ackWildcards(
        f.role!,
        'Model package versions of this group only (versions are created at run time); ListModelPackages supports no ' +
          'resource-level permissions.',
        access.packageArns(group),
      );
    }

    // ---------------------------------------------------------------------------------------------------------------
    // SageMaker training job: role and network
    this.trainingRole = this.createTrainingRole(props);
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
    const subnets = props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds;

    // ---------------------------------------------------------------------------------------------------------------
    // Definition
    const S = TRAINING_STATES;
    const fail = new sfn.Fail(this, S.fail, {
      stateName: S.fail,
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    const alert = new tasks.SnsPublish(this, S.alert, {
      stateName: S.alert,
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
    alert.addCatch(fail, { resultPath: '$.alertError' });
    alert.next(fail);
    const recordFailure = new tasks.LambdaInvoke(this, S.recordFailure, {
      stateName: S.recordFailure,
      lambdaFunction: this.recordFailureFunction,
      payloadResponseOnly: true,
      payload: sfn.TaskInput.fromObject({
        'runId.$': '$$.Execution.Name',
        kind: 'training',
        'error.$': '$.error',
      }),
      resultPath: '$.failureRecord',
    });
    recordFailure.addCatch(alert, { resultPath: '$.recordFailureError' });
    recordFailure.next(alert);

    const invoke = (name: string, f: lambda.IFunction, payload: Record<string, unknown>, resultPath?: string) => {
      const task = new tasks.LambdaInvoke(this, name, {
        stateName: name,
        lambdaFunction: f,
        payloadResponseOnly: true,
        payload: sfn.TaskInput.fromObject(payload),
        resultPath,
      });
      task.addRetry({
        errors: ['DependencyError'],
        interval: Duration.seconds(5),
        maxAttempts: 3,
        backoffRate: 2,
        jitterStrategy: sfn.JitterType.FULL,
      });
      task.addCatch(recordFailure, { resultPath: '$.error' });
      return task;
    };

    const startRunState = invoke(
      S.startRun,
      startRun,
      { 'runId.$': '$$.Execution.Name', 'startedAt.$': '$$.Execution.StartTime', 'input.$': '$' },
      '$.run',
    );
    const prepareState = invoke(
      S.prepareTrainingData,
      prepare,
      { 'runId.$': '$.run.runId', 'dataWindow.$': '$.run.dataWindow' },
      '$.data',
    );
    const train = new sfn.CustomState(this, S.train, {
      stateJson: {
        Type: 'Task',
        Resource: `arn:${Aws.PARTITION}:states:::sagemaker:createTrainingJob.sync`,
        Parameters: this.trainingJobParameters(props, subnets, securityGroups),
        ResultPath: '$.training',
        Retry: [
          {
            ErrorEquals: ['SageMaker.AmazonSageMakerException', 'SageMaker.ThrottlingException', 'ThrottlingException'],
            IntervalSeconds: 15,
            MaxAttempts: 5,
            BackoffRate: 2,
            JitterStrategy: 'FULL',
          },
          {
            ErrorEquals: ['SageMaker.ResourceLimitExceededException', 'SageMaker.ResourceInUseException'],
            IntervalSeconds: 120,
            MaxAttempts: 3,
            BackoffRate: 2,
            JitterStrategy: 'FULL',
          },
          {
            // The job itself failed (capacity, spot capacity beyond MaxWait, internal error): one more job.
            ErrorEquals: ['States.TaskFailed'],
            IntervalSeconds: 300,
            MaxAttempts: 1,
            BackoffRate: 1,
          },
        ],
      },
    });
    train.addCatch(recordFailure, { resultPath: '$.error' });
    const evaluateState = invoke(
      S.evaluateModel,
      evaluate,
      { 'runId.$': '$.run.runId', 'training.$': '$.training' },
      '$.evaluation',
    );
    const registerState = invoke(
      S.registerModel,
      register,
      { 'run.$': '$.run', 'data.$': '$.data', 'training.$': '$.training', 'evaluation.$': '$.evaluation' },
      '$.registration',
    );
    const notifyState = invoke(
      S.notifyApprovers,
      notify,
      { 'runId.$': '$.run.runId', 'registration.$': '$.registration', 'evaluation.$': '$.evaluation' },
      '$.notification',
    );
    const completeState = invoke(
      S.completeRun,
      complete,
      {
        outcome: 'registered',
        'runId.$': '$.run.runId',
        'registration.$': '$.registration',
        'evaluation.$': '$.evaluation',
      },
      // No ResultPath: the result replaces the state and is the execution's output.
    );
    const gateFailed = new sfn.Fail(this, S.gateFailed, {
      stateName: S.gateFailed,
      errorPath: '$.gateFailure.error',
      causePath: '$.gateFailure.cause',
    });
    const recordGateFailure = invoke(
      S.recordGateFailure,
      complete,
      { outcome: 'rejected', 'runId.$': '$.run.runId', 'evaluation.$': '$.evaluation' },
      '$.gateFailure',
    ).next(gateFailed);

    const gate = new sfn.Choice(this, S.modelGate, { stateName: S.modelGate })
      .when(
        sfn.Condition.booleanEquals('$.evaluation.passed', true),
        registerState.next(notifyState).next(completeState),
      )
      .otherwise(recordGateFailure);

    const definition = startRunState.next(prepareState).next(train).next(evaluateState).next(gate);

    // Execution data is NOT logged: state inputs/outputs carry validation causes that can quote feature values
    // (customer data) and would be copied into CloudWatch Logs. ALL events (transitions, errors) are logged; the
    // data stays in the execution history (IAM-protected, 90 days) and in the run record / S3 reports.
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: config.logRetentionDays as logs.RetentionDays,
      encryptionKey: key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: `${config.namePrefix}-training`,
      comment: 'Training: validate features, train XGBoost, gate, register for approval',
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      tracingEnabled: true,
      timeout: Duration.seconds((t.useSpot ? t.maxWaitSeconds : t.maxRuntimeSeconds) * 2 + 3600),
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    this.grantTrainingJob(props);

    // ---------------------------------------------------------------------------------------------------------------
    // Approval events of this group only
    // Undeliverable events (rule target) and events the function failed on after Lambda's async retries land here:
    // an approval change is never dropped silently. SSE-SQS: EventBridge itself writes the rule target's DLQ, and the
    // data key's policy (data stack) does not admit events.amazonaws.com.
    this.approvalDeadLetterQueue = new sqs.Queue(this, 'ApprovalEventsDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.approvalDeadLetterQueue, {
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue IS the dead-letter queue of the approval-event rule target and of the approval function's " +
        'asynchronous invocations; a dead-letter queue does not get one of its own.',
    });
    this.approvalFunction.configureAsyncInvoke({
      retryAttempts: 2,
      onFailure: new destinations.SqsDestination(this.approvalDeadLetterQueue),
    });
    this.approvalRule = new events.Rule(this, 'ApprovalRule', {
      description: `Model package state changes of ${group} → approval history`,
      eventPattern: {
        source: ['aws.sagemaker'],
        detailType: ['SageMaker Model Package State Change'],
        detail: { ModelPackageGroupName: [group] },
      },
      targets: [
        new eventTargets.LambdaFunction(this.approvalFunction, {
          retryAttempts: 8,
          deadLetterQueue: this.approvalDeadLetterQueue,
        }),
      ],
    });
  }

  /** CreateTrainingJob parameters (JSONPath). */
  private trainingJobParameters(
    props: TrainingWorkflowProps,
    subnets: string[],
    securityGroups: readonly ec2.ISecurityGroup[],
  ): Record<string, unknown> {
    const t = props.config.training;
    const channel = (name: string, path: string) => ({
      ChannelName: name,
      ContentType: 'text/csv',
      CompressionType: 'None',
      InputMode: 'File',
      DataSource: {
        S3DataSource: { S3DataType: 'S3Prefix', S3DataDistributionType: 'FullyReplicated', 'S3Uri.$': path },
      },
    });
    return {
      'TrainingJobName.$': "States.Format('{}-a{}', $.run.trainingJobName, $$.State.RetryCount)",
      RoleArn: this.trainingRole.roleArn,
      AlgorithmSpecification: { TrainingImage: this.imageUri, TrainingInputMode: 'File' },
      HyperParameters: { ...t.hyperparameters },
      InputDataConfig: [channel('train', '$.data.trainUri'), channel('validation', '$.data.validationUri')],
      OutputDataConfig: { 'S3OutputPath.$': '$.run.modelOutputUri', KmsKeyId: props.encryptionKey.keyArn },
      ResourceConfig: {
        InstanceType: t.instanceType,
        InstanceCount: t.instanceCount,
        VolumeSizeInGB: t.volumeSizeGb,
        VolumeKmsKeyId: props.encryptionKey.keyArn,
      },
      StoppingCondition: {
        MaxRuntimeInSeconds: t.maxRuntimeSeconds,
        ...(t.useSpot ? { MaxWaitTimeInSeconds: t.maxWaitSeconds } : {}),
      },
      EnableManagedSpotTraining: t.useSpot,
      ...(t.useSpot ? { CheckpointConfig: { 'S3Uri.$': '$.run.checkpointUri' } } : {}),
      EnableNetworkIsolation: true,
      EnableInterContainerTrafficEncryption: t.instanceCount > 1,
      VpcConfig: { Subnets: subnets, SecurityGroupIds: securityGroups.map((g) => g.securityGroupId) },
      Tags: [
        { Key: 'mlops:runId', 'Value.$': '$.run.runId' },
        { Key: 'mlops:workflow', Value: 'training' },
      ],
    };
  }

  /** Least-privilege role of the training job. */
  private createTrainingRole(props: TrainingWorkflowProps): iam.Role {
    const stack = Stack.of(this);
    const { artifactsBucket: bucket, encryptionKey: key } = props;
    const role = new iam.Role(this, 'TrainingJobRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'SageMaker training jobs of the Training workflow',
    });
    const add = (s: iam.PolicyStatementProps) => role.addToPolicy(new iam.PolicyStatement(s));
    add({ sid: 'ReadTrainingData', actions: ['s3:GetObject'], resources: [bucket.arnForObjects('training/*')] });
    add({
      sid: 'WriteModelAndCheckpoints',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
      resources: [bucket.arnForObjects('training/*/model/*'), bucket.arnForObjects('training/*/checkpoints/*')],
    });
    add({
      sid: 'ListTrainingPrefix',
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': ['training/*'] } },
    });
    add({
      sid: 'DataKeyForS3',
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
    });
    add({
      sid: 'DataKeyForVolumeAndOutput',
      actions: [
        'kms:Encrypt',
        'kms:Decrypt',
        'kms:ReEncryptFrom',
        'kms:ReEncryptTo',
        'kms:GenerateDataKey',
        'kms:DescribeKey',
      ],
      resources: [key.keyArn],
    });
    add({
      sid: 'DataKeyGrantsForAwsResources',
      actions: ['kms:CreateGrant'],
      resources: [key.keyArn],
      conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    });
    add({
      sid: 'JobLogs',
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: [
        stack.formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: '/aws/sagemaker/TrainingJobs:*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    });
    add({
      sid: 'JobMetrics',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringLike: { 'cloudwatch:namespace': ['/aws/sagemaker/TrainingJobs', 'aws/sagemaker/*'] } },
    });
    add({
      sid: 'PullXgboostImage',
      actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
      resources: [xgboostRepositoryArn(this)],
    });
    add({ sid: 'EcrAuthToken', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] });
    add({
      sid: 'VpcNetworkInterfaces',
      actions: [
        'ec2:CreateNetworkInterface',
        'ec2:CreateNetworkInterfacePermission',
        'ec2:DeleteNetworkInterface',
        'ec2:DeleteNetworkInterfacePermission',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeVpcs',
        'ec2:DescribeDhcpOptions',
        'ec2:DescribeSubnets',
        'ec2:DescribeSecurityGroups',
      ],
      resources: ['*'],
    });
    acknowledge(role, {
      id: NagIds.iam5Resource,
      reason:
        'SageMaker training role: ecr:GetAuthorizationToken, cloudwatch:PutMetricData (limited by a namespace ' +
        'condition) and the EC2 network-interface actions SageMaker uses for VPC mode do not support resource-level ' +
        'permissions.',
    });
    ackWildcards(
      role,
      'The job reads and writes its own run folder training/<runId>/ (train, validation, model, checkpoints); run ids ' +
        'are execution names, known only at run time. Its log streams are named by job.',
      bucket.arnForObjects('training/*'),
      bucket.arnForObjects('training/*/model/*'),
      bucket.arnForObjects('training/*/checkpoints/*'),
      stack.formatArn({
        service: 'logs',
        resource: 'log-group',
        resourceName: '/aws/sagemaker/TrainingJobs:*',
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    return role;
  }

  /** What the state machine needs for `createTrainingJob.sync`, the alert topic's key, and passing the job role. */
  private grantTrainingJob(props: TrainingWorkflowProps): void {
    const stack = Stack.of(this);
    const jobArn = stack.formatArn({ service: 'sagemaker', resource: 'training-job', resourceName: '*' });
    const sm = this.stateMachine;
    sm.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RunTrainingJobs',
        actions: [
          'sagemaker:CreateTrainingJob',
          'sagemaker:DescribeTrainingJob',
          'sagemaker:StopTrainingJob',
          'sagemaker:AddTags',
          'sagemaker:ListTags',
        ],
        resources: [jobArn],
      }),
    );
    sm.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PassTrainingRole',
        actions: ['iam:PassRole'],
        resources: [this.trainingRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      }),
    );
    sm.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'SyncTrainingJobEvents',
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          stack.formatArn({
            service: 'events',
            resource: 'rule',
            resourceName: 'StepFunctionsGetEventsForSageMakerTrainingJobsRule',
          }),
        ],
      }),
    );
    sm.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AlertTopicKey',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sns.${stack.region}.amazonaws.com` } },
      }),
    );
    const role = sm.role;
    ackWildcards(
      role,
      'Training job names are derived from execution names at run time (one job per attempt); the statement is ' +
        'limited to training jobs of this account and region.',
      jobArn,
    );
    ackWildcards(
      role,
      'LambdaInvoke grants lambda:InvokeFunction on the function and its versions/aliases (<arn>:*); each statement ' +
        'names one function of this workflow.',
      ...Object.values(this.functions)
        .filter((f) => f !== this.approvalFunction)
        .map((f) => `${f.functionArn}:*`),
    );
    acknowledge(role, {
      id: NagIds.iam5Resource,
      reason:
        'X-Ray tracing of the state machine: xray:PutTraceSegments/PutTelemetryRecords/GetSampling* support no resource-level permissions.',
    });
  }
}

/** Explicit IAM statements (no `*` actions) for the table, bucket prefixes, the data key and the registry. */
class Access {
  constructor(
    private readonly stack: Stack,
    private readonly tableRef: dynamodb.ITable,
    private readonly key: kms.IKey,
  ) {}

  table(f: lambda.IFunction, actions: string[]): void {
    f.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [this.tableRef.tableArn] }));
    const writes = actions.some((a) => /Put|Update|Delete|Write/.test(a));
    this.keyVia(
      f,
      'dynamodb',
      writes
        ? ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey']
        : ['kms:Decrypt', 'kms:DescribeKey'],
    );
  }

  objects(f: lambda.IFunction, bucket: s3.IBucket, prefix: string, mode: 'read' | 'write' | 'readwrite'): void {
    const actions = [
      ...(mode !== 'write' ? ['s3:GetObject'] : []),
      ...(mode !== 'read' ? ['s3:PutObject', 's3:AbortMultipartUpload'] : []),
    ];
    f.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [bucket.arnForObjects(`${prefix}*`)] }));
    this.keyVia(f, 's3', mode === 'read' ? ['kms:Decrypt'] : ['kms:Decrypt', 'kms:GenerateDataKey']);
  }

  list(f: lambda.IFunction, bucket: s3.IBucket, prefix: string): void {
    f.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }),
    );
  }

  keyVia(f: lambda.IFunction, service: string, actions: string[]): void {
    f.addToRolePolicy(
      new iam.PolicyStatement({
        actions,
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `${service}.${this.stack.region}.amazonaws.com` } },
      }),
    );
  }

  packageGroupArn(group: string): string {
    return this.stack.formatArn({ service: 'sagemaker', resource: 'model-package-group', resourceName: group });
  }

  /** Versioned packages of the group (ARNs use the lower-cased group name). */
  packageArns(group: string): string {
    return this.stack.formatArn({
      service: 'sagemaker',
      resource: 'model-package',
      resourceName: `${group.toLowerCase()}/*`,
    });
  }

  /** List (no resource-level permissions) and describe the group's packages. */
  registryRead(f: lambda.IFunction, group: string): void {
    f.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sagemaker:DescribeModelPackage'], resources: [this.packageArns(group)] }),
    );
    f.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:ListModelPackages'], resources: ['*'] }));
  }
}

/** Acknowledge the IAM5 finding of each wildcard resource (exact finding ids) with one reason. */
function ackWildcards(scope: IConstruct, reason: string, ...resources: string[]): void {
  acknowledge(scope, ...resources.map((r) => ({ id: iam5ResourceId(scope, r), reason })));
}
