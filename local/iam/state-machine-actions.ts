/**
 * What a state machine's role must allow for each Task state it runs, as the Step Functions Developer Guide lists it
 * per integration ("IAM policies for integrated services"):
 * - Lambda: https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html — lambda:InvokeFunction on the function.
 * - SageMaker AI: https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html — Create/Describe/Stop of the
 *   job, sagemaker:ListTags, iam:PassRole of the job's role (iam:PassedToService sagemaker.amazonaws.com) and, for
 *   `.sync`, events:PutTargets/PutRule/DescribeRule on the managed rule StepFunctionsGetEventsForSageMaker<Kind>JobsRule;
 *   sagemaker:AddTags when the request tags the job (https://docs.aws.amazon.com/sagemaker/latest/dg/security_iam_id-based-policy-examples.html).
 * - SNS: https://docs.aws.amazon.com/step-functions/latest/dg/sns-iam.html — sns:Publish on the topic.
 * - DynamoDB: https://docs.aws.amazon.com/step-functions/latest/dg/dynamo-iam.html — the item action on the table.
 * - SQS: https://docs.aws.amazon.com/step-functions/latest/dg/sqs-iam.html — sqs:SendMessage on the queue.
 * - Step Functions: https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html — states:StartExecution,
 *   and for `.sync` DescribeExecution/StopExecution and the StepFunctionsGetEventsForStepFunctionsExecutionRule rule.
 * - AWS SDK integrations (`arn:aws:states:::aws-sdk:<service>:<action>`): the API's own IAM action
 *   (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html), derived like any SDK call.
 */
import type { TaskInvocation } from './context';
import { type AuthRequest, deriveRequests, type Where } from './requests';

const FUNCTION_ARN = /^arn:aws[a-z-]*:lambda:[^:]*:[^:]*:function:[^:]+(:.+)?$/;
const OPTIMIZED = /^arn:aws[a-z-]*:states:::([a-z]+):([A-Za-z]+)(\.sync(?::2)?|\.waitForTaskToken)?$/;
const AWS_SDK = /^arn:aws[a-z-]*:states:::aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)(\.waitForTaskToken)?$/;

/** aws-sdk integration service names → SDK service ids (local/iam/requests.ts). */
const SDK_SERVICE: Readonly<Record<string, string>> = {
  s3: 'S3',
  dynamodb: 'DynamoDB',
  sagemaker: 'SageMaker',
  sns: 'SNS',
  sqs: 'SQS',
  sfn: 'SFN',
  secretsmanager: 'Secrets Manager',
  cloudwatch: 'CloudWatch',
  lambda: 'Lambda',
};

/** Optimized integrations (`arn:aws:states:::<service>:<api>`) → SDK service id. */
const OPTIMIZED_SERVICE: Readonly<Record<string, string>> = {
  sns: 'SNS',
  sqs: 'SQS',
  dynamodb: 'DynamoDB',
  sagemaker: 'SageMaker',
  states: 'SFN',
  lambda: 'Lambda',
};

const rule = (w: Where, kind: string): AuthRequest[] =>
  ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'].map((action) => ({
    action,
    resource: `arn:aws:events:${w.region}:${w.account}:rule/StepFunctionsGetEvents${kind}Rule`,
  }));

/** What `.sync` adds on top of the create call: polling, stopping on abort, tags, the managed event rule. */
function syncExtras(api: string, input: Record<string, unknown>, w: Where): AuthRequest[] {
  const job = /^create(Training|Transform|Processing)Job$/.exec(api);
  if (job) {
    const kind = job[1]!;
    const name = String(input[`${kind}JobName`] ?? '');
    const resource = `arn:aws:sagemaker:${w.region}:${w.account}:${kind.toLowerCase()}-job/${name.toLowerCase()}`;
    return [
      { action: `sagemaker:Describe${kind}Job`, resource },
      { action: `sagemaker:Stop${kind}Job`, resource },
      { action: 'sagemaker:ListTags', resource },
      ...rule(w, `ForSageMaker${kind}Jobs`),
    ];
  }
  if (api === 'startExecution') {
    const sm = String(input.StateMachineArn ?? '');
    const execution = `${sm.replace(':stateMachine:', ':execution:')}:*`;
    return [
      { action: 'states:DescribeExecution', resource: execution },
      { action: 'states:StopExecution', resource: execution },
      ...rule(w, 'ForStepFunctionsExecution'),
    ];
  }
  throw new Error(
    `no .sync rule for ${api}: add it to local/iam/state-machine-actions.ts from the Step Functions page`,
  );
}

