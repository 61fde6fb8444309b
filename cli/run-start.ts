import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DependencyError } from '../contracts/errors';
import { newRunId } from '../contracts/states/names';
import { output, type Target } from './target';

/** The core of `train` / `batch` on AWS (registered in cli/run-commands.ts). */

/** A started (and optionally finished) Step Functions execution. */
export interface ExecutionResult {
  readonly executionArn: string;
  readonly runId: string;
  readonly status: string;
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
}

/**
 * Start an execution of a deployed state machine; with `wait`, poll until it ends and return how it ended (FAILED,
 * TIMED_OUT and ABORTED included: the caller reports them). The execution name is the run id, so a name reused by
 * mistake is refused by Step Functions.
 */
export async function startExecution(
  target: Target,
  outputKey: 'TrainingStateMachineArn' | 'BatchInferenceStateMachineArn',
  input: Record<string, unknown>,
  options: { wait?: boolean; runId?: string; pollMs?: number; timeoutMs?: number } = {},
): Promise<ExecutionResult> {
  const arn = output(target, outputKey);
  const runId = options.runId ?? newRunId(outputKey === 'TrainingStateMachineArn' ? 'train' : 'batch');
  const started = await target.clients.sfn.send(
    new StartExecutionCommand({ stateMachineArn: arn, name: runId, input: JSON.stringify(input) }),
  );
  const executionArn = started.executionArn ?? '';
  if (!options.wait) return { executionArn, runId, status: 'RUNNING' };
  const deadline = Date.now() + (options.timeoutMs ?? 6 * 3600_000);
  for (;;) {
    const d = await target.clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status && d.status !== 'RUNNING' && d.status !== 'PENDING_REDRIVE') {
      return {
        executionArn,
        runId,
        status: d.status,
        ...(d.output ? { output: JSON.parse(d.output) as unknown } : {}),
        ...(d.error ? { error: d.error } : {}),
        ...(d.cause ? { cause: d.cause } : {}),
      };
    }
    if (Date.now() > deadline) throw new DependencyError(`Execution ${runId} still running after the wait limit`);
    await new Promise((r) => setTimeout(r, options.pollMs ?? 10_000));
  }
}
