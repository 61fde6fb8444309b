import Redis from 'ioredis';
import { DependencyError } from '../../../contracts/errors';
import { loadDefaultContract } from '../../../lambdas/data/contract';
import {
  decodeFallback,
  decodeMeta,
  decodeScore,
  ENTITY_ID_PATTERN,
  FALLBACK_GLOBAL_KEY,
  fallbackSegmentKey,
  META_LATEST_KEY,
  valuePrefix,
} from '../../../lambdas/domain/score-store/format';
import {
  evalUpsert,
  getFallbacks,
  getMetaLatest,
  getScore,
  getScores,
  ScoreWriter,
  UPSERT_SCRIPT,
  UPSERT_SCRIPT_SHA,
  upsertRecords,
  writeRunSummary,
} from '../../../lambdas/domain/score-store/redis';
import { describeWithServers } from '../../support/servers';

const stamp = (asOf: string, runId: string, modelVersion = '3') => ({ asOf, runId, modelVersion });

describe('value format', () => {
  it('encodes a stamp prefix and decodes score, fallback and meta values', () => {
    const s = stamp('2026-11-20', 'batch-20261121T020000Z-ab', '7');
    expect(valuePrefix(s)).toBe('1|2026-11-20|batch-20261121T020000Z-ab|7|');
    expect(decodeScore(`${valuePrefix(s)}0.8125`)).toEqual({ ...s, score: 0.8125 });
    expect(decodeFallback(`${valuePrefix(s)}0.412000|1500`)).toEqual({ ...s, score: 0.412, count: 1500 });
    expect(decodeMeta(`${valuePrefix(s)}2026-11-21T03:00:00.000Z|1500`)).toEqual({
      ...s,
      loadedAt: '2026-11-21T03:00:00.000Z',
      rows: 1500,
    });
  });

  it.each(['', '0.5', '2|2026-11-20|r|3|0.5', '1|2026-11-20|r', '1|2026-11-20|r|3|', '1|2026-11-20|r|3|abc'])(
    'decodeScore(%p) is undefined, never a made-up score',
    (v) => {
      expect(decodeScore(v)).toBeUndefined();
    },
  );

  it('rejects stamps that would corrupt the format', async () => {
    const fake = {} as Redis;
    expect(() => new ScoreWriter(fake, { stamp: stamp('2026-13-01', 'r'), ttlSeconds: 60 })).toThrow(/asOf/);
    expect(() => new ScoreWriter(fake, { stamp: stamp('2026-11-01', 'a|b'), ttlSeconds: 60 })).toThrow(/runId/);
    expect(() => new ScoreWriter(fake, { stamp: stamp('2026-11-01', 'r', 'v 1'), ttlSeconds: 60 })).toThrow(
      /modelVersion/,
    );
    expect(() => new ScoreWriter(fake, { stamp: stamp('2026-11-01', 'r'), ttlSeconds: 0 })).toThrow(/ttlSeconds/);
    expect(() => new ScoreWriter(fake, { stamp: stamp('2026-11-01', 'r'), ttlSeconds: 5, batchSize: 0 })).toThrow(
      /batchSize/,
    );
  });
});

describe('evalUpsert without a server', () => {
  it('retries once with EVAL (the script text, on the same node) on NOSCRIPT', async () => {
    const calls: string[] = [];
    const fake = {
      call: async (cmd: string, args: (string | number)[]) => {
        calls.push(cmd);
        if (cmd === 'EVALSHA') throw new Error('NOSCRIPT No matching script. Please use EVAL.');
        expect(args[0]).toBe(UPSERT_SCRIPT);
        return [Number(args[1]), 0];
      },
    } as unknown as Redis;
    await expect(
      evalUpsert(fake, ['score:a', 'score:b'], ['60', '2026-11-20', 'r', '3', '0.1', '0.2']),
    ).resolves.toEqual({
      applied: 2,
      keptNewer: 0,
    });
    expect(calls).toEqual(['EVALSHA', 'EVAL']);
  });

  it('maps any other cache error to DependencyError', async () => {
    const fake = { call: async () => Promise.reject(new Error('Connection is closed.')) } as unknown as Redis;
    await expect(evalUpsert(fake, ['score:a'], ['60', '2026-11-20', 'r', '3', '0.1'])).rejects.toThrow(DependencyError);
    await expect(evalUpsert(fake, ['score:a'], ['60', '2026-11-20', 'r', '3', '0.1'])).rejects.toThrow(
      /Cache unavailable: could not run the score upsert script: Connection is closed/,
    );
  });
});

