import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../../../contracts/errors';
import { functionEnvLoader } from '../../../contracts/function-env';
import { docClient } from '../../platform/clients';
import { type ArrivalResult, handleObjectCreated, ObjectCreatedEventSchema } from './core';

const logger = new Logger();
let doc: DynamoDBDocumentClient | undefined;
const env = functionEnvLoader('arrival');

/**
 * Target of the features-bucket "Object Created" rule: records the object version in the ledger (PENDING).
 * A malformed event fails (EventBridge retries, then the dead-letter queue keeps it); it is never dropped silently.
 */
export const handler = async (event: unknown): Promise<ArrivalResult> => {
  const parsed = ObjectCreatedEventSchema.safeParse(event);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new ValidationError(`Arrival: not an S3 "Object Created" EventBridge event: ${issues.join('; ')}`, issues);
  }
  const { TABLE_NAME, FEATURES_BUCKET } = env();
  doc ??= docClient();
  const result = await handleObjectCreated(
    doc,
    { tableName: TABLE_NAME, featuresBucket: FEATURES_BUCKET },
    parsed.data,
  );
  if (!result.recorded) {
    logger.info('Object not tracked by the ledger', {
      key: result.key,
      reason: result.reason,
      eventId: parsed.data.id,
    });
  } else {
    logger.info('Ledger arrival', {
      key: result.key,
      outcome: result.outcome,
      etag: result.item.etag,
      status: result.item.status,
      eventId: parsed.data.id,
    });
  }
  return result;
};
