import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { DependencyError } from '../../contracts/errors';
import type { Exact, FunctionEnvironment, FunctionName } from '../../contracts/function-env';
import { FailureState } from '../../contracts/states/names';
import { StepErrorSchema } from '../../contracts/states/training';
import { resolveCodeVersion } from '../code-version';
import type { AppConfig } from '../config';
import { acknowledge, NagIds } from '../nag';
import { physicalNames } from '../physical-names';
import { jsonPathsOf } from './json-path';
import { ProjectFunction, type ProjectFunctionProps } from './project-function';
import { acknowledgeWildcards } from './wildcards';

/** Retry policies the workflows share (one spelling, so both machines retry alike). */
export const WorkflowRetry = {
  /**
   * The handler saw a transient outage (cache, AWS API) and threw `DependencyError` (its class name is the error
   * name Step Functions matches); the step is idempotent.
   */
  dependency: {
    errors: [DependencyError.name],
    interval: Duration.seconds(5),
    maxAttempts: 3,
    backoffRate: 2,
  } satisfies sfn.RetryProps as Readonly<sfn.RetryProps>,
  /** Any task failure, for steps that are retried but never routed to the failure path (lock release, Notify). */
  taskFailed: {
    errors: ['States.TaskFailed'],
    interval: Duration.seconds(2),
    maxAttempts: 3,
    backoffRate: 2,
  } satisfies sfn.RetryProps as Readonly<sfn.RetryProps>,
} as const;

/** A state with a Catch list (tasks, Map, Parallel, CustomState). */
export interface CatchableState {
  addCatch(handler: sfn.IChainable, props?: sfn.CatchProps): unknown;
}

const caught = jsonPathsOf({ error: StepErrorSchema });

/** Where every Catch puts the Step Functions error object (`{ Error, Cause }`). */
export const ERROR_PATH = caught('error');

/**
 * The running execution (contracts/states/execution.ts ExecutionRefSchema), for the steps that create, fail or lock a
 * run: they act only for this execution, not for every execution of the run id.
 */
export const executionRef = () => ({
  id: sfn.JsonPath.stringAt('$$.Execution.Id'),
  startTime: sfn.JsonPath.stringAt('$$.Execution.StartTime'),
});

/** Options of {@link Workflow.invoke}. */
export interface InvokeOptions {
  /**
   * Payload of the invocation (JSONPath `Parameters`).
   * @default - the state's input
   */
  readonly payload?: Record<string, unknown>;
  /**
   * Where the result goes in the state object.
   * @default - the result replaces the state object
   */
  readonly resultPath?: string;
  /**
   * Part of the state object passed on.
   * @default - all of it
   */
  readonly outputPath?: string;
  /**
   * Retry policies, in order.
   * @default - none
   */
  readonly retries?: readonly sfn.RetryProps[];
  /**
   * Where any error goes (with the error at {@link ERROR_PATH}), usually the workflow's failure path.
   * @default - errors fail the execution
   */
  readonly catchInto?: sfn.IChainable;
}

/** Properties of {@link Workflow.failurePath}. */
export interface FailurePathProps {
  /** Function run by `RecordFailure` with `{ runId, kind, error }` (marks the run FAILED). */
  readonly recordFailureFunction: lambda.IFunction;
  /** Run kind recorded (`training`, `batch`). */
  readonly runKind: string;
  /** Where RecordFailure's result goes. */
  readonly recordResultPath: string;
  /**
   * Builds the `Alert` state (named {@link FailureState.Alert}); it is caught into and followed by `Fail`. A factory,
   * so the states are created in path order (Fail first), which keeps the synthesized CDK metadata stable.
   */
  readonly alert: () => sfn.TaskStateBase;
  /**
   * Function releasing the workflow's lock: when set, `ReleaseLockAfterFailure` runs between RecordFailure and Alert.
   * @default - the workflow holds no lock
   */
  readonly releaseLockFunction?: lambda.IFunction;
}

/** Properties of {@link Workflow.createStateMachine}. */
export interface WorkflowStateMachineProps {
  /** Physical name. */
  readonly stateMachineName: string;
  /** Shown in the console. */
  readonly comment: string;
  /** The definition (JSONPath). */
  readonly definition: sfn.IChainable;
  /** Maximum duration of one execution. */
  readonly timeout: Duration;
}

/** The environment a workflow gives each of its functions (before `CODE_VERSION`). */
export type WorkflowEnvironment = Readonly<Record<string, string>>;

