import { Readable } from 'node:stream';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import Redis from 'ioredis';
import { DependencyError } from '../../contracts/errors';
import { RedisScoreStore } from '../../lambdas/domain/score-store/redis';
import { loadScoresFromStream } from '../../lambdas/functions/load-scores/core';
import { freePort, startRedis } from '../../local/services/servers';
import { createBucket, testClients } from '../support/aws';
import { scoreTtl, storeDump, storedScores } from '../support/score-dump';
import { describeWithServers } from '../support/servers';

/**
 * LoadScores → FinalizeScores → read API through the real handlers, against moto_server (S3) and redis-server.
 */

type Handlers = {
  load: typeof import('../../lambdas/functions/load-scores/handler').handler;
  finalize: typeof import('../../lambdas/functions/finalize-scores/handler').handler;
  read: typeof import('../../lambdas/functions/read-scores/handler').handler;
  /** The Metrics class the handlers of this module registry use (for spying). */
  Metrics: typeof import('@aws-lambda-powertools/metrics').Metrics;
  /** Disconnect the handlers' cached Redis clients. */
  closeClients: () => number;
};

/**
 * Fresh handler modules (their cached clients read the environment on first use). Their clients are built through the
 * local runtime's tracking hook of the same module registry, so `closeClients` reaches them: left open, they would
 * reconnect to the stopped redis-server for seconds after the file ends and keep the jest worker from exiting.
 */
function freshHandlers(): Handlers {
  let h: Handlers | undefined;
  jest.isolateModules(() => {
    const clients = require('../../local/runtime/redis-clients') as typeof import('../../local/runtime/redis-clients');
    clients.useLocalRedis('track');
    h = {
      closeClients: clients.closeRedisClients,
      load: require('../../lambdas/functions/load-scores/handler').handler,
      finalize: require('../../lambdas/functions/finalize-scores/handler').handler,
      read: require('../../lambdas/functions/read-scores/handler').handler,
      Metrics: require('@aws-lambda-powertools/metrics').Metrics,
    };
  });
  return h!;
}

const getEvent = (entityId: string, segment?: string) =>
  ({
    httpMethod: 'GET',
    resource: '/scores/{entityId}',
    path: `/scores/${entityId}`,
    pathParameters: { entityId },
    queryStringParameters: segment ? { segment } : null,
    body: null,
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEvent;

const SEGMENTS = ['basic', 'standard', 'premium'];
/** Deterministic rows `id,segment,score`. */
const rows = (from: number, to: number, salt: number) =>
  Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    return `cust-${i},${SEGMENTS[i % 3]},${(((i * 7919 + salt) % 1000) / 1000).toFixed(3)}\n`;
  }).join('');

