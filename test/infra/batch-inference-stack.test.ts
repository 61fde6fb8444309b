import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { LOAD_RESULTS_PREFIX, PREPARE_RESULTS_PREFIX } from '../../contracts/s3-layout';
import { BatchState } from '../../contracts/states/names';
import { loadConfig } from '../../lib/config';
import { ProjectFunction } from '../../lib/constructs/project-function';
import { BatchInferenceStack } from '../../lib/stacks/batch-inference-stack';
import { DataStack } from '../../lib/stacks/data-stack';
import { extractDefinition, findStateMachines, resolveResources } from '../../local/runtime/inventory';
import { synthesizeApp } from '../../local/runtime/synth';
import { testContext } from './context';

process.env.CDK_VALIDATION = 'false';

// asl-validator ships no type declarations.
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: () => string;
};

function build(extraContext: Record<string, unknown> = {}) {
  // Strong cross-stack references: local/template.ts does not resolve `Fn::GetStackOutput` (weak references) yet.
  const app = new App({
    context: testContext({ '@aws-cdk/core:defaultCrossStackReferences': 'strong', ...extraContext }),
  });
  const config = loadConfig(app.node);
  const data = new DataStack(app, 'Data', { config });
  const serving = new Stack(app, 'ServingStub');
  const loaderFunction = new ProjectFunction(serving, 'Loader', {
    entry: 'lambdas/functions/load-scores/handler.ts',
    description: 'loader',
  });
  const finalizeFunction = new ProjectFunction(serving, 'Finalize', {
    entry: 'lambdas/functions/finalize-scores/handler.ts',
    description: 'finalizer',
  });
  const batch = new BatchInferenceStack(app, 'Batch', {
    config,
    table: data.table,
    featuresBucketName: data.featuresBucketName,
    artifactsBucketName: data.artifactsBucketName,
    encryptionKey: data.key,
    modelPackageGroupName: data.modelPackageGroupName,
    loaderFunction,
    finalizeFunction,
  });
  return { app, config, data, batch };
}

const { app, batch } = build();
const template = Template.fromStack(batch);
const synthesized = synthesizeApp({ build: () => app, useCdkJson: false });
const definition = extractDefinition(synthesized, 'WorkflowStateMachine');
const states = definition.States as Record<string, Record<string, unknown>>;

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown; Sid?: string };
function statementsOf(roleLogicalIdPrefix: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  const out: Statement[] = [];
  for (const p of Object.values(policies)) {
    const roles = JSON.stringify((p.Properties as { Roles: unknown }).Roles);
    if (roles.includes(roleLogicalIdPrefix)) {
      out.push(...((p.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement ?? []));
    }
  }
  const roles = template.findResources('AWS::IAM::Role');
  for (const [id, r] of Object.entries(roles)) {
    if (!id.startsWith(roleLogicalIdPrefix)) continue;
    for (const pol of (r.Properties as { Policies?: { PolicyDocument: { Statement: Statement[] } }[] }).Policies ??
      []) {
      out.push(...pol.PolicyDocument.Statement);
    }
  }
  return out;
}
const actionsOf = (st: Statement[]) => st.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));

