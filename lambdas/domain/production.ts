/**
 * The Production pointer (`Pipeline` table item `PRODUCTION`): the version that serves, the versions that were
 * rejected, when Production last changed, and the operator's newest rescore request.
 *
 * The registry stays the source of truth (Production = newest Approved package); this item is its small, cheap copy
 * for the readers that must not list the registry on every call: FindUnscored (what is due for the Production
 * version), FinalizeScores (fallbacks only from Production scores) and the read API (is the stored score from
 * Production, or from a rejected version). The approval handler writes it on every status change and ResolveModel
 * corrects it when it finds the registry ahead (a missed event), so a lost event delays it by one run at most.
 */
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../../contracts/errors';
import { productionKey } from '../../contracts/table-keys';
import { isConditionalFailure } from '../platform/dynamo';
import { listVersions } from './registry';

/** An operator's explicit rescore: objects of [from, to] scored before `requestedAt` are due again. */
export interface RescoreRequest {
  /** First partition date (YYYY-MM-DD). @default - the rescore window's start */
  readonly from?: string;
  /** Last partition date (YYYY-MM-DD). @default - no end */
  readonly to?: string;
  readonly requestedAt: string;
  readonly by?: string;
}

export interface ProductionPointer {
  /** Production version; null when no version is approved. */
  readonly version: number | null;
  /** Versions whose registry status is Rejected (never served as a model score). */
  readonly rejected: readonly number[];
  /** When `version` last changed (ISO). */
  readonly changedAt: string;
  /** Production before the last change. */
  readonly previousVersion?: number | null;
  /** What changed it: approval, rollback, a run that found the registry ahead, … */
  readonly reason: string;
  readonly updatedAt: string;
  readonly rescore?: RescoreRequest;
}

/** What the registry says now. */
export interface RegistryProduction {
  readonly version: number | null;
  readonly rejected: readonly number[];
}

/** Production and the rejected versions, from the registry (two listings, no Describe). */
export async function productionFromRegistry(sm: SageMakerClient, groupName: string): Promise<RegistryProduction> {
  const approved = await listVersions(sm, groupName, 'Approved', 1);
  const rejected = await listVersions(sm, groupName, 'Rejected');
  return { version: approved[0] ?? null, rejected: [...rejected].sort((a, b) => a - b) };
}

const isDate = (s: unknown): s is string => typeof s === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s);

function toPointer(raw: Record<string, unknown>): ProductionPointer {
  const version = typeof raw.version === 'number' ? raw.version : null;
  const rejected = Array.isArray(raw.rejected) ? raw.rejected.filter((v): v is number => typeof v === 'number') : [];
  const r = raw.rescore as Record<string, unknown> | undefined;
  return {
    version,
    rejected,
    changedAt: String(raw.changedAt ?? ''),
    ...(raw.previousVersion !== undefined
      ? { previousVersion: typeof raw.previousVersion === 'number' ? raw.previousVersion : null }
      : {}),
    reason: String(raw.reason ?? ''),
    updatedAt: String(raw.updatedAt ?? ''),
    ...(r && typeof r.requestedAt === 'string'
      ? {
          rescore: {
            requestedAt: r.requestedAt,
            ...(isDate(r.from) ? { from: r.from } : {}),
            ...(isDate(r.to) ? { to: r.to } : {}),
            ...(typeof r.by === 'string' ? { by: r.by } : {}),
          },
        }
      : {}),
  };
}

/** The pointer, or undefined before any approval was recorded. */
export async function getProduction(
  doc: DynamoDBDocumentClient,
  tableName: string,
  consistent = true,
): Promise<ProductionPointer | undefined> {
  const res = await doc.send(
    new GetCommand({ TableName: tableName, Key: productionKey(), ConsistentRead: consistent }),
  );
  return res.Item ? toPointer(res.Item) : undefined;
}

const sameSet = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);

/**
 * Record what the registry says. Writes only when the version or the rejected set differ; `changedAt` moves only
 * when the version does. Optimistic (conditional on the item read), retried on a concurrent write.
 * Returns the pointer after the call and whether the Production version changed.
 */
