/**
 * Batch lock (`Pipeline` table item `LOCK#batch`): a lease held by one run at a time.
 *
 * - Acquire is a conditional put: it succeeds when no lock exists, the lease has expired, or the caller already
 *   owns it (a retried AcquireLock is idempotent and extends the lease).
 * - Release deletes the item only when the caller owns it; a release by anyone else is refused and leaves the item.
 * - The holder is the run id (`owner`, what operators see) and, when given, the execution (`execution`,
 *   contracts/states/execution.ts executionToken): a second execution under the same run id is another holder, and
 *   can neither re-acquire, renew nor release the first one's lease.
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
  /**
   * The execution holding the lock (executionToken). Given, only that execution of `owner` is the holder.
   * @default - none: the holder is `owner` alone, and a lock held by an execution is never theirs
   */
  readonly execution?: string;
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
  readonly execution?: string;
  readonly leaseExpiresAt: number;
  readonly acquiredAt: string;
}

const epoch = (d: Date) => Math.floor(d.getTime() / 1000);

/** The condition "the caller holds the lock", with its names and values. */
function heldByCaller(owner: string, execution: string | undefined) {
  return {
    condition: execution
      ? '(#owner = :owner AND #execution = :execution)'
      : '(#owner = :owner AND attribute_not_exists(#execution))',
    names: { '#owner': 'owner', '#execution': 'execution' },
    values: { ':owner': owner, ...(execution ? { ':execution': execution } : {}) },
  };
}

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
    ...(typeof it.execution === 'string' ? { execution: it.execution } : {}),
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
  const mine = heldByCaller(opts.owner, opts.execution);
  try {
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...lockKey(opts.name),
          owner: opts.owner,
          ...(opts.execution ? { execution: opts.execution } : {}),
          leaseExpiresAt,
          acquiredAt: now.toISOString(),
        },
        ConditionExpression: `attribute_not_exists(pk) OR leaseExpiresAt <= :now OR ${mine.condition}`,
        ExpressionAttributeNames: mine.names,
        ExpressionAttributeValues: { ':now': epoch(now), ...mine.values },
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
  const mine = heldByCaller(opts.owner, opts.execution);
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: lockKey(opts.name),
        UpdateExpression: 'SET leaseExpiresAt = :exp',
        ConditionExpression: mine.condition,
        ExpressionAttributeNames: mine.names,
        ExpressionAttributeValues: { ':exp': leaseExpiresAt, ...mine.values },
      }),
    );
    return { leaseExpiresAt };
  } catch (err) {
    if (!isConditionalFailure(err)) throw err;
    const held = await getLock(doc, tableName, opts.name);
    const other = held && held.owner === opts.owner ? `another execution of ${held.owner}` : (held?.owner ?? 'nobody');
    throw new ConflictError(
      `Lock ${opts.name ?? 'batch'} is not held by this execution of ${opts.owner} (held by ${other}); cannot renew`,
    );
  }
}

/**
 * Release the lock if `owner` (and, when given, that `execution` of it) holds it. Never throws on contention, so it
 * is safe on every exit path:
 * - `released: true`   the caller's lock was deleted;
 * - `released: false, heldBy: <other>`  someone else holds it (the caller's lease expired and was taken over): refused;
 * - `released: false` without `heldBy`  there was no lock (already released: a retried release is idempotent).
 */
export async function releaseLock(
  doc: DynamoDBDocumentClient,
  tableName: string,
  owner: string,
  name = 'batch',
  execution?: string,
): Promise<{ released: boolean; heldBy?: string }> {
  if (!owner) throw new ValidationError('releaseLock: owner is empty');
  const mine = heldByCaller(owner, execution);
  try {
    await doc.send(
      new DeleteCommand({
        TableName: tableName,
        Key: lockKey(name),
        ConditionExpression: mine.condition,
        ExpressionAttributeNames: mine.names,
        ExpressionAttributeValues: mine.values,
      }),
    );
    return { released: true };
  } catch (err) {
    if (!isConditionalFailure(err)) throw err;
    const held = await getLock(doc, tableName, name);
    return held ? { released: false, heldBy: held.owner } : { released: false };
  }
}
