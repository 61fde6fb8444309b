import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import { type LockResult, RunIdSchema } from '../../../contracts/states/batch';
import { ExecutionRefSchema } from '../../../contracts/states/execution';
import { docClient } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { acquireBatchLock } from './core';

let doc: DynamoDBDocumentClient | undefined;
const env = functionEnvLoader('acquire-lock');

/**
 * State input: `{ runId: $$.Execution.Name, startedAt: $$.Execution.StartTime, execution: { id: $$.Execution.Id,
 * startTime: $$.Execution.StartTime }, input: <execution input> }`.
 */
const InputSchema = z.object({
  runId: RunIdSchema,
  startedAt: z.string().min(1),
  execution: ExecutionRefSchema.optional(),
  input: z
    .object({
      trigger: z
        .string()
        .regex(/^[a-z][a-z0-9-]{0,31}$/, 'lowercase word such as schedule, manual, approval, backfill')
        .optional(),
    })
    .passthrough()
    .nullish(),
});

/** `AcquireLock`: take the batch lock; contention returns `{ acquired: false }` (the machine ends in AlreadyRunning). */
export const handler = withLambdaContext(async (event: unknown): Promise<LockResult> => {
  const input = parseStateInput(InputSchema, event, 'AcquireLock');
  const { TABLE_NAME, LOCK_LEASE_SECONDS, CODE_VERSION } = env();
  doc ??= docClient();
  const result = await acquireBatchLock(doc, {
    tableName: TABLE_NAME,
    runId: input.runId,
    trigger: input.input?.trigger ?? 'manual',
    startedAt: input.startedAt,
    leaseSeconds: LOCK_LEASE_SECONDS,
    codeVersion: CODE_VERSION,
    ...(input.execution ? { execution: input.execution } : {}),
  });
  if (result.acquired) logger.info('Batch lock acquired', { ...result });
  else logger.warn('Batch lock held by another run; exiting without work', { ...result });
  return result;
});
