/**
 * Ledger of feature objects (`Pipeline` table item `OBJ#<s3 key>`): which version (etag) of which inference snapshot
 * has been scored, by which run and model version.
 *
 * Status machine: (arrival | reconcile) → PENDING → SCORED (CommitLedger) | QUARANTINED (file rejected as a whole);
 * a new etag from any status → PENDING again. Only PENDING and QUARANTINED items carry the sparse `gsi1` keys
 * (`LEDGER#<status>`, s3 key), so finding work never reads SCORED items.
 *
 * Etags are stored without the surrounding quotes S3 returns in listings (EventBridge events carry none), so an
 * event and a listing of the same object version compare equal.
 *
 * This file holds arrivals and reads; the run's commit (SCORED / QUARANTINED) is in ledger-commit.ts.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../../contracts/errors';
import { GSI1_NAME, type LedgerStatus, ledgerKey, ledgerStatusGsiPk } from '../../contracts/table-keys';
import { isConditionalFailure } from '../platform/dynamo';
import { noteArrival } from './freshness';

/** Where an arrival was observed. */
export type ArrivalSource = 'event' | 'reconcile';

export interface Arrival {
  /** S3 key of the object (decoded, as stored in S3). */
  readonly key: string;
  /** ETag (quotes are stripped). */
  readonly etag: string;
  /** Size in bytes. */
  readonly size: number;
  readonly source: ArrivalSource;
  /**
   * S3 event `sequencer` (hex). When given, an event older than the one already recorded for the key is ignored,
   * so out-of-order delivery cannot bring back an overwritten version.
   * @default - no ordering check (reconcile: the listing is the current state)
   */
  readonly sequencer?: string;
  /** Object's LastModified (ISO). @default - not recorded */
  readonly lastModified?: string;
}

/** new = first sight; requeued = etag changed (back to PENDING); unchanged = same etag; stale = older event ignored. */
export type ArrivalOutcome = 'new' | 'requeued' | 'unchanged' | 'stale';

export interface LedgerItem {
  readonly key: string;
  readonly etag: string;
  readonly size: number;
  readonly status: LedgerStatus;
  readonly firstSeenAt: string;
  readonly updatedAt: string;
  readonly source: ArrivalSource;
  readonly lastModified?: string;
  readonly sequencer?: string;
  /** Run that scored (SCORED) or rejected (QUARANTINED) this version. */
  readonly runId?: string;
  /** Model version that scored it (SCORED). */
  readonly modelVersion?: number;
  readonly scoredAt?: string;
  /** Rows of this version sent to the transform when it was scored (SCORED). */
  readonly rows?: number;
  /** Why the file was quarantined (QUARANTINED). */
  readonly reason?: string;
}

/** The fields a batch run needs about one object version (same shape as `LedgerObject` in contracts/states/batch.ts). */
export interface PendingObject {
  readonly key: string;
  readonly etag: string;
  readonly size: number;
  /** The run whose SCORED record a rescore replaces (only for objects due again). */
  readonly scoredBy?: string;
}

/** Normalize an S3 ETag: strip surrounding double quotes (listings and HeadObject return `"abc"`; events `abc`). */
export function normalizeEtag(etag: string): string {
  return etag.replace(/^"+|"+$/g, '');
}

/** Zero-pad an S3 sequencer so that string order equals numeric order (AWS: compare after padding to equal length). */
function padSequencer(seq: string): string {
  if (!/^[0-9A-Fa-f]{1,64}$/.test(seq)) throw new ValidationError(`Invalid S3 sequencer "${seq}" (expected hex)`);
  return seq.toUpperCase().padStart(64, '0');
}

function checkArrival(a: Arrival): void {
  if (!a.key) throw new ValidationError('ledger arrival: key is empty');
  if (!a.etag || !normalizeEtag(a.etag)) throw new ValidationError(`ledger arrival ${a.key}: etag is empty`);
  if (!Number.isInteger(a.size) || a.size < 0) {
    throw new ValidationError(`ledger arrival ${a.key}: size must be a non-negative integer, got ${a.size}`);
  }
}

/**
 * Record that an object version exists. Idempotent: the same etag twice leaves the item unchanged; a new etag puts
 * the item back to PENDING (clearing the previous scoring), whatever its status was.
 */
