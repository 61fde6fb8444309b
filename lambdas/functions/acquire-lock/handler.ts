import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ValidationError } from '../../../contracts/errors';
import { type LockResult, RunIdSchema } from '../../../contracts/states/batch';
import { docClient, requireEnv } from '../../platform/clients';
import { logger } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { acquireBatchLock } from './core';

let doc: DynamoDBDocumentClient | undefined;

/** State input: `{ runId: $$.Execution.Name, startedAt: $$.Execution.StartTime, input: <execution input> }`. */
const InputSchema = z.object({
  runId: RunIdSchema,
  startedAt: z.string().min(1),
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

function leaseSeconds(): number {
  const raw = requireEnv('LOCK_LEASE_SECONDS');
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new ValidationError(`LOCK_LEASE_SECONDS must be a positive integer number of seconds, got "${raw}"`);
  }
  return n;
}

/** `AcquireLock`: take the batch lock; contention returns `{ acquired: false }` (the machine ends in AlreadyRunning). */
export const handler = async (event: unknown): Promise<LockResult> => {
  const input = parseStateInput(InputSchema, event, 'AcquireLock');
  doc ??= docClient();
  const result = await acquireBatchLock(doc, {
    tableName: requireEnv('TABLE_NAME'),
    runId: input.runId,
    trigger: input.input?.trigger ?? 'manual',
    startedAt: input.startedAt,
    leaseSeconds: leaseSeconds(),
    codeVersion: process.env.CODE_VERSION || 'unknown',
  });
  if (result.acquired) logger.info('Batch lock acquired', { ...result });
  else logger.warn('Batch lock held by another run; exiting without work', { ...result });
  return result;
};
