import type { DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { executionToken } from '../contracts/states/execution';
import { releaseLock } from '../lambdas/domain/lock';
import { markRunEnded, type RunRecord } from '../lambdas/domain/tracking';
import { output, type Target } from './target';

/**
 * Runs that stay RUNNING although their execution has ended: an execution that timed out or was stopped on AWS, or a
 * local process killed with SIGKILL, never reaches its failure path (RecordFailure). `runs` and `runs show` ask how
 * each RUNNING run's execution stands and record the ones that ended: on AWS DescribeExecution, locally the execution
 * registry (local/runtime/execution-registry.ts, through cli/local-target.ts). A batch run's lock, when that execution
 * still holds it, is released with it.
 */

const local = (): typeof import('./local-target') => require('./local-target');

/** How an execution ended that did not run its failure path, or undefined while it runs (or nobody can tell). */
interface Ended {
  readonly status: 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  readonly cause: string;
  readonly forget?: () => void;
}

const WITHOUT_FAILURE_PATH = 'execution ended without its failure path';

async function awsExecutionEnded(target: Target, executionArn: string): Promise<Ended | undefined> {
  const { DescribeExecutionCommand } = require('@aws-sdk/client-sfn') as typeof import('@aws-sdk/client-sfn');
  let d: DescribeExecutionCommandOutput;
  try {
    d = await target.clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch {
    // Gone from the history (90 days) or not readable with these credentials: nothing can be said.
    return undefined;
  }
  const status = d.status;
  if (!status || status === 'RUNNING' || status === 'PENDING_REDRIVE') return undefined;
  const at = d.stopDate ? ` at ${d.stopDate.toISOString()}` : '';
  if (status === 'SUCCEEDED') {
    return { status: 'FAILED', cause: `execution SUCCEEDED${at} but never completed its run record` };
  }
  return {
    status: status === 'TIMED_OUT' || status === 'ABORTED' ? status : 'FAILED',
    cause: `${WITHOUT_FAILURE_PATH} (${status}${at})`,
  };
}

function localExecutionEnded(executionArn: string): Ended | undefined {
  const endpoint = process.env.AWS_ENDPOINT_URL ?? '';
  const s = local().localExecutionState(executionArn, endpoint);
  if (s.state !== 'GONE') return undefined;
  return {
    status: 'ABORTED',
    cause: `${WITHOUT_FAILURE_PATH} (ABORTED: its local process ${s.pid} on ${s.host} is gone, killed)`,
    forget: () => local().forgetLocalExecution(executionArn, endpoint),
  };
}

/** The records with every RUNNING run whose execution has ended recorded as it ended (the others unchanged). */
export async function reconcileStaleRuns(target: Target, runs: readonly RunRecord[]): Promise<RunRecord[]> {
  const table = () => output(target, 'TableName');
  return Promise.all(
    runs.map(async (run) => {
      if (run.status !== 'RUNNING' || !run.executionArn) return run;
      const ended =
        target.mode === 'aws'
          ? await awsExecutionEnded(target, run.executionArn)
          : localExecutionEnded(run.executionArn);
      if (!ended) return run;
      const marked = await markRunEnded(target.clients.doc, table(), run, ended);
      if (run.kind === 'batch') {
        const execution = executionToken({ id: run.executionArn, startTime: run.startedAt });
        await releaseLock(target.clients.doc, table(), run.runId, 'batch', execution);
      }
      ended.forget?.();
      return marked ?? run;
    }),
  );
}
