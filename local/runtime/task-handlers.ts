/**
 * The local implementation of every Task state of a definition:
 * - Lambda Task states (Resource = a function ARN, i.e. `LambdaInvoke` with `payloadResponseOnly`, or the
 *   `arn:aws:states:::lambda:invoke` integration) run the real handler module named by the function's `mlops:entry`
 *   metadata in-process (local/runtime/lambda-invoke.ts);
 * - `overrides` (state name → async fn(input)) replace any Task state, e.g. the SageMaker `.sync` states;
 * - `arn:aws:states:::aws-sdk:<service>:<action>` and the optimized `sns:publish`, `dynamodb:*Item`, `sqs:sendMessage`
 *   integrations call the SDK (against `AWS_ENDPOINT_URL` when set);
 * - any other Task Resource without an override fails with a clear message naming the state.
 */
import { notifyTaskInvocation } from '../iam/context';
import type { AslDefinition } from './inventory';
import { invokeFunction, json, type RunnableFunction } from './lambda-invoke';
import { LOCAL_ACCOUNT } from './names';

/** A local replacement for one Task state. Receives the state's effective input (after InputPath/Parameters). */
export type StateOverride = (input: unknown) => Promise<unknown>;

/** What the Task states need: the definition, its functions and overrides, and the handlers' environment. */
export interface TaskHandlerOptions {
  readonly definition: AslDefinition;
  /** Lambda functions by logical id (from `resolveResources(app).functions`). Matched to Task Resources by ARN/name. */
  readonly functions?: Readonly<Record<string, RunnableFunction>>;
  /** Task state name → local implementation (wins over everything else). */
  readonly overrides?: Readonly<Record<string, StateOverride>>;
  /** Set on top of each function's environment while handlers run (AWS_ENDPOINT_URL, REDIS_URL…). */
  readonly env?: Readonly<Record<string, string>>;
  readonly region?: string;
  readonly account?: string;
  /** The state machine running these states: each Task is reported as its call (local/iam/context.ts). */
  readonly stateMachineArn?: string;
}

const SDK_PACKAGES: Record<string, string> = {
  s3: '@aws-sdk/client-s3',
  dynamodb: '@aws-sdk/client-dynamodb',
  sagemaker: '@aws-sdk/client-sagemaker',
  sns: '@aws-sdk/client-sns',
  sfn: '@aws-sdk/client-sfn',
  secretsmanager: '@aws-sdk/client-secrets-manager',
  cloudformation: '@aws-sdk/client-cloudformation',
};

interface SdkClient {
  send(command: unknown): Promise<unknown>;
}
type Ctor<T> = new (arg: unknown) => T;

/** Call `<service>:<action>` through the AWS SDK v3 (the emulator when AWS_ENDPOINT_URL is set). */
async function callSdk(service: string, action: string, params: unknown, stateName: string): Promise<unknown> {
  const pkg = SDK_PACKAGES[service];
  if (!pkg)
    throw new Error(
      `State ${stateName}: service integration "${service}" is not available locally; add an override for this state`,
    );
  const mod = require(pkg) as Record<string, unknown>;
  const clientName = Object.keys(mod).find(
    (k) => k.endsWith('Client') && !k.startsWith('__') && k.toLowerCase() === `${service}client`,
  );
  const op = action.charAt(0).toUpperCase() + action.slice(1);
  const Command = mod[`${op}Command`] as Ctor<unknown> | undefined;
  const Client = (clientName ? mod[clientName] : undefined) as Ctor<SdkClient> | undefined;
  if (!Client || !Command) throw new Error(`State ${stateName}: ${service}:${action} not found in ${pkg}`);
  const endpoint = process.env.AWS_ENDPOINT_URL || undefined;
  const client = new Client(endpoint ? { endpoint, forcePathStyle: true } : {});
  try {
    const out = (await client.send(new Command(params))) as Record<string, unknown>;
    const { $metadata: _m, ...rest } = out;
    return rest;
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    // Step Functions names SDK errors `<Service>.<ErrorName>` (e.g. DynamoDb.ConditionalCheckFailedException).
    const prefix = service === 'dynamodb' ? 'DynamoDb' : service.charAt(0).toUpperCase() + service.slice(1);
    const wrapped = new Error(err.message);
    wrapped.name = `${prefix}.${err.name}`;
    throw wrapped;
  }
}

