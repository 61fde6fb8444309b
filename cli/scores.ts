import { DependencyError, ValidationError } from '../contracts/errors';
import { DEFAULT_MAX_BATCH_IDS } from '../contracts/function-env';
import { RedisScoreStore } from '../lambdas/domain/score-store/redis';
import { readScores, type ScoreItem, validateEntityId, validateSegment } from '../lambdas/functions/read-scores/core';
import type { ReconcileResult } from '../lambdas/functions/reconcile/core';
import { asUsageError, CliUsageError } from './errors';
import { output, type Target } from './target';

/**
 * The cores of `score` and `reconcile` (registered in cli/score-commands.ts). The reconcile core and the request
 * signer load only for the command that needs them: a local `score` is Redis only.
 */

/** Register feature objects the arrival events missed (or a backfill range) through the ledger. */
export async function reconcileObjects(
  target: Target,
  request: { prefix?: string; from?: string; to?: string },
): Promise<ReconcileResult> {
  const params = { tableName: output(target, 'TableName'), featuresBucket: output(target, 'FeaturesBucketName') };
  const { reconcile } =
    require('../lambdas/functions/reconcile/core') as typeof import('../lambdas/functions/reconcile/core');
  return asUsageError(reconcile(target.clients.s3, target.clients.doc, params, request));
}

/** Scores of entities as the read API serves them (model score, or the fallback for unknown ids). */
export interface ScoreAnswer {
  readonly items: ScoreItem[];
  readonly notFound: string[];
}

/**
 * The command line's ids and segment, checked with the read API's own rules but named as the command line names them
 * (the API would say `body.ids[0]`).
 */
export function checkScoreArguments(ids: readonly string[], segment: string | undefined): void {
  if (ids.length > DEFAULT_MAX_BATCH_IDS) {
    throw new CliUsageError(`score takes at most ${DEFAULT_MAX_BATCH_IDS} ids per call, got ${ids.length}`);
  }
  ids.forEach((id, i) => {
    try {
      validateEntityId(id, ids.length === 1 ? 'argument <id>' : `argument <id> #${i + 1}`);
    } catch (e) {
      throw new CliUsageError((e as Error).message);
    }
  });
  try {
    validateSegment(segment, '--segment');
  } catch (e) {
    throw new CliUsageError((e as Error).message);
  }
}

/**
 * Read scores: on AWS through the IAM-authorized read API (signed request); locally through the read handler's
 * core against REDIS_URL (the same code the API runs).
 */
export async function score(target: Target, ids: readonly string[], segment?: string): Promise<ScoreAnswer> {
  checkScoreArguments(ids, segment);
  if (target.mode === 'local') return scoreLocally(ids, segment);
  const base = output(target, 'ApiUrl');
  const url = new URL('scores/batch', base.endsWith('/') ? base : `${base}/`);
  const { signedJson } = require('./signed-fetch') as typeof import('./signed-fetch');
  const res = await signedJson('POST', url, { ids, ...(segment ? { segment } : {}) });
  if (res.status !== 200) {
    const msg = (res.body as { message?: string } | undefined)?.message ?? JSON.stringify(res.body);
    if (res.status >= 400 && res.status < 500) throw new ValidationError(`read API answered ${res.status}: ${msg}`);
    throw new DependencyError(`read API answered ${res.status}: ${msg}`);
  }
  const body = res.body as { items?: ScoreItem[]; notFound?: string[] };
  return { items: body.items ?? [], notFound: body.notFound ?? [] };
}

async function scoreLocally(ids: readonly string[], segment: string | undefined): Promise<ScoreAnswer> {
  const redisUrl = process.env.REDIS_URL;
  if (!redisUrl) throw new CliUsageError('score --local needs REDIS_URL (the local runtime prints it with --keep)');
  const { default: Redis } = require('ioredis') as typeof import('ioredis');
  // One attempt, no reconnects: an unreachable server is one error line, not a stream of ioredis retries and traces.
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    connectTimeout: 5_000,
  });
  let lastError: Error | undefined;
  redis.on('error', (e: Error) => {
    lastError = e;
  });
  try {
    try {
      await redis.connect();
    } catch (e) {
      const why = (lastError ?? (e as Error)).message;
      throw new DependencyError(
        `Redis at ${redisUrl} is unreachable (${why}); is the local runtime still running? (npm run local -- --keep)`,
      );
    }
    const res = await asUsageError(
      readScores(new RedisScoreStore(redis), { ids: [...ids], ...(segment ? { segment } : {}) }),
    );
    return { items: res.items, notFound: res.notFound };
  } finally {
    redis.disconnect();
  }
}

/** The SOURCE cell: a model score, or which fallback answered (per segment or global). */
export function describeSource(item: ScoreItem, segment: string | undefined): string {
  if (item.source === 'model') return 'model';
  if (item.fallback === 'segment') return `segment fallback (${segment ?? 'segment'})`;
  return segment ? `global fallback (no record for segment ${segment})` : 'global fallback';
}