describeWithServers('score store against redis-server', { redis: true }, (env) => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(env.redis.url);
  });
  beforeEach(async () => {
    await redis.flushdb();
  });
  afterAll(async () => {
    await redis.quit();
  });

  const write = async (s: ReturnType<typeof stamp>, rows: [string, string][], ttlSeconds = 3600, batchSize = 2) => {
    const w = new ScoreWriter(redis, { stamp: s, ttlSeconds, batchSize, maxInFlight: 2 });
    for (const [id, score] of rows) await w.add(id, score);
    return w.finish();
  };

  it('writes absent keys with the TTL and the compact value', async () => {
    const counts = await write(stamp('2026-11-20', 'b-2'), [
      ['c1', '0.25'],
      ['c2', '0.5'],
      ['c3', '1'],
    ]);
    expect(counts).toEqual({ applied: 3, keptNewer: 0 });
    expect(await redis.get('score:c1')).toBe('1|2026-11-20|b-2|3|0.25');
    const ttl = await redis.ttl('score:c3');
    expect(ttl).toBeGreaterThan(3590);
    expect(ttl).toBeLessThanOrEqual(3600);
    expect(await getScore(redis, 'c2')).toEqual({ asOf: '2026-11-20', runId: 'b-2', modelVersion: '3', score: 0.5 });
    expect(await getScore(redis, 'nope')).toBeUndefined();
    expect(await getScores(redis, ['c3', 'nope', 'c1'])).toEqual([
      { asOf: '2026-11-20', runId: 'b-2', modelVersion: '3', score: 1 },
      undefined,
      { asOf: '2026-11-20', runId: 'b-2', modelVersion: '3', score: 0.25 },
    ]);
  });

  it('keeps a newer asOf; replaces an older one; the same run rewrites identically', async () => {
    await write(stamp('2026-11-20', 'b-2'), [
      ['c1', '0.25'],
      ['c2', '0.5'],
    ]);
    // late older partition: nothing changes
    expect(
      await write(stamp('2026-11-19', 'b-9'), [
        ['c1', '0.9'],
        ['c2', '0.9'],
        ['c3', '0.9'],
      ]),
    ).toEqual({
      applied: 1,
      keptNewer: 2,
    });
    expect(await redis.get('score:c1')).toBe('1|2026-11-20|b-2|3|0.25');
    expect(await redis.get('score:c3')).toBe('1|2026-11-19|b-9|3|0.9');
    const keptTtl = await redis.ttl('score:c1'); // a kept record keeps an expiry (restarted at the TTL)
    expect(keptTtl).toBeGreaterThan(0);
    expect(keptTtl).toBeLessThanOrEqual(3600);
    // rerun of the same run: same counts, same values, TTL refreshed
    await redis.expire('score:c1', 10);
    expect(
      await write(stamp('2026-11-20', 'b-2'), [
        ['c1', '0.25'],
        ['c2', '0.5'],
      ]),
    ).toEqual({ applied: 2, keptNewer: 0 });
    expect(await redis.get('score:c1')).toBe('1|2026-11-20|b-2|3|0.25');
    expect(await redis.ttl('score:c1')).toBeGreaterThan(3000);
    // newer asOf replaces
    expect(await write(stamp('2026-11-21', 'b-1', '4'), [['c1', '0.75']])).toEqual({ applied: 1, keptNewer: 0 });
    expect(await redis.get('score:c1')).toBe('1|2026-11-21|b-1|4|0.75');
  });

  it('breaks an asOf tie by runId, byte-wise (a later run id wins, an earlier one is kept out)', async () => {
    await write(stamp('2026-11-20', 'batch-20261121T020000Z-b'), [['c1', '0.2']]);
    expect(await write(stamp('2026-11-20', 'batch-20261121T010000Z-z'), [['c1', '0.3']])).toEqual({
      applied: 0,
      keptNewer: 1,
    });
    // 'Z' (0x5a) < 'a' (0x61) byte-wise, whatever the server's collation says
    expect(await write(stamp('2026-11-20', 'batch-20261121T020000Z-Z'), [['c1', '0.3']])).toEqual({
      applied: 0,
      keptNewer: 1,
    });
    expect(await write(stamp('2026-11-20', 'batch-20261121T020000Z-bb'), [['c1', '0.4']])).toEqual({
      applied: 1,
      keptNewer: 0,
    });
    expect(await redis.get('score:c1')).toBe('1|2026-11-20|batch-20261121T020000Z-bb|3|0.4');
  });

  it('overwrites a value that is not in format 1 (treated as older)', async () => {
    await redis.set('score:c1', 'garbage');
    expect(await write(stamp('2026-11-20', 'r'), [['c1', '0.2']])).toEqual({ applied: 1, keptNewer: 0 });
  });

  it('reloads the script after SCRIPT FLUSH (NOSCRIPT fallback)', async () => {
    await redis.script('FLUSH');
    expect(await write(stamp('2026-11-20', 'r'), [['c1', '0.2']])).toEqual({ applied: 1, keptNewer: 0 });
    expect(await redis.script('EXISTS', UPSERT_SCRIPT_SHA)).toEqual([1]);
  });

  it('counts exactly with many batches in flight', async () => {
    const rows: [string, string][] = [];
    for (let i = 0; i < 5_000; i++) rows.push([`e${i}`, (i / 5_000).toFixed(4)]);
    const w = new ScoreWriter(redis, {
      stamp: stamp('2026-11-20', 'r'),
      ttlSeconds: 60,
      batchSize: 97,
      maxInFlight: 5,
    });
    for (const [id, s] of rows) await w.add(id, s);
    expect(await w.finish()).toEqual({ applied: 5_000, keptNewer: 0 });
    expect(await redis.dbsize()).toBe(5_000);
    expect(await redis.get('score:e4999')).toBe('1|2026-11-20|r|3|0.9998');
  });

  it('writes fallback records and meta:latest conditionally, without TTL', async () => {
    const summary = {
      global: { count: 4, sum: 2 },
      segments: { basic: { count: 3, sum: 1.2 }, premium: { count: 1, sum: 0.8 } },
      rows: 4,
      loadedAt: '2026-11-21T03:00:00.000Z',
    };
    const r1 = await writeRunSummary(redis, stamp('2026-11-20', 'b-2'), summary);
    expect(r1).toEqual({ fallbacks: { applied: 3, keptNewer: 0 }, meta: { applied: 1, keptNewer: 0 } });
    expect(await redis.get(FALLBACK_GLOBAL_KEY)).toBe('1|2026-11-20|b-2|3|0.500000|4');
    expect(await redis.get(fallbackSegmentKey('basic'))).toBe('1|2026-11-20|b-2|3|0.400000|3');
    expect(await redis.ttl(FALLBACK_GLOBAL_KEY)).toBe(-1);
    expect(await redis.ttl(META_LATEST_KEY)).toBe(-1);
    expect(await getFallbacks(redis, 'premium')).toEqual({
      segment: { asOf: '2026-11-20', runId: 'b-2', modelVersion: '3', score: 0.8, count: 1 },
      global: { asOf: '2026-11-20', runId: 'b-2', modelVersion: '3', score: 0.5, count: 4 },
    });
    expect(await getFallbacks(redis, 'standard')).toEqual({
      global: { asOf: '2026-11-20', runId: 'b-2', modelVersion: '3', score: 0.5, count: 4 },
    });
    // an older run changes none of them
    const r2 = await writeRunSummary(redis, stamp('2026-11-19', 'b-9'), { ...summary, global: { count: 1, sum: 1 } });
    expect(r2).toEqual({ fallbacks: { applied: 0, keptNewer: 3 }, meta: { applied: 0, keptNewer: 1 } });
    expect(await redis.get(FALLBACK_GLOBAL_KEY)).toBe('1|2026-11-20|b-2|3|0.500000|4');
    expect(await redis.ttl(FALLBACK_GLOBAL_KEY)).toBe(-1); // a kept record stays persistent
    expect(await getMetaLatest(redis)).toEqual({
      asOf: '2026-11-20',
      runId: 'b-2',
      modelVersion: '3',
      loadedAt: '2026-11-21T03:00:00.000Z',
      rows: 4,
    });
  });

  it('upsertRecords with no TTL leaves keys persistent', async () => {
    await upsertRecords(redis, stamp('2026-11-20', 'r'), [['x:1', 'a|1']]);
    expect(await redis.ttl('x:1')).toBe(-1);
  });
});

describe('entity id pattern', () => {
  it('is the shipped feature contract entity pattern (ids valid for validation are valid for the store)', () => {
    expect(loadDefaultContract().entity.pattern).toBe(ENTITY_ID_PATTERN.source);
  });
});
