/**
 * Run a synthesized state machine locally on aws-local-stepfunctions (JSONPath).
 *
 * - Lambda Task states (Resource = a function ARN, i.e. `LambdaInvoke` with `payloadResponseOnly`, or the
 *   `arn:aws:states:::lambda:invoke` integration) run the real handler module named by the function's `mlops:entry`
 *   metadata in-process, with that function's resolved environment (plus `env` overrides such as
 *   `AWS_ENDPOINT_URL`/`REDIS_URL`). Input and output go through JSON like a real invocation; a thrown error reaches
 *   Retry/Catch with its `name` as the error and Lambda's `{errorType, errorMessage, trace}` JSON as the cause.
 * - `overrides` (state name → async fn(input)) replace any Task state, e.g. the SageMaker `.sync` states.
 * - `arn:aws:states:::aws-sdk:<service>:<action>` and the optimized `sns:publish`, `dynamodb:*Item`, `sqs:sendMessage`
 *   integrations call the SDK (against `AWS_ENDPOINT_URL` when set).
 * - Any other Task Resource without an override fails with a clear message naming the state.
 */
import './polyfills';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import type { Context } from 'aws-lambda';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { AslDefinition, LocalFunction } from './inventory';
import { LOCAL_ACCOUNT } from './names';
import { REPO_ROOT } from './synth';

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A local replacement for one Task state. Receives the state's effective input (after InputPath/Parameters). */
export type StateOverride = (input: unknown) => Promise<unknown>;

/** A function the runner can invoke: what {@link resolveResources} returns per Lambda, or just entry + env. */
export type RunnableFunction = Pick<LocalFunction, 'entry' | 'environment'> &
  Partial<Pick<LocalFunction, 'arn' | 'name' | 'handlerExport' | 'timeoutSeconds' | 'memorySize' | 'logicalId'>>;

export interface RunStateMachineOptions {
  readonly definition: AslDefinition;
  /** Lambda functions by logical id (from `resolveResources(app).functions`). Matched to Task Resources by ARN/name. */
  readonly functions?: Readonly<Record<string, RunnableFunction>>;
  /** Task state name → local implementation (wins over everything else). */
  readonly overrides?: Readonly<Record<string, StateOverride>>;
  readonly input?: unknown;
  /** Execution name (`$$.Execution.Name`). @default `local-<timestamp>-<random>` */
  readonly name?: string;
  /** State machine name/ARN used in the context object. */
  readonly stateMachineName?: string;
  readonly stateMachineArn?: string;
  /** Set on top of each function's environment while handlers run (AWS_ENDPOINT_URL, REDIS_URL…). */
  readonly env?: Readonly<Record<string, string>>;
  /** Called for every execution event as it happens (progress printing). */
  readonly onEvent?: (event: RunnerEvent) => void;
  /** Pause of Retry fields in ms (local runs should not sleep). @default 0 for every state */
  readonly retryIntervalMs?: number;
  /** Wait states pause this long (ms). @default 0 */
  readonly waitMs?: number;
  readonly region?: string;
  readonly account?: string;
}

/** One event of the execution, simplified. */
export interface RunnerEvent {
  readonly type: string;
  readonly timestamp: number;
  readonly state?: string;
  readonly stateType?: string;
  /** Map iteration index, when inside a Map. */
  readonly index?: number;
  readonly error?: string;
  readonly cause?: string;
}

/** Timing of one state visit. */
export interface StateTiming {
  readonly state: string;
  readonly type: string;
  readonly index?: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly durationMs: number;
  readonly status: 'SUCCEEDED' | 'FAILED' | 'CAUGHT';
  readonly error?: string;
}

