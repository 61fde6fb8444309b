import type Redis from 'ioredis';
import { decodeBucketRecord } from '../../lambdas/domain/score-store/buckets';
import { locate, parseLayout } from '../../lambdas/domain/score-store/layout';

/**
 * What the score store holds, whatever its layout, in the value format of format.ts: `score:<id>` →
 * `1|asOf|runId|modelVersion|score` for every stored entity (bucket records decoded with their run stamp, live or
 * expired, plus any `score:<id>` string keys), so tests can compare stores across loads without knowing the layout.
 */
export async function storedScores(redis: Redis): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const metas = new Map<string, Record<string, string>>();
  for (const key of await redis.keys('m{*}')) metas.set(key.slice(1), await redis.hgetall(key));
  for (const key of await redis.keys('s{*}*')) {
    const tag = key.slice(1, key.indexOf('}') + 1);
    const meta = metas.get(tag) ?? {};
    for (const [id, v] of Object.entries(await redis.hgetall(key))) {
      if (id === '~') continue;
      const rec = meta[`i${v.slice(0, v.indexOf('|'))}`];
      const s = decodeBucketRecord(v, rec, 0);
      out[`score:${id}`] = s ? `1|${s.asOf}|${s.runId}|${s.modelVersion}|${v.slice(v.indexOf('|') + 1)}` : `?${v}`;
    }
  }
  const legacy = (await redis.keys('score:*')).sort();
  const values = legacy.length > 0 ? await redis.mget(legacy) : [];
  legacy.forEach((k, i) => {
    out[k] ??= values[i] ?? '';
  });
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Everything the store holds: {@link storedScores}, the string records and the fallback copies of the meta hashes. */
export async function storeDump(redis: Redis): Promise<Record<string, string>> {
  const out = await storedScores(redis);
  for (const key of (await redis.keys('*')).sort()) {
    const type = await redis.type(key);
    if (type === 'string' && !key.startsWith('score:')) out[key] = (await redis.get(key)) ?? '';
    if (type === 'hash' && key.startsWith('m{')) {
      for (const [f, v] of Object.entries(await redis.hgetall(key))) if (f.startsWith('f')) out[`${key}.${f}`] = v;
    }
  }
  return out;
}

/** Seconds to live of an entity's record: its bucket's TTL (layout from SCORE_LAYOUT), or its `score:<id>` key's. */
export async function scoreTtl(redis: Redis, entityId: string): Promise<number> {
  const layout = parseLayout(process.env.SCORE_LAYOUT);
  return redis.ttl(layout.kind === 'keys' ? `score:${entityId}` : locate(layout, entityId).key);
}
