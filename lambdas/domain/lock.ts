/**
 * Batch lock (`Pipeline` table item `LOCK#batch`): a lease held by one run at a time.
 *
 * - Acquire is a conditional put: it succeeds when no lock exists, the lease has expired, or the caller already
 *   owns it (a retried AcquireLock is idempotent and extends the lease).
 * - Release deletes the item only when the caller owns it; a release by anyone else is refused and leaves the item.
 * - `leaseExpiresAt` is epoch seconds; the table's TTL attribute may point at it, but expiry is decided by the
 *   condition, never by TTL deletion (which can lag by days).
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ConflictError, ValidationError } from '../../contracts/errors';
import { lockKey } from '../../contracts/table-keys';
import { isConditionalFailure } from '../platform/dynamo';

export interface LockOptions {
  /** Lock owner, the run id. */
  readonly owner: string;
  /** Lease length in seconds (LOCK_LEASE_SECONDS). Must outlast the longest run step between renewals. */
  readonly leaseSeconds: number;
  /** Lock name (item `LOCK#<name>`). @default 'batch' */
  readonly name?: string;
  /** Clock, for tests. @default - now */
  readonly now?: Date;
}

export type LockAcquisition =
  | { readonly acquired: true; readonly owner: string; readonly leaseExpiresAt: number }
  /** Another owner holds an unexpired lease. */
  | { readonly acquired: false; readonly heldBy: string; readonly leaseExpiresAt: number };

export interface LockState {
  readonly owner: string;
  readonly leaseExpiresAt: number;
  readonly acquiredAt: string;
}

const epoch = (d: Date) => Math.floor(d.getTime() / 1000);

function check(opts: LockOptions): void {
  if (!opts.owner) throw new ValidationError('lock: owner is empty');
  if (!Number.isInteger(opts.leaseSeconds) || opts.leaseSeconds < 1) {
    throw new ValidationError(`lock: leaseSeconds must be a positive integer, got ${opts.leaseSeconds}`);
  }
}

/** Current holder of the lock, or undefined (strongly consistent read). Expired leases are returned as they are. */
export async function getLock(
  doc: DynamoDBDocumentClient,
  tableName: string,
  name = 'batch',
): Promise<LockState | undefined> {
  const res = await doc.send(new GetCommand({ TableName: tableName, Key: lockKey(name), ConsistentRead: true }));
  const it = res.Item;
  if (!it) return undefined;
  return {
    owner: String(it.owner),
    leaseExpiresAt: Number(it.leaseExpiresAt),
    acquiredAt: String(it.acquiredAt ?? ''),
  };
}

/**
 * Try to take the lease. Returns `{ acquired: false, heldBy }` when another owner holds an unexpired lease.
 * (A lease that expires between the failed put and the read is reported with the holder seen; the caller retries.)
 */
export async function acquireLock(
  doc: DynamoDBDocumentClient,
  tableName: string,
  opts: LockOptions,
): Promise<LockAcquisition> {
  check(opts);
  const now = opts.now ?? new Date();
  const leaseExpiresAt = epoch(now) + opts.leaseSeconds;
  try {
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...lockKey(opts.name),
          owner: opts.owner,
          leaseExpiresAt,
          acquiredAt: now.toISOString(),
        },
        ConditionExpression: 'attribute_not_exists(pk) OR leaseExpiresAt <= :now OR #owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':now': epoch(now), ':owner': opts.owner },
      }),
    );
    return { acquired: true, owner: opts.owner, leaseExpiresAt };
  } catch (err) {
    if (!isConditionalFailure(err)) throw err;
    const held = await getLock(doc, tableName, opts.name);
    return { acquired: false, heldBy: held?.owner ?? 'unknown', leaseExpiresAt: held?.leaseExpiresAt ?? 0 };
  }
}

/** Like {@link acquireLock}, but contention throws ConflictError naming the holder and the lease end. */
export async function acquireLockOrThrow(
  doc: DynamoDBDocumentClient,
  tableName: string,
  opts: LockOptions,
): Promise<{ owner: string; leaseExpiresAt: number }> {
  const r = await acquireLock(doc, tableName, opts);
  if (!r.acquired) {
    throw new ConflictError(
      `Lock ${opts.name ?? 'batch'} is held by ${r.heldBy} until ${new Date(r.leaseExpiresAt * 1000).toISOString()}`,
    );
  }
  return { owner: r.owner, leaseExpiresAt: r.leaseExpiresAt };
}

/**
 * Extend the lease of a lock the caller holds (e.g. before a long Transform).
 * @throws ConflictError when the caller does not hold the lock any more (another run took over an expired lease)
 */
export async function renewLock(
  doc: DynamoDBDocumentClient,
  tableName: string,
  opts: LockOptions,
): Promise<{ leaseExpiresAt: number }> {
  check(opts);
  const now = opts.now ?? new Date();
  const leaseExpiresAt = epoch(now) + opts.leaseSeconds;
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: lockKey(opts.name),
        UpdateExpression: 'SET leaseExpiresAt = :exp',
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':exp': leaseExpiresAt, ':owner': opts.owner },
      }),
    );
    return { leaseExpiresAt };
  } catch (err) {
    if (!isConditionalFailure(err)) throw err;
    const held = await getLock(doc, tableName, opts.name);
    throw new ConflictError(
      `Lock ${opts.name ?? 'batch'} is not held by ${opts.owner} (held by ${held?.owner ?? 'nobody'}); cannot renew`,
    );
  }
}

/**
 * Release the lock if `owner` holds it. Never throws on contention, so it is safe on every exit path:
 * - `released: true`   the caller's lock was deleted;
 * - `released: false, heldBy: <other>`  someone else holds it (the caller's lease expired and was taken over): refused;
 * - `released: false` without `heldBy`  there was no lock (already released: a retried release is idempotent).
 */
export async function releaseLock(
  doc: DynamoDBDocumentClient,
  tableName: string,
  owner: string,
  name = 'batch',
): Promise<{ released: boolean; heldBy?: string }> {
  if (!owner) throw new ValidationError('releaseLock: owner is empty');
  try {
    await doc.send(
      new DeleteCommand({
        TableName: tableName,
        Key: lockKey(name),
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': owner },
      }),
    );
    return { released: true };
  } catch (err) {
    if (!isConditionalFailure(err)) throw err;
    const held = await getLock(doc, tableName, name);
    return held ? { released: false, heldBy: held.owner } : { released: false };
  }
}
