/**
 * The ledger side of CommitLedger: mark the object versions a run used SCORED (or whole files QUARANTINED), in
 * conditional transactions, so an object rewritten meanwhile is skipped rather than marked. Items and arrivals are
 * in ledger.ts.
 */
import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../../contracts/errors';
import { ledgerKey, ledgerStatusGsiPk } from '../../contracts/table-keys';
import { isTransactionCancelled } from '../platform/dynamo';
import { getLedgerItem, type LedgerItem, normalizeEtag } from './ledger';

export interface CommitOutcome {
  /** Keys now SCORED by this run (including ones this run had already committed: a retry is idempotent). */
  readonly committed: string[];
  /** Keys left as they are, with the reason (object rewritten since it was read, scored by another run, missing). */
  readonly skipped: { key: string; reason: string }[];
}

/** Max items per TransactWriteItems call. */
const TRANSACTION_LIMIT = 100;

interface TxUpdate {
  readonly key: string;
  readonly params: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];
}

/** A conditional update of one ledger item, for a transaction (`#status` and `#etag` name the two attributes). */
function ledgerUpdate(
  tableName: string,
  key: string,
  update: string,
  condition: string,
  values: Record<string, unknown>,
): TxUpdate {
  return {
    key,
    params: {
      Update: {
        TableName: tableName,
        Key: ledgerKey(key),
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeNames: {
          '#status': 'status',
          '#etag': 'etag',
          ...(update.includes('#rows') ? { '#rows': 'rows' } : {}),
        },
        ExpressionAttributeValues: values,
      },
    },
  };
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
        if (!isTransactionCancelled(err)) throw err;
        const reasons = err.CancellationReasons;
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

/** Why the stored item is not the version a run read (gone, or rewritten since); undefined when it still is. */
function versionMismatch(cur: LedgerItem | undefined, etag: string | undefined): string | undefined {
  if (!cur) return 'no ledger item';
  if (cur.etag !== etag) return `object rewritten (etag ${etag} → ${cur.etag})`;
  return undefined;
}

/**
 * Mark the scored object versions SCORED by `runId` with `modelVersion`, transactionally in chunks of ≤ 100.
 * Each write is conditional on the etag still being the one scored and the item not having been scored by another
 * run (for an object due again, other than the run in its `scoredBy`): an object rewritten meanwhile stays PENDING
 * (with its new etag) and is reported in `skipped`. Re-committing the same run is idempotent. SCORED items carry the
 * `LEDGER#SCORED` index key, so the rescore window is one key range.
 */
export async function commitScored(
  doc: DynamoDBDocumentClient,
  tableName: string,
  items: readonly { key: string; etag: string; scoredBy?: string; rows?: number }[],
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
  const previous = new Map(unique.map((it) => [it.key, it.scoredBy]));
  const updates = unique.map((it) =>
    ledgerUpdate(
      tableName,
      it.key,
      'SET #status = :scored, runId = :run, modelVersion = :mv, scoredAt = :now, updatedAt = :now, ' +
        `gsi1pk = :g, gsi1sk = :key${it.rows !== undefined ? ', #rows = :rows' : ''} REMOVE reason`,
      // A rescored object (scoredBy) may replace that run's record only: a newer run's commit is never undone.
      `attribute_exists(pk) AND #etag = :etag AND (#status <> :scored OR runId = :run${it.scoredBy ? ' OR runId = :prev' : ''})`,
      {
        ':scored': 'SCORED',
        ':run': runId,
        ':mv': modelVersion,
        ':now': now.toISOString(),
        ':etag': normalizeEtag(it.etag),
        ':g': ledgerStatusGsiPk('SCORED'),
        ':key': it.key,
        ...(it.scoredBy ? { ':prev': it.scoredBy } : {}),
        ...(it.rows !== undefined ? { ':rows': it.rows } : {}),
      },
    ),
  );
  return writeConditionally(doc, updates, async (key) => {
    const cur = await getLedgerItem(doc, tableName, key);
    const mismatch = versionMismatch(cur, etags.get(key));
    if (mismatch || !cur) return { ok: false, reason: mismatch ?? 'no ledger item' };
    if (cur.status === 'SCORED' && cur.runId === runId) return { ok: true, reason: 'already committed' };
    if (cur.status === 'SCORED' && cur.runId !== previous.get(key)) {
      return { ok: false, reason: `already scored by run ${cur.runId}` };
    }
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
  const updates = unique.map((it) =>
    ledgerUpdate(
      tableName,
      it.key,
      'SET #status = :q, gsi1pk = :g, gsi1sk = :key, runId = :run, reason = :reason, updatedAt = :now ' +
        'REMOVE modelVersion, scoredAt',
      'attribute_exists(pk) AND #etag = :etag',
      {
        ':q': 'QUARANTINED',
        ':g': ledgerStatusGsiPk('QUARANTINED'),
        ':key': it.key,
        ':run': runId,
        ':reason': it.reason.slice(0, 1000),
        ':now': now.toISOString(),
        ':etag': normalizeEtag(it.etag),
      },
    ),
  );
  return writeConditionally(doc, updates, async (key) => {
    const mismatch = versionMismatch(await getLedgerItem(doc, tableName, key), etags.get(key));
    return mismatch ? { ok: false, reason: mismatch } : { ok: true, reason: 'condition holds now' };
  });
}