export interface RunResult {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly name: string;
  readonly executionArn: string;
  readonly output?: unknown;
  /** Error name and cause when FAILED (from a Fail state or an uncaught task error). */
  readonly error?: { readonly Error: string; readonly Cause: string };
  readonly startedAt: number;
  readonly stoppedAt: number;
  readonly durationMs: number;
  /** Every state visit in the order they ended, with durations. */
  readonly steps: readonly StateTiming[];
  readonly events: readonly RunnerEvent[];
  /** Names of the states visited at the top level, in order (Map iterations excluded). */
  readonly path: readonly string[];
  /** Output of each top-level state the last time it exited (Map iterations excluded). */
  readonly stateOutputs: Readonly<Record<string, unknown>>;
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const moduleCache = new Map<string, Handler>();

function loadHandler(fn: RunnableFunction): Handler {
  if (!fn.entry) {
    throw new Error(
      `Function ${fn.logicalId ?? fn.name ?? fn.arn ?? '?'} has no mlops:entry metadata; create it with ProjectFunction so the local runtime can find its handler`,
    );
  }
  const file = path.resolve(REPO_ROOT, fn.entry);
  const exportName = fn.handlerExport && fn.handlerExport !== 'index' ? fn.handlerExport : 'handler';
  const key = `${file}#${exportName}`;
  const cached = moduleCache.get(key);
  if (cached) return cached;
  const mod = require(file) as Record<string, unknown>;
  const h = mod[exportName] ?? mod.handler;
  if (typeof h !== 'function') throw new Error(`${fn.entry} does not export a function "${exportName}"`);
  const handler = h as Handler;
  moduleCache.set(key, handler);
  return handler;
}

function lambdaContext(fn: RunnableFunction, region: string, account: string): Context {
  const name = fn.name ?? fn.logicalId ?? path.basename(path.dirname(fn.entry ?? 'local'));
  const deadline = Date.now() + (fn.timeoutSeconds ?? 900) * 1000;
  const notImplemented = () => undefined;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: fn.arn ?? `arn:aws:lambda:${region}:${account}:function:${name}`,
    memoryLimitInMB: String(fn.memorySize ?? 128),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: notImplemented,
    fail: notImplemented,
    succeed: notImplemented,
  };
}

/** An error as Step Functions sees it from a Lambda: `name` = errorType, message = Lambda's error JSON. */
class LambdaTaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

function toLambdaError(e: unknown): LambdaTaskError {
  const err = e instanceof Error ? e : new Error(String(e));
  const errorType = err.name || 'Error';
  const cause = JSON.stringify({
    errorType,
    errorMessage: err.message,
    trace: (err.stack ?? '').split('\n').slice(0, 8),
  });
  return new LambdaTaskError(errorType, cause);
}

const json = (v: unknown): JsonValue => (v === undefined ? null : (JSON.parse(JSON.stringify(v)) as JsonValue));

/** Invoke a handler module like Lambda would: JSON in, JSON out, the function's environment set. */
export async function invokeFunction(
  fn: RunnableFunction,
  event: unknown,
  opts: { env?: Readonly<Record<string, string>>; region?: string; account?: string } = {},
): Promise<unknown> {
  Object.assign(process.env, fn.environment, opts.env ?? {});
  const handler = loadHandler(fn);
  const region = opts.region ?? process.env.AWS_REGION ?? 'us-east-1';
  try {
    const out = await handler(json(event), lambdaContext(fn, region, opts.account ?? LOCAL_ACCOUNT));
    return json(out);
  } catch (e) {
    throw toLambdaError(e);
  }
}

// -- service integrations -------------------------------------------------------------------------------------

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
export function buildTaskHandlers(options: RunStateMachineOptions): Record<string, StateOverride> {
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
  return handlers;
}

function stateNames(
  def: { States?: Record<string, Record<string, unknown>> },
  out: Set<string> = new Set(),
): Set<string> {
  for (const [name, state] of Object.entries(def.States ?? {})) {
    out.add(name);
    const processor = (state.ItemProcessor ?? state.Iterator) as
      | { States?: Record<string, Record<string, unknown>> }
      | undefined;
    if (processor) stateNames(processor, out);
    if (Array.isArray(state.Branches))
      for (const b of state.Branches as { States?: Record<string, Record<string, unknown>> }[]) stateNames(b, out);
  }
  return out;
}

function simplify(ev: unknown): RunnerEvent {
  const e = ev as unknown as {
    type: string;
    timestamp: number;
    state?: { name: string; type: string; output?: unknown };
    parentState?: { name: string; type: string };
    index?: number;
    Error?: string;
    Cause?: unknown;
  };
  const st = e.state ?? e.parentState;
  return {
    type: e.type,
    timestamp: e.timestamp,
    ...(st ? { state: st.name, stateType: st.type } : {}),
    ...(e.index !== undefined ? { index: e.index } : {}),
    ...(e.Error !== undefined ? { error: e.Error } : {}),
    ...(e.Cause !== undefined ? { cause: typeof e.Cause === 'string' ? e.Cause : JSON.stringify(e.Cause) } : {}),
  };
}

/**
 * Execute `definition` locally and collect the result, a per-state timing log and the event log.
 * Never throws for an execution failure: `status` is `FAILED` and `error` holds the error and cause.
 */
