/**
 * Who is calling AWS right now: the function or state machine the local runtime is running, carried through every
 * await with AsyncLocalStorage so an SDK call made deep inside a handler is attributed to that function.
 *
 * The local runtime sets it around each handler invocation (local/runtime/lambda-invoke.ts) and each Task state
 * (local/runtime/task-handlers.ts); the IAM recorder (local/iam/recorder.ts) reads it. Nothing here records anything.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** The principal whose role signs the calls: a Lambda function or a state machine, named by its ARN. */
export interface CallPrincipal {
  readonly kind: 'function' | 'stateMachine';
  /** Local ARN of the function or state machine (local/runtime/intrinsics.ts names). */
  readonly arn: string;
  /** CloudFormation logical id, when known (for messages). */
  readonly logicalId?: string;
}

const storage = new AsyncLocalStorage<CallPrincipal>();

type RunListener = (principal: CallPrincipal) => void;
const runListeners = new Set<RunListener>();

/** Be told of every principal {@link runAs} runs code as (a function invoked). Returns the unsubscribe. */
export function onRun(listener: RunListener): () => void {
  runListeners.add(listener);
  return () => runListeners.delete(listener);
}

/** Run `fn` with `principal` as the caller of every AWS call it makes. */
export function runAs<T>(principal: CallPrincipal, fn: () => T): T {
  for (const l of runListeners) l(principal);
  return storage.run(principal, fn);
}

/** The principal of the code running now, if the local runtime set one. */
export function currentPrincipal(): CallPrincipal | undefined {
  return storage.getStore();
}

/** What a Task state did, as the state machine's role does it (see local/iam/state-machine-actions.ts). */
export interface TaskInvocation {
  readonly stateMachineArn: string;
  readonly state: string;
  /** The Task's `Resource`. */
  readonly resource: string;
  /** The state's effective input (after InputPath/Parameters): the API request Step Functions would send. */
  readonly input: unknown;
}

type TaskListener = (task: TaskInvocation) => void;
const taskListeners = new Set<TaskListener>();

/** Be told of every Task state the local runtime runs (the IAM recorder subscribes). Returns the unsubscribe. */
export function onTaskInvocation(listener: TaskListener): () => void {
  taskListeners.add(listener);
  return () => taskListeners.delete(listener);
}

/** Called by the local runtime for every Task state it runs. */
export function notifyTaskInvocation(task: TaskInvocation): void {
  for (const l of taskListeners) l(task);
}
