/**
 * `npm run local`: the whole pipeline on this machine.
 *
 * services → synth → provision (from the templates) → sample data → arrivals (real arrival handler) → Training
 * (real handlers + local trainer) → approval (the CLI's code path) → BatchInference (real handlers + local
 * transformer) → incrementality (rerun: nothing to score; a new day: only it; a late older day: scored without
 * overwriting newer scores) → a second training (challenger) → approve it: the run a Production change starts rescores
 * with it → reject it (rollback): the run rescores with the first version again → summary and `local-run/report.{md,html}` with the result files.
 *
 * Every step prints its progress; any failed step or check ends the run with a non-zero exit code. The steps are in
 * local/demo/phases.ts and local/demo/batches.ts, their checks in local/demo/checks.ts.
 */
import '../runtime/polyfills';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { startRecording, stopRecording, writeRecording } from '../iam/recorder';
import type { LocalResources } from '../runtime/inventory';
import type { RunResult } from '../runtime/sfn-runner';
import { rocCurve } from '../standins/metrics';
import { BatchRunner, observe, scoreBatches } from './batches';
import { type ChallengerFacts, trainChallenger } from './challenger';
import {
  type BatchChecks,
  checkReads,
  Expected,
  LocalRunError,
  numOf,
  Progress,
  strOf,
  type TrainingFacts,
} from './checks';
import {
  type ApprovalResult,
  Arrivals,
  approve,
  type Demo,
  demoOf,
  type Endpoints,
  initialArrivals,
  LocalServices,
  localSetup,
  provisionAll,
  sampleData,
  startServices,
  synthesize,
  train,
} from './phases';
import { promoteAndRollBack } from './promotion';
import { type LocalRunReport, printSummary, writeReport } from './report';
import { quarantineSummary } from './report-data';
import type { SampleDataSet } from './sample-data';

export interface LocalRunOptions {
  /** Customers per snapshot. @default 20000 */
  readonly customers?: number;
  readonly seed?: number;
  /** Environment of cdk.json to synthesize. @default 'dev' */
  readonly env?: string;
  /** Where the report and result files go. @default <repo>/local-run */
  readonly outDir?: string;
  /** Keep the started services running and print their endpoints (for the CLI's --local). @default false */
  readonly keep?: boolean;
  /** `auto`: REDIS_URL, else redis-server, else the in-process stand-in. `standin` forces the stand-in. */
  readonly redis?: 'auto' | 'standin';
  /** Print handler logs (Powertools INFO) and metrics. @default false */
  readonly verbose?: boolean;
  /** Progress output. @default process.stdout */
  readonly print?: (line: string) => void;
}

/** What the run produced (also what the e2e test asserts on). */
export interface LocalRunResult {
  readonly report: LocalRunReport;
  readonly reportFiles: readonly string[];
  readonly data: SampleDataSet;
  readonly resources: LocalResources;
  readonly endpoints: { readonly moto: string; readonly redis: string };
  readonly training: RunResult;
  readonly batches: readonly {
    readonly label: string;
    readonly run: RunResult;
    readonly scoredKeys: readonly string[];
  }[];
  /** Stop the services this run started (already done unless `keep`); returns what it stopped. */
  readonly stop: () => Promise<string[]>;
}

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const TOTAL_STEPS = 14;

/** Parse `--customers N --seed N --env NAME --out DIR --keep --redis standin --verbose`. */
export function parseArgs(argv: readonly string[]): LocalRunOptions {
  const o: {
    customers?: number;
    seed?: number;
    env?: string;
    outDir?: string;
    keep?: boolean;
    redis?: 'auto' | 'standin';
    verbose?: boolean;
  } = {};
  const intArg = (flag: string, v: string | undefined, min: number): number => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) < min) {
      throw new LocalRunError(`${flag} needs an integer >= ${min}, got ${v === undefined ? 'nothing' : `"${v}"`}`);
    }
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--customers':
        o.customers = intArg(flag, value(), 10);
        break;
      case '--seed':
        o.seed = intArg(flag, value(), 0);
        break;
      case '--env':
        o.env = value();
        break;
      case '--out':
        o.outDir = value();
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--verbose':
        o.verbose = true;
        break;
      case '--redis': {
        const v = value();
        if (v !== 'auto' && v !== 'standin')
          throw new LocalRunError(`--redis must be auto or standin, got "${v ?? ''}"`);
        o.redis = v;
        break;
      }
      case '--help':
      case '-h':
        throw new LocalRunError(
          'usage: npm run local -- [--customers N (default 20000)] [--seed N] [--env NAME] [--out DIR] [--keep] [--redis auto|standin] [--verbose]',
        );
      default:
        throw new LocalRunError(`unknown option ${a} (see --help)`);
    }
  }
  return o;
}

