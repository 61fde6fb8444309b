import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import { RunIdSchema, type Work } from '../../../contracts/states/batch';
import { readFreshness } from '../../domain/freshness';
import { docClient, s3Client } from '../../platform/clients';
import { emitFreshness } from '../../platform/freshness-metrics';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { findUnscored } from './core';

let doc: DynamoDBDocumentClient | undefined;
let s3: S3Client | undefined;
const env = functionEnvLoader('find-unscored');

const InputSchema = z.object({ runId: RunIdSchema });

/**
 * `FindUnscored`: `{ count, truncated, objectsUri }` of the PENDING ledger objects and those due for the Production
 * version; emits the freshness metrics.
 */
export const handler = withLambdaContext(async (event: unknown): Promise<Work> => {
  const input = parseStateInput(InputSchema, event, 'FindUnscored');
  const vars = env();
  doc ??= docClient();
  s3 ??= s3Client();
  const work = await findUnscored(doc, s3, {
    tableName: vars.TABLE_NAME,
    runId: input.runId,
    limit: vars.MAX_OBJECTS_PER_RUN,
    windowDays: vars.RESCORE_WINDOW_DAYS,
    artifactsBucket: vars.ARTIFACTS_BUCKET,
    kmsKeyArn: vars.KMS_KEY_ARN,
  });
  logger.info('Unscored feature objects', { runId: input.runId, count: work.count, truncated: work.truncated });
  // Every run, work or not: freshness must not go silent when upstream data stops.
  const freshness = await readFreshness(doc, vars.TABLE_NAME);
  emitFreshness(freshness);
  logger.info('Freshness', { runId: input.runId, ...freshness });
  return work;
});
