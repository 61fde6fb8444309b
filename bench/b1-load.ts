/**
 * B1 load: a transform result file loaded into redis-server by the real LoadScores core vs `redis-cli --pipe`.
 *
 * Per size: generate `<entity_id>,<segment>,<score>` rows (file), put them into moto S3, and generate the RESP stream of
 * `SET score:<id> <same value> EX <ttl>` (all untimed). Then, with FLUSHALL before each:
 * - `redis-cli --pipe` < RESP file (the baseline: plain SETs, no checks);
 * - loader, local file → Redis (`loadScoresFromStream`): Redis cost without S3;
 * - loader, moto S3 → Redis (`loadScores`, exactly what the Lambda runs): includes the download from moto_server.
 * Each loader run is its own Node process; its peak RSS (VmHWM) is the loader's memory.
 */
import { closeSync, createReadStream, existsSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import Redis from 'ioredis';
import type { Stamp } from '../lambdas/domain/score-store/format';
import { writeRespFromRows, writeResultRows } from './data';
import {
  type BenchEnv,
  type BenchResult,
  fixed,
  int,
  mb,
  median,
  ratio,
  runChild,
  type Table,
  tsxCommand,
} from './lib';

const STAMP: Stamp = { asOf: '2026-11-26', runId: 'batch-20261126T020000Z-bench', modelVersion: '1' };
const TTL_SECONDS = 7 * 24 * 3600;

const PATHS = ['redis-cli --pipe', 'loader: file → Redis', 'loader: moto S3 → Redis'] as const;

interface Measurement {
  size: number;
  rep: number;
  path: (typeof PATHS)[number];
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  peakRssBytes?: number;
  rssBeforeBytes?: number;
  keysAfter: number;
  /** CPU seconds (user + system) of the client process: redis-cli or the loader (during the load). */
  clientCpuSeconds: number;
  /** CPU seconds (user + system) redis-server used during the run (INFO cpu delta). */
  serverCpuSeconds: number;
}

/** redis-server's total CPU seconds so far (user + sys, all threads). */
export async function serverCpu(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const num = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return num('used_cpu_user') + num('used_cpu_sys');
}

async function flush(admin: Redis): Promise<void> {
  await admin.flushall();
}

export async function runRedisCli(
  env: BenchEnv,
  respFile: string,
  rows: number,
): Promise<{ seconds: number; cpuSeconds: number }> {
  const fd = openSync(respFile, 'r');
  try {
    // /usr/bin/time reports redis-cli's own CPU time (user, system) on stderr.
    const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
    const [cmd, args] = timeBin
      ? [timeBin, ['-f', 'bench-cpu %U %S', 'redis-cli', '-u', env.redisUrl, '--pipe']]
      : ['redis-cli', ['-u', env.redisUrl, '--pipe']];
    const r = await runChild(cmd, args, {
      cwd: env.root,
      stdinFd: fd,
      timeoutMs: 60_000 + rows / 5,
    });
    if (r.code !== 0) throw new Error(`redis-cli --pipe failed (${r.code ?? r.signal}):\n${r.tail}`);
    const m = /errors:\s*(\d+),\s*replies:\s*(\d+)/.exec(r.stdout);
    if (m?.[1] !== '0' || Number(m?.[2]) !== rows) {
      throw new Error(`redis-cli --pipe: expected 0 errors and ${rows} replies, got: ${r.stdout.trim()}`);
    }
    const cpu = /bench-cpu ([\d.]+) ([\d.]+)/.exec(r.tail);
    return { seconds: r.wallMs / 1000, cpuSeconds: cpu ? Number(cpu[1]) + Number(cpu[2]) : Number.NaN };
  } finally {
    closeSync(fd);
  }
}

interface ChildOut {
  rowsRead: number;
  rowsApplied: number;
  seconds: number;
  cpuSeconds: number;
  rssBeforeBytes: number;
  peakRssBytes: number;
}

async function runLoader(env: BenchEnv, input: Record<string, unknown>, rows: number): Promise<ChildOut> {
  const [cmd, args] = tsxCommand(join(env.root, 'bench/load-child.ts'));
  const r = await runChild(cmd, [...args, JSON.stringify(input)], {
    cwd: env.root,
    env: {
      ...process.env,
      REDIS_URL: env.redisUrl,
      AWS_ENDPOINT_URL: env.motoEndpoint,
      AWS_REGION: process.env.AWS_REGION || 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      POWERTOOLS_DEV: 'false',
    },
    timeoutMs: 120_000 + rows / 5,
  });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !last.startsWith('{')) {
    throw new Error(`loader child failed (${r.timedOut ? 'timed out' : (r.code ?? r.signal)}):\n${r.tail}`);
  }
  const out = JSON.parse(last) as ChildOut;
  if (out.rowsRead !== rows || out.rowsApplied !== rows) {
    throw new Error(`loader read ${out.rowsRead} and applied ${out.rowsApplied} rows, expected ${rows}`);
  }
  return out;
}

