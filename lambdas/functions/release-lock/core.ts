import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type ExecutionRef, executionToken } from '../../../contracts/states/execution';
import { releaseLock } from '../../domain/lock';
import { completeRun } from '../../domain/tracking';

export interface ReleaseParams {
  readonly tableName: string;
  readonly runId: string;
  /** The execution releasing (AcquireLock's): only its own lease is released. @default - the run id alone */
  readonly execution?: ExecutionRef;
  /** `NO_WORK`: the run found nothing to score; its run record is completed here. */
  readonly outcome?: 'NO_WORK';
}

export interface ReleaseResult {
  readonly runId: string;
  /** true when this call deleted the lock; false when there was none (already released) or another run holds it. */
  readonly released: boolean;
  /** The other owner when the lock had been taken over after this run's lease expired. */
  readonly heldBy?: string;
}

/**
 * Release the batch lock held by `runId`. Idempotent and safe on every exit path: a missing lock or one held by
 * another run is left alone and reported, never an error. With `outcome: 'NO_WORK'` the run record is completed too.
 */
export async function releaseBatchLock(doc: DynamoDBDocumentClient, p: ReleaseParams): Promise<ReleaseResult> {
  if (p.outcome === 'NO_WORK') {
    await completeRun(doc, p.tableName, p.runId, { fields: { outcome: 'NO_WORK', objectsScored: 0 } });
  }
  const r = await releaseLock(doc, p.tableName, p.runId, 'batch', p.execution && executionToken(p.execution));
  return { runId: p.runId, released: r.released, ...(r.heldBy ? { heldBy: r.heldBy } : {}) };
}
