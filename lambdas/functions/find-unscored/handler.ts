import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ValidationError } from '../../../contracts/errors';
import { RunIdSchema, type Work } from '../../../contracts/states/batch';
import { docClient, requireEnv, s3Client } from '../../platform/clients';
import { logger } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { findUnscored } from './core';

let doc: DynamoDBDocumentClient | undefined;
let s3: S3Client | undefined;

const InputSchema = z.object({ runId: RunIdSchema });

function maxObjects(): number {
  const raw = requireEnv('MAX_OBJECTS_PER_RUN');
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new ValidationError(`MAX_OBJECTS_PER_RUN must be a positive integer, got "${raw}"`);
  return n;
}

/** `FindUnscored`: `{ count, truncated, objects | objectsUri }` of the PENDING ledger objects. */
export const handler = async (event: unknown): Promise<Work> => {
  const input = parseStateInput(InputSchema, event, 'FindUnscored');
  doc ??= docClient();
  s3 ??= s3Client();
  const work = await findUnscored(doc, s3, {
    tableName: requireEnv('TABLE_NAME'),
    runId: input.runId,
    limit: maxObjects(),
    artifactsBucket: requireEnv('ARTIFACTS_BUCKET'),
    kmsKeyArn: process.env.KMS_KEY_ARN || undefined,
  });
  logger.info('Unscored feature objects', { runId: input.runId, count: work.count, truncated: work.truncated });
  return work;
};