/** Run the whole local pipeline. Throws LocalRunError (or the step's error) on any failure. */
export async function runLocal(options: LocalRunOptions = {}): Promise<LocalRunResult> {
  const t0 = Date.now();
  const print = options.print ?? ((l: string) => process.stdout.write(`${l}\n`));
  const customers = options.customers ?? 20_000;
  const seed = options.seed ?? 42;
  const envName = options.env ?? 'dev';
  const outDir = path.resolve(options.outDir ?? path.join(REPO_ROOT, 'local-run'));
  const progress = new Progress(print, TOTAL_STEPS);
  const services = new LocalServices();
  mkdirSync(outDir, { recursive: true });
  try {
    const endpoints = await startServices(progress, services, options, outDir);
    const base = localSetup(endpoints, options.verbose);
    const resources = await synthesize(progress, envName, base.region);
    const demo = demoOf(base, progress, envName, resources);
    await provisionAll(demo);
    const data = await sampleData(progress, customers, seed);
    const expected = new Expected(data);
    const arrivals = new Arrivals(demo, data);
    await initialArrivals(demo, arrivals);
    // The first model learns from the first labelled snapshot; the challenger (below) from the later one.
    const first = data.trainingDates[0]!;
    const training = await train(demo, customers, expected, data.trueAuc, { from: first, to: first });
    const approval = await approve(demo, training.modelVersion);

    const checks: BatchChecks = { progress, expected, observed: await observe(demo), probe: data.customerIds[0]! };
    const runner = new BatchRunner(demo);
    await scoreBatches(demo, arrivals, runner, checks, training.modelVersion);
    const challenger = await trainChallenger(demo, data.trainingDates.at(-1)!, training.modelVersion);
    await promoteAndRollBack(demo, runner, checks, training.modelVersion, challenger.modelVersion);
    const report = await summarize(demo, checks, {
      t0,
      customers,
      seed,
      outDir,
      endpoints,
      training,
      approval,
      runner,
      challenger,
    });
    const reportFiles = writeReport(outDir, report);
    printSummary(print, report, reportFiles, outDir);
    checks.observed.redis.disconnect();
    await keepOrStop(options, print, services, endpoints);
    return {
      report,
      reportFiles,
      data,
      resources,
      endpoints: { moto: process.env.AWS_ENDPOINT_URL ?? '', redis: endpoints.redisUrl },
      training: training.run,
      batches: runner.batches.map(({ label, run, scoredKeys }) => ({ label, run, scoredKeys })),
      stop: () => services.stop(),
    };
  } catch (e) {
    if (!options.keep) await services.stop().catch(() => undefined);
    throw e;
  }
}

/** What the run did, for the report. */
interface RunFacts {
  readonly t0: number;
  readonly customers: number;
  readonly seed: number;
  readonly outDir: string;
  readonly endpoints: Endpoints;
  readonly training: TrainingFacts;
  readonly approval: ApprovalResult;
  readonly runner: BatchRunner;
  readonly challenger: ChallengerFacts;
}

