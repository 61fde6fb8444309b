/**
 * What a batch run scores: "unscored" means not yet scored by the current Production version.
 *
 * - PENDING objects (new or rewritten), oldest partition first, as before;
 * - then SCORED objects due again, newest partition first (the newest snapshot holds most entities' newest scores,
 *   so a run cut short by the limit serves the most Production scores):
 *   - of the rescore window (partitions from today − `windowDays`) scored by another version than Production;
 *   - of an operator's rescore request [from, to], scored before the request.
 *
 * Rows of an older snapshot whose entity has a newer one lose on the store's `(asOf, run)` order, so rescoring every
 * due object of the window is correct; the window bounds the cost. At most `limit` objects; `truncated` says more
 * wait (the next run continues: what it committed is no longer due).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type DueQuery, findDue, findPending, type PendingObject } from './ledger';
import { getProduction, type ProductionPointer } from './production';

export interface SelectParams {
  readonly tableName: string;
  /** Objects per run (config `batch.maxObjectsPerRun`). */
  readonly limit: number;
  /** Partitions this many days back from today are rescored on a Production change (config `batch.rescoreWindowDays`). */
  readonly windowDays: number;
  /** Clock, for tests. @default - now */
  readonly now?: Date;
}

export interface Selection {
  readonly objects: PendingObject[];
  readonly truncated: boolean;
  /** Of `objects`: how many were PENDING and how many were SCORED and due again. */
  readonly pending: number;
  readonly rescore: number;
  /** Rows the due objects sent when they were last scored (0 for objects scored before rows were recorded). */
  readonly rescoreRows: number;
  readonly rescoreBytes: number;
  /** The pointer the selection used (undefined before any approval was recorded). */
  readonly production?: ProductionPointer;
}

/** YYYY-MM-DD of `now − days` (UTC). */
export function windowStart(now: Date, days: number): string {
  return new Date(now.getTime() - days * 86_400_000).toISOString().slice(0, 10);
}

/** The queries of what is due for `pointer` (none before any approval was recorded). */
export function dueQueries(pointer: ProductionPointer | undefined, now: Date, windowDays: number): DueQuery[] {
  if (!pointer) return [];
  const queries: DueQuery[] = [];
  const from = windowStart(now, windowDays);
  if (pointer.version !== null) queries.push({ from, notVersion: pointer.version });
  if (pointer.rescore) {
    queries.push({
      from: pointer.rescore.from ?? from,
      ...(pointer.rescore.to ? { to: pointer.rescore.to } : {}),
      scoredBefore: pointer.rescore.requestedAt,
    });
  }
  return queries;
}

/** Select the run's work. */
export async function selectWork(doc: DynamoDBDocumentClient, p: SelectParams): Promise<Selection> {
  const now = p.now ?? new Date();
  const pending = await findPending(doc, p.tableName, p.limit);
  const production = await getProduction(doc, p.tableName);
  const seen = new Set(pending.objects.map((o) => o.key));
  const due: PendingObject[] = [];
  let truncated = pending.truncated;
  let rows = 0;
  for (const q of dueQueries(production, now, p.windowDays)) {
    // With no room left, ask for one object only: enough to know whether more wait.
    const room = p.limit - pending.objects.length - due.length;
    const found = await findDue(doc, p.tableName, q, Math.max(room, 1));
    for (const [i, o] of found.objects.entries()) {
      if (seen.has(o.key)) continue;
      if (due.length >= p.limit - pending.objects.length) {
        truncated = true;
        break;
      }
      seen.add(o.key);
      due.push(o);
      rows += found.rows[i] ?? 0;
    }
    if (found.truncated) truncated = true;
  }
  return {
    objects: [...pending.objects, ...due],
    truncated,
    pending: pending.objects.length,
    rescore: due.length,
    rescoreRows: rows,
    rescoreBytes: due.reduce((n, o) => n + o.size, 0),
    ...(production ? { production } : {}),
  };
}
