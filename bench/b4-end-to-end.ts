/**
 * B4 end to end: wall time of the whole local pipeline (`local/demo/run.ts`, i.e. `npm run local`) as a child process at
 * two sizes, with the XGBoost 1.7 training and transform times inside it (read from the run's own output), and
 * throughput of the contract validator (readCsv → FileValidator) on a generated feature file.
 */
import { createReadStream, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDefaultContract } from '../lambdas/data/contract';
import { measureValidationThroughput } from '../lambdas/data/validator';
import { writeFeatureFile } from './data';
import { type BenchEnv, type BenchResult, fixed, int, mb, runChild, type Table } from './lib';

interface LocalRunMeasurement {
  customers: number;
  ok: boolean;
  wallSeconds: number;
  /** The run's own "total … s" (services + synth + all phases, measured inside). */
  reportedSeconds?: number;
  checks?: string;
  rowsScored?: number;
  xgboost?: XgboostTimes;
  error?: string;
  log: string;
}

/** What `npm run local` prints about the Train and Transform stand-ins (local/standins/summary.ts, state timings). */
interface XgboostTimes {
  /** `xgb.train` alone (the stand-in's own measurement). */
  trainSeconds?: number;
  /** The Train state: channels from S3, XGBoost, model.tar.gz to S3. */
  trainStateSeconds?: number;
  /** The first batch's Transform state (the three initial days): inputs from S3, XGBoost predict, `.out` to S3. */
  transformStateSeconds?: number;
  threads?: number;
  rounds?: number;
  trainRows?: number;
  validationAuc?: number;
}

export function parseXgboostTimes(stdout: string): XgboostTimes {
  const n = (re: RegExp) => {
    const m = re.exec(stdout);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  };
  const t: XgboostTimes = {
    trainSeconds: n(/; \d+ threads, ([\d.]+) s/),
    trainStateSeconds: n(/· Train\s+([\d.]+) s/),
    transformStateSeconds: n(/· Transform\s+([\d.]+) s/),
    threads: n(/; (\d+) threads, [\d.]+ s/),
    rounds: n(/(?:early stopping after |· )(\d+) rounds/),
    trainRows: n(/(\d+) train \/ \d+ validation rows/),
    validationAuc: n(/validation AUC ([\d.]+) ·/),
  };
  return Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined)) as XgboostTimes;
}

async function runLocalPipeline(env: BenchEnv, customers: number): Promise<LocalRunMeasurement> {
  const out = join(env.outDir, `local-run-${customers}`);
  const logFile = join(env.outDir, `local-run-${customers}.log`);
  const r = await runChild('npx', ['tsx', 'local/demo/run.ts', '--customers', String(customers), '--out', out], {
    cwd: env.root,
    timeoutMs: customers <= 20_000 ? 15 * 60_000 : 45 * 60_000,
    maxStdout: 16 * 1024 * 1024,
  });
  writeFileSync(logFile, `${r.stdout}\n--- tail (stdout+stderr) ---\n${r.tail}\n`);
  const total = /total\s+([\d.]+)\s*s/.exec(r.stdout);
  const checks = /checks:\s*(\d+\/\d+)\s*passed/.exec(r.stdout);
  let rowsScored = 0;
  for (const m of r.stdout.matchAll(/(\d+)\s+scored\s+·/g)) rowsScored += Number(m[1]);
  const ok = r.code === 0 && !r.timedOut;
  const xgboost = parseXgboostTimes(r.stdout);
  return {
    customers,
    ok,
    wallSeconds: r.wallMs / 1000,
    ...(total?.[1] ? { reportedSeconds: Number(total[1]) } : {}),
    ...(checks?.[1] ? { checks: checks[1] } : {}),
    ...(rowsScored > 0 ? { rowsScored } : {}),
    ...(Object.keys(xgboost).length > 0 ? { xgboost } : {}),
    ...(ok
      ? {}
      : {
          error: r.timedOut
            ? 'timed out'
            : (r.tail
                .split('\n')
                .filter((l) => l.trim())
                .pop() ?? `exit ${r.code ?? r.signal}`),
        }),
    log: logFile,
  };
}

