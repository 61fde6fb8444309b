import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../../../contracts/errors';
import type { ExecutionRef } from '../../../contracts/states/execution';
import type { StepError } from '../../../contracts/states/training';
import type { RunKind } from '../../../contracts/table-keys';
import { failRun } from '../../domain/tracking';

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

/** Result of {@link recordFailure}. */
export interface RecordedFailure {
  readonly runId: string;
  readonly error: string;
  readonly message?: string;
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
 */
export async function recordFailure(
  doc: DynamoDBDocumentClient,
  table: string,
  p: { runId: string; kind: RunKind; error: StepError; execution?: ExecutionRef },
): Promise<RecordedFailure> {
  const message = causeMessage(p.error.Cause);
  const execution = p.execution ? { arn: p.execution.id, startedAt: p.execution.startTime } : undefined;
  try {
    await failRun(doc, table, p.runId, {
      error: p.error.Error,
      cause: message,
      kind: p.kind,
      ...(execution ? { execution } : {}),
    });
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
    return { runId: p.runId, error: p.error.Error, message, recorded: false, notRecorded: err.message };
  }
  return { runId: p.runId, error: p.error.Error, message, recorded: true };
}
