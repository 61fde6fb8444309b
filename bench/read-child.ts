/**
 * B6S helper, run as its own Node process (a reader next to the loader, as the read API Lambda is): one
 * `lookup` about every millisecond (score + both fallbacks, one EVALSHA_RO) through the read API's client (`redisFromEnv`, role `reader`)
 * until its stdin closes, then one JSON line with the latency percentiles in µs. Prints `ready` once connected.
 *
 * Usage: node --import tsx bench/read-child.ts '{"rows": N, "layout": "buckets:1:16384"}' (REDIS_URL in the
 * environment); the ids read are those bench/data.ts generates for N rows.
 */
import { parseLayout } from '../lambdas/domain/score-store/layout';
import { RedisScoreStore } from '../lambdas/domain/score-store/redis';
import { ensureConnected, redisFromEnv } from '../lambdas/platform/redis';
import { entityId } from './data';
import { percentile } from './lib';

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as { rows: number; layout: string };
  const redis = await redisFromEnv({ role: 'reader' });
  await ensureConnected(redis, 10_000);
  const store = new RedisScoreStore(redis, { layout: parseLayout(input.layout), legacyKeys: false });
  let running = true;
  process.stdin.on('end', () => {
    running = false;
  });
  process.stdin.resume();
  const samples: number[] = [];
  process.stdout.write('ready\n');
  for (let i = 0; running; i++) {
    const t0 = process.hrtime.bigint();
    await store.lookup(entityId((i * 48_271) % input.rows), 'basic');
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
    // ~1 000 reads/s, a steady read API load that leaves the CPU to the loader and the server
    await new Promise((r) => setTimeout(r, 1));
  }
  redis.disconnect();
  samples.sort((a, b) => a - b);
  const out = {
    reads: samples.length,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    p999: percentile(samples, 99.9),
    max: samples.at(-1) ?? Number.NaN,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