export async function runStateMachine(options: RunStateMachineOptions): Promise<RunResult> {
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const account = options.account ?? LOCAL_ACCOUNT;
  const name =
    options.name ??
    `local-${new Date()
      .toISOString()
      .replace(/[-:.TZ]/g, '')
      .slice(0, 14)}-${randomUUID().slice(0, 8)}`;
  const smName = options.stateMachineName ?? 'LocalStateMachine';
  const smArn = options.stateMachineArn ?? `arn:aws:states:${region}:${account}:stateMachine:${smName}`;
  const executionArn = `arn:aws:states:${region}:${account}:execution:${smArn.split(':').pop()}:${name}`;

  const handlers = buildTaskHandlers(options);
  const zeroWaits: Record<string, number> = {};
  const retries: Record<string, number> = {};
  for (const s of stateNames(options.definition)) {
    zeroWaits[s] = options.waitMs ?? 0;
    retries[s] = options.retryIntervalMs ?? 0;
  }

  const input = json(options.input ?? {});
  const startTime = new Date();
  const machine = new StateMachine(options.definition as unknown as StateMachineDefinition, {
    validationOptions: { checkArn: false, checkPaths: true },
  });
  const execution = machine.run(input, {
    overrides: {
      taskResourceLocalHandlers: handlers as Record<string, (i: JsonValue) => Promise<JsonValue>>,
      waitTimeOverrides: zeroWaits,
      retryIntervalOverrides: retries,
    },
    context: {
      Execution: {
        Id: executionArn,
        Name: name,
        Input: input,
        StartTime: startTime.toISOString(),
        RoleArn: `arn:aws:iam::${account}:role/local`,
      },
      StateMachine: { Id: smArn, Name: smName },
      // aws-local-stepfunctions does not fill $$.State; definitions that read it (e.g. RetryCount in a job name) get
      // the values of a first attempt.
      State: { Name: '', EnteredTime: startTime.toISOString(), RetryCount: 0 },
    },
  });

  const events: RunnerEvent[] = [];
  const steps: StateTiming[] = [];
  const pathTop: string[] = [];
  const open = new Map<string, { start: number; type: string }>();
  const key = (ev: RunnerEvent) => `${ev.state}#${ev.index ?? ''}`;
  const stateOutputs: Record<string, unknown> = {};

  const consume = (async () => {
    for await (const raw of execution.eventLogs) {
      const ev = simplify(raw);
      const st = (raw as { type: string; state?: { name: string; output?: unknown } }).state;
      if (ev.type === 'StateExited' && ev.index === undefined && st && 'output' in st)
        stateOutputs[st.name] = st.output;
      events.push(ev);
      options.onEvent?.(ev);
      if (ev.type === 'StateEntered' && ev.state) {
        open.set(key(ev), { start: ev.timestamp, type: ev.stateType ?? '' });
        if (ev.index === undefined) pathTop.push(ev.state);
      } else if ((ev.type === 'StateExited' || ev.type === 'StateFailed' || ev.type === 'StateCaught') && ev.state) {
        const o = open.get(key(ev));
        if (!o) continue;
        open.delete(key(ev));
        steps.push({
          state: ev.state,
          type: o.type,
          ...(ev.index !== undefined ? { index: ev.index } : {}),
          startedAt: o.start,
          endedAt: ev.timestamp,
          durationMs: ev.timestamp - o.start,
          status: ev.type === 'StateExited' ? 'SUCCEEDED' : ev.type === 'StateCaught' ? 'CAUGHT' : 'FAILED',
          ...(ev.error !== undefined ? { error: ev.error } : {}),
        });
      }
    }
  })();

  let status: RunResult['status'] = 'SUCCEEDED';
  let output: unknown;
  let error: RunResult['error'];
  try {
    output = await execution.result;
  } catch (e) {
    status = 'FAILED';
    const cause = (e as { cause?: unknown }).cause;
    const inner = cause instanceof Error ? cause : e instanceof Error ? e : new Error(String(e));
    error = { Error: inner.name, Cause: inner.message };
  }
  await consume.catch(() => undefined);
  const stoppedAt = Date.now();
  return {
    status,
    name,
    executionArn,
    ...(status === 'SUCCEEDED' ? { output } : {}),
    ...(error ? { error } : {}),
    startedAt: startTime.getTime(),
    stoppedAt,
    durationMs: stoppedAt - startTime.getTime(),
    steps,
    events,
    path: pathTop,
    stateOutputs,
  };
}
