/**
 * The CLI against the local runtime: resources resolved from the synthesized app (the names `npm run local`
 * provisions in moto_server), `train` / `batch` run in-process to their end, and approvals delivered to the real
 * approval handler as EventBridge would. Reaches the local runtime only through local/runtime.
 */
import { DependencyError } from '../contracts/errors';
import type { PackageInfo } from '../lambdas/domain/registry';
import { deliverApprovalEvent } from '../local/runtime/approval';
import {
  type LocalExecutionKind,
  type LocalExecutionSummary,
  localOutputs,
  localResources,
  runLocalExecution,
} from '../local/runtime/executions';
import { defaultClients, type Target } from './target';

/** The synthesized app's resources (synthesized once per process, shared with local runs) as a CLI target. */
export async function resolveLocalTarget(envName: string): Promise<Target> {
  return { mode: 'local', envName, outputs: localOutputs(localResources(envName)), clients: defaultClients() };
}

/** Locally there is no EventBridge: hand the registry's state-change event to the real approval handler. */
export function localApprovalDelivery(target: Target): (pkg: PackageInfo) => Promise<void> {
  return async (pkg) => {
    await deliverApprovalEvent(target, pkg);
  };
}

/**
 * Locally the Step Functions emulator cannot run our state machines: run the synthesized one in-process (the same
 * handlers, local trainer/transformer and environment as `npm run local`), always to its end.
 *
 * @throws DependencyError for a failed execution: one line with its path, error and cause
 */
export async function runLocally(
  target: Target,
  kind: LocalExecutionKind,
  input: Record<string, unknown>,
  runId: string | undefined,
): Promise<LocalExecutionSummary> {
  const res = await runLocalExecution(kind, { envName: target.envName, input, ...(runId ? { runId } : {}) });
  if (res.status !== 'SUCCEEDED') {
    const oneLine = (x: string | undefined) => (x ?? '').replace(/\s+/g, ' ').trim();
    throw new DependencyError(
      `${kind} run ${res.runId} ${res.status} after ${res.path.join(' → ')}: ${oneLine(res.error) || 'no error'}: ${oneLine(res.cause) || 'no cause'}`,
    );
  }
  return res;
}
