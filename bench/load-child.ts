/**
 * B1 helper, run as its own Node process (so its peak RSS is the loader's alone): load one result file into Redis
 * with the real LoadScores core and print one JSON line with the timing and memory figures.
 *
 * Usage: node --import tsx bench/load-child.ts '<json>' where json is
 *   { "source": "s3", "bucket", "key", "rows", "asOf", "runId", "modelVersion", "ttlSeconds" }  → loadScores (S3 → Redis)
 *   { "source": "file", "file", ... }                                                          → loadScoresFromStream
 * Environment: REDIS_URL (the loader's client comes from redisFromEnv, role `loader`, as in the Lambda) and, for S3,
 * AWS_ENDPOINT_URL + credentials (s3Client() as in the Lambda).
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { RedisScoreStore } from '../lambdas/domain/score-store/redis';
import { bufferBudget, loaderBuffer } from '../lambdas/functions/load-scores/buffer';
import { loadScores, loadScoresFromStream } from '../lambdas/functions/load-scores/core';
import { s3Client } from '../lambdas/platform/clients';
import { ensureConnected, redisFromEnv } from '../lambdas/platform/redis';

interface ChildInput {
  readonly source: 's3' | 'file';
  readonly bucket?: string;
  readonly key?: string;
  readonly file?: string;
  readonly rows: number;
  readonly asOf: string;
  readonly runId: string;
  readonly modelVersion: string;
  readonly ttlSeconds: number;
}

/** Peak resident set size of this process in bytes (VmHWM; resourceUsage().maxRSS as a fallback). */
function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m?.[1]) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (!arg) throw new Error('usage: load-child.ts <json>');
  const input = JSON.parse(arg) as ChildInput;
  const redis = await redisFromEnv({ role: 'loader' });
  await ensureConnected(redis);
  const s3 = s3Client();
  const rssBefore = process.memoryUsage().rss;
  const peakBefore = peakRss();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let rowsRead: number;
  let rowsApplied: number;
  if (input.source === 's3') {
    if (!input.bucket || !input.key) throw new Error('s3 source needs bucket and key');
    const out = await loadScores(
      { s3, store: new RedisScoreStore(redis) },
      {
        bucket: input.bucket,
        resultKey: input.key,
        part: 1,
        asOf: input.asOf,
        expectedRows: input.rows,
        runId: input.runId,
        modelVersion: input.modelVersion,
      },
      { ttlSeconds: input.ttlSeconds },
    );
    rowsRead = out.rowsRead;
    rowsApplied = out.rowsApplied;
  } else {
    if (!input.file) throw new Error('file source needs file');
    const out = await loadScoresFromStream(new RedisScoreStore(redis), createReadStream(input.file), {
      stamp: { asOf: input.asOf, runId: input.runId, modelVersion: input.modelVersion },
      ttlSeconds: input.ttlSeconds,
      source: input.file,
      expectedRows: input.rows,
      // Sized as loadScores sizes it from the S3 object's length.
      buffer: loaderBuffer(input.rows, statSync(input.file).size, bufferBudget()),
    });
    rowsRead = out.rowsRead;
    rowsApplied = out.rowsApplied;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const result = {
    rowsRead,
    rowsApplied,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    rssBeforeBytes: rssBefore,
    peakBeforeBytes: peakBefore,
    peakRssBytes: peakRss(),
  };
  await redis.quit();
  s3.destroy();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
  process.exit(1);
});
