import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { functionEnvLoader } from '../../../contracts/function-env';
import { readFreshness } from '../../domain/freshness';
import { docClient, s3Client } from '../../platform/clients';
import { emitFreshness } from '../../platform/freshness-metrics';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { ReconcileRequestSchema, type ReconcileResult, reconcile } from './core';

let doc: DynamoDBDocumentClient | undefined;
let s3: S3Client | undefined;
const env = functionEnvLoader('reconcile');

/** Stop listing when less than this is left of the invocation; the result says where to continue. */
const SAFETY_MARGIN_MS = 60_000;

/**
 * Reconcile the ledger with the features bucket (missed events, backfills). Input (all optional):
 * `{ prefix?: "inference/…", from?: "YYYY-MM-DD", to?: "YYYY-MM-DD", startAfter?: "<key>" }`.
 * A listing too large for one invocation returns `nextStartAfter`; invoke again with it as `startAfter`.
 */
export const handler = withLambdaContext(async (event: unknown, context?: Context): Promise<ReconcileResult> => {
  const request = parseStateInput(ReconcileRequestSchema, event ?? {}, 'Reconcile');
  const { TABLE_NAME, FEATURES_BUCKET } = env();
  doc ??= docClient();
  s3 ??= s3Client();
  const result = await reconcile(
    s3,
    doc,
    {
      tableName: TABLE_NAME,
      featuresBucket: FEATURES_BUCKET,
      ...(context ? { shouldStop: () => context.getRemainingTimeInMillis() < SAFETY_MARGIN_MS } : {}),
    },
    request,
  );
  // On the reconcile schedule too, so the freshness alarms get data between batch runs.
  const freshness = await readFreshness(doc, TABLE_NAME);
  emitFreshness(freshness);
  const { ignoredKeys, ...counts } = result;
  logger.info('Ledger reconciled', { ...counts, request, freshness });
  if (result.ignored > 0) logger.warn('Objects under the prefix that are not feature CSVs', { ignoredKeys });
  return result;
});