export async function registerArrival(
  doc: DynamoDBDocumentClient,
  tableName: string,
  arrival: Arrival,
  now: Date = new Date(),
): Promise<{ outcome: ArrivalOutcome; item: LedgerItem }> {
  checkArrival(arrival);
  const etag = normalizeEtag(arrival.etag);
  const ts = now.toISOString();
  const names: Record<string, string> = {
    '#etag': 'etag',
    '#size': 'size',
    '#status': 'status',
    '#source': 'source',
    '#rows': 'rows',
  };
  const values: Record<string, unknown> = {
    ':key': arrival.key,
    ':etag': etag,
    ':size': arrival.size,
    ':pending': 'PENDING',
    ':gsi': ledgerStatusGsiPk('PENDING'),
    ':now': ts,
    ':source': arrival.source,
  };
  const sets = [
    's3Key = :key',
    '#etag = :etag',
    '#size = :size',
    '#status = :pending',
    'gsi1pk = :gsi',
    'gsi1sk = :key',
    'updatedAt = :now',
    'firstSeenAt = if_not_exists(firstSeenAt, :now)',
    '#source = :source',
  ];
  let condition = '(attribute_not_exists(pk) OR #etag <> :etag)';
  if (arrival.lastModified) {
    sets.push('lastModified = :lm');
    values[':lm'] = arrival.lastModified;
  }
  if (arrival.sequencer !== undefined) {
    names['#seq'] = 'sequencer';
    values[':seq'] = padSequencer(arrival.sequencer);
    sets.push('#seq = :seq');
    condition += ' AND (attribute_not_exists(#seq) OR #seq < :seq)';
  }
  try {
    const res = await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: ledgerKey(arrival.key),
        UpdateExpression: `SET ${sets.join(', ')} REMOVE runId, modelVersion, scoredAt, reason, #rows`,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_OLD',
      }),
    );
    const old = res.Attributes;
    const { runId: _r, modelVersion: _m, scoredAt: _s, reason: _q, rows: _n, ...kept } = old ?? {};
    const item = toLedgerItem({
      ...kept,
      s3Key: arrival.key,
      etag,
      size: arrival.size,
      status: 'PENDING',
      updatedAt: ts,
      firstSeenAt: typeof old?.firstSeenAt === 'string' ? old.firstSeenAt : ts,
      source: arrival.source,
      ...(arrival.lastModified ? { lastModified: arrival.lastModified } : {}),
      ...(values[':seq'] ? { sequencer: values[':seq'] } : {}),
    });
    await noteArrival(doc, tableName, arrival.key, arrival.lastModified ?? ts);
    return { outcome: old ? 'requeued' : 'new', item };
  } catch (err) {
    if (!isConditionalFailure(err)) throw err;
    const current = await getLedgerItem(doc, tableName, arrival.key);
    if (!current) throw err; // cannot happen: the condition only fails for an existing item
    return { outcome: current.etag === etag ? 'unchanged' : 'stale', item: current };
  }
}

/** One ledger item, or undefined. Strongly consistent. */
export async function getLedgerItem(
  doc: DynamoDBDocumentClient,
  tableName: string,
  key: string,
): Promise<LedgerItem | undefined> {
  const res = await doc.send(new GetCommand({ TableName: tableName, Key: ledgerKey(key), ConsistentRead: true }));
  return res.Item ? toLedgerItem(res.Item) : undefined;
}

/**
 * Objects in `status` (PENDING by default), in key order (`inference/dt=…` keys: oldest partition first), at most
 * `limit`. `truncated` tells whether more are waiting. Reads the sparse index only: SCORED items cost nothing.
 * The index is eventually consistent; `commitScored`'s conditions make a stale read harmless.
 */
export async function findPending(
  doc: DynamoDBDocumentClient,
  tableName: string,
  limit: number,
  status: Exclude<LedgerStatus, 'SCORED'> = 'PENDING',
  /** Only keys starting with this prefix. @default - all keys */
  keyPrefix?: string,
): Promise<{ objects: PendingObject[]; truncated: boolean }> {
  if (!Number.isInteger(limit) || limit < 1) throw new ValidationError(`findPending: limit must be >= 1, got ${limit}`);
  const objects: PendingObject[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const res = await doc.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: GSI1_NAME,
        KeyConditionExpression: keyPrefix ? 'gsi1pk = :g AND begins_with(gsi1sk, :p)' : 'gsi1pk = :g',
        ExpressionAttributeValues: { ':g': ledgerStatusGsiPk(status), ...(keyPrefix ? { ':p': keyPrefix } : {}) },
        Limit: limit + 1 - objects.length,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const raw of res.Items ?? []) {
      const item = toLedgerItem(raw);
      objects.push({ key: item.key, etag: item.etag, size: item.size });
    }
    startKey = res.LastEvaluatedKey;
  } while (startKey && objects.length <= limit);
  return { objects: objects.slice(0, limit), truncated: objects.length > limit };
}

/** Which SCORED objects are due again: a key range of partitions and what disqualifies their last scoring. */
export interface DueQuery {
  /** First partition date (YYYY-MM-DD), inclusive. */
  readonly from: string;
  /** Last partition date (YYYY-MM-DD), inclusive. @default - no end */
  readonly to?: string;
  /** Due when scored by another version than this one. */
  readonly notVersion?: number;
  /** Due when scored before this time (ISO): an explicit rescore request. */
  readonly scoredBefore?: string;
}

/** Key prefix of the inference partitions (keys sort by date: `inference/dt=YYYY-MM-DD/…`). */
const INFERENCE_PARTITION = 'inference/dt=';

