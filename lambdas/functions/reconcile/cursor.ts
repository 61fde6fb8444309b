/**
 * The scheduled reconcile's cursor (`reconcileCursorKey()` in the `Pipeline` table): the last key of the features
 * bucket it listed. Each invocation lists a bounded number of pages from there and saves where it stopped; a pass
 * that reaches the end of the listing clears the position, counts the pass and the next invocation starts over.
 */
import { BatchGetCommand, type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ledgerKey, reconcileCursorKey } from '../../../contracts/table-keys';
import { normalizeEtag } from '../../domain/ledger';
import { isConditionalFailure } from '../../platform/dynamo';

export interface ReconcileCursor {
  /** List after this key; absent at the start of a pass. */
  readonly startAfter?: string;
  /** Bumped on every save; a save conditional on it refuses an overlapping invocation's. */
  readonly seq: number;
  /** Complete passes so far. */
  readonly passes: number;
  /** When the current pass started (ISO). */
  readonly passStartedAt?: string;
  /** When the last complete pass ended (ISO). */
  readonly lastPassCompletedAt?: string;
}

/** The saved cursor, or the start of a first pass. */
export async function readCursor(doc: DynamoDBDocumentClient, tableName: string): Promise<ReconcileCursor> {
  const res = await doc.send(new GetCommand({ TableName: tableName, Key: reconcileCursorKey(), ConsistentRead: true }));
  const it = res.Item;
  if (!it) return { seq: 0, passes: 0 };
  return {
    ...(typeof it.startAfter === 'string' && it.startAfter ? { startAfter: it.startAfter } : {}),
    seq: Number(it.seq ?? 0),
    passes: Number(it.passes ?? 0),
    ...(typeof it.passStartedAt === 'string' ? { passStartedAt: it.passStartedAt } : {}),
    ...(typeof it.lastPassCompletedAt === 'string' ? { lastPassCompletedAt: it.lastPassCompletedAt } : {}),
  };
}

/**
 * Save the cursor after an invocation that started from `prev`: `startAfter` = where to continue, or undefined when
 * the listing reached its end (the pass is complete). Returns false, saving nothing, when another invocation saved
 * since `prev` was read (overlapping schedules): that one's position stands.
 */
export async function saveCursor(
  doc: DynamoDBDocumentClient,
  tableName: string,
  prev: ReconcileCursor,
  startAfter: string | undefined,
  now: Date,
): Promise<{ saved: boolean; cursor: ReconcileCursor }> {
  const ts = now.toISOString();
  const passStartedAt = prev.passStartedAt ?? ts;
  const cursor: ReconcileCursor = startAfter
    ? { ...prev, startAfter, seq: prev.seq + 1, passStartedAt }
    : { seq: prev.seq + 1, passes: prev.passes + 1, lastPassCompletedAt: ts };
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: reconcileCursorKey(),
        UpdateExpression: startAfter
          ? 'SET startAfter = :sa, seq = :seq, passes = :passes, passStartedAt = :ps, updatedAt = :now'
          : 'SET seq = :seq, passes = :passes, lastPassCompletedAt = :now, updatedAt = :now REMOVE startAfter, passStartedAt',
        ConditionExpression: 'attribute_not_exists(pk) OR seq = :prev',
        ExpressionAttributeValues: {
          ':seq': cursor.seq,
          ':passes': cursor.passes,
          ':now': ts,
          ':prev': prev.seq,
          ...(startAfter ? { ':sa': startAfter, ':ps': passStartedAt } : {}),
        },
      }),
    );
    return { saved: true, cursor };
  } catch (err) {
    if (isConditionalFailure(err)) return { saved: false, cursor: prev };
    throw err;
  }
}

/** BatchGetItem's limit of keys per request. */
const BATCH_GET_MAX = 100;
const BATCH_GET_ATTEMPTS = 6;

/**
 * The ledger etag of each of `keys` (absent = not in the ledger), read in batches of 100 (eventually consistent: a
 * stale read only sends an object to the conditional write, which decides).
 */
export async function ledgerEtags(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < keys.length; i += BATCH_GET_MAX) {
    let request: Record<string, unknown>[] = [...new Set(keys.slice(i, i + BATCH_GET_MAX))].map(ledgerKey);
    // Keys still unprocessed after the last attempt stay unknown: the conditional ledger write decides for them.
    for (let attempt = 0; request.length > 0 && attempt < BATCH_GET_ATTEMPTS; attempt++) {
      const res = await doc.send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: { Keys: request, ProjectionExpression: 's3Key, etag' },
          },
        }),
      );
      for (const it of res.Responses?.[tableName] ?? []) {
        if (typeof it.s3Key === 'string' && typeof it.etag === 'string') out.set(it.s3Key, normalizeEtag(it.etag));
      }
      request = (res.UnprocessedKeys?.[tableName]?.Keys ?? []) as Record<string, unknown>[];
      // Unprocessed keys are throttling: back off before asking again.
      if (request.length > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
    }
  }
  return out;
}
