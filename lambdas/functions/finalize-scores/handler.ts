import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import { ResultWriterDetailsSchema } from '../../../contracts/states/batch';
import { getProduction } from '../../domain/production';
import { AS_OF_PATTERN, SEGMENT_PATTERN, STAMP_TOKEN } from '../../domain/score-store/format';
import { RedisScoreStore } from '../../domain/score-store/redis';
import { docClient, s3Client } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { RedisHolder } from '../../platform/redis';
import { parseStateInput } from '../../platform/state-input';
import { type FinalizeScoresOutput, finalizeScores } from './core';
import { readMapResults } from './map-results';

const metrics = new Metrics();
const cache = new RedisHolder({ role: 'loader' });
const env = functionEnvLoader('finalize-scores');
let doc: DynamoDBDocumentClient | undefined;
let s3: S3Client | undefined;

const count = z.number().int().nonnegative();

/** One LoadScores result as FinalizeScores reads it (extra fields are ignored). */
export const PartLoadSchema = z.object({
  resultKey: z.string().min(1),
  part: z.union([z.string().min(1), z.number().int().nonnegative()]),
  asOf: z.string().regex(AS_OF_PATTERN, 'a YYYY-MM-DD date').optional(),
  rowsRead: count,
  rowsApplied: count,
  rowsKeptNewer: count,
  segments: z.record(
    z.string().regex(SEGMENT_PATTERN, `a segment value matching ${SEGMENT_PATTERN}`),
    z.object({ count, sum: z.number().nonnegative() }),
  ),
  sum: z.number().nonnegative(),
  count,
});

export const FinalizeScoresInputSchema = z
  .object({
    runId: z.string().regex(STAMP_TOKEN, '1..128 characters without "|" or whitespace'),
    modelVersion: z.union([z.number().int().positive(), z.string().regex(STAMP_TOKEN)]).transform((v) => String(v)),
    asOf: z.string().regex(AS_OF_PATTERN, 'a YYYY-MM-DD date').optional(),
    expectedRows: count,
    /** Per-part results inline (small runs, tests). */
    loads: z.array(PartLoadSchema).optional(),
    /** Where the LoadScores Distributed Map wrote them (`$.load.ResultWriterDetails`): what the state machine passes. */
    loadResults: ResultWriterDetailsSchema.optional(),
  })
  .refine((i) => (i.loads === undefined) !== (i.loadResults === undefined), {
    message: 'exactly one of loads and loadResults',
  });

/**
 * `FinalizeScores`: reconcile row counts over all parts, write fallback records and `meta:latest`, and emit the
 * `RowsScored` and `ScoreFreshnessHours` metrics.
 */
export const handler = withLambdaContext(async (event: unknown): Promise<FinalizeScoresOutput> => {
  const input = parseStateInput(FinalizeScoresInputSchema, event, 'FinalizeScores');
  // The cache variables themselves are read by RedisHolder; this fails first, naming a malformed one.
  const tableName = env().TABLE_NAME;
  let loads = input.loads ?? [];
  if (input.loadResults !== undefined) {
    s3 ??= s3Client();
    const where = `FinalizeScores: s3://${input.loadResults.Bucket}/${input.loadResults.Key}`;
    loads = parseStateInput(z.array(PartLoadSchema), await readMapResults(s3, input.loadResults), where);
  }
  const redis = await cache.get();
  doc ??= tableName ? docClient() : undefined;
  const pointer = doc && tableName ? await getProduction(doc, tableName) : undefined;
  const out = await finalizeScores(new RedisScoreStore(redis), {
    ...input,
    loads,
    ...(pointer ? { productionVersion: pointer.version } : {}),
  });
  if (!out.fromProduction) {
    logger.warn('Production changed during the run: fallbacks and meta:latest left as they were', {
      runId: out.runId,
      modelVersion: out.modelVersion,
      productionVersion: pointer?.version,
    });
  }
  metrics.addMetric('RowsScored', MetricUnit.Count, out.rowsScored);
  if (out.freshnessHours !== null) metrics.addMetric('ScoreFreshnessHours', MetricUnit.NoUnit, out.freshnessHours);
  metrics.publishStoredMetrics();
  logger.info('Finalized scores', {
    runId: out.runId,
    rowsScored: out.rowsScored,
    rowsApplied: out.rowsApplied,
    rowsKeptNewer: out.rowsKeptNewer,
    latestIsThisRun: out.latestIsThisRun,
    freshnessHours: out.freshnessHours,
  });
  return out;
});
