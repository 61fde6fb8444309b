import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { DependencyError } from '../../contracts/errors';
import { PreparedDataSchema, PreparedPartSchema } from '../../contracts/states/batch';
import { loadConfig } from '../../lib/config';
import { jsonPathsOf } from '../../lib/constructs/json-path';
import type { ProjectFunction } from '../../lib/constructs/project-function';
import { Workflow, WorkflowRetry } from '../../lib/constructs/workflow';
import { testContext } from './context';

process.env.CDK_VALIDATION = 'false';

const ENTRY_DIR = '../../test/infra/fixtures/echo';

/** A minimal workflow: Work (retried, caught) → Done, with the shared failure path. */
class TestWorkflow extends Workflow {
  public readonly fn: ProjectFunction;
  public readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, options: { withLock: boolean; codeVersion?: string }) {
    const app = scope.node.root as App;
    super(scope, id, {
      config: loadConfig(app.node),
      encryptionKey: new kms.Key(scope, `${id}Key`),
      functionEnvironment: { TABLE_NAME: 'pipeline' },
      codeVersion: options.codeVersion,
    });
    this.fn = this.addFunctionFromDir('WorkFunction', ENTRY_DIR, 'test work', { OWN: 'x' });
    const recordFailure = this.failurePath({
      recordFailureFunction: this.fn,
      runKind: 'test',
      recordResultPath: '$.failure',
      alert: () => this.invoke('Alert', this.fn, { payload: { kind: 'failure' }, resultPath: '$.alert' }),
      releaseLockFunction: options.withLock ? this.fn : undefined,
    });
    const work = this.invoke('Work', this.fn, {
      payload: { a: 1 },
      resultPath: '$.work',
      retries: [WorkflowRetry.dependency, WorkflowRetry.taskFailed],
      catchInto: recordFailure,
    });
    this.stateMachine = this.createStateMachine({
      stateMachineName: 'test-machine',
      comment: 'test',
      definition: work.next(new sfn.Succeed(this, 'Done')),
      timeout: Duration.minutes(5),
    }).stateMachine;
  }
}

type Json = Record<string, unknown>;

function build(options: { withLock: boolean; codeVersion?: string }) {
  const app = new App({ context: testContext() });
  const stack = new Stack(app, 'Test');
  const workflow = new TestWorkflow(stack, 'Workflow', options);
  const template = Template.fromStack(stack);
  const [sm] = Object.values(template.findResources('AWS::StepFunctions::StateMachine')) as {
    Properties: Json & { DefinitionString: unknown };
  }[];
  const flatten = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const join = (v as Json)['Fn::Join'] as [string, unknown[]] | undefined;
    return join ? join[1].map(flatten).join(join[0]) : 'TOKEN';
  };
  const definition = JSON.parse(flatten(sm!.Properties.DefinitionString)) as { States: Record<string, Json> };
  return { workflow, template, states: definition.States };
}

describe('Workflow failure path', () => {
  const { states } = build({ withLock: true });

  test('RecordFailure → ReleaseLockAfterFailure → Alert → Fail, each step caught into the next', () => {
    expect(states.RecordFailure).toMatchObject({
      Next: 'ReleaseLockAfterFailure',
      ResultPath: '$.failure',
      Parameters: { 'runId.$': '$$.Execution.Name', kind: 'test', 'error.$': '$.error' },
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.recordFailureError', Next: 'ReleaseLockAfterFailure' }],
    });
    expect(states.ReleaseLockAfterFailure).toMatchObject({
      Next: 'Alert',
      ResultPath: '$.release',
      Parameters: { 'runId.$': '$$.Execution.Name' },
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.releaseError', Next: 'Alert' }],
    });
    expect(states.Alert).toMatchObject({
      Next: 'Fail',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.alertError', Next: 'Fail' }],
    });
    // Fail re-raises the original error caught at $.error.
    expect(states.Fail).toEqual({ Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' });
  });

  test('without a lock, RecordFailure goes straight to Alert', () => {
    const { states: noLock } = build({ withLock: false });
    expect(noLock.ReleaseLockAfterFailure).toBeUndefined();
    expect(noLock.RecordFailure).toMatchObject({
      Next: 'Alert',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.recordFailureError', Next: 'Alert' }],
    });
  });

  test('a step catches every error into RecordFailure with the error at $.error', () => {
    expect(states.Work?.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' }]);
  });
});

describe('Workflow invoke', () => {
  const { states } = build({ withLock: true });

  test('retries keep the given order, after the Lambda service retry; DependencyError is the typed error', () => {
    expect(DependencyError.name).toBe('DependencyError');
    const [lambdaService, ...own] = (states.Work?.Retry ?? []) as Json[];
    expect(lambdaService?.ErrorEquals).toContain('Lambda.ServiceException');
    expect(own).toEqual([
      { ErrorEquals: ['DependencyError'], IntervalSeconds: 5, MaxAttempts: 3, BackoffRate: 2 },
      { ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 },
    ]);
  });

  test('returns the function response only (direct function ARN, Parameters = payload)', () => {
    expect(states.Work).toMatchObject({ Type: 'Task', Parameters: { a: 1 }, ResultPath: '$.work', Next: 'Done' });
    expect(String(states.Work?.Resource)).not.toContain('states:::lambda:invoke');
  });
});

describe('Workflow resources', () => {
  test('functions get the workflow environment, CODE_VERSION, then their own', () => {
    const { template } = build({ withLock: true, codeVersion: 'sha-1' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { TABLE_NAME: 'pipeline', CODE_VERSION: 'sha-1', OWN: 'x' } },
    });
  });

  test('the state machine is JSONPath, traced, and logs all events without execution data', () => {
    const { template } = build({ withLock: true });
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'test-machine',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
    });
    template.resourceCountIs('AWS::Logs::LogGroup', 2); // the function's and the state machine's
  });
});

describe('jsonPathsOf', () => {
  test('builds paths from schema keys', () => {
    const $ = jsonPathsOf({ data: PreparedDataSchema });
    expect($()).toBe('$');
    expect($('data')).toBe('$.data');
    expect($('data', 'loadItemsKey')).toBe('$.data.loadItemsKey');
    // @ts-expect-error `part` is not a field of PreparedDataSchema
    expect($('data', 'part')).toBe('$.data.part');
    const item = jsonPathsOf(PreparedPartSchema.shape, '$$.Map.Item.Value');
    expect(item('asOf')).toBe('$$.Map.Item.Value.asOf');
  });
});