describeWithServers('score store end to end (moto S3 + redis-server)', { moto: true, redis: true }, (env) => {
  let s3: S3Client;
  let redis: Redis;
  let bucket: string;
  let h: Handlers;
  const saved = { ttl: process.env.SCORE_TTL_SECONDS };

  const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  const part = (
    runId: string,
    name: string,
    asOf: string,
    expectedRows: number,
    modelVersion: number | string = 3,
  ) => ({
    bucket,
    resultKey: `results/model_version=${modelVersion}/run=${runId}/${name}.out`,
    part: name,
    asOf,
    expectedRows,
    runId,
    modelVersion,
  });
  const dump = () => storeDump(redis);

  beforeAll(async () => {
    process.env.SCORE_TTL_SECONDS = '604800';
    s3 = testClients(env.moto.endpoint).s3;
    bucket = await createBucket(s3);
    redis = new Redis(env.redis.url);
    h = freshHandlers();
  });
  afterAll(async () => {
    if (saved.ttl === undefined) delete process.env.SCORE_TTL_SECONDS;
    else process.env.SCORE_TTL_SECONDS = saved.ttl;
    h.closeClients();
    await redis.quit();
  });

  const RUN1 = 'batch-20261121T020000Z-aaaa';
  const loadRun1 = async () => {
    const p1 = part(RUN1, 'part-00001.csv', '2026-11-20', 1200);
    const p2 = part(RUN1, 'part-00002.csv', '2026-11-19', 800);
    const loads = [await h.load(p1), await h.load(p2)];
    const fin = await h.finalize({ runId: RUN1, modelVersion: 3, expectedRows: 2000, loads });
    return { loads, fin };
  };

  it('loads every part, reconciles counts, writes fallbacks and meta, serves model and fallback scores', async () => {
    await redis.flushdb();
    await put(`results/model_version=3/run=${RUN1}/part-00001.csv.out`, rows(0, 1200, 1));
    // part 2 (older as-of) overlaps ids 1000..1199 of part 1: the newer part-1 scores must stay
    await put(`results/model_version=3/run=${RUN1}/part-00002.csv.out`, rows(1000, 1800, 2));
    const addMetric = jest.spyOn(h.Metrics.prototype, 'addMetric');
    const publish = jest.spyOn(h.Metrics.prototype, 'publishStoredMetrics').mockImplementation(function (
      this: InstanceType<Handlers['Metrics']>,
    ) {
      return this;
    });
    try {
      const { loads, fin } = await loadRun1();
      expect(loads[0]).toMatchObject({
        rowsRead: 1200,
        rowsApplied: 1200,
        rowsKeptNewer: 0,
        count: 1200,
        asOf: '2026-11-20',
      });
      expect(loads[1]).toMatchObject({ rowsRead: 800, rowsApplied: 600, rowsKeptNewer: 200 });
      expect(fin).toMatchObject({
        asOf: '2026-11-20',
        rowsScored: 2000,
        rowsApplied: 1800,
        rowsKeptNewer: 200,
        fallbackRecords: { applied: 4, keptNewer: 0 },
        latestIsThisRun: true,
      });
      expect(addMetric).toHaveBeenCalledWith('RowsScored', 'Count', 2000);
      expect(addMetric).toHaveBeenCalledWith('ScoreFreshnessHours', 'None', expect.any(Number));

      const stored = await storedScores(redis);
      expect(Object.keys(stored)).toHaveLength(1800);
      expect(await redis.keys('fallback:*')).toHaveLength(4); // 3 segment + global fallbacks
      expect(stored['score:cust-1100']).toBe(
        `1|2026-11-20|${RUN1}|3|${(((1100 * 7919 + 1) % 1000) / 1000).toFixed(3)}`,
      );
      expect(stored['score:cust-1700']).toMatch(/^1\|2026-11-19\|/);
      const ttl = await scoreTtl(redis, 'cust-5');
      expect(ttl).toBeGreaterThan(604_000);
      expect(ttl).toBeLessThanOrEqual(604_800);

      addMetric.mockClear();
      const known = await h.read(getEvent('cust-5'));
      expect(known.statusCode).toBe(200);
      expect(JSON.parse(known.body)).toMatchObject({
        entityId: 'cust-5',
        source: 'model',
        modelVersion: '3',
        asOf: '2026-11-20',
      });
      expect(addMetric).toHaveBeenCalledWith('FallbackRate', 'Percent', 0);

      addMetric.mockClear();
      const unseen = JSON.parse((await h.read(getEvent('new-customer', 'premium'))).body);
      expect(unseen).toMatchObject({
        entityId: 'new-customer',
        source: 'fallback',
        fallback: 'segment',
        modelVersion: '3',
      });
      expect(unseen.score).toBeCloseTo(fin.fallback.segments.premium!, 6);
      expect(addMetric).toHaveBeenCalledWith('FallbackRate', 'Percent', 100);
      const global = JSON.parse((await h.read(getEvent('new-customer'))).body);
      expect(global).toMatchObject({ source: 'fallback', fallback: 'global' });
      expect(global.score).toBeCloseTo(fin.fallback.global!, 6);
    } finally {
      addMetric.mockRestore();
      publish.mockRestore();
    }
  });

  it('a rerun is idempotent: same values, same counts', async () => {
    const before = await dump();
    const { loads, fin } = await loadRun1();
    const after = await dump();
    const loadedAt = (v: string | null | undefined) => v?.replace(/\|[^|]+\|\d+$/, '');
    // meta:latest carries the load time; everything else is byte-identical
    expect({ ...after, 'meta:latest': loadedAt(after['meta:latest']) }).toEqual({
      ...before,
      'meta:latest': loadedAt(before['meta:latest']),
    });
    expect(loads.map((l) => [l.rowsRead, l.rowsApplied, l.rowsKeptNewer])).toEqual([
      [1200, 1200, 0],
      [800, 600, 200],
    ]);
    expect(fin).toMatchObject({ rowsScored: 2000, rowsApplied: 1800, rowsKeptNewer: 200 });
  });

  it('a later run with an older partition does not overwrite newer scores or fallbacks', async () => {
    const before = await dump();
    const RUN2 = 'batch-20261122T020000Z-bbbb';
    await put(`results/model_version=4/run=${RUN2}/part-00001.csv.out`, rows(0, 300, 99));
    const l = await h.load(part(RUN2, 'part-00001.csv', '2026-11-18', 300, 4));
    expect(l).toMatchObject({ rowsRead: 300, rowsApplied: 0, rowsKeptNewer: 300 });
    const fin = await h.finalize({ runId: RUN2, modelVersion: 4, expectedRows: 300, loads: [l] });
    expect(fin).toMatchObject({ latestIsThisRun: false, fallbackRecords: { applied: 0, keptNewer: 4 } });
    expect(await dump()).toEqual(before);
  });

  it('a row-count mismatch fails the part with an IntegrityError', async () => {
    const RUN3 = 'batch-20261123T020000Z-cccc';
    await put(`results/model_version=3/run=${RUN3}/part-00001.csv.out`, rows(0, 10, 5));
    // handler modules come from an isolated registry: match the error by name (what Step Functions sees)
    await expect(h.load(part(RUN3, 'part-00001.csv', '2026-11-21', 11))).rejects.toMatchObject({
      name: 'IntegrityError',
    });
    await expect(h.load(part(RUN3, 'part-00001.csv', '2026-11-21', 11))).rejects.toThrow(
      `s3://${bucket}/results/model_version=3/run=${RUN3}/part-00001.csv.out: 10 rows in the transform output but 11 rows were sent to it`,
    );
    await expect(h.finalize({ runId: RUN3, modelVersion: 3, expectedRows: 11, loads: [] })).rejects.toThrow(
      /0 rows in the transform output \(0 parts\) but 11 rows were sent/,
    );
  });

  it('a corrupt line fails naming the file and the line', async () => {
    const RUN4 = 'batch-20261124T020000Z-dddd';
    await put(`results/model_version=3/run=${RUN4}/part-00001.csv.out`, 'a1,basic,0.1\na2,basic,0.2\na3,basic,oops\n');
    await expect(h.load(part(RUN4, 'part-00001.csv', '2026-11-21', 3))).rejects.toThrow(
      `s3://${bucket}/results/model_version=3/run=${RUN4}/part-00001.csv.out line 3: score must be a number in 0..1: "a3,basic,oops"`,
    );
    await expect(h.load(part(RUN4, 'part-00009.csv', '2026-11-21', 3))).rejects.toThrow(
      /part-00009\.csv\.out .*does not exist/,
    );
  });

  describe('with the cache unreachable', () => {
    let savedUrl: string | undefined;
    let down: Handlers;
    beforeAll(async () => {
      savedUrl = process.env.REDIS_URL;
      process.env.REDIS_URL = `redis://127.0.0.1:${await freePort()}`;
      down = freshHandlers();
    });
    afterAll(() => {
      process.env.REDIS_URL = savedUrl;
      down.closeClients();
    });

    it('LoadScores and FinalizeScores fail with DependencyError; the read API answers 503', async () => {
      await expect(down.load(part(RUN1, 'part-00001.csv', '2026-11-20', 1200))).rejects.toMatchObject({
        name: 'DependencyError',
        message: expect.stringMatching(/^Cache unavailable: could not connect to the cache/),
      });
      await expect(down.finalize({ runId: RUN1, modelVersion: 3, expectedRows: 0, loads: [] })).rejects.toMatchObject({
        name: 'DependencyError',
      });
      const res = await down.read(getEvent('cust-1'));
      expect(res.statusCode).toBe(503);
      expect(JSON.parse(res.body)).toEqual({ message: 'Score store unavailable; retry later' });
    });
  });

  it('redis-server killed mid-load → DependencyError, not a hang or a partial success', async () => {
    const own = await startRedis({ useEnv: false });
    const client = new Redis(own.url, { maxRetriesPerRequest: 1, retryStrategy: (n) => (n > 2 ? null : 50) });
    try {
      let sent = 0;
      const source = Readable.from(
        (function* () {
          for (let i = 0; i < 200_000; i += 1000) {
            sent = i;
            yield rows(i, i + 1000, 7);
          }
        })(),
      );
      let killed: Promise<void> | undefined;
      const p = loadScoresFromStream(
        new RedisScoreStore(client),
        source.on('data', () => {
          if (sent >= 20_000 && !killed) killed = own.stop();
        }),
        {
          stamp: { asOf: '2026-11-20', runId: 'r-kill', modelVersion: '3' },
          ttlSeconds: 60,
          source: 'kill-test',
          expectedRows: 200_000,
        },
      );
      await expect(p).rejects.toThrow(DependencyError);
      expect(sent).toBeLessThan(200_000);
      await killed;
    } finally {
      client.disconnect();
      await own.stop();
    }
  });
});
