/**
 * B6 store: the score store's bucket layout against a plain `SET score:<id> <today's value> EX <ttl>` of the same rows
 * (`redis-cli --pipe`, the B1 baseline), in one run.
 *
 * Per size (1 M rows; 5 M more with `--store-5m`; `--quick` 100 k / 300 k), 3 repetitions (1 with `--quick`), each
 * back to back: `redis-cli --pipe` of the RESP file, then the real LoadScores core (bucket layout sized with
 * `layoutFor(1, rows)`) in all three store states — empty, steady state (every key holds an older score: the daily
 * case) and a late older partition (every key holds a newer score); then the layout for 100 M entities, loaded with
 * random rows and with one part of a bucket-range slice (prepare-plan.ts). Reported: rows/s and the ratio to the same
 * repetition's redis-cli (median, min–max), server CPU per row (INFO cpu), client CPU per row, bytes per entity
 * (`INFO memory` used_memory after − before, FLUSHALL first) of both layouts, and the latency of reads from their own
 * process (bench/read-child.ts, ~1 000 lookups/s) with the server idle, during redis-cli and during each load.
 */
import { spawn } from 'node:child_process';
import { createReadStream, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { bucketRangeSlice } from '../contracts/score-layout';
import type { Stamp } from '../lambdas/domain/score-store/format';
import { formatLayout, layoutFor } from '../lambdas/domain/score-store/layout';
import { RedisScoreStore } from '../lambdas/domain/score-store/redis';
import { bufferBudget, loaderBuffer } from '../lambdas/functions/load-scores/buffer';
import { loadScoresFromStream } from '../lambdas/functions/load-scores/core';
import { runRedisCli, serverCpu } from './b1-load';
import { entityId, writeRespFromRows, writeResultRows } from './data';
import { type BenchEnv, type BenchResult, fixed, int, median, nowMs, ratio, type Table, tsxCommand } from './lib';

const TTL = 7 * 86_400;
const S = (asOf: string, runId: string): Stamp => ({ asOf, runId, modelVersion: '1' });
const OLDER = S('2026-11-25', 'batch-20261125T020000Z-bench');
const CURRENT = S('2026-11-26', 'batch-20261126T020000Z-bench');
const NEWER = S('2026-11-27', 'batch-20261127T020000Z-bench');

async function usedMemory(admin: Redis): Promise<number> {
  const info = await admin.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
}

/** One load (or redis-cli run) of one repetition. */
interface Run {
  size: number;
  rep: number;
  path: string;
  seconds: number;
  serverUsPerRow: number;
  clientUsPerRow: number;
  bytesPerEntity?: number;
  applied?: number;
  kept?: number;
}

interface ReadStats {
  reads: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** Sequential lookups from their own process (bench/read-child.ts, the read API's client) until `stop()`. */
async function startReader(env: BenchEnv, rows: number, layout: string) {
  const [cmd, args] = tsxCommand(join(env.root, 'bench', 'read-child.ts'));
  const child = spawn(cmd, [...args, JSON.stringify({ rows, layout })], {
    cwd: env.root,
    env: { ...process.env, REDIS_URL: env.redisUrl, CACHE_CLUSTER: 'false' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  const started = Date.now();
  while (!out.includes('ready\n')) {
    if (child.exitCode !== null || Date.now() - started > 60_000) {
      child.kill();
      throw new Error(`B6 store: the reader did not start: ${err.slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    stop: async (): Promise<ReadStats> => {
      child.stdin.end();
      const code = await closed;
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) throw new Error(`B6 store: the reader failed (${code}): ${err}`);
      return JSON.parse(last) as ReadStats;
    },
  };
}

const STATES = [
  { name: 'empty store', stamp: CURRENT },
  { name: 'steady state (keys hold older scores)', stamp: NEWER },
  { name: 'late older partition (keys hold newer scores)', stamp: OLDER },
] as const;
const CLI_PATH = 'redis-cli --pipe: SET score:<id> EX (old layout)';

/** One repetition at one size: redis-cli, then the loader in the three states, reads during each. */
async function repetition(env: BenchEnv, admin: Redis, loader: Redis, size: number, rep: number) {
  const file = join(env.workDir, `b6-${size}.csv`);
  const resp = join(env.workDir, `b6-${size}.resp`);
  const runs: Run[] = [];
  const reads: { size: number; rep: number; state: string; stats: ReadStats }[] = [];
  const layout = layoutFor(1, size);
  // The buffer LoadScores sizes from the part's rows and bytes (the whole part, within half of 1 024 MB).
  const buffer = loaderBuffer(size, statSync(file).size, bufferBudget());
  await admin.flushall();
  let m0 = await usedMemory(admin);
  let c0 = await serverCpu(admin);
  env.log(`B6 store: ${int(size)} rows, repetition ${rep}: redis-cli --pipe (SET score:<id> … EX)`);
  const cliReader = await startReader(env, size, formatLayout(layout));
  const cli = await runRedisCli(env, resp, size);
  reads.push({ size, rep, state: 'during redis-cli --pipe (SET … EX)', stats: await cliReader.stop() });
  runs.push({
    size,
    rep,
    path: CLI_PATH,
    seconds: cli.seconds,
    serverUsPerRow: (((await serverCpu(admin)) - c0) / size) * 1e6,
    clientUsPerRow: (cli.cpuSeconds / size) * 1e6,
    bytesPerEntity: ((await usedMemory(admin)) - m0) / size,
  });
  await admin.flushall();
  m0 = await usedMemory(admin);
  const store = new RedisScoreStore(loader, { layout });
  const idle = await startReader(env, size, formatLayout(layout));
  await new Promise((r) => setTimeout(r, 2_000));
  reads.push({ size, rep, state: 'idle (empty store)', stats: await idle.stop() });
  for (const [i, state] of STATES.entries()) {
    env.log(`B6 store: ${int(size)} rows, repetition ${rep}: loader, ${state.name}`);
    const reader = await startReader(env, size, formatLayout(layout));
    c0 = await serverCpu(admin);
    const u0 = process.cpuUsage();
    const t0 = nowMs();
    const out = await loadScoresFromStream(store, createReadStream(file), {
      stamp: state.stamp,
      ttlSeconds: TTL,
      source: file,
      expectedRows: size,
      buffer,
    });
    const seconds = (nowMs() - t0) / 1000;
    const u = process.cpuUsage(u0);
    const serverUsPerRow = (((await serverCpu(admin)) - c0) / size) * 1e6;
    reads.push({ size, rep, state: `during the load: ${state.name}`, stats: await reader.stop() });
    const expected = i === 2 ? out.rowsKeptNewer : out.rowsApplied;
    if (expected !== size) {
      throw new Error(`B6 store: ${state.name}: ${out.rowsApplied} applied, ${out.rowsKeptNewer} kept of ${size}`);
    }
    runs.push({
      size,
      rep,
      path: `loader (buckets): ${state.name}`,
      seconds,
      serverUsPerRow,
      clientUsPerRow: (u.user + u.system) / size,
      ...(i === 0 ? { bytesPerEntity: ((await usedMemory(admin)) - m0) / size } : {}),
      applied: out.rowsApplied,
      kept: out.rowsKeptNewer,
    });
  }
  // The same rows against a layout sized for 100 M entities (2^21 buckets): < 1 row per bucket per call, as when a
  // big store is loaded in parts much smaller than it.
  await admin.flushall();
  const sparse = new RedisScoreStore(loader, { layout: SPARSE_LAYOUT });
  for (const state of STATES.slice(0, 2)) {
    env.log(`B6 store: ${int(size)} rows, repetition ${rep}: loader, ${state.name}, layout for 100 M entities`);
    c0 = await serverCpu(admin);
    const u0 = process.cpuUsage();
    const t0 = nowMs();
    const out = await loadScoresFromStream(sparse, createReadStream(file), {
      stamp: state.stamp,
      ttlSeconds: TTL,
      source: file,
      expectedRows: size,
      buffer,
    });
    const u = process.cpuUsage(u0);
    if (out.rowsApplied !== size) throw new Error(`B6 store: sparse ${state.name}: ${out.rowsApplied} of ${size}`);
    runs.push({
      size,
      rep,
      path: `loader (buckets, ${SPARSE}): ${state.name}`,
      seconds: (nowMs() - t0) / 1000,
      serverUsPerRow: (((await serverCpu(admin)) - c0) / size) * 1e6,
      clientUsPerRow: (u.user + u.system) / size,
      applied: out.rowsApplied,
      kept: out.rowsKeptNewer,
    });
  }
  // One part of a bucket-range slice of a 100 M-entity day (prepare-plan.ts): the same number of rows, all in the
  // slice's 1/SLICES of the buckets.
  await admin.flushall();
  const sliceFile = join(env.workDir, `b6-${size}-slice.csv`);
  const sliceBuffer = loaderBuffer(size, statSync(sliceFile).size, bufferBudget());
  for (const state of STATES.slice(0, 2)) {
    env.log(`B6 store: ${int(size)} rows, repetition ${rep}: loader, ${state.name}, ${SLICED}`);
    c0 = await serverCpu(admin);
    const u0 = process.cpuUsage();
    const t0 = nowMs();
    const out = await loadScoresFromStream(sparse, createReadStream(sliceFile), {
      stamp: state.stamp,
      ttlSeconds: TTL,
      source: sliceFile,
      expectedRows: size,
      buffer: sliceBuffer,
    });
    const u = process.cpuUsage(u0);
    if (out.rowsApplied !== size) throw new Error(`B6 store: sliced ${state.name}: ${out.rowsApplied} of ${size}`);
    runs.push({
      size,
      rep,
      path: `loader (buckets, ${SLICED}): ${state.name}`,
      seconds: (nowMs() - t0) / 1000,
      serverUsPerRow: (((await serverCpu(admin)) - c0) / size) * 1e6,
      clientUsPerRow: (u.user + u.system) / size,
      applied: out.rowsApplied,
      kept: out.rowsKeptNewer,
    });
  }
  return { runs, reads };
}

const SPARSE = 'layout for 100 M entities';
const SPARSE_LAYOUT = layoutFor(1, 100_000_000);
/**
 * Slices of a 100 M-entity day: ⌈100 M rows × ~61 bytes (bench/data.ts feature rows) / 512 MiB⌉ (the default
 * `batch.prepareBytesPerTask`) = 12.
 */
const SLICES = 12;
const SLICED = `${SPARSE}, one part of a bucket-range slice (1/${SLICES} of the buckets)`;

/** The first `rows` ids of the sample shape that slice 0 of {@link SLICES} owns in the 100 M layout. */
function sliceIds(rows: number): string[] {
  const ids: string[] = [];
  for (let i = 0; ids.length < rows; i++) {
    const id = entityId(i);
    if (bucketRangeSlice(SPARSE_LAYOUT, id, SLICES) === 0) ids.push(id);
  }
  return ids;
}

const spread = (values: number[], digits = 2) =>
  values.length < 2
    ? ratio(values[0]!)
    : `${ratio(median(values))} (${fixed(Math.min(...values), digits)}–${fixed(Math.max(...values), digits)})`;

export async function runB6Store(env: BenchEnv): Promise<BenchResult> {
  const sizes = env.quick ? [100_000, 300_000] : env.storeLarge ? [env.rows, env.rows * 5] : [env.rows];
  const reps = env.quick ? 1 : 3;
  const admin = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
  const loaderClient = new Redis(env.redisUrl);
  const runs: Run[] = [];
  const reads: { size: number; rep: number; state: string; stats: ReadStats }[] = [];
  const load = [loadAverage()];
  try {
    for (const size of sizes) {
      const file = join(env.workDir, `b6-${size}.csv`);
      const resp = join(env.workDir, `b6-${size}.resp`);
      env.log(`B6 store: generating ${int(size)} rows (untimed)`);
      await writeResultRows(file, size);
      await writeRespFromRows(file, resp, CURRENT, TTL);
      const ids = sliceIds(size);
      await writeResultRows(join(env.workDir, `b6-${size}-slice.csv`), size, 7, (i) => ids[i]!);
      for (let rep = 1; rep <= reps; rep++) {
        const r = await repetition(env, admin, loaderClient, size, rep);
        runs.push(...r.runs);
        reads.push(...r.reads);
        load.push(loadAverage());
      }
      await admin.flushall();
      rmSync(file, { force: true });
      rmSync(resp, { force: true });
      rmSync(join(env.workDir, `b6-${size}-slice.csv`), { force: true });
    }
  } finally {
    admin.disconnect();
    loaderClient.disconnect();
  }
  return report(sizes, reps, runs, reads, load);
}

const loadAverage = () => Number(loadavg()[0]!.toFixed(1));

function report(
  sizes: number[],
  reps: number,
  runs: Run[],
  reads: { size: number; rep: number; state: string; stats: ReadStats }[],
  load: number[],
): BenchResult {
  const rows: string[][] = [];
  for (const size of sizes) {
    const cli = (rep: number) => runs.find((r) => r.size === size && r.rep === rep && r.path === CLI_PATH)!;
    const paths = [
      CLI_PATH,
      ...STATES.map((s) => `loader (buckets): ${s.name}`),
      ...STATES.slice(0, 2).map((s) => `loader (buckets, ${SPARSE}): ${s.name}`),
      ...STATES.slice(0, 2).map((s) => `loader (buckets, ${SLICED}): ${s.name}`),
    ];
    for (const path of paths) {
      const mine = runs.filter((r) => r.size === size && r.path === path);
      const first = mine[0]!;
      rows.push([
        int(size),
        path,
        fixed(median(mine.map((r) => r.seconds)), 2),
        int(size / median(mine.map((r) => r.seconds))),
        spread(mine.map((r) => cli(r.rep).seconds / r.seconds)),
        fixed(median(mine.map((r) => r.serverUsPerRow)), 2),
        fixed(median(mine.map((r) => r.clientUsPerRow)), 2),
        first.bytesPerEntity === undefined ? '–' : fixed(first.bytesPerEntity, 1),
        first.applied === undefined ? '–' : int(first.applied),
        first.kept === undefined ? '–' : int(first.kept),
      ]);
    }
  }
  const readRows: string[][] = [];
  for (const size of sizes) {
    for (const state of [...new Set(reads.filter((r) => r.size === size).map((r) => r.state))]) {
      const mine = reads.filter((r) => r.size === size && r.state === state).map((r) => r.stats);
      readRows.push([
        int(size),
        state,
        int(mine.reduce((a, r) => a + r.reads, 0)),
        fixed(median(mine.map((r) => r.p50)), 1),
        fixed(median(mine.map((r) => r.p99)), 1),
        `${fixed(Math.min(...mine.map((r) => r.p99)), 0)}–${fixed(Math.max(...mine.map((r) => r.p99)), 0)}`,
        fixed(median(mine.map((r) => r.p999)), 1),
      ]);
    }
  }
  const table: Table = {
    title: `B6 store: bytes per entity and loader throughput by store state (bucket layout vs plain SET … EX), median of ${reps}`,
    columns: [
      'rows',
      'path',
      's',
      'rows/s',
      `vs redis-cli${reps > 1 ? ' (min–max)' : ''}`,
      'server µs/row',
      'client µs/row',
      'B/entity',
      'applied',
      'kept newer',
    ],
    rows,
  };
  const readTable: Table = {
    title:
      'B6 store: sequential reads (lookup: score + both fallbacks, one EVALSHA_RO, own process) idle vs during a load',
    columns: ['rows', 'while', 'reads', 'p50 µs', 'p99 µs', 'p99 min–max µs', 'p99.9 µs'],
    rows: readRows,
  };
  return {
    id: 'B6S',
    title: 'Scale: score store',
    tables: [table, readTable],
    notes: [
      "B/entity = INFO memory used_memory after the load minus before (FLUSHALL first), divided by the rows; the old layout is one `score:<id>` string key per entity with today's value (`1|asOf|runId|modelVersion|score`, 57-character run stamp), the bucket layout keeps `<stamp id>|<score>` per entity and the stamp once per run.",
      'Loader = the real LoadScores core (loadScoresFromStream) from a local file, in this process, with the conditional semantics and its defaults (the whole part buffered and sorted by bucket, as LoadScores sizes it within half of its 1 024 MB; calls of ≤ 2 000 rows, 8 in flight); redis-cli --pipe moves the same rows as unconditional SETs. Each repetition runs redis-cli and the three states back to back; the ratio is against the same repetition’s redis-cli. Server µs/row = INFO cpu (user + sys) delta / rows; client µs/row = the loader process’s (or redis-cli’s) CPU / rows.',
      `"${SPARSE}": the same rows into layoutFor(1, 100 000 000) (2^21 buckets, ~0.5 rows per bucket with the whole part buffered), as when a big store is loaded in random parts much smaller than it; most rows then pay their own HSET and EXPIRE.`,
      `"${SLICED}": as many rows, with ids chosen as one part of slice 0 of a 100 M-entity day split into ${SLICES} slices (prepare-plan.ts: ⌈100 M × ~61 B / 512 MiB⌉), i.e. all in 1/${SLICES} of the 2^21 buckets (~${fixed((1_000_000 * SLICES) / 2 ** 21, 1)} rows per bucket per million rows), into the same 100 M layout; redis-cli's ratio is against the random rows' run (same row count and byte lengths).`,
      `Reads: bench/read-child.ts in its own process on the read API's client (role reader), ~1 000 lookups/s. Load average (1 min) at the start and after each repetition: ${load.join(', ')} on 2 logical cores.`,
    ],
    data: { sizes, reps, runs, reads, load },
  };
}