/** What function `N` adds to the workflow's environment `B`: its declared variables minus `B`'s and `CODE_VERSION`. */
export type OwnEnvironment<N extends FunctionName, B extends WorkflowEnvironment> = Omit<
  FunctionEnvironment<N>,
  keyof B | 'CODE_VERSION'
>;

/**
 * `unknown` when function `N` declares every variable of the workflow's environment `B` (and `CODE_VERSION`);
 * otherwise a required property naming the undeclared ones, so the call does not compile.
 */
type BaseDeclared<N extends FunctionName, B extends WorkflowEnvironment> = [
  Exclude<keyof B | 'CODE_VERSION', keyof FunctionEnvironment<N>>,
] extends [never]
  ? unknown
  : { readonly undeclaredWorkflowVariables: Exclude<keyof B | 'CODE_VERSION', keyof FunctionEnvironment<N>> };

/** What every workflow is built from. */
export interface WorkflowBaseProps<B extends WorkflowEnvironment = WorkflowEnvironment> {
  /** Validated settings (uses `logRetentionDays`). */
  readonly config: AppConfig;
  /** The data key: function and state machine logs. */
  readonly encryptionKey: kms.IKey;
  /** Environment every function of the workflow gets; `CODE_VERSION` is appended. */
  readonly functionEnvironment: B;
  /**
   * Retention of the functions' log groups.
   * @default - the ProjectFunction default (`logRetentionDays` of the `env` context's environment)
   */
  readonly functionLogRetention?: logs.RetentionDays;
  /**
   * Code version recorded on runs (`CODE_VERSION`).
   * @default - {@link resolveCodeVersion}
   */
  readonly codeVersion?: string;
}

/**
 * What the two state machines share: their functions' defaults, the Lambda invoke task, the failure path
 * `RecordFailure → (ReleaseLockAfterFailure) → Alert → Fail`, and the state machine with its encrypted log group.
 * Subclasses build only their own states; every resource is created in the subclass's scope (construct paths and
 * logical ids are those of the subclass).
 */
export abstract class Workflow<B extends WorkflowEnvironment = WorkflowEnvironment> extends Construct {
  /** Code version recorded on every run of this workflow (`CODE_VERSION`). */
  public readonly codeVersion: string;
  private readonly base: WorkflowBaseProps<B>;
  /** Functions the state machine invokes (their `<arn>:*` grants are acknowledged on its role). */
  private readonly invoked = new Set<lambda.IFunction>();

  protected constructor(scope: Construct, id: string, props: WorkflowBaseProps<B>) {
    super(scope, id);
    this.base = props;
    this.codeVersion = props.codeVersion ?? resolveCodeVersion();
  }

  /**
   * Add function `name` to this workflow (created as `this`/`id`): handler `lambdas/functions/<name>/handler.ts`, the
   * workflow's environment, `CODE_VERSION`, then `environment`. The whole environment is checked against the
   * function's declaration in contracts/function-env.ts: a missing or unknown variable does not compile.
   */
  public addFunction<N extends FunctionName, E extends OwnEnvironment<N, B>>(
    id: string,
    name: N,
    description: string,
    environment: Exact<E, OwnEnvironment<N, B>> & BaseDeclared<N, B>,
    extra: Pick<ProjectFunctionProps, 'timeout' | 'memorySize'> = {},
  ): ProjectFunction {
    return this.addFunctionFromDir(id, name, description, environment, extra);
  }

  /**
   * Add a function from any handler directory (`lambdas/functions/<handlerDir>/handler.ts`) with an unchecked own
   * environment; {@link addFunction} is the checked form for the functions under `lambdas/functions/`.
   */
  protected addFunctionFromDir(
    id: string,
    handlerDir: string,
    description: string,
    environment: Readonly<Record<string, string>>,
    extra: Pick<ProjectFunctionProps, 'timeout' | 'memorySize'> = {},
  ): ProjectFunction {
    return new ProjectFunction(this, id, {
      entry: `lambdas/functions/${handlerDir}/handler.ts`,
      description,
      environment: { ...this.base.functionEnvironment, CODE_VERSION: this.codeVersion, ...environment },
      logEncryptionKey: this.base.encryptionKey,
      ...(this.base.functionLogRetention === undefined ? {} : { logRetention: this.base.functionLogRetention }),
      ...extra,
    });
  }