export async function runB4(env: BenchEnv): Promise<BenchResult> {
  const notes: string[] = [];
  const tables: Table[] = [];
  const sizes = env.quick ? [2_000] : [20_000, 200_000];
  const runs: LocalRunMeasurement[] = [];
  if (!existsSync(join(env.root, 'local/demo/run.ts'))) {
    notes.push('npm run local: skipped — local/demo/run.ts is not in this tree.');
  } else {
    for (const customers of sizes) {
      env.log(`B4: npm run local --customers ${int(customers)} (child process; log in ${env.outDir})`);
      const m = await runLocalPipeline(env, customers);
      runs.push(m);
      if (!m.ok) {
        notes.push(`npm run local --customers ${customers} failed: ${m.error} (full output: ${m.log}).`);
        break; // a larger run would fail the same way
      }
    }
    tables.push({
      title: 'B4 end to end: `npm run local` (npx tsx local/demo/run.ts --customers N), whole pipeline, one process',
      columns: ['customers/snapshot', 'result', 'wall s', 'reported total s', 'rows scored', 'checks passed'],
      rows: runs.map((m) => [
        int(m.customers),
        m.ok ? 'ok' : 'FAILED',
        fixed(m.wallSeconds, 1),
        m.reportedSeconds === undefined ? '–' : fixed(m.reportedSeconds, 1),
        m.rowsScored === undefined ? '–' : int(m.rowsScored),
        m.checks ?? '–',
      ]),
    });
    const opt = (v: number | undefined, d: number) => (v === undefined ? '–' : fixed(v, d));
    tables.push({
      title: 'B4 XGBoost 1.7 inside `npm run local`: the Train and Transform stand-ins',
      columns: [
        'customers/snapshot',
        'train rows',
        'threads',
        'rounds',
        'xgb.train s',
        'Train state s',
        'Transform state s (3 days)',
        'validation AUC',
        'end to end s',
      ],
      rows: runs.map((m) => [
        int(m.customers),
        m.xgboost?.trainRows === undefined ? '–' : int(m.xgboost.trainRows),
        m.xgboost?.threads === undefined ? '–' : String(m.xgboost.threads),
        m.xgboost?.rounds === undefined ? '–' : String(m.xgboost.rounds),
        opt(m.xgboost?.trainSeconds, 2),
        opt(m.xgboost?.trainStateSeconds, 2),
        opt(m.xgboost?.transformStateSeconds, 2),
        opt(m.xgboost?.validationAuc, 4),
        fixed(m.wallSeconds, 1),
      ]),
    });
    notes.push(
      'XGBoost: xgb.train alone as the stand-in measures it; the Train and Transform state times include reading the channels / inputs from moto S3 and writing model.tar.gz / the .out files back, and (Transform) the predictions of the three initial days (3 × N rows) in one XGBoost process.',
    );
    notes.push(
      'npm run local starts its own moto_server and redis-server, synthesizes the CDK app, provisions, generates the sample data (2 training + 5 inference snapshots of N customers), trains, approves and runs BatchInference four times (initial, rerun, new day, late older day). Wall time includes npx/tsx start-up.',
    );
  }

  const rows = env.quick ? 100_000 : 1_000_000;
  const file = join(env.workDir, `features-${rows}.csv`);
  env.log(`B4: validator throughput on ${int(rows)} generated feature rows`);
  const bytes = await writeFeatureFile(file, rows, '2026-11-02');
  const contract = loadDefaultContract();
  const v = await measureValidationThroughput(createReadStream(file), contract, 'inference');
  rmSync(file, { force: true });
  if (v.rows !== rows || v.valid !== rows) {
    throw new Error(`B4: validator saw ${v.rows} rows (${v.valid} valid), expected ${rows} valid rows`);
  }
  tables.push({
    title: 'B4 validation: contract validator (readCsv + FileValidator) on a local feature file',
    columns: ['rows', 'file MB', 'seconds', 'rows/s', 'MB/s', 'RSS growth MB'],
    rows: [
      [
        int(v.rows),
        mb(bytes),
        fixed(v.seconds, 2),
        int(v.rowsPerSecond),
        fixed(bytes / 1e6 / v.seconds, 1),
        mb(v.rssGrowthBytes),
      ],
    ],
  });
  notes.push(
    'Validation = `measureValidationThroughput` (lambdas/shared/validator.ts): UTF-8 check, CSV parsing (csv-parse), every rule of config/feature-contract.json per row; all rows valid, no output written.',
  );
  return { id: 'B4', title: 'End to end', tables, notes, data: { localRuns: runs, validation: { ...v, bytes } } };
}
