/**
 * B6 store: the score store's bucket layout against a plain `SET score:<id> <today's value> EX <ttl>` of the same rows
 * (`redis-cli --pipe`, the B1 baseline), in one run.
 *
 * Per size (1 M and 5 M rows; `--quick` 100 k / 300 k): bytes per entity (`INFO memory` used_memory after − before,
 * FLUSHALL first) of the old layout (the RESP file) and the bucket layout (the real LoadScores core, sized with
 * `layoutFor(1, rows)`), then the loader in all three store states — empty, steady state (every key holds an older
 * score: the daily case) and a late older partition (every key holds a newer score) — with rows/s against
 * `redis-cli --pipe`, server CPU per row (INFO cpu) and the p99 of sequential reads (`lookup`, one script call) from a
 * second client while the steady-state load runs, next to the p99 with the server idle.
 */
import { createReadStream, rmSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import type { Stamp } from '../lambdas/domain/score-store/format';
import { layoutFor } from '../lambdas/domain/score-store/layout';
import { RedisScoreStore } from '../lambdas/domain/score-store/redis';
import { loadScoresFromStream } from '../lambdas/functions/load-scores/core';
import { runRedisCli, serverCpu } from './b1-load';
import { entityId, writeRespFromRows, writeResultRows } from './data';
import { type BenchEnv, type BenchResult, fixed, int, nowMs, percentile, ratio, type Table } from './lib';

const TTL = 7 * 86_400;
const S = (asOf: string, runId: string): Stamp => ({ asOf, runId, modelVersion: '1' });
const OLDER = S('2026-11-25', 'batch-20261125T020000Z-bench');
const CURRENT = S('2026-11-26', 'batch-20261126T020000Z-bench');
const NEWER = S('2026-11-27', 'batch-20261127T020000Z-bench');

async function usedMemory(admin: Redis): Promise<number> {
  const info = await admin.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
}

interface Row {
  size: number;
  path: string;
  seconds: number;
  serverUsPerRow: number;
  bytesPerEntity?: number;
  applied?: number;
  kept?: number;
}

/** Sequential lookups from their own client until `stop()`; their latencies in µs. */
function reader(url: string, n: number) {
  const redis = new Redis(url);
  const store = new RedisScoreStore(redis, { layout: layoutFor(1, n) });
  const samples: number[] = [];
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i++) {
      const t0 = nowMs();
      await store.lookup(entityId((i * 48_271) % n), 'basic');
      samples.push((nowMs() - t0) * 1000);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      redis.disconnect();
      return samples.sort((a, b) => a - b);
    },
  };
}

