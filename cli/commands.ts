import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ConflictError, DependencyError, ValidationError } from '../contracts/errors';
import { newRunId } from '../contracts/states/names';
import type { RunKind } from '../contracts/table-keys';
import { getModel, type ModelRecord } from '../lambdas/domain/model-records';
import {
  type ApprovalStatus,
  findPackageByVersion,
  findProductionPackage,
  listPackages,
  type PackageInfo,
  updateApprovalStatus,
} from '../lambdas/domain/registry';
import { RedisScoreStore } from '../lambdas/domain/score-store/redis';
import { listRuns, type RunRecord } from '../lambdas/domain/tracking';
import { readScores } from '../lambdas/functions/read-scores/core';
import { type ReconcileResult, reconcile } from '../lambdas/functions/reconcile/core';
import { signedJson } from './signed-fetch';
import { output, type Target } from './target';

/**
 * The operator commands' cores: each takes a {@link Target} (AWS or local) and returns plain data that
 * `bin/mlops-batch.ts` prints as a table or as JSON (`--json`). Errors are typed (lambdas/shared/errors).
 */

/** Bad command-line usage that commander cannot see (exit code 2). */
export class CliUsageError extends ValidationError {}

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

export async function runs(target: Target, kinds: readonly RunKind[], limit = 20): Promise<RunRecord[]> {
  const table = output(target, 'TableName');
  const all = await Promise.all(kinds.map((k) => listRuns(target.clients.doc, table, k, { limit })));
  return all
    .flatMap((r) => r.runs)
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
    .slice(0, limit);
}

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
 * Start an execution of a deployed state machine; with `wait`, poll until it ends (a failed execution throws).
 * The execution name is the run id, so a name reused by mistake is refused by Step Functions.
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
      const result: ExecutionResult = {
        executionArn,
        runId,
        status: d.status,
        ...(d.output ? { output: JSON.parse(d.output) as unknown } : {}),
        ...(d.error ? { error: d.error } : {}),
        ...(d.cause ? { cause: d.cause } : {}),
      };
      if (d.status !== 'SUCCEEDED') {
        throw new DependencyError(`Execution ${runId} ended ${d.status}: ${d.error ?? ''} ${d.cause ?? ''}`.trim());
      }
      return result;
    }
    if (Date.now() > deadline) throw new DependencyError(`Execution ${runId} still running after the wait limit`);
    await new Promise((r) => setTimeout(r, options.pollMs ?? 10_000));
  }
}

/** Register feature objects the arrival events missed (or a backfill range) through the ledger. */
export async function reconcileObjects(
  target: Target,
  request: { prefix?: string; from?: string; to?: string },
): Promise<ReconcileResult> {
  const params = { tableName: output(target, 'TableName'), featuresBucket: output(target, 'FeaturesBucketName') };
  return asUsageError(reconcile(target.clients.s3, target.clients.doc, params, request));
}

/** A request the core refused (bad prefix, id, segment) is a bad argument of the command line: exit code 2. */
async function asUsageError<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (e) {
    if (e instanceof ValidationError && !(e instanceof CliUsageError)) throw new CliUsageError(e.message);
    throw e;
  }
}

/** Scores of entities as the read API serves them (model score, or the fallback for unknown ids). */
export interface ScoreAnswer {
  readonly items: unknown[];
  readonly notFound: string[];
}

/**
 * Read scores: on AWS through the IAM-authorized read API (signed request); locally through the read handler's
 * core against REDIS_URL (the same code the API runs).
 */
export async function score(target: Target, ids: readonly string[], segment?: string): Promise<ScoreAnswer> {
  if (target.mode === 'local') {
    const redisUrl = process.env.REDIS_URL;
    if (!redisUrl) throw new CliUsageError('score --local needs REDIS_URL (the local runtime prints it with --keep)');
    const { default: Redis } = await import('ioredis');
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      const res = await asUsageError(
        readScores(new RedisScoreStore(redis), { ids: [...ids], ...(segment ? { segment } : {}) }),
      );
      return { items: res.items, notFound: res.notFound };
    } finally {
      redis.disconnect();
    }
  }
  const base = output(target, 'ApiUrl');
  const url = new URL('scores/batch', base.endsWith('/') ? base : `${base}/`);
  const res = await signedJson('POST', url, { ids, ...(segment ? { segment } : {}) });
  if (res.status !== 200) {
    const msg = (res.body as { message?: string } | undefined)?.message ?? JSON.stringify(res.body);
    if (res.status >= 400 && res.status < 500) throw new ValidationError(`read API answered ${res.status}: ${msg}`);
    throw new DependencyError(`read API answered ${res.status}: ${msg}`);
  }
  const body = res.body as { items?: unknown[]; notFound?: string[] };
  return { items: body.items ?? [], notFound: body.notFound ?? [] };
}
