/**
 * `npm run bench`: every benchmark (B1–B6) in one run on this machine. Prints one table per benchmark plus the machine
 * description, and writes bench-results/latest.{json,md}. Numbers are reported, never asserted; a benchmark fails only
 * when its own correctness checks fail (wrong row counts, wrong answers), which sets exit code 1.
 *
 *   npm run bench -- [--only B1,B2] [--skip B5] [--rows N] [--quick] [--store-5m]
 *
 * moto_server and redis-server are started on 127.0.0.1 (local/servers.ts) unless AWS_ENDPOINT_URL / REDIS_URL are
 * set, and stopped at the end (also on Ctrl-C). Generated files live in a temporary directory that is removed.
 */
import '../local/runtime/polyfills';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Command, InvalidArgumentError } from 'commander';
import { type MotoServer, type RedisServer, startMoto, startRedis } from '../local/services/servers';
import { runB1 } from './b1-load';
import { runB2 } from './b2-read';
import { runB3 } from './b3-discovery';
import { runB4 } from './b4-end-to-end';
import { runB5 } from './b5-dev-loop';
import { runB6 } from './b6-scale';
import { runB6Store } from './b6-store';
import { runB7 } from './b7-cli';
import { type BenchEnv, type BenchResult, describeMachine, machineTable, renderTable } from './lib';

export const BENCHMARKS = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B6S', 'B7'] as const;
type BenchId = (typeof BENCHMARKS)[number];

export interface BenchOptions {
  readonly only?: BenchId[];
  readonly skip?: BenchId[];
  readonly rows: number;
  readonly quick: boolean;
  readonly store5m?: boolean;
}

function benchList(value: string): BenchId[] {
  const ids = value
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  for (const id of ids) {
    if (!(BENCHMARKS as readonly string[]).includes(id)) {
      throw new InvalidArgumentError(`unknown benchmark "${id}" (expected ${BENCHMARKS.join(', ')})`);
    }
  }
  return ids as BenchId[];
}

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1000 || Number(value) > 50_000_000) {
    throw new InvalidArgumentError(`expected an integer in 1000..50000000, got "${value}"`);
  }
  return Number(value);
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const program = new Command('npm run bench --')
    .description(
      'Run the benchmarks B1 (load) B2 (read) B3 (discovery) B4 (end to end) B5 (developer loop) B6 (scale: state) B6S (score store scale) B7 (CLI start-up).',
    )
    .option('--only <list>', 'comma-separated benchmarks to run, e.g. B1,B2', benchList)
    .option('--skip <list>', 'comma-separated benchmarks to leave out, e.g. B5', benchList)
    .option('--rows <n>', 'B1 size in rows (B1 also runs at 5×)', positiveInt, 1_000_000)
    .option(
      '--quick',
      'small sizes for a smoke run (B1 100k/300k, B2 10k, B3 10k, B4 2k customers/100k rows; no B5)',
      false,
    )
    .option('--store-5m', 'B6S also at 5 × --rows (5 M: minutes on 2 cores; not in the default run)', false)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.parse([...argv], { from: 'user' });
  const o = program.opts<{ only?: BenchId[]; skip?: BenchId[]; rows: number; quick: boolean; store5m: boolean }>();
  return {
    ...(o.store5m ? { store5m: true } : {}),
    ...(o.only ? { only: o.only } : {}),
    ...(o.skip ? { skip: o.skip } : {}),
    rows: o.rows,
    quick: o.quick,
  };
}

function selected(o: BenchOptions): BenchId[] {
  return BENCHMARKS.filter(
    (id) =>
      (!o.only || o.only.includes(id)) && !o.skip?.includes(id) && !(id === 'B5' && o.quick && !o.only?.includes('B5')),
  );
}

function renderResult(r: BenchResult): string {
  const head = `## ${r.id} ${r.title}`;
  if (r.skipped) return `${head}\n\n${r.skipped}`;
  const notes = r.notes.map((n) => `- ${n}`).join('\n');
  return [head, ...r.tables.map(renderTable), notes].filter(Boolean).join('\n\n');
}

