/**
 * The bucket layout against a local 3-shard Redis Cluster (test/support/redis-cluster.ts): the loader and the reader
 * through the clients the Lambdas build (`redisFromEnv` with CACHE_CLUSTER=true), per-slot script calls by hash tag,
 * the fallback copies, and a slot moved to another shard in between (MOVED, followed by the cluster client).
 */
import { Readable } from 'node:stream';
import type { Cluster } from 'ioredis';
import { groupTags, keySlot, layoutFor, locate } from '../../../lambdas/domain/score-store/layout';
import { RedisScoreStore } from '../../../lambdas/domain/score-store/redis';
import { loadScoresFromStream } from '../../../lambdas/functions/load-scores/core';
import { readScore } from '../../../lambdas/functions/read-scores/core';
import { ensureConnected, type RedisClient, redisFromEnv } from '../../../lambdas/platform/redis';
import { findBinary } from '../../../local/services/servers';
import { type LocalCluster, startRedisCluster } from '../../support/redis-cluster';

const LAYOUT = layoutFor(3, 6_000);
const stamp = (asOf: string, runId: string) => ({ asOf, runId, modelVersion: '5' });
const ids = Array.from({ length: 3_000 }, (_, i) => `cust-${i}`);
const csv = (list: readonly string[], score: string) =>
  list.map((id, i) => `${id},${i % 2 ? 'basic' : 'plus'},${score}\n`).join('');

async function retryTimeouts<T>(read: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await read();
    } catch (err) {
      if (i >= attempts || !(err instanceof Error && /Command timed out/.test(err.message))) throw err;
    }
  }
}

const hasRedis = findBinary('redis-server') !== undefined;
(hasRedis || process.env.CI ? describe : describe.skip)('bucket score store on a 3-shard Redis Cluster', () => {
  let cluster: LocalCluster;
  let loader: RedisClient;
  let reader: RedisClient;
  const store = (client: RedisClient) => new RedisScoreStore(client, { layout: LAYOUT, legacyKeys: false });
  const load = (list: readonly string[], s: ReturnType<typeof stamp>, score: string) =>
    loadScoresFromStream(store(loader), Readable.from([csv(list, score)]), {
      stamp: s,
      ttlSeconds: 86_400,
      source: 'test.csv',
      batchSize: 500,
    });

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    const env = { REDIS_URL: cluster.url, CACHE_CLUSTER: 'true' };
    loader = await redisFromEnv({ role: 'loader', env });
    reader = await redisFromEnv({ role: 'reader', env });
    await ensureConnected(loader, 10_000);
    await ensureConnected(reader, 10_000);
  }, 60_000);
  afterAll(async () => {
    loader?.disconnect();
    reader?.disconnect();
    await cluster?.stop();
  });

  it('hash tags keep each group in one slot, computed like the server, and spread the groups over the shards', async () => {
    const admin = cluster.admin(cluster.nodes[0]!.port);
    for (const tag of groupTags(LAYOUT.groups).slice(0, 8)) {
      expect(await admin.call('CLUSTER', 'KEYSLOT', `s{${tag}}1f`)).toBe(keySlot(tag));
    }
    const perShard = cluster.nodes.map(
      (n) => groupTags(LAYOUT.groups).filter((t) => keySlot(t) >= n.slots[0] && keySlot(t) <= n.slots[1]).length,
    );
    expect(perShard).toEqual([16, 16, 16]);
  });

  it('loads, reads back with fallbacks, keeps the conditional semantics and follows a moved slot', async () => {
    expect(LAYOUT.groups).toBe(48);
    const first = await load(ids, stamp('2026-11-20', 'run-1'), '0.25');
    expect(first).toMatchObject({ rowsRead: 3_000, rowsApplied: 3_000, rowsKeptNewer: 0 });
    await store(loader).writeRunSummary(stamp('2026-11-20', 'run-1'), {
      global: { count: 3_000, sum: 750 },
      segments: { basic: { count: 1_500, sum: 600 } },
      rows: 3_000,
      loadedAt: '2026-11-21T03:00:00.000Z',
    });
    // every shard holds a third of the groups' buckets and meta hashes
    for (const n of cluster.nodes) expect(await cluster.admin(n.port).dbsize()).toBeGreaterThan(40);

    const r = store(reader);
    // In reads of 100 ids, as the read API asks. The reader keeps production's 1 s command timeout, which a read that
    // first connects to a shard can exceed when the shared machine stalls; such a read is retried (twice at most), any
    // other error fails the test.
    const got = [];
    for (let i = 0; i < ids.length; i += 100)
      got.push(...(await retryTimeouts(() => r.getScores(ids.slice(i, i + 100)))));
    expect(got).toHaveLength(ids.length);
    expect(got.every((s) => s?.score === 0.25 && s.runId === 'run-1')).toBe(true);
    const hit = await r.lookup('cust-7', 'basic');
    expect(hit.score?.score).toBe(0.25);
    expect(hit.fallbacks.segment?.score).toBe(0.4);
    expect(hit.fallbacks.global?.score).toBe(0.25);
    expect(await readScore(r, 'nobody', 'basic')).toMatchObject({
      source: 'fallback',
      fallback: 'segment',
      score: 0.4,
    });
    expect(await readScore(r, 'nobody')).toMatchObject({ source: 'fallback', fallback: 'global', score: 0.25 });

    // a late older partition is kept out, across all shards
    expect(await load(ids, stamp('2026-11-19', 'run-0'), '0.9')).toMatchObject({
      rowsApplied: 0,
      rowsKeptNewer: 3_000,
    });

    // move the slot of group 0 (its buckets and meta hash) to another shard, as a resharding would
    const tag = groupTags(LAYOUT.groups)[0]!;
    const slot = keySlot(tag);
    const from = cluster.nodes.find((n) => slot >= n.slots[0] && slot <= n.slots[1])!;
    const to = cluster.nodes.find((n) => n !== from)!;
    const src = cluster.admin(from.port);
    const dst = cluster.admin(to.port);
    await dst.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id);
    await src.call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id);
    const keys = (await src.call('CLUSTER', 'GETKEYSINSLOT', String(slot), '100000')) as string[];
    expect(keys.length).toBe(LAYOUT.bucketsPerGroup + 1); // the buckets and the meta hash
    await src.call('MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', ...keys);
    for (const n of cluster.nodes) await cluster.admin(n.port).call('CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);

    const inGroup0 = ids.filter((id) => locate(LAYOUT, id).key.startsWith(`s{${tag}}`));
    expect(inGroup0.length).toBeGreaterThan(20);
    // the clients still map the slot to the old shard: they get MOVED, refresh and retry there
    expect((await store(reader).getScores(inGroup0)).every((s) => s?.score === 0.25)).toBe(true);
    expect(await load(inGroup0, stamp('2026-11-21', 'run-2'), '0.75')).toMatchObject({
      rowsApplied: inGroup0.length,
      rowsKeptNewer: 0,
    });
    expect((await store(reader).getScores(inGroup0)).every((s) => s?.score === 0.75 && s.runId === 'run-2')).toBe(true);
    expect(await dst.exists(`m{${tag}}`)).toBe(1);
    expect((reader as Cluster).isCluster).toBe(true);
  }, 60_000);
});
