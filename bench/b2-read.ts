/**
 * B2 read: sequential single reads through the read API's core vs raw `GET` on the same ioredis client (the reader
 * client the Lambda builds: `redisFromEnv({ role: 'reader' })`). Known ids (model scores) and unknown ids (fallback).
 *
 * The variants run interleaved in rounds (raw, core, handler, … per round) so drift on a shared machine hits all alike.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { SCORE_KEY_PREFIX, type Stamp } from '../lambdas/domain/score-store/format';
import { RedisScoreStore, ScoreWriter, writeRunSummary } from '../lambdas/domain/score-store/redis';
import { FallbackCache, handleRequest, readScore } from '../lambdas/functions/read-scores/core';
import { ensureConnected, type RedisClient, redisFromEnv } from '../lambdas/platform/redis';
import { entityId } from './data';
import { type BenchEnv, type BenchResult, fixed, int, mean, nowMs, percentile, ratio, type Table } from './lib';

const STAMP: Stamp = { asOf: '2026-11-26', runId: 'batch-20261126T020000Z-bench', modelVersion: '1' };
const SEGMENTS = ['basic', 'standard', 'premium'] as const;

interface Variant {
  readonly name: string;
  /** Which raw-GET variant it is compared with. */
  readonly baseline: string;
  readonly op: (i: number) => Promise<void>;
}

function apiEvent(id: string, segment?: string): APIGatewayProxyEvent {
  return {
    resource: '/scores/{entityId}',
    path: `/scores/${id}`,
    httpMethod: 'GET',
    headers: {},
    multiValueHeaders: {},
    pathParameters: { entityId: id },
    queryStringParameters: segment ? { segment } : null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  };
}

async function seed(redis: RedisClient, n: number): Promise<void> {
  await redis.flushall();
  const writer = new ScoreWriter(redis, { stamp: STAMP, ttlSeconds: 86_400 });
  let sum = 0;
  const segs: Record<string, { count: number; sum: number }> = {};
  for (let i = 0; i < n; i++) {
    const score = ((i * 7919) % 1000) / 1000;
    sum += score;
    const seg = SEGMENTS[i % 3]!;
    const agg = segs[seg] ?? { count: 0, sum: 0 };
    segs[seg] = agg;
    agg.count++;
    agg.sum += score;
    const w = writer.add(entityId(i), score.toFixed(6));
    if (w) await w;
  }
  await writer.finish();
  await writeRunSummary(redis, STAMP, {
    global: { count: n, sum },
    segments: segs,
    rows: n,
    loadedAt: new Date().toISOString(),
  });
}

