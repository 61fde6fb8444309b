import Redis from 'ioredis';
import { groupTags, hashId, keySlot, layoutFor, locate, parseLayout } from '../../../lambdas/domain/score-store/layout';
import { RedisScoreStore, ScoreWriter, writeRunSummary } from '../../../lambdas/domain/score-store/redis';
import type { ScoreStore } from '../../../lambdas/domain/score-store/store';
import { readScore } from '../../../lambdas/functions/read-scores/core';
import { describeWithServers } from '../../support/servers';

const stamp = (asOf: string, runId: string, modelVersion = '3') => ({ asOf, runId, modelVersion });
const LAYOUT = { kind: 'buckets', groups: 1, bucketsPerGroup: 4 } as const;
const DAY = 86_400;
const DAY_MS = DAY * 1000;

async function load(store: ScoreStore, s: ReturnType<typeof stamp>, rows: [string, string][], ttl = 7 * DAY) {
  const w = store.scoreWriter({ stamp: s, ttlSeconds: ttl, batchSize: 7, bufferRows: 11, pruneEvery: 1 });
  for (const [id, score] of rows) await w.add(id, score);
  return w.finish();
}
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const rowsOf = (list: string[], score: string) => list.map((id) => [id, score] as [string, string]);

describe('bucket layout', () => {
  it('sizes buckets for ~64 entities and one group per unsharded cache', () => {
    expect(layoutFor(1, 5_000_000)).toEqual({ kind: 'buckets', groups: 1, bucketsPerGroup: 131_072 });
    expect(layoutFor(3, 100_000_000)).toEqual({ kind: 'buckets', groups: 48, bucketsPerGroup: 32_768 });
    expect(parseLayout('buckets:48:32768')).toEqual(layoutFor(3, 100_000_000));
    expect(parseLayout('keys')).toEqual({ kind: 'keys' });
    expect(() => parseLayout('buckets:0:3')).toThrow('SCORE_LAYOUT "buckets:0:3" is not');
  });

  it('computes cluster slots like ioredis and spreads the group tags evenly over the slots', () => {
    // CRC16/XMODEM check value 0x31C3; the cluster test compares with CLUSTER KEYSLOT of a real server
    expect(keySlot('123456789')).toBe(0x31c3);
    expect(keySlot('0')).toBe(13_907);
    const tags = groupTags(48);
    expect(new Set(tags).size).toBe(48);
    // Three equal slot ranges (as ElastiCache assigns them to 3 shards) hold 16 groups each.
    const perShard = [0, 0, 0];
    for (const t of tags) perShard[Math.floor((keySlot(t) * 3) / 16_384)]!++;
    expect(perShard).toEqual([16, 16, 16]);
    const { key } = locate({ kind: 'buckets', groups: 48, bucketsPerGroup: 8 }, 'C1');
    expect(key).toMatch(new RegExp(`^s\\{${tags[hashId('C1') % 48]}\\}[0-9a-z]+$`));
  });
});