/**
 * SCORED objects of the partitions in [from, to] whose scoring no longer counts (another model version, or before a
 * rescore request), newest partition first, at most `limit`. One key-range Query on `LEDGER#SCORED`: the cost is the
 * window's objects, not the ledger's. Each object names the run that scored it (`scoredBy`), for the commit's
 * condition.
 */
export async function findDue(
  doc: DynamoDBDocumentClient,
  tableName: string,
  q: DueQuery,
  limit: number,
): Promise<{ objects: PendingObject[]; truncated: boolean; rows: number[] }> {
  if (!Number.isInteger(limit) || limit < 1) throw new ValidationError(`findDue: limit must be >= 1, got ${limit}`);
  const filters: string[] = [];
  const values: Record<string, unknown> = {
    ':g': ledgerStatusGsiPk('SCORED'),
    ':lo': `${INFERENCE_PARTITION}${q.from}`,
    // '~' sorts after every character of a key, so the whole last day is inside the range.
    ':hi': `${INFERENCE_PARTITION}${q.to ?? '9999-12-31'}~`,
  };
  if (q.notVersion !== undefined) {
    filters.push('modelVersion <> :v');
    values[':v'] = q.notVersion;
  }
  if (q.scoredBefore !== undefined) {
    filters.push('scoredAt < :before');
    values[':before'] = q.scoredBefore;
  }
  if (filters.length === 0) return { objects: [], truncated: false, rows: [] };
  const objects: PendingObject[] = [];
  /** Rows each object sent when it was last scored (0 when not recorded), parallel to `objects`. */
  const rows: number[] = [];
  let truncated = false;
  let startKey: Record<string, unknown> | undefined;
  do {
    const res = await doc.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: GSI1_NAME,
        KeyConditionExpression: 'gsi1pk = :g AND gsi1sk BETWEEN :lo AND :hi',
        FilterExpression: filters.join(' OR '),
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const raw of res.Items ?? []) {
      const item = toLedgerItem(raw);
      if (objects.length >= limit) {
        truncated = true;
        break;
      }
      objects.push({
        key: item.key,
        etag: item.etag,
        size: item.size,
        ...(item.runId ? { scoredBy: item.runId } : {}),
      });
      rows.push(item.rows ?? 0);
    }
    startKey = truncated ? undefined : res.LastEvaluatedKey;
  } while (startKey);
  return { objects, truncated, rows };
}

/**
 * Remove the ledger item of an object that no longer exists in S3 (deleted before it was scored), so it stops
 * coming back as work that can never be read. Conditional: only this etag, and never a SCORED item (its history
 * stays). Returns whether the item was removed.
 */
export async function removeVanished(
  doc: DynamoDBDocumentClient,
  tableName: string,
  key: string,
  etag: string,
): Promise<boolean> {
  try {
    await doc.send(
      new DeleteCommand({
        TableName: tableName,
        Key: ledgerKey(key),
        ConditionExpression: '#etag = :etag AND #status <> :scored',
        ExpressionAttributeNames: { '#etag': 'etag', '#status': 'status' },
        ExpressionAttributeValues: { ':etag': normalizeEtag(etag), ':scored': 'SCORED' },
      }),
    );
    return true;
  } catch (err) {
    if (isConditionalFailure(err)) return false;
    throw err;
  }
}

function toLedgerItem(raw: Record<string, unknown> | undefined): LedgerItem {
  if (!raw) throw new Error('ledger: missing item attributes');
  const str = (k: string) => (typeof raw[k] === 'string' ? (raw[k] as string) : undefined);
  const num = (k: string) => (typeof raw[k] === 'number' ? (raw[k] as number) : undefined);
  const key = str('s3Key') ?? str('pk')?.replace(/^OBJ#/, '');
  const status = str('status');
  if (!key || !str('etag') || (status !== 'PENDING' && status !== 'SCORED' && status !== 'QUARANTINED')) {
    throw new Error(`ledger: malformed item ${String(raw.pk)}`);
  }
  const item: LedgerItem = {
    key,
    etag: str('etag') ?? '',
    size: num('size') ?? 0,
    status,
    firstSeenAt: str('firstSeenAt') ?? '',
    updatedAt: str('updatedAt') ?? '',
    source: str('source') === 'reconcile' ? 'reconcile' : 'event',
    ...(str('lastModified') ? { lastModified: str('lastModified') } : {}),
    ...(str('sequencer') ? { sequencer: str('sequencer') } : {}),
    ...(str('runId') ? { runId: str('runId') } : {}),
    ...(num('modelVersion') !== undefined ? { modelVersion: num('modelVersion') } : {}),
    ...(str('scoredAt') ? { scoredAt: str('scoredAt') } : {}),
    ...(num('rows') !== undefined ? { rows: num('rows') } : {}),
    ...(str('reason') ? { reason: str('reason') } : {}),
  };
  return item;
}
