import { S3EventNotificationEventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ValidationError } from '../../../contracts/errors';
import { INFERENCE_PREFIX, isScorableKey } from '../../../contracts/s3-layout';
import { type Arrival, type ArrivalOutcome, type LedgerItem, registerArrival } from '../../domain/ledger';

/**
 * The part of an EventBridge "Object Created" event from S3 the ledger needs
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html).
 *
 * Unlike S3 event notifications to SNS/SQS/Lambda, EventBridge events carry the key as stored (not URL-encoded:
 * `dt=2026-01-01`, `:` and spaces appear literally), so it is used as is; decoding would corrupt keys containing
 * `%` or `+`.
 */
/**
 * The "Object Created" event S3 sends to EventBridge: Powertools' schema of the envelope and detail, narrowed to this
 * rule's source and type, with the size and ETag the ledger records made required (S3 always sends both for this type).
 */
export const ObjectCreatedEventSchema = S3EventNotificationEventBridgeSchema.extend({
  source: z.literal('aws.s3'),
  'detail-type': z.literal('Object Created'),
  detail: S3EventNotificationEventBridgeSchema.shape.detail.extend({
    object: S3EventNotificationEventBridgeSchema.shape.detail.shape.object.extend({
      key: z.string().min(1),
      size: z.number().int().nonnegative(),
      etag: z.string().min(1),
    }),
  }),
});
export type ObjectCreatedEvent = z.infer<typeof ObjectCreatedEventSchema>;

export type ArrivalResult =
  | { readonly recorded: true; readonly key: string; readonly outcome: ArrivalOutcome; readonly item: LedgerItem }
  | { readonly recorded: false; readonly key: string; readonly reason: string };

/**
 * Register the object of an "Object Created" event in the ledger. Keys outside `inference/*.csv` are not tracked
 * and are returned with the reason (the rule already filters the prefix; this guards the suffix). Duplicate
 * deliveries write one item; a new etag puts the object back to PENDING; an event older than the recorded one
 * (S3 sequencer) is ignored.
 * @throws ValidationError when the event comes from another bucket than the features bucket (a wiring mistake)
 */
export async function handleObjectCreated(
  doc: DynamoDBDocumentClient,
  params: { tableName: string; featuresBucket: string },
  event: ObjectCreatedEvent,
  now: Date = new Date(),
): Promise<ArrivalResult> {
  const { bucket, object } = event.detail;
  if (bucket.name !== params.featuresBucket) {
    throw new ValidationError(
      `Object Created event for bucket "${bucket.name}", expected the features bucket "${params.featuresBucket}"`,
    );
  }
  if (!isScorableKey(object.key)) {
    return { recorded: false, key: object.key, reason: `not an ${INFERENCE_PREFIX}*.csv feature object` };
  }
  const arrival: Arrival = {
    key: object.key,
    etag: object.etag,
    size: object.size,
    source: 'event',
    ...(object.sequencer ? { sequencer: object.sequencer } : {}),
    ...(event.time ? { lastModified: event.time } : {}),
  };
  const r = await registerArrival(doc, params.tableName, arrival, now);
  return { recorded: true, key: object.key, outcome: r.outcome, item: r.item };
}