export async function runB1(env: BenchEnv, s3: S3Client): Promise<BenchResult> {
  const sizes = env.quick ? [100_000, 300_000] : [env.rows, env.rows * 5];
  const repeats = env.quick ? 1 : 3;
  const bucket = `bench-results-${process.pid}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const admin = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
  const measurements: Measurement[] = [];
  try {
    for (const size of sizes) {
      const rowsFile = join(env.workDir, `rows-${size}.csv`);
      const respFile = join(env.workDir, `set-${size}.resp`);
      const key = `results/model_version=1/run=${STAMP.runId}/part-00001.out`;
      env.log(`B1: generating ${int(size)} rows (file, moto S3, RESP; untimed)`);
      const bytes = await writeResultRows(rowsFile, size);
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(rowsFile), ContentLength: bytes }),
      );
      const commands = await writeRespFromRows(rowsFile, respFile, STAMP, TTL_SECONDS);
      if (commands !== size) throw new Error(`RESP file has ${commands} commands, expected ${size}`);

      const keys = async () => Number(await admin.dbsize());
      const common = { rows: size, ...STAMP, ttlSeconds: TTL_SECONDS };
      for (let rep = 1; rep <= repeats; rep++) {
        await flush(admin);
        env.log(`B1: ${int(size)} rows, run ${rep}/${repeats}: redis-cli --pipe`);
        let cpu0 = await serverCpu(admin);
        const cli = await runRedisCli(env, respFile, size);
        measurements.push({
          size,
          rep,
          path: 'redis-cli --pipe',
          rows: size,
          seconds: cli.seconds,
          rowsPerSecond: size / cli.seconds,
          clientCpuSeconds: cli.cpuSeconds,
          serverCpuSeconds: (await serverCpu(admin)) - cpu0,
          keysAfter: await keys(),
        });

        await flush(admin);
        env.log(`B1: ${int(size)} rows, run ${rep}/${repeats}: loader, local file → Redis`);
        cpu0 = await serverCpu(admin);
        const f = await runLoader(env, { source: 'file', file: rowsFile, ...common }, size);
        measurements.push({
          size,
          rep,
          path: 'loader: file → Redis',
          rows: f.rowsRead,
          seconds: f.seconds,
          rowsPerSecond: f.rowsRead / f.seconds,
          peakRssBytes: f.peakRssBytes,
          rssBeforeBytes: f.rssBeforeBytes,
          clientCpuSeconds: f.cpuSeconds,
          serverCpuSeconds: (await serverCpu(admin)) - cpu0,
          keysAfter: await keys(),
        });

        await flush(admin);
        env.log(`B1: ${int(size)} rows, run ${rep}/${repeats}: loader, moto S3 → Redis`);
        cpu0 = await serverCpu(admin);
        const s = await runLoader(env, { source: 's3', bucket, key, ...common }, size);
        measurements.push({
          size,
          rep,
          path: 'loader: moto S3 → Redis',
          rows: s.rowsRead,
          seconds: s.seconds,
          rowsPerSecond: s.rowsRead / s.seconds,
          peakRssBytes: s.peakRssBytes,
          rssBeforeBytes: s.rssBeforeBytes,
          clientCpuSeconds: s.cpuSeconds,
          serverCpuSeconds: (await serverCpu(admin)) - cpu0,
          keysAfter: await keys(),
        });
      }
      await flush(admin);
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      rmSync(rowsFile, { force: true });
      rmSync(respFile, { force: true });
    }
  } finally {
    admin.disconnect();
  }

  const summary = sizes.flatMap((size) =>
    PATHS.map((path) => {
      const ms = measurements.filter((m) => m.size === size && m.path === path);
      const secs = ms.map((m) => m.seconds);
      const peaks = ms.map((m) => m.peakRssBytes).filter((x): x is number => x !== undefined);
      const before = ms.map((m) => m.rssBeforeBytes).filter((x): x is number => x !== undefined);
      return {
        size,
        path,
        runs: ms.length,
        medianSeconds: median(secs),
        minSeconds: Math.min(...secs),
        maxSeconds: Math.max(...secs),
        rowsPerSecond: size / median(secs),
        peakRssBytes: peaks.length > 0 ? Math.max(...peaks) : undefined,
        rssBeforeBytes: before.length > 0 ? median(before) : undefined,
        keysAfter: Math.min(...ms.map((m) => m.keysAfter)),
        clientCpuUsPerRow: (median(ms.map((m) => m.clientCpuSeconds)) / size) * 1e6,
        serverCpuUsPerRow: (median(ms.map((m) => m.serverCpuSeconds)) / size) * 1e6,
      };
    }),
  );
  const table: Table = {
    title: `B1 load: result rows → redis-server (FLUSHALL before each run; median of ${repeats} run${repeats > 1 ? 's' : ''})`,
    columns: [
      'rows',
      'path',
      'median s',
      'min–max s',
      'rows/s',
      'vs redis-cli',
      'peak RSS MB',
      'RSS before load MB',
      'keys after',
    ],
    rows: summary.map((m) => {
      const base = summary.find((x) => x.size === m.size && x.path === 'redis-cli --pipe');
      return [
        int(m.size),
        m.path,
        fixed(m.medianSeconds, 2),
        `${fixed(m.minSeconds, 2)}–${fixed(m.maxSeconds, 2)}`,
        int(m.rowsPerSecond),
        base ? ratio(m.rowsPerSecond / base.rowsPerSecond) : '–',
        m.peakRssBytes === undefined ? '–' : mb(m.peakRssBytes),
        m.rssBeforeBytes === undefined ? '–' : mb(m.rssBeforeBytes),
        int(m.keysAfter),
      ];
    }),
  };
  const cpu: Table = {
    title: 'B1 CPU per row (medians; less sensitive to a busy machine than wall time)',
    columns: [
      'rows',
      'path',
      'client CPU µs/row',
      'redis-server CPU µs/row',
      'total CPU µs/row',
      'est. rows/s on 2 free cores',
    ],
    rows: summary.map((m) => [
      int(m.size),
      m.path,
      fixed(m.clientCpuUsPerRow, 2),
      fixed(m.serverCpuUsPerRow, 2),
      fixed(m.clientCpuUsPerRow + m.serverCpuUsPerRow, 2),
      int(1e6 / Math.max(m.clientCpuUsPerRow, m.serverCpuUsPerRow)),
    ]),
  };
  const [small, large] = sizes;
  const rss = (size: number | undefined, path: Measurement['path']) =>
    summary.find((m) => m.size === size && m.path === path)?.peakRssBytes ?? Number.NaN;
  const flat: Table = {
    title: `B1 memory: loader peak RSS at ${int(small ?? 0)} vs ${int(large ?? 0)} rows`,
    columns: ['path', `peak RSS MB @ ${int(small ?? 0)}`, `peak RSS MB @ ${int(large ?? 0)}`, 'growth'],
    rows: (['loader: file → Redis', 'loader: moto S3 → Redis'] as const).map((p) => [
      p,
      mb(rss(small, p)),
      mb(rss(large, p)),
      ratio(rss(large, p) / rss(small, p)),
    ]),
  };
  return {
    id: 'B1',
    title: 'Load',
    tables: [table, cpu, flat],
    notes: [
      'redis-cli --pipe sends plain `SET score:<id> <value> EX <ttl>` with the same value bytes the loader writes; its time is the process wall time (RESP generated beforehand, not timed).',
      "The loader does more per row than SET: it validates each line (id/segment/score patterns, 0..1), aggregates per-segment sums, and writes into the bucket layout of the default `SCORE_LAYOUT` (buckets:1:131072, sized for 5 M entities) through the conditional bucket upsert script, the whole part buffered and sorted by bucket before it is sent (LoadScores sizes the buffer from the part's rows and bytes within half of its 1 024 MB: ~7.6 rows per bucket at 1 M rows, ~38 at 5 M), calls of ≤ 2 000 rows with 8 in flight (the Lambda's defaults). B6 store measures the layout sized for the rows and the 100 M layout.",
      "Loader seconds are measured inside the loader process (from the first read to the last acknowledged batch; process start and module loading excluded). The 'moto S3' row includes streaming the object from moto_server (Python) over loopback.",
      'peak RSS = VmHWM of the loader process (node + tsx + SDK + ioredis included); "RSS before load" is its RSS after imports and connect, so the growth during the load is the difference.',
      'redis-server, moto_server and the loader share this machine’s cores.',
      'CPU: client = redis-cli (/usr/bin/time) or the loader process (process.cpuUsage over the load; in the S3 row it includes the SDK’s HTTP download); redis-server = INFO cpu delta (used_cpu_user + used_cpu_sys). "est. rows/s on 2 free cores" = 1e6 / max(client, server) µs: an estimate for client and server each on its own idle core, not a measurement. moto_server’s CPU (S3 row) is not counted.',
    ],
    data: { sizes, repeats, summary, measurements },
  };
}
