import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../../../contracts/errors';
import type { ExecutionRef } from '../../../contracts/states/execution';
import type { StepError } from '../../../contracts/states/training';
import type { RunKind } from '../../../contracts/table-keys';
import { type FailedMapItem, findFailedMapItem } from '../../data/map-run-failure';
import { failRun } from '../../domain/tracking';

/** The error a Distributed Map fails with when an item fails (none is tolerated in this project). */
export const MAP_THRESHOLD_ERROR = 'States.ExceedToleratedFailureThreshold';

/**
 * The readable message of a Step Functions Catch cause. A Lambda error's cause is the JSON
 * `{errorType, errorMessage, trace}`; its message is what an operator needs. Anything else is kept as it is.
 */
export function causeMessage(cause: string | undefined): string | undefined {
  if (cause === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(cause);
    if (parsed && typeof parsed === 'object' && 'errorMessage' in parsed) {
      const msg = (parsed as { errorMessage: unknown }).errorMessage;
      if (typeof msg === 'string') return msg;
    }
  } catch {
    // not JSON: a service integration's plain-text cause
  }
  return cause;
}

/** Where a failed Distributed Map's result files are (see lambdas/data/map-run-failure.ts). */
export interface MapResults {
  readonly s3: S3Client;
  readonly bucket: string;
  /** The workflow's ResultWriter prefixes (contracts/s3-layout.ts MAP_RESULTS_PREFIXES). */
  readonly prefixes: readonly string[];
}

/**
 * The error and cause to record: a Distributed Map's threshold error is replaced by its first failed item's own
 * error and cause, the map's error kept at the end of the cause as context.
 */
export function reportedError(caught: StepError, item: FailedMapItem | undefined): { error: string; message?: string } {
  const message = causeMessage(caught.Cause);
  if (!item) return { error: caught.Error, ...(message !== undefined ? { message } : {}) };
  const own = causeMessage(item.cause);
  const context = `first failed item of ${item.map ?? 'the Distributed Map'} (${item.resultsUri}); the map failed with ${caught.Error}${message ? `: ${message}` : ''}`;
  return { error: item.error, message: own ? `${own} [${context}]` : `[${context}]` };
}

/** Result of {@link recordFailure}. */
export interface RecordedFailure {
  readonly runId: string;
  readonly error: string;
  readonly message?: string;
  /** Why a Distributed Map's failed item could not be read (the map's own error was recorded then). */
  readonly itemNotFound?: string;
  /**
   * false when the run record belongs to another execution of the same run id (a reused id): it was left as it was,
   * and `notRecorded` says why.
   */
  readonly recorded: boolean;
  readonly notRecorded?: string;
}

/**
 * RecordFailure (both workflows): mark the run FAILED with the error name and cause of the Catch. Creates a minimal
 * run record when the run failed before it had one (e.g. its first state failed). With `execution`, a run record
 * another execution created under the same run id (an execution started with a used run id) is not touched: that
 * run keeps its status, and this execution still ends failed with its own error.
 *
 * When a Distributed Map failed (`States.ExceedToleratedFailureThreshold`) and `mapResults` is given, the first failed
 * item's error and cause are read from the map run's ResultWriter files and recorded instead ({@link reportedError});
 * when they cannot be read, the map's error is recorded and `itemNotFound` says why.
 */
export async function recordFailure(
  doc: DynamoDBDocumentClient,
  table: string,
  p: { runId: string; kind: RunKind; error: StepError; execution?: ExecutionRef },
  mapResults?: MapResults,
): Promise<RecordedFailure> {
  const lookup =
    mapResults && p.error.Error === MAP_THRESHOLD_ERROR
      ? await findFailedMapItem(mapResults.s3, mapResults.bucket, mapResults.prefixes, p.runId)
      : undefined;
  const { error, message } = reportedError(p.error, lookup?.item);
  const itemNotFound = lookup?.problem !== undefined ? { itemNotFound: lookup.problem } : {};
  const execution = p.execution ? { arn: p.execution.id, startedAt: p.execution.startTime } : undefined;
  try {
    await failRun(doc, table, p.runId, {
      error,
      cause: message,
      kind: p.kind,
      ...(execution ? { execution } : {}),
    });
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
    return { runId: p.runId, error, message, ...itemNotFound, recorded: false, notRecorded: err.message };
  }
  return { runId: p.runId, error, message, ...itemNotFound, recorded: true };
}
