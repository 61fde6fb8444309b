/**
 * Ledger of feature objects (DESIGN §5, item `OBJ#<s3 key>`): which version (etag) of which inference snapshot
 * has been scored, by which run and model version.
 *
 * Status machine: (arrival | reconcile) → PENDING → SCORED (CommitLedger) | QUARANTINED (file rejected as a whole);
 * a new etag from any status → PENDING again. Only PENDING and QUARANTINED items carry the sparse `gsi1` keys
 * (`LEDGER#<status>`, s3 key), so finding work never reads SCORED items.
 *
 * Etags are stored without the surrounding quotes S3 returns in listings (EventBridge events carry none), so an
 * event and a listing of the same object version compare equal.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../../contracts/errors';
import { GSI1_NAME, type LedgerStatus, ledgerKey, ledgerStatusGsiPk } from '../../contracts/table-keys';

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
  /** Why the file was quarantined (QUARANTINED). */
  readonly reason?: string;
}

/** The fields a batch run needs about one object version (same shape as `LedgerObject` in batch-run.ts). */
export interface PendingObject {
  readonly key: string;
  readonly etag: string;
  readonly size: number;
}

export interface CommitOutcome {
  /** Keys now SCORED by this run (including ones this run had already committed: a retry is idempotent). */
  readonly committed: string[];
  /** Keys left as they are, with the reason (object rewritten since it was read, scored by another run, missing). */
  readonly skipped: { key: string; reason: string }[];
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

function isConditionalFailure(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (err instanceof Error && err.name === 'ConditionalCheckFailedException')
  );
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
        UpdateExpression: `SET ${sets.join(', ')} REMOVE runId, modelVersion, scoredAt, reason`,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_OLD',
      }),
    );
    const old = res.Attributes;
    const { runId: _r, modelVersion: _m, scoredAt: _s, reason: _q, ...kept } = old ?? {};
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

/** Max items per TransactWriteItems call. */
const TRANSACTION_LIMIT = 100;

interface TxUpdate {
  readonly key: string;
  readonly params: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];
}

/**
 * Write `updates` in transactions of ≤ 100. A transaction cancelled because some conditions failed is retried
 * without those items (they are reported as skipped); other errors propagate.
 */
async function writeConditionally(
  doc: DynamoDBDocumentClient,
  updates: TxUpdate[],
  explain: (key: string) => Promise<{ ok: boolean; reason: string }>,
): Promise<CommitOutcome> {
  const committed: string[] = [];
  const skipped: { key: string; reason: string }[] = [];
  for (let i = 0; i < updates.length; i += TRANSACTION_LIMIT) {
    let chunk = updates.slice(i, i + TRANSACTION_LIMIT);
    while (chunk.length > 0) {
      try {
        await doc.send(new TransactWriteCommand({ TransactItems: chunk.map((u) => u.params) }));
        committed.push(...chunk.map((u) => u.key));
        chunk = [];
      } catch (err) {
        if (!(err instanceof TransactionCanceledException || (err as Error).name === 'TransactionCanceledException')) {
          throw err;
        }
        const reasons = (err as TransactionCanceledException).CancellationReasons;
        const failedIdx = new Set<number>();
        reasons?.forEach((r, idx) => {
          if (r.Code === 'ConditionalCheckFailed') failedIdx.add(idx);
        });
        if (failedIdx.size === 0) {
          // No per-item reasons (emulator) or a non-condition cancellation (conflict): decide item by item.
          const keep: TxUpdate[] = [];
          for (const u of chunk) {
            const verdict = await explain(u.key);
            if (verdict.ok) keep.push(u);
            else skipped.push({ key: u.key, reason: verdict.reason });
          }
          if (keep.length === chunk.length) throw err; // nothing to drop: a real conflict, let the caller retry
          chunk = keep;
          continue;
        }
        const keep: TxUpdate[] = [];
        for (const [idx, u] of chunk.entries()) {
          if (!failedIdx.has(idx)) {
            keep.push(u);
            continue;
          }
          const verdict = await explain(u.key);
          if (verdict.ok)
            committed.push(u.key); // already in the target state (a retry)
          else skipped.push({ key: u.key, reason: verdict.reason });
        }
        chunk = keep;
      }
    }
  }
  return { committed, skipped };
}

function dedupe<T extends { key: string; etag: string }>(items: readonly T[], where: string): T[] {
  const byKey = new Map<string, T>();
  for (const it of items) {
    const prev = byKey.get(it.key);
    if (prev && normalizeEtag(prev.etag) !== normalizeEtag(it.etag)) {
      throw new ValidationError(`${where}: key ${it.key} appears twice with different etags`);
    }
    byKey.set(it.key, it);
  }
  return [...byKey.values()];
}

