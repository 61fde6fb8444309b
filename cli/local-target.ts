/**
 * The CLI against the local runtime: resources from the stack outputs the local runtime published in moto when it
 * provisioned it (or, when it published none, from the synthesized app), `train` / `batch` run in-process to their
 * end, and approvals delivered to the real approval handler as EventBridge would. Reaches the local runtime only
 * through local/runtime, and loads it (CDK synthesis, handlers, stand-ins) only for the commands that run handlers:
 * a read-only command costs one DescribeStacks.
 */
import type { PackageInfo } from '../lambdas/domain/registry';
import type { LocalExecutionKind, LocalExecutionSummary } from '../local/runtime/executions';
import { defaultClients, stackOutputs, type Target } from './target';

const executions = (): typeof import('../local/runtime/executions') => require('../local/runtime/executions');
const registry = (): typeof import('../local/runtime/execution-registry') =>
  require('../local/runtime/execution-registry');

/** Where the resources of a local target came from. */
export type LocalOutputsSource = 'published' | 'synthesized';

/**
 * The local runtime's resources as a CLI target: the outputs published in moto (`<namePrefix>-<env>-*` stacks), else
 * those of the synthesized app (synthesized once per process, shared with local runs).
 */
export async function resolveLocalTarget(
  envName: string,
  namePrefix: string,
): Promise<Target & { readonly source: LocalOutputsSource }> {
  const published = await stackOutputs(namePrefix, envName);
  if (published.stacks > 0) {
    return { mode: 'local', envName, outputs: published.outputs, clients: defaultClients(), source: 'published' };
  }
  const x = executions();
  return {
    mode: 'local',
    envName,
    outputs: x.localOutputs(x.localResources(envName)),
    clients: defaultClients(),
    source: 'synthesized',
  };
}

/**
 * Locally there is no EventBridge: hand the registry's state-change event to the real approval handler. Its logs
 * would only interleave with the command's result: they are off (what it did is in the table, `models` shows it).
 */
export function localApprovalDelivery(target: Target): (pkg: PackageInfo) => Promise<void> {
  return async (pkg) => {
    const { deliverApprovalEvent } = require('../local/runtime/approval') as typeof import('../local/runtime/approval');
    await deliverApprovalEvent(target, pkg, { env: { POWERTOOLS_LOG_LEVEL: 'SILENT' } });
  };
}

/**
 * Locally the Step Functions emulator cannot run our state machines: run the synthesized one in-process (the same
 * handlers, local trainer/transformer and environment as `npm run local`), always to its end. A failed execution is
 * returned like a successful one (status FAILED, error and cause): the caller reports it.
 */
export function runLocally(
  target: Target,
  kind: LocalExecutionKind,
  input: Record<string, unknown>,
  runId: string | undefined,
): Promise<LocalExecutionSummary> {
  return executions().runLocalExecution(kind, { envName: target.envName, input, ...(runId ? { runId } : {}) });
}

/** Whether a local execution still runs in a process of this host (local/runtime/execution-registry.ts). */
export function localExecutionState(
  executionArn: string,
  endpoint: string,
): import('../local/runtime/execution-registry').LocalExecutionStatus {
  return registry().localExecutionStatus(executionArn, endpoint);
}

/** Forget what a killed local execution left in the registry (once its run record says how it ended). */
export function forgetLocalExecution(executionArn: string, endpoint: string): void {
  registry().forgetGoneExecution(executionArn, endpoint);
}
