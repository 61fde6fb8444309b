/**
 * Running the synthesized Training / BatchInference state machines in-process (shared by `npm run local` and the
 * CLI's `mlops-batch --local train|batch`): the same functions, overrides (local trainer / transformer) and handler
 * environment, so both paths exercise exactly the same code.
 */
import './polyfills';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { BatchState, newRunId, TrainingState } from '../../contracts/states/names';
import { LOCAL_IMAGE_URI } from '../standins/model';
import { type TrainerDeps, trainingOverride } from '../standins/trainer';
import { type TransformerDeps, transformOverride } from '../standins/transformer';
import { type ContinuationRequest, continuationQueue, runChain } from './continuation';
import { registerLocalExecution } from './execution-registry';
import { type LocalResources, type LocatedStateMachine, resolveResources } from './inventory';
import { closeRedisClients, useLocalRedis } from './redis-clients';
import { executionIds, type RunnerEvent, type RunResult, runStateMachine } from './sfn-runner';
import { synthesizeApp } from './synth';
import type { StateOverride } from './task-handlers';

/** A local resource the synthesized app should have but does not (exactly one expected). */
export class LocalResourceError extends Error {
  override readonly name = 'LocalResourceError';
}

/** Which state machine (contracts/states/{training,batch}.ts). */
export type LocalExecutionKind = 'training' | 'batch';

const MACHINE_HINT: Record<LocalExecutionKind, string> = { training: 'Training', batch: 'BatchInference' };

/** The single stack output whose key ends with `key` (outputs are `<stack>.<key>`). */
export function outputByKey(resources: LocalResources, key: string): string {
  const hits = Object.entries(resources.outputs).filter(([k]) => k.endsWith(`.${key}`));
  const v = hits[0]?.[1];
  if (hits.length !== 1 || typeof v !== 'string') {
    throw new LocalResourceError(
      `The synthesized app has ${hits.length} stack outputs named ${key}; expected exactly one`,
    );
  }
  return v;
}

/** The one state machine whose construct path or logical id contains `hint`. */
export function findMachine(resources: LocalResources, hint: string): LocatedStateMachine {
  const h = hint.toLowerCase();
  const hits = resources.stateMachines.filter(
    (m) => (m.constructPath ?? '').toLowerCase().includes(h) || m.logicalId.toLowerCase().includes(h),
  );
  if (hits.length !== 1) {
    const all = resources.stateMachines.map((m) => m.constructPath ?? m.logicalId).join(', ') || '(none)';
    throw new LocalResourceError(
      `Expected one ${hint} state machine in the synthesized app, found ${hits.length}; state machines: ${all}`,
    );
  }
  return hits[0]!;
}

const cache = new Map<string, LocalResources>();

/** Share already synthesized resources of an environment (runs, the CLI's local target, approvals): one synth per process. */
export function setLocalResources(envName: string, resources: LocalResources): void {
  cache.set(envName, resources);
}

/** The synthesized app's local resources for an environment (synthesized once per process). */
export function localResources(envName: string, region?: string): LocalResources {
  let r = cache.get(envName);
  if (!r) {
    r = resolveResources(synthesizeApp({ context: { env: envName } }), region ? { region } : {});
    setLocalResources(envName, r);
  }
  return r;
}

/** Stack outputs by output key (`<stack>.<key>` → `<key>`), as the CLI's target names them. */
export function localOutputs(resources: LocalResources): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const [qualified, value] of Object.entries(resources.outputs)) {
    if (typeof value === 'string') outputs[qualified.slice(qualified.indexOf('.') + 1)] = value;
  }
  return outputs;
}

/** The environment every handler gets on top of its template environment (moto, redis, quiet Powertools). */
export function localHandlerEnv(options: {
  readonly endpoint: string;
  readonly redisUrl: string;
  readonly region: string;
  readonly verbose?: boolean;
}): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: options.endpoint,
    REDIS_URL: options.redisUrl,
    AWS_REGION: options.region,
    INFERENCE_IMAGE_URI: LOCAL_IMAGE_URI,
    POWERTOOLS_LOG_LEVEL: options.verbose ? 'INFO' : 'ERROR',
    POWERTOOLS_METRICS_DISABLED: options.verbose ? 'false' : 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_DEV: 'false',
  };
}

export interface LocalExecutionContext {
  readonly resources: LocalResources;
  readonly s3: S3Client;
  readonly sageMaker: SageMakerClient;
  /** From {@link localHandlerEnv}. */
  readonly env: Readonly<Record<string, string>>;
  readonly region: string;
}

export interface LocalExecutionOptions {
  /** Execution name = run id. @default {@link newRunId} */
  readonly name?: string;
  readonly input: Record<string, unknown>;
  /** Training: the local trainer's validation scores/labels. */
  readonly onTrained?: TrainerDeps['onTrained'];
  /** Batch: each transformed object's scores. */
  readonly onTransformed?: TransformerDeps['onTransformed'];
  readonly onEvent?: (event: RunnerEvent) => void;
  /**
   * Batch: runs `StartContinuation` (local/runtime/continuation.ts).
   * @default - records the request and starts nothing (use {@link runChain} to run continuations)
   */
  readonly startContinuation?: StateOverride;
}

/**
 * Run the synthesized Training or BatchInference state machine in-process: real handlers, the local trainer for
 * `Train` and the local transformer for `Transform`. Resolves with the execution (FAILED included; never throws for a
 * failed execution). While it runs, the execution registry (execution-registry.ts) names this process as its runner,
 * so a run whose process was killed is recognised afterwards.
 */