/**
 * Mark the scored object versions SCORED by `runId` with `modelVersion`, transactionally in chunks of ≤ 100.
 * Each write is conditional on the etag still being the one scored and the item not having been scored by another
 * run: an object rewritten meanwhile stays PENDING (with its new etag) and is reported in `skipped`. Re-committing
 * the same run is idempotent.
 */
export async function commitScored(
  doc: DynamoDBDocumentClient,
  tableName: string,
  items: readonly { key: string; etag: string }[],
  runId: string,
  modelVersion: number,
  now: Date = new Date(),
): Promise<CommitOutcome> {
  if (!runId) throw new ValidationError('commitScored: runId is empty');
  if (!Number.isInteger(modelVersion) || modelVersion < 1) {
    throw new ValidationError(`commitScored: modelVersion must be a positive integer, got ${modelVersion}`);
  }
  const unique = dedupe(items, 'commitScored');
  const etags = new Map(unique.map((it) => [it.key, normalizeEtag(it.etag)]));
  const updates: TxUpdate[] = unique.map((it) => ({
    key: it.key,
    params: {
      Update: {
        TableName: tableName,
        Key: ledgerKey(it.key),
        UpdateExpression:
          'SET #status = :scored, runId = :run, modelVersion = :mv, scoredAt = :now, updatedAt = :now ' +
          'REMOVE gsi1pk, gsi1sk, reason',
        ConditionExpression: 'attribute_exists(pk) AND #etag = :etag AND (#status <> :scored OR runId = :run)',
        ExpressionAttributeNames: { '#status': 'status', '#etag': 'etag' },
        ExpressionAttributeValues: {
          ':scored': 'SCORED',
          ':run': runId,
          ':mv': modelVersion,
          ':now': now.toISOString(),
          ':etag': normalizeEtag(it.etag),
        },
      },
    },
  }));
  return writeConditionally(doc, updates, async (key) => {
    const cur = await getLedgerItem(doc, tableName, key);
    const etag = etags.get(key);
    if (!cur) return { ok: false, reason: 'no ledger item' };
    if (cur.etag !== etag) return { ok: false, reason: `object rewritten (etag ${etag} → ${cur.etag})` };
    if (cur.status === 'SCORED' && cur.runId === runId) return { ok: true, reason: 'already committed' };
    if (cur.status === 'SCORED') return { ok: false, reason: `already scored by run ${cur.runId}` };
    return { ok: true, reason: 'condition holds now' };
  });
}

/**
 * Mark whole files QUARANTINED (the file broke its header/schema; it is not retried until a new version arrives).
 * Conditional on the etag like {@link commitScored}.
 */
export async function markQuarantined(
  doc: DynamoDBDocumentClient,
  tableName: string,
  items: readonly { key: string; etag: string; reason: string }[],
  runId: string,
  now: Date = new Date(),
): Promise<CommitOutcome> {
  if (!runId) throw new ValidationError('markQuarantined: runId is empty');
  const unique = dedupe(items, 'markQuarantined');
  const etags = new Map(unique.map((it) => [it.key, normalizeEtag(it.etag)]));
  const updates: TxUpdate[] = unique.map((it) => ({
    key: it.key,
    params: {
      Update: {
        TableName: tableName,
        Key: ledgerKey(it.key),
        UpdateExpression:
          'SET #status = :q, gsi1pk = :g, gsi1sk = :key, runId = :run, reason = :reason, updatedAt = :now ' +
          'REMOVE modelVersion, scoredAt',
        ConditionExpression: 'attribute_exists(pk) AND #etag = :etag',
        ExpressionAttributeNames: { '#status': 'status', '#etag': 'etag' },
        ExpressionAttributeValues: {
          ':q': 'QUARANTINED',
          ':g': ledgerStatusGsiPk('QUARANTINED'),
          ':key': it.key,
          ':run': runId,
          ':reason': it.reason.slice(0, 1000),
          ':now': now.toISOString(),
          ':etag': normalizeEtag(it.etag),
        },
      },
    },
  }));
  return writeConditionally(doc, updates, async (key) => {
    const cur = await getLedgerItem(doc, tableName, key);
    const etag = etags.get(key);
    if (!cur) return { ok: false, reason: 'no ledger item' };
    if (cur.etag !== etag) return { ok: false, reason: `object rewritten (etag ${etag} → ${cur.etag})` };
    return { ok: true, reason: 'condition holds now' };
  });
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
    ...(str('reason') ? { reason: str('reason') } : {}),
  };
  return item;
}
