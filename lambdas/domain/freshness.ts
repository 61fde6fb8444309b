/**
 * Freshness read from the `Pipeline` table, so it can be emitted by every batch run (the no-work path included) and by
 * the reconcile schedule — not only when scores load, which would let a stalled upstream go silent.
 *
 * - score freshness: hours from 00:00 UTC of the newest scored partition (`inference/dt=…` of the last SCORED ledger
 *   key) to now;
 * - newest feature object age: hours since the newest feature object version arrived (the `ARRIVALS` item every new or
 *   rewritten object moves forward; its LastModified when the event or listing tells, else when it was seen).
 */
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { arrivalsKey, GSI1_NAME, ledgerStatusGsiPk } from '../../contracts/table-keys';
import { isConditionalFailure } from '../platform/dynamo';

export interface Freshness {
  /** null when nothing was ever scored. */
  readonly scoreFreshnessHours: number | null;
  readonly newestScoredAsOf: string | null;
  /** null when no feature object ever arrived. */
  readonly newestFeatureObjectAgeHours: number | null;
  readonly newestFeatureObjectAt: string | null;
}

const hoursBetween = (fromMs: number, to: Date) => Math.round(((to.getTime() - fromMs) / 3_600_000) * 100) / 100;

/** Move the arrivals marker forward to `at` (never backwards: a late listing of an old object changes nothing). */
export async function noteArrival(doc: DynamoDBDocumentClient, tableName: string, key: string, at: string) {
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: arrivalsKey(),
        UpdateExpression: 'SET lastArrivalAt = :at, lastKey = :key',
        ConditionExpression: 'attribute_not_exists(lastArrivalAt) OR lastArrivalAt < :at',
        ExpressionAttributeValues: { ':at': at, ':key': key },
      }),
    );
  } catch (err) {
    if (!isConditionalFailure(err)) throw err;
  }
}

/** Both figures, from one GetItem and one single-item Query. */
export async function readFreshness(
  doc: DynamoDBDocumentClient,
  tableName: string,
  now: Date = new Date(),
): Promise<Freshness> {
  const arrivals = await doc.send(new GetCommand({ TableName: tableName, Key: arrivalsKey() }));
  const newest = await doc.send(
    new QueryCommand({
      TableName: tableName,
      IndexName: GSI1_NAME,
      KeyConditionExpression: 'gsi1pk = :g',
      ExpressionAttributeValues: { ':g': ledgerStatusGsiPk('SCORED') },
      ScanIndexForward: false,
      Limit: 1,
    }),
  );
  const lastKey = newest.Items?.[0]?.gsi1sk;
  const asOf = typeof lastKey === 'string' ? (/dt=(\d{4}-\d{2}-\d{2})/.exec(lastKey)?.[1] ?? null) : null;
  const at = arrivals.Item?.lastArrivalAt;
  const atMs = typeof at === 'string' ? Date.parse(at) : Number.NaN;
  return {
    scoreFreshnessHours: asOf ? hoursBetween(Date.parse(`${asOf}T00:00:00Z`), now) : null,
    newestScoredAsOf: asOf,
    newestFeatureObjectAgeHours: Number.isNaN(atMs) ? null : hoursBetween(atMs, now),
    newestFeatureObjectAt: Number.isNaN(atMs) ? null : new Date(atMs).toISOString(),
  };
}
