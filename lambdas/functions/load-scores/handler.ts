import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import { AS_OF_PATTERN, STAMP_TOKEN } from '../../domain/score-store/format';
import { RedisScoreStore } from '../../domain/score-store/redis';
import { s3Client } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { RedisHolder } from '../../platform/redis';
import { parseStateInput } from '../../platform/state-input';
import { bufferBudget } from './buffer';
import { type LoadScoresOutput, loadScores } from './core';

let s3: S3Client | undefined;
const cache = new RedisHolder({ role: 'loader' });
const env = functionEnvLoader('load-scores');

/** One LoadScores Map iteration (the BatchInference Map's Parameters); `modelVersion` may be the registry's number. */
export const LoadScoresInputSchema = z.object({
  bucket: z.string().min(3),
  resultKey: z.string().min(1),
  part: z.union([z.string().min(1), z.number().int().nonnegative()]),
  asOf: z.string().regex(AS_OF_PATTERN, 'a YYYY-MM-DD date'),
  expectedRows: z.number().int().nonnegative(),
  runId: z.string().regex(STAMP_TOKEN, '1..128 characters without "|" or whitespace'),
  modelVersion: z.union([z.number().int().positive(), z.string().regex(STAMP_TOKEN)]).transform((v) => String(v)),
});

/**
 * `LoadScores` (Map iteration): stream one transform result file into the score store.
 * Errors keep their names for Step Functions: ValidationError (bad input), NotFoundError (no result file),
 * IntegrityError (corrupt/missing line, row-count mismatch), DependencyError (S3 or cache down).
 */
export const handler = withLambdaContext(async (event: unknown): Promise<LoadScoresOutput> => {
  const input = parseStateInput(LoadScoresInputSchema, event, 'LoadScores');
  const vars = env();
  const ttlSeconds = vars.SCORE_TTL_SECONDS;
  const bufferBudgetBytes = bufferBudget(vars.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  s3 ??= s3Client();
  const store = new RedisScoreStore(await cache.get());
  const started = Date.now();
  try {
    const out = await loadScores({ s3, store }, input, { ttlSeconds, bufferBudgetBytes });
    logger.info('Loaded scores', {
      runId: input.runId,
      resultKey: input.resultKey,
      rowsRead: out.rowsRead,
      rowsApplied: out.rowsApplied,
      rowsKeptNewer: out.rowsKeptNewer,
      ms: Date.now() - started,
    });
    return out;
  } catch (err) {
    logger.error('LoadScores failed', { runId: input.runId, resultKey: input.resultKey, error: err as Error });
    throw err;
  }
});