export async function runB6Store(env: BenchEnv): Promise<BenchResult> {
  const sizes = env.quick ? [100_000, 300_000] : [env.rows, env.rows * 5];
  const admin = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
  const loaderClient = new Redis(env.redisUrl);
  const rows: Row[] = [];
  const reads: { size: number; idleP99: number; loadP99: number; idleP50: number; loadP50: number }[] = [];
  try {
    for (const size of sizes) {
      const file = join(env.workDir, `b6-${size}.csv`);
      const resp = join(env.workDir, `b6-${size}.resp`);
      env.log(`B6 store: generating ${int(size)} rows (untimed)`);
      await writeResultRows(file, size);
      await writeRespFromRows(file, resp, CURRENT, TTL);

      await admin.flushall();
      let m0 = await usedMemory(admin);
      let c0 = await serverCpu(admin);
      env.log(`B6 store: ${int(size)} rows: redis-cli --pipe (SET score:<id> … EX)`);
      const cli = await runRedisCli(env, resp, size);
      rows.push({
        size,
        path: 'redis-cli --pipe: SET score:<id> EX (old layout)',
        seconds: cli.seconds,
        serverUsPerRow: (((await serverCpu(admin)) - c0) / size) * 1e6,
        bytesPerEntity: ((await usedMemory(admin)) - m0) / size,
      });

      await admin.flushall();
      m0 = await usedMemory(admin);
      const store = new RedisScoreStore(loaderClient, { layout: layoutFor(1, size) });
      const load = async (path: string, stamp: Stamp, measureMemory: boolean) => {
        env.log(`B6 store: ${int(size)} rows: loader, ${path}`);
        c0 = await serverCpu(admin);
        const t0 = nowMs();
        const out = await loadScoresFromStream(store, createReadStream(file), {
          stamp,
          ttlSeconds: TTL,
          source: file,
          expectedRows: size,
        });
        const seconds = (nowMs() - t0) / 1000;
        rows.push({
          size,
          path: `loader (buckets): ${path}`,
          seconds,
          serverUsPerRow: (((await serverCpu(admin)) - c0) / size) * 1e6,
          ...(measureMemory ? { bytesPerEntity: ((await usedMemory(admin)) - m0) / size } : {}),
          applied: out.rowsApplied,
          kept: out.rowsKeptNewer,
        });
        return out;
      };
      const empty = await load('empty store', CURRENT, true);
      const idle = reader(env.redisUrl, size);
      await new Promise((r) => setTimeout(r, 1500));
      const idleSamples = await idle.stop();
      const during = reader(env.redisUrl, size);
      const steady = await load('steady state (keys hold older scores)', NEWER, false);
      const loadSamples = await during.stop();
      const late = await load('late older partition (keys hold newer scores)', OLDER, false);
      if (empty.rowsApplied !== size || steady.rowsApplied !== size || late.rowsKeptNewer !== size) {
        throw new Error(
          `B6 store: unexpected counts (empty ${empty.rowsApplied}, steady ${steady.rowsApplied}, late kept ${late.rowsKeptNewer} of ${size})`,
        );
      }
      reads.push({
        size,
        idleP50: percentile(idleSamples, 50),
        idleP99: percentile(idleSamples, 99),
        loadP50: percentile(loadSamples, 50),
        loadP99: percentile(loadSamples, 99),
      });
      await admin.flushall();
      rmSync(file, { force: true });
      rmSync(resp, { force: true });
    }
  } finally {
    admin.disconnect();
    loaderClient.disconnect();
  }
  const cliSeconds = (size: number) => rows.find((r) => r.size === size && r.path.startsWith('redis-cli'))!.seconds;
  const table: Table = {
    title: 'B6 store: bytes per entity and loader throughput by store state (bucket layout vs plain SET … EX)',
    columns: ['rows', 'path', 's', 'rows/s', 'vs redis-cli', 'server µs/row', 'B/entity', 'applied', 'kept newer'],
    rows: rows.map((r) => [
      int(r.size),
      r.path,
      fixed(r.seconds, 2),
      int(r.size / r.seconds),
      ratio(cliSeconds(r.size) / r.seconds),
      fixed(r.serverUsPerRow, 2),
      r.bytesPerEntity === undefined ? '–' : fixed(r.bytesPerEntity, 1),
      r.applied === undefined ? '–' : int(r.applied),
      r.kept === undefined ? '–' : int(r.kept),
    ]),
  };
  const readTable: Table = {
    title:
      'B6 store: sequential reads (lookup: score + both fallbacks, one EVALSHA_RO) idle vs during the steady-state load',
    columns: ['rows', 'idle p50 µs', 'idle p99 µs', 'during load p50 µs', 'during load p99 µs'],
    rows: reads.map((r) => [
      int(r.size),
      fixed(r.idleP50, 1),
      fixed(r.idleP99, 1),
      fixed(r.loadP50, 1),
      fixed(r.loadP99, 1),
    ]),
  };
  return {
    id: 'B6S',
    title: 'Scale: score store',
    tables: [table, readTable],
    notes: [
      "B/entity = INFO memory used_memory after the load minus before (FLUSHALL first), divided by the rows; the old layout is one `score:<id>` string key per entity with today's value (`1|asOf|runId|modelVersion|score`, 57-character run stamp), the bucket layout keeps `<stamp id>|<score>` per entity and the stamp once per run.",
      'Loader = the real LoadScores core (loadScoresFromStream) from a local file, in this process, with the conditional semantics; redis-cli --pipe moves the same rows as unconditional SETs. Server µs/row = INFO cpu (user + sys) delta / rows.',
      'The reader runs in the same Node process as the loader, so its latency during the load includes event-loop delays of the loader (pessimistic); on AWS the reader reads a replica.',
    ],
    data: { sizes, rows, reads },
  };
}