/** The SDK input of an optimized integration: Step Functions passes the parameters as the API's request. */
function camelToSdkInput(service: string, input: Record<string, unknown>): Record<string, unknown> {
  // states:startExecution takes `StateMachineArn`; the SDK names it `stateMachineArn`.
  if (service === 'states' && typeof input.StateMachineArn === 'string')
    return { ...input, stateMachineArn: input.StateMachineArn };
  return input;
}

/**
 * The authorization requests a Task state makes of its state machine's role.
 * @throws Error naming the state and resource when the integration has no rule here
 */
export function taskRequests(task: TaskInvocation, where: Where): AuthRequest[] {
  const input = (task.input && typeof task.input === 'object' ? task.input : {}) as Record<string, unknown>;
  if (FUNCTION_ARN.test(task.resource)) return [{ action: 'lambda:InvokeFunction', resource: task.resource }];
  const sdk = AWS_SDK.exec(task.resource);
  if (sdk) {
    const service = SDK_SERVICE[sdk[1]!];
    if (!service) throw unknown(task);
    const op = sdk[2]!.charAt(0).toUpperCase() + sdk[2]!.slice(1);
    return deriveRequests(service, op, input, where);
  }
  const opt = OPTIMIZED.exec(task.resource);
  if (opt) {
    const [, svc, api, suffix] = opt;
    const service = OPTIMIZED_SERVICE[svc!];
    if (!service) throw unknown(task);
    const op = api!.charAt(0).toUpperCase() + api!.slice(1);
    const base = deriveRequests(service, op === 'Invoke' ? 'Invoke' : op, camelToSdkInput(svc!, input), where);
    return suffix?.startsWith('.sync') ? [...base, ...syncExtras(api!, input, where)] : base;
  }
  throw unknown(task);
}

function unknown(task: TaskInvocation): Error {
  return new Error(
    `state ${task.state}: no IAM rule for Task resource ${task.resource}; add it to local/iam/state-machine-actions.ts with the actions the Step Functions documentation lists for that integration`,
  );
}

/** A state machine as the IAM proof reads it: its ARN and resolved definition (local/runtime/inventory.ts). */
export interface StateMachineDefinition {
  readonly arn: string;
  readonly definition: { readonly States?: Record<string, Record<string, unknown>> };
}

function taskStates(
  def: { readonly States?: Record<string, Record<string, unknown>> },
  out: { state: string; resource: string; parameters: unknown }[] = [],
): { state: string; resource: string; parameters: unknown }[] {
  for (const [state, s] of Object.entries(def.States ?? {})) {
    if (s.Type === 'Task' && typeof s.Resource === 'string')
      out.push({ state, resource: s.Resource, parameters: s.Parameters ?? s.Arguments ?? {} });
    const inner = (s.ItemProcessor ?? s.Iterator) as typeof def | undefined;
    if (inner) taskStates(inner, out);
    for (const b of (s.Branches as (typeof def)[] | undefined) ?? []) taskStates(b, out);
  }
  return out;
}

/** Parameters without the run-time (`.$`) fields: what the definition fixes. */
function staticInput(parameters: unknown): Record<string, unknown> {
  if (!parameters || typeof parameters !== 'object') return {};
  return Object.fromEntries(Object.entries(parameters as Record<string, unknown>).filter(([k]) => !k.endsWith('.$')));
}

/**
 * Task states no recorded execution reached (failure paths, mostly), as invocations with the input their definition
 * fixes: their targets (function, topic) are static, so their grants can be checked without running them.
 */
export function tasksNotRun(
  machines: readonly StateMachineDefinition[],
  ran: readonly TaskInvocation[],
): TaskInvocation[] {
  const seen = new Set(ran.map((t) => `${t.stateMachineArn}#${t.state}`));
  return machines.flatMap((m) =>
    taskStates(m.definition)
      .filter((t) => !seen.has(`${m.arn}#${t.state}`))
      .map((t) => ({ stateMachineArn: m.arn, state: t.state, resource: t.resource, input: staticInput(t.parameters) })),
  );
}
