import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import { RunIdSchema } from '../../../contracts/states/batch';
import { ExecutionRefSchema } from '../../../contracts/states/execution';
import { docClient } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { type ReleaseResult, releaseBatchLock } from './core';

let doc: DynamoDBDocumentClient | undefined;
const env = functionEnvLoader('release-lock');

const InputSchema = z.object({
  runId: RunIdSchema,
  execution: ExecutionRefSchema.optional(),
  outcome: z.literal('NO_WORK').optional(),
});

/** `ReleaseLock`, `ReleaseLockNoWork`, `ReleaseLockAfterFailure`: release the lock if this run holds it. */
export const handler = withLambdaContext(async (event: unknown): Promise<ReleaseResult> => {
  const input = parseStateInput(InputSchema, event, 'ReleaseLock');
  doc ??= docClient();
  const result = await releaseBatchLock(doc, { tableName: env().TABLE_NAME, ...input });
  if (result.heldBy)
    logger.warn("Lock is held by another run (this run's lease had expired); left alone", { ...result });
  else logger.info('Batch lock released', { ...result });
  return result;
});