describe('BatchInference state machine definition', () => {
  test('has the contract state names and order', () => {
    expect(definition.StartAt).toBe(BatchState.AcquireLock);
    const next = (s: string) => states[s]?.Next;
    expect(next('AcquireLock')).toBe('LockAcquired?');
    expect(states['LockAcquired?']).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.run.acquired', BooleanEquals: true, Next: 'FindUnscored' }],
      Default: 'AlreadyRunning',
    });
    expect(states.AlreadyRunning).toEqual({ Type: 'Succeed' });
    expect(next('FindUnscored')).toBe('HasWork?');
    expect(states['HasWork?']).toMatchObject({
      Choices: [{ Variable: '$.work.count', NumericGreaterThan: 0, Next: 'ResolveModel' }],
      Default: 'ReleaseLockNoWork',
    });
    expect(next('ReleaseLockNoWork')).toBe('NothingToScore');
    expect(next('ResolveModel')).toBe('PlanPrepare');
    expect(next('PlanPrepare')).toBe('PrepareTasks');
    expect(next('PrepareTasks')).toBe('PrepareInferenceData');
    expect(next('PrepareInferenceData')).toBe('HasRows?');
    // No usable row (every object quarantined): straight to CommitLedger, no transform.
    expect(states['HasRows?']).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.data.expectedRows', NumericGreaterThan: 0, Next: 'Transform' }],
      Default: 'CommitLedger',
    });
    expect(next('Transform')).toBe('LoadScores');
    expect(next('LoadScores')).toBe('FinalizeScores');
    expect(next('FinalizeScores')).toBe('CommitLedger');
    expect(next('CommitLedger')).toBe('ReleaseLock');
    expect(next('ReleaseLock')).toBe('MoreWork?');
    // A truncated run's backlog continues in a new execution of this machine, after the lock is released.
    expect(states['MoreWork?']).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.commit.continuation', IsPresent: true, Next: 'StartContinuation' }],
      Default: 'Notify',
    });
    expect(states.StartContinuation).toMatchObject({
      Resource: 'arn:aws:states:::states:startExecution',
      Parameters: { 'Name.$': '$.commit.continuation.name', 'Input.$': '$.commit.continuation.input' },
      Next: 'Notify',
    });
    expect(states.Notify?.End).toBe(true);
    expect(next('RecordFailure')).toBe('ReleaseLockAfterFailure');
    expect(next('ReleaseLockAfterFailure')).toBe('Alert');
    expect(next('Alert')).toBe('Fail');
    expect(states.Fail).toEqual({ Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' });
  });

  test('every step up to CommitLedger is caught into RecordFailure with the error at $.error', () => {
    for (const s of [
      'AcquireLock',
      'FindUnscored',
      'ResolveModel',
      'PlanPrepare',
      'PrepareTasks',
      'PrepareInferenceData',
      'Transform',
      'LoadScores',
      'FinalizeScores',
      'CommitLedger',
    ]) {
      expect(states[s]?.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' }]);
    }
    // The failure path itself never dead-ends before Fail.
    expect(states.RecordFailure?.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.recordFailureError', Next: 'ReleaseLockAfterFailure' },
    ]);
    expect(states.ReleaseLockAfterFailure?.Catch).toEqual([expect.objectContaining({ Next: 'Alert' })]);
    expect(states.Alert?.Catch).toEqual([expect.objectContaining({ Next: 'Fail' })]);
    // After the commit the run has succeeded: no route to the failure path.
    expect(states.ReleaseLock?.Catch).toBeUndefined();
    expect(states.Notify?.Catch).toBeUndefined();
  });

  test('Lambda tasks invoke the function ARN directly (payloadResponseOnly)', () => {
    expect(states.AcquireLock).toMatchObject({
      Type: 'Task',
      Resource: expect.stringMatching(/^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:/),
      Parameters: { 'runId.$': '$$.Execution.Name', 'startedAt.$': '$$.Execution.StartTime', 'input.$': '$' },
      ResultPath: '$.run',
    });
    expect(states.ResolveModel?.Parameters).toEqual({ 'runId.$': '$.run.runId', namePrefix: 'mlops-batch-dev' });
  });

  test('Transform is createTransformJob.sync with the contract DataProcessing, manifest input and KMS', () => {
    const keyArn = expect.stringMatching(/^arn:aws:kms:/);
    expect(states.Transform).toEqual({
      Type: 'Task',
      Resource: 'arn:aws:states:::sagemaker:createTransformJob.sync',
      Parameters: {
        'TransformJobName.$': '$.data.transformJobName',
        'ModelName.$': '$.model.modelName',
        BatchStrategy: 'MultiRecord',
        MaxPayloadInMB: 6,
        MaxConcurrentTransforms: 0,
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
          KmsKeyId: keyArn,
        },
        TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeKmsKeyId: keyArn },
        DataProcessing: { InputFilter: '$[2:]', JoinSource: 'Input', OutputFilter: '$[0,1,-1]' },
        Tags: [{ Key: 'runId', 'Value.$': '$.run.runId' }],
      },
      ResultSelector: { 'jobName.$': '$.TransformJobName', 'status.$': '$.TransformJobStatus' },
      ResultPath: '$.transform',
      TimeoutSeconds: 18000,
      // Specific retriers first; requests that cannot succeed are matched (MaxAttempts 0) and not retried.
      Retry: [
        {
          ErrorEquals: ['SageMaker.ResourceLimitExceededException', 'SageMaker.ResourceInUseException'],
          IntervalSeconds: 120,
          MaxAttempts: 3,
          BackoffRate: 2,
          JitterStrategy: 'FULL',
        },
        {
          ErrorEquals: ['SageMaker.ThrottlingException', 'ThrottlingException'],
          IntervalSeconds: 15,
          MaxAttempts: 5,
          BackoffRate: 2,
          JitterStrategy: 'FULL',
        },
        {
          ErrorEquals: [
            'SageMaker.AmazonSageMakerException',
            'SageMaker.ValidationException',
            'SageMaker.AccessDeniedException',
            'States.Permissions',
          ],
          MaxAttempts: 0,
        },
      ],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' }],
      Next: 'LoadScores',
    });
  });

  test('transform size follows the config (prod)', () => {
    const prod = build({ env: 'prod' });
    const def = extractDefinition(synthesizeApp({ build: () => prod.app, useCdkJson: false }), 'WorkflowStateMachine');
    const t = (def.States as Record<string, { Parameters: Record<string, Record<string, unknown>> }>).Transform!;
    expect(t.Parameters.TransformResources).toMatchObject({ InstanceType: 'ml.m5.xlarge', InstanceCount: 2 });
  });

  test('PrepareTasks is a Distributed Map over the planned tasks in S3, results to S3, one PrepareSlice per task', () => {
    expect(states.PrepareTasks).toMatchObject({
      Type: 'Map',
      ItemReader: {
        Resource: expect.stringMatching(/:states:::s3:getObject$/),
        ReaderConfig: { InputType: 'JSON' },
        Parameters: { 'Bucket.$': '$.plan.bucket', 'Key.$': '$.plan.tasksKey' },
      },
      ResultWriter: {
        Resource: expect.stringMatching(/:states:::s3:putObject$/),
        Parameters: {
          'Bucket.$': '$.plan.bucket',
          'Prefix.$': `States.Format('${PREPARE_RESULTS_PREFIX}{}/', $$.Execution.Name)`,
        },
      },
      MaxConcurrency: 10,
      ItemSelector: {
        'runId.$': '$.run.runId',
        'task.$': '$$.Map.Item.Value.task',
        'preprocessingUri.$': '$.model.preprocessingUri',
      },
      ResultPath: null,
    });
    const processor = (
      states.PrepareTasks as { ItemProcessor: { StartAt: string; States: Record<string, { Resource: string }> } }
    ).ItemProcessor;
    expect(processor).toMatchObject({ ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } });
    expect(processor.StartAt).toBe('PrepareSlice');
    expect(processor.States.PrepareSlice?.Resource).toMatch(/:function:/);
    expect(states.PrepareInferenceData?.Parameters).toMatchObject({ 'plan.$': '$.plan', 'work.$': '$.work' });
  });

  test('LoadScores is a Distributed Map over the parts manifest in S3, results to S3, one loader call per part', () => {
    expect(states.LoadScores).toMatchObject({
      Type: 'Map',
      ItemReader: {
        Resource: expect.stringMatching(/:states:::s3:getObject$/),
        ReaderConfig: { InputType: 'JSON' },
        Parameters: { 'Bucket.$': '$.data.resultsBucket', 'Key.$': '$.data.loadItemsKey' },
      },
      ResultWriter: {
        Resource: expect.stringMatching(/:states:::s3:putObject$/),
        Parameters: {
          'Bucket.$': '$.data.resultsBucket',
          'Prefix.$': `States.Format('${LOAD_RESULTS_PREFIX}{}/', $$.Execution.Name)`,
        },
      },
      MaxConcurrency: 4,
      ItemSelector: {
        'bucket.$': '$.data.resultsBucket',
        'resultKey.$': "States.Format('{}{}.out', $.data.resultsPrefix, $$.Map.Item.Value.part)",
        'part.$': '$$.Map.Item.Value.part',
        'asOf.$': '$$.Map.Item.Value.asOf',
        'expectedRows.$': '$$.Map.Item.Value.rows',
        // Score stamp: start time + execution name, so the later run wins for the same asOf.
        'runId.$': "States.Format('{}_{}', $$.Execution.StartTime, $$.Execution.Name)",
        'modelVersion.$': '$.model.modelVersion',
      },
      ResultPath: '$.load',
    });
    const processor = (
      states.LoadScores as { ItemProcessor: { StartAt: string; States: Record<string, { Resource: string }> } }
    ).ItemProcessor;
    expect(processor).toMatchObject({ ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } });
    expect(processor.StartAt).toBe('LoadPart');
    expect(processor.States.LoadPart?.Resource).toMatch(/:function:/);
    expect(states.FinalizeScores?.Parameters).toEqual({
      'runId.$': "States.Format('{}_{}', $$.Execution.StartTime, $$.Execution.Name)",
      'modelVersion.$': '$.model.modelVersion',
      'expectedRows.$': '$.data.expectedRows',
      'loadResults.$': '$.load.ResultWriterDetails',
    });
    // FinalizeScores replaces PrepareInferenceData's `finalize: null`; CommitLedger reads the same path on both
    // routes of HasRows? (null = nothing was transformed).
    expect(states.FinalizeScores?.ResultPath).toBe('$.data.finalize');
    expect(states.CommitLedger?.Parameters).toMatchObject({ 'finalize.$': '$.data.finalize' });
    expect(Object.values(states).some((st) => JSON.stringify(st).includes('"$.finalize"'))).toBe(false);
  });
});