export async function recordProduction(
  doc: DynamoDBDocumentClient,
  tableName: string,
  now: RegistryProduction,
  reason: string,
  at: Date = new Date(),
): Promise<{ pointer: ProductionPointer; changed: boolean }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const cur = await getProduction(doc, tableName);
    if (cur && cur.version === now.version && sameSet(cur.rejected, now.rejected)) {
      return { pointer: cur, changed: false };
    }
    const changed = !cur || cur.version !== now.version;
    const ts = at.toISOString();
    const next: ProductionPointer = {
      version: now.version,
      rejected: [...now.rejected],
      changedAt: changed ? ts : (cur?.changedAt ?? ts),
      previousVersion: changed ? (cur?.version ?? null) : (cur?.previousVersion ?? null),
      reason: changed ? reason : (cur?.reason ?? reason),
      updatedAt: ts,
      ...(cur?.rescore ? { rescore: cur.rescore } : {}),
    };
    try {
      await doc.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...productionKey(), ...next },
          ConditionExpression: cur ? 'updatedAt = :seen' : 'attribute_not_exists(pk)',
          ...(cur ? { ExpressionAttributeValues: { ':seen': cur.updatedAt } } : {}),
        }),
      );
      return { pointer: next, changed };
    } catch (err) {
      if (!isConditionalFailure(err)) throw err;
    }
  }
  throw new ValidationError('recordProduction: the Production pointer kept changing under 5 attempts');
}

/**
 * Record an explicit rescore of [from, to] (replaces an earlier request: its objects scored since stay scored).
 * @throws ValidationError for a malformed date or from > to
 */
export async function requestRescore(
  doc: DynamoDBDocumentClient,
  tableName: string,
  request: { from?: string; to?: string; by?: string },
  at: Date = new Date(),
): Promise<RescoreRequest> {
  for (const [name, v] of [
    ['from', request.from],
    ['to', request.to],
  ] as const) {
    if (v !== undefined && !isDate(v)) throw new ValidationError(`rescore ${name} must be YYYY-MM-DD, got "${v}"`);
  }
  if (request.from && request.to && request.from > request.to) {
    throw new ValidationError(`rescore from (${request.from}) is after to (${request.to})`);
  }
  const rescore: RescoreRequest = {
    requestedAt: at.toISOString(),
    ...(request.from ? { from: request.from } : {}),
    ...(request.to ? { to: request.to } : {}),
    ...(request.by ? { by: request.by } : {}),
  };
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      Key: productionKey(),
      UpdateExpression:
        'SET rescore = :r, updatedAt = :now, changedAt = if_not_exists(changedAt, :now), ' +
        'rejected = if_not_exists(rejected, :none), reason = if_not_exists(reason, :why)',
      ExpressionAttributeValues: { ':r': rescore, ':now': rescore.requestedAt, ':none': [], ':why': 'rescore' },
    }),
  );
  return rescore;
}

/** How the read API labels a stored score's version against the pointer. */
export type VersionStanding = 'production' | 'approved' | 'rejected';

/** `production` = the pointer's version; `rejected` = listed as rejected; anything else an approved, older one. */
export function standingOf(pointer: ProductionPointer | undefined, version: string | number): VersionStanding {
  const v = Number(version);
  if (pointer === undefined) return 'production'; // no approval recorded yet: nothing to compare with
  if (pointer.version !== null && v === pointer.version) return 'production';
  if (pointer.rejected.includes(v)) return 'rejected';
  return 'approved';
}

/** Read the registry and record it (see {@link recordProduction}). */
export async function syncProduction(
  sm: SageMakerClient,
  doc: DynamoDBDocumentClient,
  tableName: string,
  groupName: string,
  reason: string,
  at: Date = new Date(),
): Promise<{ pointer: ProductionPointer; changed: boolean }> {
  return recordProduction(doc, tableName, await productionFromRegistry(sm, groupName), reason, at);
}

/**
 * Per-container cache of the pointer for the read API: one GetItem per `maxAgeMs` instead of one per request, so a
 * read stays one round trip to the cache. A rejection reaches the reader at most `maxAgeMs` after the approval
 * handler recorded it. When the table cannot be read the last value is kept; with none, the error propagates.
 */
export class PointerCache {
  private value: { at: number; pointer: ProductionPointer | undefined } | undefined;

  constructor(
    private readonly load: () => Promise<ProductionPointer | undefined>,
    /** @default 5 000 */
    private readonly maxAgeMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<ProductionPointer | undefined> {
    const t = this.now();
    if (this.value && t - this.value.at < this.maxAgeMs) return this.value.pointer;
    try {
      const pointer = await this.load();
      this.value = { at: t, pointer };
      return pointer;
    } catch (err) {
      if (this.value) return this.value.pointer;
      throw err;
    }
  }
}