describeWithServers('bucket score store (redis-server)', { redis: true }, (env) => {
  let redis: Redis;
  let now = Date.UTC(2026, 10, 21, 3, 0, 0);
  const store = () => new RedisScoreStore(redis, { layout: LAYOUT, now: () => now });

  beforeAll(() => {
    redis = new Redis(env.redis.url);
  });
  beforeEach(async () => {
    await redis.flushall();
    now = Date.UTC(2026, 10, 21, 3, 0, 0);
  });
  afterAll(() => redis.disconnect());

  it('writes, reads back with the stamp kept once per run, and keeps every bucket a listpack', async () => {
    const list = ids('c', 40);
    expect(await load(store(), stamp('2026-11-20', 'run-1', '7'), rowsOf(list, '0.25'))).toEqual({
      applied: 40,
      keptNewer: 0,
    });
    const got = await store().getScores([...list, 'nobody']);
    expect(got.slice(0, 40).every((s) => s?.score === 0.25 && s.modelVersion === '7' && s.runId === 'run-1')).toBe(
      true,
    );
    expect(got[40]).toBeUndefined();
    const keys = (await redis.keys('s{0}*')).sort();
    expect(keys.length).toBeLessThanOrEqual(4);
    for (const k of keys) {
      expect(await redis.object('ENCODING', k)).toBe('listpack');
      const value = Object.entries(await redis.hgetall(k)).find(([f]) => f !== '~')![1];
      expect(value).toBe('1|0.25'); // stamp id + score text: no run stamp per entity
      expect(await redis.ttl(k)).toBeGreaterThan(7 * DAY - 10);
    }
    expect(Object.values(await redis.hgetall('m{0}'))).toContain(`2026-11-20|run-1|7|${now / 1000 + 7 * DAY}`);
  });

  it('keeps conditional semantics: newer wins, late older partition is kept out, a rerun rewrites', async () => {
    const list = ids('k', 30);
    await load(store(), stamp('2026-11-20', 'run-b'), rowsOf(list, '0.5'));
    // late older partition: every key holds a newer score
    expect(await load(store(), stamp('2026-11-19', 'run-z'), rowsOf(list, '0.1'))).toEqual({
      applied: 0,
      keptNewer: 30,
    });
    // same asOf, run id ordered byte-wise: run-a < run-b is older
    expect(await load(store(), stamp('2026-11-20', 'run-a'), rowsOf(list.slice(0, 5), '0.2'))).toEqual({
      applied: 0,
      keptNewer: 5,
    });
    // mixed: an older run for known ids plus new ids
    const mixed = [...rowsOf(list.slice(0, 3), '0.3'), ...rowsOf(ids('n', 4), '0.3')];
    expect(await load(store(), stamp('2026-11-19', 'run-z'), mixed)).toEqual({ applied: 4, keptNewer: 3 });
    // the same run again rewrites (idempotent counts), a newer run replaces
    expect(await load(store(), stamp('2026-11-20', 'run-b'), rowsOf(list, '0.5'))).toEqual({
      applied: 30,
      keptNewer: 0,
    });
    expect(await load(store(), stamp('2026-11-21', 'run-c', '4'), rowsOf(list.slice(0, 10), '0.9'))).toEqual({
      applied: 10,
      keptNewer: 0,
    });
    const got = await store().getScores([list[0]!, list[20]!, 'n1']);
    expect(got.map((s) => [s?.score, s?.asOf, s?.modelVersion])).toEqual([
      [0.9, '2026-11-21', '4'],
      [0.5, '2026-11-20', '3'],
      [0.3, '2026-11-19', '3'],
    ]);
  });

  it('never serves a score older than the TTL, lets a newer load replace expired ones and drops them', async () => {
    const list = ids('e', 20);
    await load(store(), stamp('2026-11-20', 'run-new'), rowsOf(list, '0.5'), 3 * DAY);
    expect((await store().getScore('e1'))?.score).toBe(0.5);
    now += 3 * DAY_MS + 1000; // past the TTL: not served although the bucket key still exists in this test
    expect(await store().getScore('e1')).toBeUndefined();
    // an older stamp may now write: the stored record has expired
    expect(await load(store(), stamp('2026-11-01', 'run-old'), rowsOf(list.slice(0, 2), '0.1'), 3 * DAY)).toEqual({
      applied: 2,
      keptNewer: 0,
    });
    expect((await store().getScore('e1'))?.score).toBe(0.1);
    // the buckets the new load wrote were cleared of the expired records; the others expire with their key TTL
    const touched = [...new Set(['e0', 'e1'].map((id) => locate(LAYOUT, id).key))];
    const fields = (await Promise.all(touched.map((k) => redis.hkeys(k)))).flat();
    expect(fields.filter((f) => f !== '~').sort()).toEqual(['e0', 'e1']);
    expect(await redis.ttl(touched[0]!)).toBeGreaterThan(3 * DAY - 10);
  });

  it('drops records of a stamp that expired when a newer stamp first writes their bucket', async () => {
    // one bucket, so both records share it
    const one = new RedisScoreStore(redis, {
      layout: { kind: 'buckets', groups: 1, bucketsPerGroup: 1 },
      now: () => now,
    });
    await load(one, stamp('2026-11-10', 'run-1'), rowsOf(['gone', 'stay'], '0.4'), 2 * DAY);
    now += DAY_MS;
    await load(one, stamp('2026-11-11', 'run-2'), rowsOf(['stay'], '0.6'), 2 * DAY);
    now += 1.5 * DAY_MS;
    await load(one, stamp('2026-11-12', 'run-3'), rowsOf(['new'], '0.7'), 2 * DAY);
    expect((await redis.hkeys('s{0}0')).sort()).toEqual(['new', 'stay']);
    // the expired stamp record is pruned from the meta hash when a new stamp is registered
    expect(Object.values(await redis.hgetall('m{0}')).some((v) => v.includes('run-1'))).toBe(false);
  });

  it('splits a bucket over calls, and re-registers a stamp whose record vanished during the load', async () => {
    const one = new RedisScoreStore(redis, {
      layout: { kind: 'buckets', groups: 1, bucketsPerGroup: 1 },
      now: () => now,
    });
    const list = ids('b', 2_500);
    const w = one.scoreWriter({ stamp: stamp('2026-11-20', 'run-1'), ttlSeconds: DAY, bufferRows: 1_200 });
    for (const id of list.slice(0, 1_300)) await w.add(id, '0.5');
    // the first buffer (1 200 rows of one bucket: two calls) is written; the run's stamp record disappears
    await new Promise((r) => setTimeout(r, 50));
    await redis.del('m{0}');
    for (const id of list.slice(1_300)) await w.add(id, '0.5');
    expect(await w.finish()).toEqual({ applied: 2_500, keptNewer: 0 });
    const got = await one.getScores(list);
    expect(got.every((s) => s?.score === 0.5 && s.runId === 'run-1')).toBe(true);
    // an older run afterwards is kept out row by row (one HMGET per bucket), a newer one overwrites
    expect(await load(one, stamp('2026-11-19', 'run-0'), rowsOf(list.slice(0, 40), '0.1'))).toEqual({
      applied: 0,
      keptNewer: 40,
    });
    expect(await load(one, stamp('2026-11-21', 'run-2'), rowsOf(list.slice(0, 40), '0.9'))).toEqual({
      applied: 40,
      keptNewer: 0,
    });
  });

  it('reads the score and both fallbacks in one script call; fallback copies follow the newest run', async () => {
    const s = new RedisScoreStore(redis, { layout: LAYOUT });
    await load(s, stamp('2026-11-20', 'run-1'), rowsOf(['a1'], '0.25'));
    const summary = (mean: number) => ({
      global: { count: 10, sum: mean * 10 },
      segments: { basic: { count: 2, sum: mean * 2 } },
      rows: 10,
      loadedAt: '2026-11-21T03:00:00.000Z',
    });
    await s.writeRunSummary(stamp('2026-11-20', 'run-1'), summary(0.4));
    await s.writeRunSummary(stamp('2026-11-19', 'run-0'), summary(0.9)); // older: kept out
    const monitor = await redis.monitor();
    const commands: string[] = [];
    monitor.on('monitor', (_t: string, args: string[], source: string) => {
      if (source !== 'lua') commands.push(args[0]!.toUpperCase());
    });
    const hit = await s.lookup('a1', 'basic');
    const miss = await readScore(s, 'zz', 'basic');
    // MONITOR lines arrive after the replies: give the last one a moment before stopping.
    await new Promise((r) => setTimeout(r, 100));
    monitor.disconnect();
    expect(hit.score?.score).toBe(0.25);
    expect(hit.fallbacks.segment?.score).toBe(0.4);
    expect(hit.fallbacks.global?.score).toBe(0.4);
    expect(miss).toMatchObject({ source: 'fallback', fallback: 'segment', score: 0.4 });
    expect(commands.filter((c) => c.startsWith('EVAL'))).toEqual(['EVALSHA_RO', 'EVALSHA_RO']);
    expect(commands.filter((c) => c === 'GET' || c === 'MGET' || c === 'HGET')).toEqual([]);
    expect((await s.getFallbacks()).global?.runId).toBe('run-1');
  });

  it('reads keys of the previous layout during a migration and prefers the bucket record', async () => {
    const old = new ScoreWriter(redis, { stamp: stamp('2026-11-19', 'run-old'), ttlSeconds: DAY });
    for (const id of ['m1', 'm2']) old.add(id, '0.11');
    await old.finish();
    await writeRunSummary(redis, stamp('2026-11-19', 'run-old'), {
      global: { count: 2, sum: 0.22 },
      segments: {},
      rows: 2,
      loadedAt: '2026-11-20T03:00:00.000Z',
    });
    const s = new RedisScoreStore(redis, { layout: LAYOUT });
    await load(s, stamp('2026-11-20', 'run-new'), rowsOf(['m2'], '0.22'));
    expect((await s.getScores(['m1', 'm2'])).map((x) => x?.score)).toEqual([0.11, 0.22]);
    // no fallback copies yet: the read falls back to the keys the old finalizer wrote
    expect(await readScore(s, 'unknown')).toMatchObject({ fallback: 'global', score: 0.11 });
    const noLegacy = new RedisScoreStore(redis, { layout: LAYOUT, legacyKeys: false });
    expect((await noLegacy.getScores(['m1', 'm2'])).map((x) => x?.score)).toEqual([undefined, 0.22]);
  });
});

