import { windowStart } from '../lambdas/domain/due';
import { findDue } from '../lambdas/domain/ledger';
import { type RescoreRequest, requestRescore } from '../lambdas/domain/production';
import { CliUsageError } from './errors';
import { output, type Target } from './target';

/**
 * `mlops-batch rescore [--from DATE] [--to DATE] [--dry-run]`: rescore the scored feature objects of a partition
 * range with the Production version. It first counts what the request makes due (objects, and the rows they sent
 * when last scored) so nobody pays for a surprise full rescore; with `--dry-run` that is all. Otherwise it records
 * the request on the Production pointer (lambdas/domain/production.ts) and the caller starts a batch run; runs take
 * `batch.maxObjectsPerRun` objects each, newest partition first, until nothing is due.
 */

/** Default first partition: the default score TTL back (older scores have expired from the store). */
export const DEFAULT_RESCORE_DAYS = 7;

/** Most objects one plan counts (the count says "at least" beyond it). */
const PLAN_LIMIT = 100_000;

export interface RescorePlan {
  readonly from: string;
  readonly to?: string;
  /** Scored objects in the range that will be rescored. */
  readonly objects: number;
  /** Rows they sent when they were last scored (objects scored before rows were recorded count 0). */
  readonly rows: number;
  /** More than PLAN_LIMIT objects: `objects` is a lower bound. */
  readonly atLeast: boolean;
  readonly dryRun: boolean;
  /** The recorded request (not with --dry-run). */
  readonly request?: RescoreRequest;
}

export async function planRescore(
  target: Target,
  o: { from?: string; to?: string; dryRun?: boolean },
  now: Date = new Date(),
): Promise<RescorePlan> {
  const from = o.from ?? windowStart(now, DEFAULT_RESCORE_DAYS);
  if (o.to && from > o.to) throw new CliUsageError(`--from ${from} is after --to ${o.to}`);
  const table = output(target, 'TableName');
  const due = await findDue(
    target.clients.doc,
    table,
    { from, ...(o.to ? { to: o.to } : {}), scoredBefore: now.toISOString() },
    PLAN_LIMIT,
  );
  const plan = {
    from,
    ...(o.to ? { to: o.to } : {}),
    objects: due.objects.length,
    rows: due.rows.reduce((a, b) => a + b, 0),
    atLeast: due.truncated,
    dryRun: o.dryRun === true,
  };
  if (o.dryRun) return plan;
  const request = await requestRescore(
    target.clients.doc,
    table,
    { from, ...(o.to ? { to: o.to } : {}), by: 'cli' },
    now,
  );
  return { ...plan, request };
}

/** The line printed before anything starts. */
export function describePlan(p: RescorePlan): string {
  const range = `${p.from} … ${p.to ?? 'today'}`;
  const count = `${p.atLeast ? 'at least ' : ''}${p.objects} objects, ${p.rows} rows`;
  return p.dryRun
    ? `rescore ${range} would rescore ${count} (dry run: nothing recorded, no run started)`
    : `rescore ${range}: ${count} are due for the Production version; starting a batch run`;
}