export async function executeLocal(
  kind: LocalExecutionKind,
  ctx: LocalExecutionContext,
  options: LocalExecutionOptions,
): Promise<RunResult> {
  const machine = findMachine(ctx.resources, MACHINE_HINT[kind]);
  const overrides: Record<string, StateOverride> =
    kind === 'training'
      ? {
          [TrainingState.Train]: trainingOverride({
            s3: ctx.s3,
            sageMaker: ctx.sageMaker,
            ...(options.onTrained ? { onTrained: options.onTrained } : {}),
          }),
          // Both models score the candidate's validation channel with the same local transformer.
          [TrainingState.ScoreCandidate]: transformOverride({ s3: ctx.s3, sageMaker: ctx.sageMaker }),
          [TrainingState.ScoreChampion]: transformOverride({ s3: ctx.s3, sageMaker: ctx.sageMaker }),
        }
      : {
          [BatchState.Transform]: transformOverride({
            s3: ctx.s3,
            sageMaker: ctx.sageMaker,
            ...(options.onTransformed ? { onTransformed: options.onTransformed } : {}),
          }),
          [BatchState.StartContinuation]: options.startContinuation ?? continuationQueue(machine.arn).override,
        };
  const run = {
    definition: machine.definition,
    functions: ctx.resources.functions,
    overrides,
    input: options.input,
    name: options.name ?? newRunId(kind === 'training' ? 'train' : 'batch'),
    stateMachineName: machine.name,
    stateMachineArn: machine.arn,
    env: ctx.env,
    region: ctx.region,
    account: ctx.resources.account,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  };
  const ended = registerLocalExecution(executionIds(run).executionArn, ctx.env.AWS_ENDPOINT_URL ?? '');
  try {
    return await runStateMachine(run);
  } finally {
    ended();
  }
}

/** What `mlops-batch --local train|batch` prints. */
export interface LocalExecutionSummary {
  readonly runId: string;
  readonly executionArn: string;
  readonly status: RunResult['status'];
  readonly path: readonly string[];
  readonly durationMs: number;
  /** Time per top-level state, in the order they ended. */
  readonly steps: readonly { readonly state: string; readonly ms: number }[];
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  /**
   * Batch, when the backlog continued in new executions (StartContinuation): every run of the chain, first to last;
   * the other fields describe the last.
   */
  readonly chain?: readonly string[];
}

/**
 * The CLI's local `train` / `batch`: run the state machine of the environment's synthesized app against the running
 * moto_server (AWS_ENDPOINT_URL) and redis-server (REDIS_URL).
 */
export async function runLocalExecution(
  kind: LocalExecutionKind,
  options: { readonly envName: string; readonly runId?: string; readonly input: Record<string, unknown> },
): Promise<LocalExecutionSummary> {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  const redisUrl = process.env.REDIS_URL;
  if (!endpoint || !redisUrl) {
    throw new LocalResourceError(
      `a local ${kind === 'training' ? 'train' : 'batch'} run needs AWS_ENDPOINT_URL (moto_server) and REDIS_URL (redis-server); \`npm run local -- --keep\` prints them`,
    );
  }
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const resources = localResources(options.envName, region);
  const common = { endpoint, region };
  const s3 = new S3Client({ ...common, forcePathStyle: true });
  const sageMaker = new SageMakerClient(common);
  // The handlers' Redis clients are tracked so this process can end when the run has (the CLI does not exit()).
  useLocalRedis('track');
  try {
    const ctx: LocalExecutionContext = {
      resources,
      s3,
      sageMaker,
      // The CLI's output is its result (or one error line): the handlers' own logs stay out of it.
      env: { ...localHandlerEnv({ endpoint, redisUrl, region }), POWERTOOLS_LOG_LEVEL: 'SILENT' },
      region,
    };
    const first: ContinuationRequest = {
      name: options.runId ?? newRunId(kind === 'training' ? 'train' : 'batch'),
      input: options.input,
    };
    // A batch run whose backlog continues (StartContinuation) is followed by its continuations, as on AWS.
    const chain =
      kind === 'batch'
        ? await runChain(findMachine(resources, MACHINE_HINT.batch).arn, first, (req, startContinuation) =>
            executeLocal(kind, ctx, { name: req.name, input: req.input as Record<string, unknown>, startContinuation }),
          )
        : [await executeLocal(kind, ctx, { name: first.name, input: options.input })];
    const res = chain[chain.length - 1]!;
    return {
      ...(chain.length > 1 ? { chain: chain.map((r) => r.name) } : {}),
      runId: res.name,
      executionArn: res.executionArn,
      status: res.status,
      path: res.path,
      durationMs: res.durationMs,
      steps: res.steps.filter((x) => x.index === undefined).map((x) => ({ state: x.state, ms: x.durationMs })),
      ...(res.output !== undefined ? { output: res.output } : {}),
      ...(res.error ? { error: res.error.Error, cause: causeMessage(res.error.Cause) } : {}),
    };
  } finally {
    closeRedisClients();
    s3.destroy();
    sageMaker.destroy();
  }
}

/** A Lambda task's cause is the runtime's JSON (`errorType`, `errorMessage`, `trace`): keep the message. */
export function causeMessage(cause: string): string {
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (parsed && typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: a Fail state's own cause
  }
  return cause;
}