/** The reads and their checks, the result files copied out of S3, and the report of the whole run. */
async function summarize(demo: Demo, checks: BatchChecks, run: RunFacts): Promise<LocalRunReport> {
  const reads = await checkReads(checks);
  const fallback = await checks.observed.fallbacks('premium');
  const resultFiles = await copyArtifacts(demo.clients.s3, demo.artifactsBucket, run.outDir, [
    'results/',
    'reports/',
    'quarantine/',
  ]);
  const { training: t, approval } = run;
  const validation = t.validation;
  const roc = validation ? rocCurve(validation.scores, validation.labels) : [];
  const positives = validation?.labels.filter((l) => l === 1).length ?? 0;
  const trainingQuarantine = await quarantineSummary(demo.clients.s3, strOf(t.prepared.validationReportUri));
  const totalMs = Date.now() - run.t0;
  return {
    generatedAt: new Date().toISOString(),
    customers: run.customers,
    seed: run.seed,
    totalMs,
    services: { moto: run.endpoints.moto, redis: run.endpoints.redis },
    steps: demo.progress.steps,
    training: {
      runId: t.run.name,
      status: t.run.status,
      auc: numOf(t.metrics.auc),
      logloss: numOf(t.metrics.logloss),
      trainRows: numOf(t.prepared.trainRows),
      validationRows: numOf(t.prepared.validationRows),
      rowsQuarantined: numOf(t.prepared.rowsQuarantined),
      modelVersion: t.modelVersion,
      modelPackageArn: strOf(t.output.modelPackageArn),
      algorithm: t.algorithm,
      baseRate: validation?.labels.length ? positives / validation.labels.length : undefined,
      quarantine: trainingQuarantine,
      states: t.run.steps.filter((s) => s.index === undefined).map((s) => ({ state: s.state, ms: s.durationMs })),
    },
    approval: { version: t.modelVersion, productionVersion: approval.productionVersion, detail: approval.detail },
    batches: run.runner.batches.map((b) => b.report),
    checks: demo.progress.checks,
    reads,
    fallback,
    roc,
    resultFiles,
    evaluation: run.challenger.evaluation,
  };
}

/** With --keep the services stay up for the CLI's --local (and the endpoints are printed); otherwise they stop. */
async function keepOrStop(
  options: LocalRunOptions,
  print: (line: string) => void,
  services: LocalServices,
  endpoints: Endpoints,
): Promise<void> {
  if (!options.keep) {
    await services.stop();
    return;
  }
  print('');
  print('Services kept running (--keep). In another terminal, e.g.:');
  print(
    `  AWS_ENDPOINT_URL=${process.env.AWS_ENDPOINT_URL} REDIS_URL=${endpoints.redisUrl} npx mlops-batch models --local`,
  );
  if (!services.redis) print('  (Redis is the in-process stand-in: only this process sees the scores)');
  // Arrivals are delivered by this run's own steps; nothing watches the bucket afterwards.
  print(
    '  Files you upload to the features bucket now get no arrival event (no S3 → EventBridge here): register them with',
  );
  print('  `npx mlops-batch --local reconcile`, then score them with `npx mlops-batch --local batch`.');
}

async function copyArtifacts(
  s3: S3Client,
  bucket: string,
  outDir: string,
  prefixes: readonly string[],
): Promise<string[]> {
  const base = path.join(outDir, 'artifacts');
  rmSync(base, { recursive: true, force: true });
  const files: string[] = [];
  for (const prefix of prefixes) {
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
        const file = path.join(base, o.Key);
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, Buffer.from(await body.Body!.transformToByteArray()));
        files.push(path.relative(outDir, file));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
  return files;
}

/** CLI entry (`npm run local`, `mlops-batch local`): returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  // The SDK's "node >= 22 from 2027" notice is not about this run; keep the progress output readable.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  try {
    const options = parseArgs(argv);
    // Every AWS call is recorded per function for `npm run iam-check -- --recording <out>/iam-calls.json`.
    startRecording();
    let result: LocalRunResult;
    try {
      result = await runLocal(options);
    } finally {
      const recording = stopRecording();
      const file = path.join(path.resolve(options.outDir ?? path.join(REPO_ROOT, 'local-run')), 'iam-calls.json');
      writeRecording(file, recording);
      process.stdout.write(
        `IAM: ${recording.calls.length} AWS calls and ${recording.tasks.length} Task states recorded → ${path.relative(process.cwd(), file)} (npm run iam-check -- --recording ${path.relative(process.cwd(), file)})\n`,
      );
    }
    if (options.keep) {
      // The servers belong to this process (they are stopped when it exits): wait for Ctrl-C.
      process.stdout.write('Press Ctrl-C to stop the services.\n');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      const stopped = await result.stop();
      process.stdout.write(
        stopped.length
          ? `\nStopped ${stopped.join(' and ')}; their data is gone.\n`
          : '\nNothing to stop: the services were external (AWS_ENDPOINT_URL / REDIS_URL) and keep running.\n',
      );
    }
    return 0;
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(
      `\nnpm run local failed: ${err.name === 'LocalRunError' ? '' : `${err.name}: `}${err.message}\n`,
    );
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
