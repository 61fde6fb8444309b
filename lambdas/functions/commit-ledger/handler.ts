import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { DependencyError, isTransientAwsError } from '../../../contracts/errors';
import { functionEnvLoader } from '../../../contracts/function-env';
import { ResolvedModelSchema, RunIdSchema, WorkSchema } from '../../../contracts/states/batch';
import { docClient, s3Client } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { type CommitResult, commitLedger, DataCountsSchema, FinalizeResultSchema } from './core';

let doc: DynamoDBDocumentClient | undefined;
let s3: S3Client | undefined;
const env = functionEnvLoader('commit-ledger');

const InputSchema = z.object({
  runId: RunIdSchema,
  model: ResolvedModelSchema,
  work: WorkSchema,
  data: DataCountsSchema,
  /** `null` when HasRows? skipped the transform (every object quarantined). */
  finalize: FinalizeResultSchema.nullable(),
  /** `$$.Execution.Input`: a continuation run's carries its chain (lambdas/domain/chain.ts). */
  executionInput: z.unknown().optional(),
});

/** `CommitLedger`: mark the run's objects SCORED (or QUARANTINED) and complete the run record. */
export const handler = withLambdaContext(async (event: unknown): Promise<CommitResult> => {
  const input = parseStateInput(InputSchema, event, 'CommitLedger');
  doc ??= docClient();
  s3 ??= s3Client();
  const { TABLE_NAME: tableName, MAX_RUNS_PER_CHAIN: maxRunsPerChain } = env();
  let result: CommitResult;
  try {
    result = await commitLedger(doc, s3, { tableName, maxRunsPerChain, ...input });
  } catch (err) {
    // An unreachable or throttling DynamoDB/S3 is retried by the state (Retry on DependencyError); the commit is
    // idempotent for the same run (objects already SCORED by it are accepted, completeRun repeats the same status).
    if (isTransientAwsError(err)) {
      throw new DependencyError(
        `CommitLedger: AWS dependency unavailable (${(err as Error).name}): ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
  logger.info('Ledger committed', {
    runId: input.runId,
    outcome: result.summary.outcome,
    committed: result.committed,
    quarantined: result.summary.objectsQuarantined,
    skipped: result.skippedCount,
    iterations: result.summary.iterations,
    continuesAs: result.continuation?.name,
  });
  if (result.continuationStopped) {
    logger.warn('Objects are still due but the backlog does not continue in a new run', {
      runId: input.runId,
      reason: result.continuationStopped,
    });
  }
  if (result.summary.outcome === 'ALL_QUARANTINED') {
    logger.warn('No object had a usable row: all quarantined, nothing scored', {
      runId: input.runId,
      validationReportUri: input.data.validationReportUri,
    });
  }
  if (result.skippedCount > 0) logger.warn('Objects left PENDING', { runId: input.runId, skipped: result.skipped });
  return result;
});
