import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { ValidationError } from '../../contracts/errors';

/**
 * DynamoDB helpers shared by the ledger, tracking and lock modules. The error checks test both the class and the
 * name: the error may come from another copy of the SDK (bundling, the local runtime), where `instanceof` fails.
 */

/** A conditional write was refused (the item was not in the expected state). */
export function isConditionalFailure(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (err instanceof Error && err.name === 'ConditionalCheckFailedException')
  );
}

/** A transaction was cancelled (one of its conditions failed, or it conflicted with another transaction). */
export function isTransactionCancelled(err: unknown): err is TransactionCanceledException {
  return (
    err instanceof TransactionCanceledException || (err instanceof Error && err.name === 'TransactionCanceledException')
  );
}

/**
 * `SET` clauses for the defined entries of `fields`, with placeholder names `#<prefix><i>` / `:<prefix><i>` so any
 * attribute name (reserved words included) is safe.
 */
export function setClause(fields: Record<string, unknown>, prefix: string) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  Object.entries(fields).forEach(([k, v], i) => {
    if (v === undefined) return;
    names[`#${prefix}${i}`] = k;
    values[`:${prefix}${i}`] = v;
    sets.push(`#${prefix}${i} = :${prefix}${i}`);
  });
  return { names, values, sets };
}

/** A query's `LastEvaluatedKey` as an opaque page token. */
export function encodePageToken(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The `ExclusiveStartKey` of a page token from {@link encodePageToken}. @throws ValidationError for a bad token */
export function decodePageToken(token: string | undefined): Record<string, unknown> | undefined {
  if (!token) return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new ValidationError(`Invalid page token "${token}"`);
}