describe('BatchInference stack resources', () => {
  test('state machine: logging to a KMS-encrypted group, tracing on', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'mlops-batch-dev-batch-inference',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false, Destinations: Match.anyValue() },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: Match.anyValue(), RetentionInDays: 30 });
  });

  test('scheduler: cron + time zone from config, retries, KMS DLQ, fixed input', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 2 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      KmsKeyArn: Match.anyValue(),
      Target: {
        Arn: Match.anyValue(),
        RoleArn: Match.anyValue(),
        Input: JSON.stringify({ trigger: 'schedule' }),
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: Match.anyValue() },
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: Match.anyValue(),
      MessageRetentionPeriod: 1209600,
    });
    const prod = Template.fromStack(build({ env: 'prod' }).batch);
    prod.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 3 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
    });
    // The scheduler role may only start this state machine.
    const st = statementsOf('ScheduleRole');
    expect(actionsOf(st)).toContain('states:StartExecution');
    expect(actionsOf(st).every((a) => !a.includes('*'))).toBe(true);
  });

  test('arrival rule: S3 Object Created on the features bucket under inference/ → arrival function', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [Match.anyValue()] }, object: { key: [{ prefix: 'inference/' }] } },
      },
      Targets: [
        Match.objectLike({
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 21600 },
          DeadLetterConfig: Match.anyValue(),
        }),
      ],
    });
    template.hasResource('AWS::Lambda::Function', {
      Metadata: { 'mlops:entry': 'lambdas/functions/arrival/handler.ts' },
    });
    template.hasResource('AWS::Lambda::Function', {
      Metadata: { 'mlops:entry': 'lambdas/functions/reconcile/handler.ts' },
    });
  });

  test('state machine role: transform actions scoped to the prefix, sync rule, no wildcard actions', () => {
    const st = statementsOf('WorkflowStateMachineRole');
    const actions = actionsOf(st);
    expect(actions.every((a) => !a.includes('*'))).toBe(true);
    const transform = st.find((s) => s.Sid === 'RunTransformJobs')!;
    expect([...(transform.Action as string[])].sort()).toEqual([
      'sagemaker:AddTags',
      'sagemaker:CreateTransformJob',
      'sagemaker:DescribeTransformJob',
      'sagemaker:ListTags',
      'sagemaker:StopTransformJob',
    ]);
    expect(JSON.stringify(transform.Resource)).toContain(':transform-job/mlops-batch-dev-*');
    expect(JSON.stringify(st.find((s) => s.Sid === 'SyncTransformJobEvents')!.Resource)).toContain(
      'rule/StepFunctionsGetEventsForSageMakerTransformJobsRule',
    );
    expect(actions).not.toContain('iam:PassRole');
  });

  test('ResolveModel may pass only the SageMaker role, to SageMaker only', () => {
    const st = statementsOf('WorkflowResolveModelFunctionRole');
    const pass = st.filter((s) => actionsOf([s]).includes('iam:PassRole'));
    expect(pass).toHaveLength(1);
    expect(pass[0]!.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^TransformRole/), 'Arn'] });
    expect(pass[0]!.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } });
    const model = st.find((s) => s.Sid === 'ManageProductionModel')!;
    expect(JSON.stringify(model.Resource)).toContain(':model/mlops-batch-dev-v*');
    expect(actionsOf(st).every((a) => !a.includes('*'))).toBe(true);
  });

  test('every function of the workflow has its handler entry and the contract environment names', () => {
    const fns = template.findResources('AWS::Lambda::Function');
    const byEntry = Object.fromEntries(
      Object.values(fns).map((f) => [
        (f.Metadata as Record<string, string>)['mlops:entry'],
        (f.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables,
      ]),
    );
    expect(Object.keys(byEntry).sort()).toEqual(
      [
        'lambdas/functions/acquire-lock/handler.ts',
        'lambdas/functions/arrival/handler.ts',
        'lambdas/functions/commit-ledger/handler.ts',
        'lambdas/functions/find-unscored/handler.ts',
        'lambdas/functions/notify/handler.ts',
        'lambdas/functions/plan-prepare/handler.ts',
        'lambdas/functions/prepare-inference-data/handler.ts',
        'lambdas/functions/prepare-slice/handler.ts',
        'lambdas/functions/reconcile/handler.ts',
        'lambdas/functions/record-failure/handler.ts',
        'lambdas/functions/release-lock/handler.ts',
        'lambdas/functions/resolve-model/handler.ts',
      ].sort(),
    );
    expect(byEntry['lambdas/functions/acquire-lock/handler.ts']).toMatchObject({
      LOCK_LEASE_SECONDS: '21600',
      TABLE_NAME: expect.anything(),
    });
    expect(byEntry['lambdas/functions/find-unscored/handler.ts']).toMatchObject({ MAX_OBJECTS_PER_RUN: '500' });
    expect(byEntry['lambdas/functions/resolve-model/handler.ts']).toHaveProperty('SAGEMAKER_ROLE_ARN');
    expect(byEntry['lambdas/functions/resolve-model/handler.ts']).toHaveProperty('MODEL_PACKAGE_GROUP_NAME');
    expect(byEntry['lambdas/functions/prepare-inference-data/handler.ts']).toMatchObject({
      MAX_INVALID_ROW_RATIO: '0.05',
    });
    expect(byEntry['lambdas/functions/prepare-slice/handler.ts']).toMatchObject({
      SEGMENT_FEATURE: 'plan',
      // batch.targetRowsPerPart's default; unset coalesceRows = a quarter of it
      TARGET_ROWS_PER_PART: '1000000',
      COALESCE_ROWS: '250000',
    });
    // batch.prepareBytesPerTask's default: 512 MiB; the cache's layout for the default cache.shards 1 and
    // cache.expectedEntities 5 M (the Serving stack's value), whose bucket ranges a big day's slices own
    expect(byEntry['lambdas/functions/plan-prepare/handler.ts']).toMatchObject({
      PREPARE_BYTES_PER_TASK: '536870912',
      SCORE_LAYOUT: 'buckets:1:131072',
    });
    expect(byEntry['lambdas/functions/notify/handler.ts']).toHaveProperty('ALERT_TOPIC_ARN');
  });
});

