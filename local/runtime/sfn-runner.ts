/**
 * Run a synthesized state machine locally on aws-local-stepfunctions (JSONPath): every Task state runs locally
 * (local/runtime/task-handlers.ts), Wait states and Retry intervals do not sleep, and the result comes with a
 * per-state timing log and the event log.
 */
import './polyfills';
import { randomUUID } from 'node:crypto';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { withStepFunctionsTaskTimeouts } from '../standins/task-timeouts';
import { distributedMapHandler, replaceDistributedMaps } from './distributed-map';
import { type JsonValue, json } from './lambda-invoke';
import { LOCAL_ACCOUNT } from './names';
import { buildTaskHandlers, type TaskHandlerOptions } from './task-handlers';

export interface RunStateMachineOptions extends TaskHandlerOptions {
  readonly input?: unknown;
  /** Execution name (`$$.Execution.Name`). @default `local-<timestamp>-<random>` */
  readonly name?: string;
  /** State machine name/ARN used in the context object. */
  readonly stateMachineName?: string;
  readonly stateMachineArn?: string;
  /** Called for every execution event as it happens (progress printing). */
  readonly onEvent?: (event: RunnerEvent) => void;
  /** Pause of Retry fields in ms (local runs should not sleep). @default 0 for every state */
  readonly retryIntervalMs?: number;
  /** Wait states pause this long (ms). @default 0 */
  readonly waitMs?: number;
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

/** Names and ARNs of one execution, as Step Functions would give them. */
export interface ExecutionIds {
  readonly name: string;
  readonly smName: string;
  readonly smArn: string;
  readonly executionArn: string;
  readonly account: string;
}

/** The names and ARNs {@link runStateMachine} gives an execution (give `name` to get the same ones). */
export function executionIds(options: RunStateMachineOptions): ExecutionIds {
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
  return { name, smName, smArn, executionArn, account };
}

/** Start the execution on aws-local-stepfunctions: local Task handlers, no waiting in Wait states or between retries. */
function startExecution(options: RunStateMachineOptions, ids: ExecutionIds, input: JsonValue, startTime: Date) {
  const handlers = buildTaskHandlers(options) as Record<string, (i: JsonValue) => Promise<JsonValue>>;
  const zeroWaits: Record<string, number> = {};
  const retries: Record<string, number> = {};
  for (const s of stateNames(options.definition)) {
    zeroWaits[s] = options.waitMs ?? 0;
    retries[s] = options.retryIntervalMs ?? 0;
  }
  const context = {
    Execution: {
      Id: ids.executionArn,
      Name: ids.name,
      Input: input,
      StartTime: startTime.toISOString(),
      RoleArn: `arn:aws:iam::${ids.account}:role/local`,
    },
    StateMachine: { Id: ids.smArn, Name: ids.smName },
    // aws-local-stepfunctions does not fill $$.State; definitions that read it (e.g. RetryCount in a job name) get
    // the values of a first attempt.
    State: { Name: '', EnteredTime: startTime.toISOString(), RetryCount: 0 },
  };
  const runOptions = { waitTimeOverrides: zeroWaits, retryIntervalOverrides: retries };
  // Distributed Maps run through local/runtime/distributed-map.ts (the library runs inline Maps only); Task
  // timeouts as Step Functions has them, not the library's 60 s default (local/standins/task-timeouts.ts).
  const { definition, maps } = replaceDistributedMaps(
    withStepFunctionsTaskTimeouts(options.definition as Parameters<typeof replaceDistributedMaps>[0]),
  );
  for (const [name, map] of Object.entries(maps)) {
    handlers[name] = distributedMapHandler({ handlers, runOptions, context, env: options.env }, name, map);
  }
  const machine = new StateMachine(definition as unknown as StateMachineDefinition, {
    validationOptions: { checkArn: false, checkPaths: true },
  });
  return machine.run(input, {
    overrides: { taskResourceLocalHandlers: handlers, ...runOptions },
    context,
  });
}

/** What the event log gives: every event, the timing of each state visit, the top-level path and state outputs. */
class EventLog {
  readonly events: RunnerEvent[] = [];
  readonly steps: StateTiming[] = [];
  readonly path: string[] = [];
  readonly stateOutputs: Record<string, unknown> = {};
  private readonly open = new Map<string, { start: number; type: string }>();

  constructor(private readonly onEvent: ((event: RunnerEvent) => void) | undefined) {}

  add(raw: unknown): void {
    const ev = simplify(raw);
    const st = (raw as { type: string; state?: { name: string; output?: unknown } }).state;
    if (ev.type === 'StateExited' && ev.index === undefined && st && 'output' in st)
      this.stateOutputs[st.name] = st.output;
    this.events.push(ev);
    this.onEvent?.(ev);
    const key = `${ev.state}#${ev.index ?? ''}`;
    if (ev.type === 'StateEntered' && ev.state) {
      this.open.set(key, { start: ev.timestamp, type: ev.stateType ?? '' });
      if (ev.index === undefined) this.path.push(ev.state);
    } else if ((ev.type === 'StateExited' || ev.type === 'StateFailed' || ev.type === 'StateCaught') && ev.state) {
      const o = this.open.get(key);
      if (!o) return;
      this.open.delete(key);
      this.steps.push({
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
}

/**
 * Execute `definition` locally and collect the result, a per-state timing log and the event log.
 * Never throws for an execution failure: `status` is `FAILED` and `error` holds the error and cause.
 */
export async function runStateMachine(options: RunStateMachineOptions): Promise<RunResult> {
  const ids = executionIds(options);
  const input = json(options.input ?? {});
  const startTime = new Date();
  const execution = startExecution(options, ids, input, startTime);
  const log = new EventLog(options.onEvent);
  const consume = (async () => {
    for await (const raw of execution.eventLogs) log.add(raw);
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
    name: ids.name,
    executionArn: ids.executionArn,
    ...(status === 'SUCCEEDED' ? { output } : {}),
    ...(error ? { error } : {}),
    startedAt: startTime.getTime(),
    stoppedAt,
    durationMs: stoppedAt - startTime.getTime(),
    steps: log.steps,
    events: log.events,
    path: log.path,
    stateOutputs: log.stateOutputs,
  };
}