describeWithServers('bucket writer: encoded calls (redis-server)', { redis: true }, (env) => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(env.redis.url);
  });
  beforeEach(async () => {
    await redis.flushall();
  });
  afterAll(() => redis.disconnect());
  const layout = { kind: 'buckets', groups: 3, bucketsPerGroup: 8 } as const;
  const rows = ids('r', 3_000).map((id, i) => [id, `0.${String(i).padStart(4, '0')}`] as [string, string]);

  async function dump() {
    const keys = (await redis.keys('s{*')).sort();
    return Promise.all(keys.map(async (k) => [k, await redis.hgetall(k)] as const));
  }

  it('writes the same buckets as the same calls through call() (a client that is not ioredis)', async () => {
    const s = stamp('2026-11-20', 'run-ä'); // a non-ASCII run id travels as UTF-8 in both paths
    const opts = { stamp: s, ttlSeconds: DAY, batchSize: 97, bufferRows: 1_000, pruneEvery: 3 };
    const encoded = new RedisScoreStore(redis, { layout }).scoreWriter(opts);
    for (const [id, score] of rows) await encoded.add(id, score);
    expect(await encoded.finish()).toEqual({ applied: 3_000, keptNewer: 0 });
    const viaEncoded = await dump();
    await redis.flushall();
    const plain = { call: redis.call.bind(redis), options: redis.options } as unknown as Redis;
    const args = new RedisScoreStore(plain, { layout }).scoreWriter(opts);
    for (const [id, score] of rows) await args.add(id, score);
    expect(await args.finish()).toEqual({ applied: 3_000, keptNewer: 0 });
    expect(await dump()).toEqual(viaEncoded);
    expect(viaEncoded.length).toBe(24);
  });

  it('one buffer (rows wait while it is sent) and a small first arena write the same buckets as two buffers', async () => {
    const s = stamp('2026-11-20', 'run-1');
    const two = new RedisScoreStore(redis, { layout }).scoreWriter({ stamp: s, ttlSeconds: DAY, bufferRows: 700 });
    for (const [id, score] of rows) await two.add(id, score);
    expect(await two.finish()).toEqual({ applied: 3_000, keptNewer: 0 });
    const viaTwo = await dump();
    await redis.flushall();
    const opts = { stamp: s, ttlSeconds: DAY, bufferRows: 700, bufferBytes: 64, buffers: 1 } as const;
    const one = new RedisScoreStore(redis, { layout }).scoreWriter(opts);
    for (const [id, score] of rows) await one.add(id, score);
    expect(await one.finish()).toEqual({ applied: 3_000, keptNewer: 0 });
    expect(await dump()).toEqual(viaTwo);
    expect(() => new RedisScoreStore(redis, { layout }).scoreWriter({ ...opts, buffers: 3 as 1 })).toThrow(
      'buffers must be an integer 1..2, got 3',
    );
  });

  it('loads through EVAL when the server lost its scripts (NOSCRIPT), and keeps older rows out', async () => {
    const store = new RedisScoreStore(redis, { layout });
    await load(store, stamp('2026-11-20', 'run-1'), rows.slice(0, 50));
    await redis.script('FLUSH');
    expect(await load(store, stamp('2026-11-21', 'run-2'), rows)).toEqual({ applied: 3_000, keptNewer: 0 });
    await redis.script('FLUSH');
    expect(await load(store, stamp('2026-11-19', 'run-0'), rows.slice(0, 500))).toEqual({
      applied: 0,
      keptNewer: 500,
    });
    const got = await store.getScores(rows.map(([id]) => id));
    expect(got.map((g) => g?.score)).toEqual(rows.map(([, score]) => Number(score)));
  });
});
