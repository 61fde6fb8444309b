/**
 * Local emulation of `StartContinuation`: on AWS that state starts a new execution of the same BatchInference state
 * machine (`states:startExecution`) for the rest of a backlog, and Step Functions runs it on its own. Locally there is
 * no service to run it, so the state is overridden to record the request (checked like the service would: the same
 * machine, a valid name, a unique name), and {@link runChain} runs the recorded executions one after another once
 * each has ended — the same order as on AWS, where the continuation starts after the lock is released and waits for
 * nothing else. Parallel starts by other triggers are not emulated.
 */
import type { RunResult } from './sfn-runner';
import type { StateOverride } from './task-handlers';

/** One recorded `states:startExecution` request. */
export interface ContinuationRequest {
  readonly name: string;
  readonly input: unknown;
}

/** The `StartContinuation` override and the requests it recorded. */
export interface ContinuationQueue {
  readonly override: StateOverride;
  /** The next recorded request, removed from the queue. */
  take(): ContinuationRequest | undefined;
}

const NAME = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * A queue for the executions one state machine starts of itself. `stateMachineArn` is the running machine's; a
 * request for another machine fails the state like a missing grant would.
 */
export function continuationQueue(stateMachineArn: string): ContinuationQueue {
  const queue: ContinuationRequest[] = [];
  const seen = new Set<string>();
  const machineName = stateMachineArn.split(':').pop() ?? '';
  const override: StateOverride = async (raw) => {
    const req = (raw ?? {}) as { StateMachineArn?: unknown; Name?: unknown; Input?: unknown };
    const target = String(req.StateMachineArn ?? '');
    if (target.split(':').pop() !== machineName) {
      throw new Error(`StartContinuation: starts ${target}, not this state machine (${machineName})`);
    }
    const name = String(req.Name ?? '');
    if (!NAME.test(name)) throw new Error(`StartContinuation: invalid execution name "${name}"`);
    if (seen.has(name)) {
      const err = new Error(`Execution ${name} already exists`);
      err.name = 'StepFunctions.ExecutionAlreadyExistsException';
      throw err;
    }
    seen.add(name);
    const input = typeof req.Input === 'string' ? (JSON.parse(req.Input) as unknown) : req.Input;
    queue.push({ name, input });
    return {
      ExecutionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`,
      StartDate: Date.now(),
    };
  };
  return { override, take: () => queue.shift() };
}

/**
 * Run `first` and then every execution it (or a later one) started with `StartContinuation`, in order.
 * `runOne` runs one execution with the given StartContinuation override. Stops after `maxExecutions`.
 * @returns every execution's result, first to last
 */
export async function runChain(
  stateMachineArn: string,
  first: ContinuationRequest,
  runOne: (request: ContinuationRequest, startContinuation: StateOverride) => Promise<RunResult>,
  maxExecutions = 10_000,
): Promise<RunResult[]> {
  const queue = continuationQueue(stateMachineArn);
  const results: RunResult[] = [];
  let next: ContinuationRequest | undefined = first;
  while (next && results.length < maxExecutions) {
    results.push(await runOne(next, queue.override));
    next = queue.take();
  }
  return results;
}