  /** A LambdaInvoke state named `stateName` returning the function's response (payloadResponseOnly). */
  protected invoke(stateName: string, fn: lambda.IFunction, options: InvokeOptions = {}): tasks.LambdaInvoke {
    this.invoked.add(fn);
    const task = new tasks.LambdaInvoke(this, stateName, {
      stateName,
      lambdaFunction: fn,
      payloadResponseOnly: true,
      payload: options.payload ? sfn.TaskInput.fromObject(options.payload) : undefined,
      resultPath: options.resultPath,
      outputPath: options.outputPath,
    });
    for (const retry of options.retries ?? []) task.addRetry(retry);
    if (options.catchInto) this.catchInto(task, options.catchInto);
    return task;
  }

  /** Route any error of `state` to `handler`, with the error object at {@link ERROR_PATH}. */
  protected catchInto<T extends CatchableState>(state: T, handler: sfn.IChainable): T {
    state.addCatch(handler, { errors: ['States.ALL'], resultPath: ERROR_PATH });
    return state;
  }

  /**
   * `RecordFailure → (ReleaseLockAfterFailure) → Alert → Fail`; returns RecordFailure, the target of every Catch.
   * Each step is caught into the next, so a failure in the failure path still releases the lock and alerts; Fail
   * re-raises the original error.
   */
  protected failurePath(props: FailurePathProps): sfn.TaskStateBase {
    const S = FailureState;
    const fail = new sfn.Fail(this, S.Fail, {
      stateName: S.Fail,
      errorPath: caught('error', 'Error'),
      causePath: caught('error', 'Cause'),
    });
    const alert = props.alert();
    alert.addCatch(fail, { resultPath: '$.alertError' });
    alert.next(fail);
    let afterRecord: sfn.TaskStateBase = alert;
    if (props.releaseLockFunction) {
      afterRecord = this.invoke(S.ReleaseLockAfterFailure, props.releaseLockFunction, {
        payload: { runId: sfn.JsonPath.executionName, execution: executionRef() },
        resultPath: '$.release',
      });
      afterRecord.addCatch(alert, { resultPath: '$.releaseError' });
      afterRecord.next(alert);
    }
    const recordFailure = this.invoke(S.RecordFailure, props.recordFailureFunction, {
      payload: {
        runId: sfn.JsonPath.executionName,
        kind: props.runKind,
        error: sfn.JsonPath.objectAt(ERROR_PATH),
        execution: executionRef(),
      },
      resultPath: props.recordResultPath,
    });
    recordFailure.addCatch(afterRecord, { resultPath: '$.recordFailureError' });
    recordFailure.next(afterRecord);
    return recordFailure;
  }

  /**
   * The state machine (JSONPath, X-Ray tracing) and its log group `LogGroup` (encrypted, retained after a stack
   * deletion), named `/aws/vendedlogs/states/<state machine>`: AWS recommends the vended-logs prefix for log groups
   * Step Functions delivers to, so one log resource policy covers them all instead of growing with each log group
   * (that policy has a size limit). Retained except when its own first deploy fails: a fixed name left behind by a
   * rolled-back create would make the retry fail (the group already exists).
   *
   * Execution data is not logged: state inputs and outputs carry validation causes that can quote feature values and
   * entity ids (customer data) and would be copied into CloudWatch Logs. All events (transitions, error names) are
   * logged; the data stays in the execution history (IAM-protected) and in the run record and S3 reports.
   */
  protected createStateMachine(props: WorkflowStateMachineProps): {
    stateMachine: sfn.StateMachine;
    logGroup: logs.LogGroup;
  } {
    const logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName: physicalNames(this.base.config).stateMachineLogGroup(props.stateMachineName),
      retention: this.base.config.logRetentionDays as logs.RetentionDays,
      encryptionKey: this.base.encryptionKey,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      comment: props.comment,
      definitionBody: sfn.DefinitionBody.fromChainable(props.definition),
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      tracingEnabled: true,
      timeout: props.timeout,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    const role = stateMachine.role;
    acknowledge(role, {
      id: NagIds.iam5Resource,
      reason:
        'X-Ray tracing (xray:PutTraceSegments/PutTelemetryRecords/GetSampling*) and CloudWatch Logs vended delivery ' +
        '(logs:CreateLogDelivery, DescribeResourcePolicies …) that Step Functions logging needs do not support ' +
        'resource-level permissions.',
    });
    acknowledgeWildcards(
      role,
      'LambdaInvoke grants lambda:InvokeFunction on the function and its versions/aliases (<function ARN>:*); each ' +
        'statement names one function this state machine invokes.',
      ...[...this.invoked].map((f) => `${f.functionArn}:*`),
    );
    return { stateMachine, logGroup };
  }
}
