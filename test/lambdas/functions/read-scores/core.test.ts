import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import Redis from 'ioredis';
import { NotFoundError, ValidationError } from '../../../../contracts/errors';
import { parseFunctionEnv } from '../../../../contracts/function-env';
import { RedisScoreStore, ScoreWriter, writeRunSummary } from '../../../../lambdas/domain/score-store/redis';
import { FallbackCache, handleRequest, readScore, readScores } from '../../../../lambdas/functions/read-scores/core';
import { freePort } from '../../../../local/services/servers';
import { describeWithServers } from '../../../support/servers';

/** The read API's batch limit as its handler reads it (the declaration in contracts/function-env.ts). */
const maxBatchIdsFromEnv = (env: Record<string, string>) => parseFunctionEnv('read-scores', env).MAX_BATCH_IDS;

const get = (entityId: string, segment?: string): APIGatewayProxyEvent =>
  ({
    httpMethod: 'GET',
    resource: '/scores/{entityId}',
    path: `/scores/${entityId}`,
    pathParameters: { entityId },
    queryStringParameters: segment === undefined ? null : { segment },
    body: null,
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEvent;

const post = (body: string | null, base64 = false): APIGatewayProxyEvent =>
  ({
    httpMethod: 'POST',
    resource: '/scores/batch',
    path: '/scores/batch',
    pathParameters: null,
    queryStringParameters: null,
    body: base64 && body !== null ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: base64,
  }) as unknown as APIGatewayProxyEvent;

const parse = (r: APIGatewayProxyResult) => JSON.parse(r.body) as Record<string, unknown>;

describe('read API validation (no cache call is made)', () => {
  const noCache = {} as Redis; // any cache call would throw a TypeError → 500, not 400

  it.each([
    [get('bad id!'), /entityId "bad id!" is not a valid entity id: expected 1-64 characters of A-Z a-z 0-9 _ \. : -/],
    [get('x'.repeat(65)), /entityId "x{65}" is not a valid entity id/],
    [get(''), /entityId "" is not a valid entity id/],
    [get('c1', 'bad segment'), /segment "bad segment" is not a valid segment value/],
    [post(null), /body is missing: expected a JSON object/],
    [post('{"ids": ["a",'), /body is not valid JSON: /],
    [post('[1,2]'), /body must be a JSON object .* got an array/],
    [post('{"ids": "c1"}'), /body\.ids must be an array of entity ids, got a string/],
    [post('{}'), /body\.ids must be an array of entity ids, got nothing/],
    [post('{"ids": []}'), /body\.ids must hold at least 1 id/],
    [
      post(JSON.stringify({ ids: Array.from({ length: 101 }, (_, i) => `c${i}`) })),
      /body\.ids holds 101 ids; at most 100 are allowed/,
    ],
    [post('{"ids": ["c1", 7]}'), /body\.ids\[1\] must be a string, got a number/],
    [post('{"ids": ["c1", "c/2"]}'), /body\.ids\[1\] "c\/2" is not a valid entity id/],
    [post('{"ids": ["c1"], "segment": 3}'), /body\.segment must be a string, got a number/],
    [post('{"ids": ["c1"], "extra": true}'), /body\.extra is not allowed \(expected ids, segment\)/],
  ])('400 naming the problem: %#', async (event, message) => {
    const out = await handleRequest(new RedisScoreStore(noCache), event);
    expect(out.response.statusCode).toBe(400);
    expect(out.response.headers).toMatchObject({ 'Content-Type': 'application/json' });
    expect(parse(out.response).message).toMatch(message);
    expect(out.served).toBe(0);
  });

  it('honours a configured batch limit', async () => {
    const out = await handleRequest(new RedisScoreStore(noCache), post('{"ids": ["a","b","c"]}'), { maxBatchIds: 2 });
    expect(parse(out.response).message).toBe('body.ids holds 3 ids; at most 2 are allowed');
  });

  it('unknown routes and methods', async () => {
    const wrong = { ...get('c1'), httpMethod: 'DELETE' } as APIGatewayProxyEvent;
    expect((await handleRequest(new RedisScoreStore(noCache), wrong)).response.statusCode).toBe(405);
    expect(
      (await handleRequest(new RedisScoreStore(noCache), { ...post('{}'), httpMethod: 'GET' } as APIGatewayProxyEvent))
        .response.statusCode,
    ).toBe(405);
    const other = { httpMethod: 'GET', path: '/other', resource: '/other' } as unknown as APIGatewayProxyEvent;
    expect((await handleRequest(new RedisScoreStore(noCache), other)).response.statusCode).toBe(404);
  });

  it('MAX_BATCH_IDS: default 100, a bad value fails loudly', () => {
    expect(maxBatchIdsFromEnv({})).toBe(100);
    expect(maxBatchIdsFromEnv({ MAX_BATCH_IDS: '25' })).toBe(25);
    expect(() => maxBatchIdsFromEnv({ MAX_BATCH_IDS: 'many' })).toThrow(
      /MAX_BATCH_IDS = "many" is not an integer in 1\.\.1000/,
    );
  });
});

describe('read API with the cache unreachable', () => {
  it('answers 503, never a score', async () => {
    const port = await freePort();
    const redis = new Redis({
      port,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    const one = await handleRequest(new RedisScoreStore(redis), get('c1'));
    expect(one.response.statusCode).toBe(503);
    expect(one.response.headers).toMatchObject({ 'Retry-After': '1' });
    expect(parse(one.response)).toEqual({ message: 'Score store unavailable; retry later' });
    const batch = await handleRequest(new RedisScoreStore(redis), post('{"ids":["c1"]}'));
    expect(batch.response.statusCode).toBe(503);
    redis.disconnect();
  });
});

describeWithServers('read API against redis-server', { redis: true }, (env) => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(env.redis.url);
  });
  afterAll(() => redis.quit());
  const run = { asOf: '2026-11-20', runId: 'batch-20261121T020000Z-ab', modelVersion: '3' };

  beforeEach(async () => {
    await redis.flushdb();
    const w = new ScoreWriter(redis, { stamp: run, ttlSeconds: 3600 });
    await w.add('c1', '0.25');
    await w.add('c2', '0.75');
    await w.finish();
  });

  const withFallbacks = () =>
    writeRunSummary(redis, run, {
      global: { count: 2, sum: 1 },
      segments: { premium: { count: 1, sum: 0.75 } },
      rows: 2,
      loadedAt: '2026-11-21T03:00:00.000Z',
    });

  it('GET answers a stored score from the model', async () => {
    const out = await handleRequest(new RedisScoreStore(redis), get('c1'));
    expect(out.response.statusCode).toBe(200);
    expect(parse(out.response)).toEqual({
      entityId: 'c1',
      score: 0.25,
      source: 'model',
      modelVersion: '3',
      asOf: '2026-11-20',
      production: true,
    });
    expect(out).toMatchObject({ served: 1, fallbacks: 0, notProduction: 0 });
  });

  it('an unknown id before any fallback is loaded → 404 with a clear message', async () => {
    const out = await handleRequest(new RedisScoreStore(redis), get('new1'));
    expect(out.response.statusCode).toBe(404);
    expect(parse(out.response).message).toBe(
      'No score for entity new1 and no fallback score loaded yet (no batch run has completed)',
    );
    await expect(readScore(new RedisScoreStore(redis), 'new1')).rejects.toThrow(NotFoundError);
  });

  it('an unknown id gets the segment fallback, else the global one', async () => {
    await withFallbacks();
    expect(parse((await handleRequest(new RedisScoreStore(redis), get('new1', 'premium'))).response)).toEqual({
      entityId: 'new1',
      score: 0.75,
      source: 'fallback',
      modelVersion: '3',
      asOf: '2026-11-20',
      production: true,
      fallback: 'segment',
      fallbackReason: 'no-score',
    });
    expect(await readScore(new RedisScoreStore(redis), 'new1', 'basic')).toEqual({
      entityId: 'new1',
      score: 0.5,
      source: 'fallback',
      modelVersion: '3',
      asOf: '2026-11-20',
      production: true,
      fallback: 'global',
      fallbackReason: 'no-score',
    });
    expect(await readScore(new RedisScoreStore(redis), 'new1')).toMatchObject({ score: 0.5, fallback: 'global' });
    // a known id ignores the segment
    expect(await readScore(new RedisScoreStore(redis), 'c2', 'basic')).toMatchObject({ score: 0.75, source: 'model' });
  });

  it('POST /scores/batch answers in request order with model and fallback items', async () => {
    await withFallbacks();
    const out = await handleRequest(
      new RedisScoreStore(redis),
      post(JSON.stringify({ ids: ['c2', 'new1', 'c1', 'c2'], segment: 'premium' }), true),
    );
    expect(out.response.statusCode).toBe(200);
    expect(parse(out.response)).toEqual({
      items: [
        { entityId: 'c2', score: 0.75, source: 'model', modelVersion: '3', asOf: '2026-11-20', production: true },
        {
          entityId: 'new1',
          score: 0.75,
          source: 'fallback',
          modelVersion: '3',
          asOf: '2026-11-20',
          production: true,
          fallback: 'segment',
          fallbackReason: 'no-score',
        },
        { entityId: 'c1', score: 0.25, source: 'model', modelVersion: '3', asOf: '2026-11-20', production: true },
        { entityId: 'c2', score: 0.75, source: 'model', modelVersion: '3', asOf: '2026-11-20', production: true },
      ],
      notFound: [],
    });
    expect(out).toMatchObject({ served: 4, fallbacks: 1 });
  });

  it('labels each score against the Production pointer: older approved → production false, rejected → fallback', async () => {
    await withFallbacks();
    const store = new RedisScoreStore(redis);
    const pointer = (version: number, rejected: number[]) => ({
      version,
      rejected,
      changedAt: '2026-11-21T00:00:00Z',
      reason: 'test',
      updatedAt: '2026-11-21T00:00:00Z',
    });
    // Version 4 is Production; the stored scores (version 3) are from an older approved version.
    const promoted = await handleRequest(store, post(JSON.stringify({ ids: ['c1'] })), { production: pointer(4, []) });
    expect((parse(promoted.response).items as unknown[])[0]).toMatchObject({
      source: 'model',
      modelVersion: '3',
      production: false,
    });
    expect(promoted).toMatchObject({ served: 1, notProduction: 1 });
    // Version 3 was rejected: its score is never served as a model score.
    const rolledBack = await readScore(store, 'c1', 'premium', undefined, pointer(2, [3]));
    expect(rolledBack).toMatchObject({
      source: 'fallback',
      fallback: 'segment',
      fallbackReason: 'model-version-rejected',
      production: false,
    });
    const batch = await readScores(store, { ids: ['c1', 'c2'] }, { production: pointer(2, [3]) });
    expect(batch.items.map((i) => [i.source, i.fallbackReason])).toEqual([
      ['fallback', 'model-version-rejected'],
      ['fallback', 'model-version-rejected'],
    ]);
    // Version 3 is Production: served as model scores with production true.
    expect(await readScore(store, 'c1', undefined, undefined, pointer(3, [2]))).toMatchObject({
      source: 'model',
      production: true,
    });
  });

  it('a batch before any fallback is loaded lists unknown ids in notFound', async () => {
    expect(await readScores(new RedisScoreStore(redis), { ids: ['c1', 'new1'] })).toEqual({
      items: [
        { entityId: 'c1', score: 0.25, source: 'model', modelVersion: '3', asOf: '2026-11-20', production: true },
      ],
      notFound: ['new1'],
    });
  });

  it('FallbackCache: one store read per segment within maxAge, no caching of "nothing loaded", bounded size', async () => {
    let t = 1_000;
    const cache = new FallbackCache(10_000, 2, () => t);
    // counts the store reads of the fallback records the cache answers for
    const mget = jest.spyOn(RedisScoreStore.prototype, 'getFallbacks');
    try {
      // nothing loaded yet: asked every time
      await expect(readScore(new RedisScoreStore(redis), 'new1', undefined, cache)).rejects.toThrow(NotFoundError);
      await expect(readScore(new RedisScoreStore(redis), 'new1', undefined, cache)).rejects.toThrow(NotFoundError);
      expect(mget).toHaveBeenCalledTimes(2);
      await withFallbacks();
      mget.mockClear();
      expect(await readScore(new RedisScoreStore(redis), 'new1', 'premium', cache)).toMatchObject({
        score: 0.75,
        fallback: 'segment',
      });
      expect(await readScore(new RedisScoreStore(redis), 'new2', 'premium', cache)).toMatchObject({
        score: 0.75,
        fallback: 'segment',
      });
      expect(mget).toHaveBeenCalledTimes(1);
      // a new run's fallbacks show once the entry is older than maxAge
      await writeRunSummary(
        redis,
        { ...run, asOf: '2026-11-21' },
        {
          global: { count: 1, sum: 0.1 },
          segments: { premium: { count: 1, sum: 0.2 } },
          rows: 1,
          loadedAt: '2026-11-22T03:00:00.000Z',
        },
      );
      expect(await readScore(new RedisScoreStore(redis), 'new1', 'premium', cache)).toMatchObject({ score: 0.75 });
      t += 10_000;
      expect(await readScore(new RedisScoreStore(redis), 'new1', 'premium', cache)).toMatchObject({
        score: 0.2,
        asOf: '2026-11-21',
      });
      // bounded: a third segment clears the map instead of growing it
      await readScore(new RedisScoreStore(redis), 'new1', 'a', cache);
      await readScore(new RedisScoreStore(redis), 'new1', 'b', cache);
      mget.mockClear();
      await readScore(new RedisScoreStore(redis), 'new1', 'premium', cache);
      expect(mget).toHaveBeenCalledTimes(1);
    } finally {
      mget.mockRestore();
    }
  });

  it('readScores rejects a bad body with a ValidationError', async () => {
    await expect(readScores(new RedisScoreStore(redis), { ids: ['ok', ''] })).rejects.toThrow(ValidationError);
  });
});