describe('BatchInference definition validity', () => {
  test('passes asl-validator (paths and ARNs checked)', () => {
    const { isValid, errorsText } = aslValidator(definition);
    expect(errorsText()).toBe('');
    expect(isValid).toBe(true);
  });
});

describe('transform role', () => {
  test('SageMaker may read models and batch input, write results; nothing with a * action', () => {
    const st = statementsOf('TransformRole');
    const bySid = Object.fromEntries(st.map((s) => [s.Sid, s]));
    expect(bySid.ReadModelArtifacts?.Action).toBe('s3:GetObject');
    expect(JSON.stringify(bySid.ReadModelArtifacts?.Resource)).toContain('/training/*/model/*');
    expect(JSON.stringify(bySid.WriteResults?.Resource)).toContain('/results/*');
    expect(actionsOf(st).every((a) => !a.includes('*'))).toBe(true);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' } })],
      },
    });
  });
});

describe('reconcile trigger and limits', () => {
  test('reconcile runs on its own schedule with retries and the DLQ', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(6 hours)',
      Target: Match.objectLike({
        Input: '{}',
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: Match.anyValue() },
      }),
    });
    template.resourceCountIs('AWS::Scheduler::Schedule', 2);
  });

  test("no approval rule here: the Training stack's approval-event function starts runs on approval", () => {
    expect(Object.keys(template.findResources('AWS::Events::Rule'))).toHaveLength(1);
    // In the real app (bin/app.ts) the approval-event function targets exactly this state machine.
    const whole = synthesizeApp();
    const resources = resolveResources(whole);
    const approval = Object.values(resources.functions).find(
      (f) => f.entry === 'lambdas/functions/approval-event/handler.ts',
    );
    const batchSm = findStateMachines(whole, 'WorkflowStateMachine');
    expect(batchSm).toHaveLength(1);
    expect(approval?.environment.BATCH_STATE_MACHINE_ARN).toBe(batchSm[0]!.arn);
  });

  test('execution timeout equals the lock lease, so no execution outlives its lock', () => {
    expect(definition.TimeoutSeconds).toBe(21600);
    expect(states.Transform?.TimeoutSeconds).toBeLessThan(21600);
  });
});