const OPTIMIZED = /^arn:aws[a-z-]*:states:::(sns|dynamodb|sqs):([A-Za-z]+)$/;
const AWS_SDK = /^arn:aws[a-z-]*:states:::aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)$/;
const LAMBDA_INVOKE = /^arn:aws[a-z-]*:states:::lambda:invoke(\.waitForTaskToken)?$/;
const FUNCTION_ARN = /^arn:aws[a-z-]*:lambda:[^:]*:[^:]*:function:([^:]+)(:.+)?$/;

interface TaskState {
  readonly name: string;
  readonly resource: string;
}

function collectTaskStates(
  def: { States?: Record<string, Record<string, unknown>> },
  out: TaskState[] = [],
): TaskState[] {
  for (const [name, state] of Object.entries(def.States ?? {})) {
    if (state.Type === 'Task' && typeof state.Resource === 'string') out.push({ name, resource: state.Resource });
    const processor = (state.ItemProcessor ?? state.Iterator) as
      | { States?: Record<string, Record<string, unknown>> }
      | undefined;
    if (processor) collectTaskStates(processor, out);
    if (Array.isArray(state.Branches)) {
      for (const b of state.Branches as { States?: Record<string, Record<string, unknown>> }[])
        collectTaskStates(b, out);
    }
  }
  return out;
}

/** Build the per-state local handlers for every Task state of `definition`. Exported for tests. */
export function buildTaskHandlers(options: TaskHandlerOptions): Record<string, StateOverride> {
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const account = options.account ?? LOCAL_ACCOUNT;
  const byKey = new Map<string, RunnableFunction>();
  for (const [logicalId, fn] of Object.entries(options.functions ?? {})) {
    const f = { logicalId, ...fn };
    byKey.set(logicalId, f);
    if (fn.arn) byKey.set(fn.arn, f);
    if (fn.name) byKey.set(fn.name, f);
  }
  const findFunction = (ref: string, stateName: string): RunnableFunction => {
    const m = FUNCTION_ARN.exec(ref);
    const f =
      byKey.get(ref) ??
      (m ? (byKey.get(`arn:aws:lambda:${region}:${account}:function:${m[1]}`) ?? byKey.get(m[1]!)) : undefined);
    if (!f) {
      throw new Error(
        `State ${stateName}: no local function for ${ref}; known: ${[...new Set([...byKey.values()].map((x) => x.logicalId))].join(', ') || '(none)'}`,
      );
    }
    return f;
  };

  const handlers: Record<string, StateOverride> = {};
  const tasks = collectTaskStates(options.definition);
  const seen = new Map<string, string>();
  for (const { name, resource } of tasks) {
    const prev = seen.get(name);
    if (prev !== undefined && prev !== resource) {
      throw new Error(
        `Two Task states are named "${name}" with different resources; local overrides are by state name`,
      );
    }
    seen.set(name, resource);
    const override = options.overrides?.[name];
    if (override) {
      handlers[name] = async (input) => json(await override(json(input)));
      continue;
    }
    const invokeOpts = { env: options.env, region, account };
    if (FUNCTION_ARN.test(resource)) {
      const fn = findFunction(resource, name);
      handlers[name] = (input) => invokeFunction(fn, input, invokeOpts);
      continue;
    }
    if (LAMBDA_INVOKE.test(resource)) {
      handlers[name] = async (input) => {
        const p = (input ?? {}) as { FunctionName?: string; Payload?: unknown };
        if (!p.FunctionName) throw new Error(`State ${name}: lambda:invoke without FunctionName`);
        const fn = findFunction(p.FunctionName, name);
        const payload = await invokeFunction(fn, p.Payload ?? {}, invokeOpts);
        return { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 };
      };
      continue;
    }
    const sdk = AWS_SDK.exec(resource) ?? OPTIMIZED.exec(resource);
    if (sdk) {
      const [, service, action] = sdk;
      handlers[name] = (input) => callSdk(service!, action!, input, name);
      continue;
    }
    handlers[name] = async () => {
      throw new Error(`State ${name}: Resource ${resource} has no local implementation; pass overrides["${name}"]`);
    };
  }
  return reportingTasks(handlers, tasks, options.stateMachineArn);
}

/** Each Task state reports what it asks of AWS (its Resource and effective input) before it runs. */
function reportingTasks(
  handlers: Record<string, StateOverride>,
  tasks: readonly TaskState[],
  stateMachineArn: string | undefined,
): Record<string, StateOverride> {
  if (!stateMachineArn) return handlers;
  const out: Record<string, StateOverride> = {};
  for (const { name, resource } of tasks) {
    const run = handlers[name];
    if (!run || out[name]) continue;
    out[name] = (input) => {
      notifyTaskInvocation({ stateMachineArn, state: name, resource, input });
      return run(input);
    };
  }
  return out;
}
