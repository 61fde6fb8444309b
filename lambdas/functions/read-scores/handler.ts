import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DependencyError } from '../../../contracts/errors';
import { functionEnvLoader } from '../../../contracts/function-env';
import { getProduction, PointerCache } from '../../domain/production';
import { RedisScoreStore } from '../../domain/score-store/redis';
import { docClient } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { RedisHolder } from '../../platform/redis';
import { FallbackCache, handleRequest } from './core';

const metrics = new Metrics();
const cache = new RedisHolder({ role: 'reader' });
const fallbackCache = new FallbackCache();
const env = functionEnvLoader('read-scores');
let doc: DynamoDBDocumentClient | undefined;
let pointerCache: PointerCache | undefined;

/** The Production pointer (cached 5 s per container); undefined when no table is configured. */
async function productionPointer(tableName: string | undefined) {
  if (!tableName) return undefined;
  pointerCache ??= new PointerCache(async () => {
    doc ??= docClient();
    try {
      return await getProduction(doc, tableName, false);
    } catch (err) {
      throw new DependencyError(`Production pointer unreadable: ${(err as Error).message}`);
    }
  });
  return pointerCache.get();
}

const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };

/**
 * Read API (`GET /scores/{entityId}`, `POST /scores/batch`). Emits `FallbackRate` (percent of answered items that
 * came from a fallback record) with `ScoresServed` / `FallbacksServed` counts, so the dashboard can also compute the
 * rate over a period, and `NotProductionRate` / `NotProductionServed` (items whose model version is not Production).
 * Cache unreachable → 503, unexpected error → 500 (logged), never an invented score.
 */
export const handler = withLambdaContext(async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  try {
    // A malformed variable is a deployment bug: it answers 500 (logged) like any unexpected error.
    const vars = env();
    const production = await productionPointer(vars.TABLE_NAME);
    const outcome = await handleRequest(new RedisScoreStore(await cache.get()), event, {
      maxBatchIds: vars.MAX_BATCH_IDS,
      fallbackCache,
      ...(production ? { production } : {}),
    });
    if (outcome.response.statusCode === 503) logger.warn('Score store unavailable', { path: event.path });
    if (outcome.served > 0) {
      metrics.addMetric('ScoresServed', MetricUnit.Count, outcome.served);
      metrics.addMetric('FallbacksServed', MetricUnit.Count, outcome.fallbacks);
      metrics.addMetric('FallbackRate', MetricUnit.Percent, (outcome.fallbacks / outcome.served) * 100);
      metrics.addMetric('NotProductionServed', MetricUnit.Count, outcome.notProduction);
      metrics.addMetric('NotProductionRate', MetricUnit.Percent, (outcome.notProduction / outcome.served) * 100);
      metrics.publishStoredMetrics();
    }
    return outcome.response;
  } catch (err) {
    if (err instanceof DependencyError) {
      logger.warn('Score store unavailable', { path: event.path, error: err });
      return {
        statusCode: 503,
        headers: { ...JSON_HEADERS, 'Retry-After': '1' },
        body: JSON.stringify({ message: 'Score store unavailable; retry later' }),
      };
    }
    logger.error('Read API failed', { path: event.path, error: err as Error });
    return { statusCode: 500, headers: JSON_HEADERS, body: JSON.stringify({ message: 'Internal error' }) };
  }
});