export async function runBench(options: BenchOptions): Promise<number> {
  // The SDK's "node >= 22 from 2027" notice would repeat in every child process; it says nothing about the numbers.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const root = resolve(__dirname, '..');
  const outDir = join(root, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const workDir = mkdtempSync(join(tmpdir(), 'mlops-bench-'));
  const log = (line: string) => process.stdout.write(`  · ${line}\n`);
  const ids = selected(options);
  const machine = describeMachine();
  const started = new Date();
  process.stdout.write(
    `${renderTable(machineTable(machine))}\n\nRunning ${ids.join(', ') || 'nothing'}${options.quick ? ' (quick)' : ''}\n`,
  );

  let moto: MotoServer | undefined;
  let redis: RedisServer | undefined;
  const stopAll = async () => {
    await Promise.allSettled([moto?.stop(), redis?.stop()]);
    rmSync(workDir, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`\n${sig}: stopping servers\n`);
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const results: BenchResult[] = [];
  let failed = 0;
  try {
    const needServers = ids.some((id) => ['B1', 'B2', 'B3', 'B6', 'B6S', 'B7'].includes(id));
    if (needServers) {
      [moto, redis] = await Promise.all([
        startMoto({ logFile: join(outDir, 'moto.log') }),
        startRedis({ logFile: join(outDir, 'redis.log') }),
      ]);
      log(
        `moto_server ${moto.endpoint}${moto.external ? ' (external)' : ''}, redis-server ${redis.url}${redis.external ? ' (external)' : ''}`,
      );
    }
    const env: BenchEnv = {
      motoEndpoint: moto?.endpoint ?? '',
      redisUrl: redis?.url ?? '',
      root,
      workDir,
      outDir,
      quick: options.quick,
      rows: options.quick ? 100_000 : options.rows,
      storeLarge: options.store5m === true,
      log,
    };
    const common = {
      endpoint: env.motoEndpoint,
      region: process.env.AWS_REGION || 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    };
    const s3 = new S3Client({ ...common, forcePathStyle: true });
    const ddb = new DynamoDBClient(common);
    const doc = DynamoDBDocumentClient.from(ddb, { marshallOptions: { removeUndefinedValues: true } });
    const runners: Record<BenchId, () => Promise<BenchResult>> = {
      B1: () => runB1(env, s3),
      B2: () => runB2(env),
      B3: () => runB3(env, { ddb, doc, s3 }),
      B4: () => runB4(env),
      B5: () => runB5(env),
      B6: () => runB6(env, s3),
      B6S: () => runB6Store(env),
      B7: () => runB7(env),
    };
    for (const id of ids) {
      process.stdout.write(`\n${id}…\n`);
      const t0 = Date.now();
      const load0 = loadavg()[0] ?? 0;
      let r: BenchResult;
      try {
        r = await runners[id]();
      } catch (err) {
        failed++;
        const msg = err instanceof Error ? err.message : String(err);
        r = { id, title: 'FAILED', tables: [], notes: [], data: { error: msg }, skipped: `FAILED: ${msg}` };
      }
      r.data.benchSeconds = (Date.now() - t0) / 1000;
      const load1 = loadavg()[0] ?? 0;
      r.data.loadAverage = { start: load0, end: load1 };
      if (!r.skipped) {
        r.notes.push(
          `Machine load average (1 min) at start / end of ${id}: ${load0.toFixed(1)} / ${load1.toFixed(1)} on ${machine.cores} logical cores${Math.max(load0, load1) > machine.cores ? ' — other processes were competing for the CPU; absolute numbers are pessimistic, ratios from interleaved runs are the more robust figures' : ''}.`,
        );
      }
      results.push(r);
      process.stdout.write(`\n${renderResult(r)}\n`);
    }
    s3.destroy();
    ddb.destroy();
  } finally {
    await stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const md = [
    `# Benchmarks (${started.toISOString()})`,
    '',
    `Command: \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\``,
    '',
    renderTable(machineTable(machine)),
    '',
    ...results.map((r) => `${renderResult(r)}\n`),
  ].join('\n');
  writeFileSync(join(outDir, 'latest.md'), md);
  writeFileSync(
    join(outDir, 'latest.json'),
    `${JSON.stringify({ startedAt: started.toISOString(), options, machine, results }, null, 2)}\n`,
  );
  process.stdout.write(
    `\nWrote bench-results/latest.md and bench-results/latest.json${failed ? ` — ${failed} benchmark(s) FAILED` : ''}\n`,
  );
  return failed > 0 ? 1 : 0;
}

if (require.main === module) {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode;
    process.exit(code === 0 ? 0 : 2);
  }
  runBench(options).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`npm run bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
