import { ConflictError } from '../contracts/errors';
import { getModel, type ModelRecord } from '../lambdas/domain/model-records';
import {
  type ApprovalStatus,
  findPackageByVersion,
  findProductionPackage,
  listPackages,
  type PackageInfo,
  updateApprovalStatus,
} from '../lambdas/domain/registry';
import { CliUsageError } from './errors';
import { output, type Target } from './target';

/** The cores of `models`, `approve` and `reject` (registered in cli/model-commands.ts). */

/** One model version as `mlops-batch models` shows it. */
export interface ModelRow {
  readonly version: number;
  readonly status: ApprovalStatus | undefined;
  /** True for the Production version (newest Approved). */
  readonly production: boolean;
  readonly auc: number | undefined;
  readonly logloss: number | undefined;
  readonly runId: string | undefined;
  readonly createdAt: string | undefined;
  /** Last approval-history entry (who changed the status, when), from the tracking table. */
  readonly lastChange:
    | { readonly status: string; readonly by?: string; readonly at: string; readonly reason?: string }
    | undefined;
  readonly modelPackageArn: string;
}

/** Parse a model version argument (`3`, `v3`). */
export function parseVersion(raw: string): number {
  const m = /^v?(\d{1,9})$/i.exec(raw.trim());
  const v = m?.[1] ? Number(m[1]) : Number.NaN;
  if (!Number.isInteger(v) || v < 1) {
    throw new CliUsageError(`version "${raw}" is not a model version: expected a positive integer such as 3 (or v3)`);
  }
  return v;
}

export async function models(target: Target, limit = 20): Promise<ModelRow[]> {
  const group = output(target, 'ModelPackageGroupName');
  const table = output(target, 'TableName');
  const [packages, production] = await Promise.all([
    listPackages(target.clients.sm, group, { limit }),
    findProductionPackage(target.clients.sm, group),
  ]);
  const records = await Promise.all(packages.map((p) => getModel(target.clients.doc, table, p.version)));
  return packages.map((p, i) => toRow(p, records[i], production?.version));
}

function toRow(p: PackageInfo, record: ModelRecord | undefined, productionVersion: number | undefined): ModelRow {
  const last = record?.approvals?.[record.approvals.length - 1];
  return {
    version: p.version,
    status: p.status,
    production: p.version === productionVersion,
    auc: p.metrics.auc,
    logloss: p.metrics.logloss,
    runId: p.runId,
    createdAt: p.createdAt,
    lastChange: last
      ? {
          status: last.status,
          at: last.at,
          ...(last.by ? { by: last.by } : {}),
          ...(last.reason ? { reason: last.reason } : {}),
        }
      : undefined,
    modelPackageArn: p.arn,
  };
}

/**
 * The LAST CHANGE cell: who changed the status when. The first history entry is the registration by the training
 * run (no person involved); a state-change event without an identity says so instead of naming nobody.
 */
export function describeLastChange(c: ModelRow['lastChange']): string {
  if (!c) return '-';
  if (!c.by)
    return c.reason === 'registered' ? `registered at ${c.at}` : `${c.status} at ${c.at} (no identity in the event)`;
  return `${c.status} by ${c.by} at ${c.at}`;
}

/** What approve/reject changed. */
export interface StatusChange {
  readonly version: number;
  readonly modelPackageArn: string;
  readonly previousStatus: ApprovalStatus | undefined;
  readonly status: ApprovalStatus;
  /** Production version after the change (newest Approved), if any. */
  readonly productionVersion: number | undefined;
}

/**
 * Set a version's approval status in the registry — exactly what the console's "Update status" does. On AWS the
 * registry's state-change event reaches the approval handler through EventBridge; locally `deliver` plays that part.
 */
export async function setStatus(
  target: Target,
  version: number,
  status: 'Approved' | 'Rejected',
  reason: string | undefined,
  deliver?: (pkg: PackageInfo) => Promise<void>,
): Promise<StatusChange> {
  const group = output(target, 'ModelPackageGroupName');
  const pkg = await findPackageByVersion(target.clients.sm, group, version);
  if (pkg.status === status) {
    throw new ConflictError(`Model version ${version} is already ${status}; nothing to do`);
  }
  const updated = await updateApprovalStatus(target.clients.sm, pkg.arn, status, reason);
  if (deliver) await deliver(updated);
  const production = await findProductionPackage(target.clients.sm, group);
  return {
    version,
    modelPackageArn: pkg.arn,
    previousStatus: pkg.status,
    status,
    productionVersion: production?.version,
  };
}
