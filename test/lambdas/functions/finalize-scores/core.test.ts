import Redis from 'ioredis';
import { IntegrityError, ValidationError } from '../../../../contracts/errors';
import {
  FALLBACK_GLOBAL_KEY,
  fallbackSegmentKey,
  META_LATEST_KEY,
} from '../../../../lambdas/domain/score-store/format';
import { RedisScoreStore } from '../../../../lambdas/domain/score-store/redis';
import {
  type FinalizeScoresInput,
  finalizeScores,
  freshnessHours,
} from '../../../../lambdas/functions/finalize-scores/core';
import { handler } from '../../../../lambdas/functions/finalize-scores/handler';
import { describeWithServers } from '../../../support/servers';

const load = (resultKey: string, asOf: string, rows: { seg: string; score: number }[], keptNewer = 0) => {
  const segments: Record<string, { count: number; sum: number }> = {};
  let sum = 0;
  for (const r of rows) {
    sum += r.score;
    segments[r.seg] ??= { count: 0, sum: 0 };
    const a = segments[r.seg]!;
    a.count++;
    a.sum += r.score;
  }
  return {
    resultKey,
    part: resultKey.split('/').pop()!,
    asOf,
    rowsRead: rows.length,
    rowsApplied: rows.length - keptNewer,
    rowsKeptNewer: keptNewer,
    segments,
    sum,
    count: rows.length,
  };
};

const p1 = load('results/run=r/part-00001.csv.out', '2026-11-19', [
  { seg: 'basic', score: 0.2 },
  { seg: 'premium', score: 0.6 },
]);
const p2 = load(
  'results/run=r/part-00002.csv.out',
  '2026-11-20',
  [
    { seg: 'basic', score: 0.4 },
    { seg: 'basic', score: 0.6 },
  ],
  1,
);
const input = (over: Partial<FinalizeScoresInput> = {}): FinalizeScoresInput => ({
  runId: 'batch-20261121T020000Z-ab',
  modelVersion: '3',
  expectedRows: 4,
  loads: [p1, p2],
  ...over,
});

describe('finalizeScores reconciliation (fails before touching the cache)', () => {
  const noCache = {} as Redis; // any cache call would throw a TypeError

  it('rows in the output ≠ rows sent → IntegrityError with both numbers', async () => {
    await expect(finalizeScores(new RedisScoreStore(noCache), input({ expectedRows: 5 }))).rejects.toThrow(
      new IntegrityError('FinalizeScores: 4 rows in the transform output (2 parts) but 5 rows were sent to it'),
    );
  });

  it('rows loaded ≠ rows in the output of a part → IntegrityError naming the part', async () => {
    await expect(
      finalizeScores(new RedisScoreStore(noCache), input({ loads: [p1, { ...p2, rowsApplied: 0 }] })),
    ).rejects.toThrow(
      /part-00002\.csv\.out \(part part-00002\.csv\.out\): rows loaded \(0 applied \+ 1 kept newer\) ≠ rows in the output \(2\)/,
    );
  });

  it('a part listed twice → IntegrityError', async () => {
    await expect(
      finalizeScores(new RedisScoreStore(noCache), input({ loads: [p1, p1], expectedRows: 4 })),
    ).rejects.toThrow(/listed twice/);
  });

  it('segment counts above the row count → IntegrityError', async () => {
    const bad = { ...p1, segments: { basic: { count: 5, sum: 1 } } };
    await expect(finalizeScores(new RedisScoreStore(noCache), input({ loads: [bad, p2] }))).rejects.toThrow(
      /segment counts \(5\) exceed rows \(2\)/,
    );
  });

  it('freshness is measured from 00:00 UTC of the as-of date', () => {
    expect(freshnessHours('2026-11-20', new Date('2026-11-21T06:30:00Z'))).toBe(30.5);
  });

  it('the handler names bad input fields', async () => {
    await expect(
      handler({ runId: 'r', modelVersion: 3, expectedRows: 1, loads: [{ resultKey: 'k' }] }),
    ).rejects.toThrow(ValidationError);
    await expect(
      handler({ runId: 'r', modelVersion: 3, expectedRows: 1, loads: [{ resultKey: 'k' }] }),
    ).rejects.toThrow(/FinalizeScores: invalid input: loads\.0\.part/);
  });
});

describeWithServers('finalizeScores against redis-server', { redis: true }, (env) => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(env.redis.url);
  });
  beforeEach(() => redis.flushdb());
  afterAll(() => redis.quit());
  const now = new Date('2026-11-21T03:00:00.000Z');

  it('writes global + per-segment fallbacks and meta:latest with the newest asOf', async () => {
    const out = await finalizeScores(new RedisScoreStore(redis), input(), now);
    expect(out).toEqual({
      runId: 'batch-20261121T020000Z-ab',
      modelVersion: '3',
      asOf: '2026-11-20',
      parts: 2,
      rowsScored: 4,
      rowsApplied: 3,
      rowsKeptNewer: 1,
      fallback: { global: 0.45, segments: { basic: 0.4, premium: 0.6 } },
      fallbackRecords: { applied: 3, keptNewer: 0 },
      fromProduction: true,
      latestIsThisRun: true,
      latest: { asOf: '2026-11-20', runId: 'batch-20261121T020000Z-ab', modelVersion: '3' },
      freshnessHours: 27,
    });
    expect(await redis.get(FALLBACK_GLOBAL_KEY)).toBe('1|2026-11-20|batch-20261121T020000Z-ab|3|0.450000|4');
    expect(await redis.get(fallbackSegmentKey('basic'))).toBe('1|2026-11-20|batch-20261121T020000Z-ab|3|0.400000|3');
    expect(await redis.get(META_LATEST_KEY)).toBe(
      '1|2026-11-20|batch-20261121T020000Z-ab|3|2026-11-21T03:00:00.000Z|4',
    );
  });

  it('a later run with older data leaves fallbacks and meta:latest alone', async () => {
    await finalizeScores(new RedisScoreStore(redis), input(), now);
    const late = load('results/run=r2/part-00001.csv.out', '2026-11-18', [{ seg: 'basic', score: 0.9 }], 1);
    const out = await finalizeScores(
      new RedisScoreStore(redis),
      { runId: 'batch-20261122T020000Z-cd', modelVersion: '4', expectedRows: 1, loads: [late] },
      now,
    );
    expect(out.fallbackRecords).toEqual({ applied: 0, keptNewer: 2 });
    expect(out.latestIsThisRun).toBe(false);
    expect(out.latest).toEqual({ asOf: '2026-11-20', runId: 'batch-20261121T020000Z-ab', modelVersion: '3' });
    expect(await redis.get(fallbackSegmentKey('basic'))).toBe('1|2026-11-20|batch-20261121T020000Z-ab|3|0.400000|3');
  });

  it('a run with no rows writes nothing and reports the current latest', async () => {
    const out = await finalizeScores(new RedisScoreStore(redis), input({ expectedRows: 0, loads: [] }), now);
    expect(out.rowsScored).toBe(0);
    expect(out.latest).toBeNull();
    expect(await redis.dbsize()).toBe(0);
  });
});
