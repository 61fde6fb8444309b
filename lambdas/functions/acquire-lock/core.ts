import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LockResult } from '../../../contracts/states/batch';
import { type ExecutionRef, executionToken } from '../../../contracts/states/execution';
import { acquireLock } from '../../domain/lock';
import { createRun } from '../../domain/tracking';

export interface AcquireParams {
  readonly tableName: string;
  /** Run id = execution name; also the lock owner. */
  readonly runId: string;
  /** What started the run (`schedule`, `manual`, `approval`, …). */
  readonly trigger: string;
  /** Execution start (ISO). */
  readonly startedAt: string;
  readonly leaseSeconds: number;
  readonly codeVersion: string;
  /**
   * The execution taking the lock: it holds the lock and owns the run record, not every execution of `runId`.
   * @default - none: the run id alone holds the lock (callers outside a state machine)
   */
  readonly execution?: ExecutionRef;
  /** Clock, for tests. @default - now */
  readonly now?: Date;
}

/**
 * Take the batch lock for `runId` and, once held, create the batch run record.
 *
 * Contention is not an error: it returns `acquired: false` (with the holder) and touches nothing else, so the
 * state machine ends in `AlreadyRunning` without entering the failure path. A retried AcquireLock of the same run
 * is idempotent (the lock's owner may re-acquire; the run record is created once).
 */
export async function acquireBatchLock(doc: DynamoDBDocumentClient, p: AcquireParams): Promise<LockResult> {
  const lock = await acquireLock(doc, p.tableName, {
    owner: p.runId,
    leaseSeconds: p.leaseSeconds,
    now: p.now,
    ...(p.execution ? { execution: executionToken(p.execution) } : {}),
  });
  if (!lock.acquired) {
    return { runId: p.runId, acquired: false, trigger: p.trigger, heldBy: lock.heldBy };
  }
  const startedAt = new Date(p.startedAt);
  // Conditional: a run id another run already has (training or batch) fails here, that run's record untouched.
  await createRun(doc, p.tableName, {
    ...(p.execution ? { executionArn: p.execution.id } : {}),
    runId: p.runId,
    kind: 'batch',
    trigger: p.trigger,
    codeVersion: p.codeVersion,
    params: { lockLeaseSeconds: p.leaseSeconds },
    startedAt: Number.isNaN(startedAt.getTime()) ? (p.now ?? new Date()) : startedAt,
  });
  return { runId: p.runId, acquired: true, trigger: p.trigger, leaseExpiresAt: lock.leaseExpiresAt };
}
