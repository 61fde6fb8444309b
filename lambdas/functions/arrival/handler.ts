import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { functionEnvLoader } from '../../../contracts/function-env';
import { docClient } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { type ArrivalResult, handleObjectCreated, ObjectCreatedEventSchema } from './core';

let doc: DynamoDBDocumentClient | undefined;
const env = functionEnvLoader('arrival');

/**
 * Target of the features-bucket "Object Created" rule: records the object version in the ledger (PENDING).
 * A malformed event fails (EventBridge retries, then the dead-letter queue keeps it); it is never dropped silently.
 */
export const handler = withLambdaContext(async (event: unknown): Promise<ArrivalResult> => {
  const e = parseStateInput(ObjectCreatedEventSchema, event, 'Arrival', 'not an S3 "Object Created" EventBridge event');
  const { TABLE_NAME, FEATURES_BUCKET } = env();
  doc ??= docClient();
  const result = await handleObjectCreated(doc, { tableName: TABLE_NAME, featuresBucket: FEATURES_BUCKET }, e);
  if (!result.recorded) {
    logger.info('Object not tracked by the ledger', {
      key: result.key,
      reason: result.reason,
      eventId: e.id,
    });
  } else {
    logger.info('Ledger arrival', {
      key: result.key,
      outcome: result.outcome,
      etag: result.item.etag,
      status: result.item.status,
      eventId: e.id,
    });
  }
  return result;
});