export async function runB2(env: BenchEnv): Promise<BenchResult> {
  const n = env.quick ? 10_000 : 100_000;
  const rounds = 10;
  const redis = await redisFromEnv({ role: 'reader', env: { REDIS_URL: env.redisUrl } });
  await ensureConnected(redis);
  try {
    env.log(`B2: seeding ${int(n)} scores + fallback records`);
    await seed(redis, n);
    // Known ids in a scattered order; unknown ids never written.
    const known = (i: number) => entityId((i * 48_271) % n);
    const unknown = (i: number) => `U${String(i).padStart(9, '0')}`;
    const check = (ok: boolean, what: string) => {
      if (!ok) throw new Error(`B2: unexpected answer from ${what}`);
    };
    const fallbackCache = new FallbackCache();
    const variants: Variant[] = [
      {
        name: 'raw GET (hit)',
        baseline: 'raw GET (hit)',
        op: async (i) => check((await redis.get(SCORE_KEY_PREFIX + known(i))) !== null, 'GET'),
      },
      {
        name: 'readScore (hit)',
        baseline: 'raw GET (hit)',
        op: async (i) => check((await readScore(new RedisScoreStore(redis), known(i))).source === 'model', 'readScore'),
      },
      {
        name: 'handleRequest GET /scores/{id} (hit)',
        baseline: 'raw GET (hit)',
        op: async (i) =>
          check(
            (await handleRequest(new RedisScoreStore(redis), apiEvent(known(i)))).response.statusCode === 200,
            'handler',
          ),
      },
      {
        name: 'raw GET (miss)',
        baseline: 'raw GET (miss)',
        op: async (i) => check((await redis.get(SCORE_KEY_PREFIX + unknown(i))) === null, 'GET miss'),
      },
      {
        name: 'readScore fallback (global)',
        baseline: 'raw GET (miss)',
        op: async (i) =>
          check((await readScore(new RedisScoreStore(redis), unknown(i))).fallback === 'global', 'fallback global'),
      },
      {
        name: 'readScore fallback (segment)',
        baseline: 'raw GET (miss)',
        op: async (i) =>
          check(
            (await readScore(new RedisScoreStore(redis), unknown(i), SEGMENTS[i % 3])).fallback === 'segment',
            'fallback segment',
          ),
      },
      {
        // What the Lambda does: its module-level FallbackCache keeps the fallback records for 10 s, so an unknown id
        // costs one round trip (the GET miss) like a known one.
        name: 'handleRequest fallback (handler cache)',
        baseline: 'raw GET (miss)',
        op: async (i) =>
          check(
            (await handleRequest(new RedisScoreStore(redis), apiEvent(unknown(i), SEGMENTS[i % 3]), { fallbackCache }))
              .response.statusCode === 200,
            'handler fallback',
          ),
      },
    ];
    // Warm-up (JIT, connection) for every variant.
    for (const v of variants) for (let i = 0; i < 2_000; i++) await v.op(i);
    const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    const per = Math.ceil(n / rounds);
    env.log(`B2: ${int(n)} sequential reads per variant (${rounds} interleaved rounds)`);
    for (let r = 0; r < rounds; r++) {
      for (const v of variants) {
        const out = samples.get(v.name)!;
        for (let k = 0; k < per; k++) {
          const i = r * per + k;
          const t0 = nowMs();
          await v.op(i);
          out.push((nowMs() - t0) * 1000);
        }
      }
    }
    const stats = variants.map((v) => {
      const s = samples.get(v.name)!.sort((a, b) => a - b);
      return {
        name: v.name,
        baseline: v.baseline,
        count: s.length,
        p50: percentile(s, 50),
        p99: percentile(s, 99),
        mean: mean(s),
        opsPerSecond: 1e6 / mean(s),
      };
    });
    const byName = new Map(stats.map((s) => [s.name, s]));
    const table: Table = {
      title: `B2 read: ${int(n)} sequential reads per variant, one ioredis reader client (µs per call)`,
      columns: ['variant', 'reads', 'p50 µs', 'p99 µs', 'mean µs', 'reads/s', 'p50 vs raw', 'p99 vs raw'],
      rows: stats.map((s) => {
        const b = byName.get(s.baseline)!;
        return [
          s.name,
          int(s.count),
          fixed(s.p50, 1),
          fixed(s.p99, 1),
          fixed(s.mean, 1),
          int(s.opsPerSecond),
          ratio(s.p50 / b.p50),
          ratio(s.p99 / b.p99),
        ];
      }),
    };
    return {
      id: 'B2',
      title: 'Read',
      tables: [table],
      notes: [
        'Hits are compared with raw GET hits, fallbacks with raw GET misses. readScore = validation + GET + decode; handleRequest adds routing and the JSON response body (what the Lambda returns, minus Lambda/API Gateway).',
        'Without a cache a fallback costs a second round trip (MGET of fallback:global [+ fallback:segment:<v>]) after the miss, so ~2× a single GET is its floor (readScore rows). The Lambda keeps the fallback records in a 10 s per-container FallbackCache, so in the handler an unknown id costs one round trip like a known one (last row).',
        'Latency is client-observed over loopback on this machine (node and redis-server share the cores), measured per call with process.hrtime.',
      ],
      data: { reads: n, rounds, stats },
    };
  } finally {
    redis.disconnect();
  }
}
