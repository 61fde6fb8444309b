/**
 * The batch steps of `npm run local`: BatchInference on the initial days, a rerun with nothing new, a new day, and a
 * late older day that must not overwrite newer scores; each followed by its checks (local/demo/checks.ts).
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { newRunId as runId } from '../../contracts/states/names';
import { ensureConnected, redisFromEnv } from '../../lambdas/platform/redis';
import { executeLocal, findMachine } from '../runtime/executions';
import { histogram } from '../standins/metrics';
import {
  type BatchChecks,
  checkInitialDays,
  checkLateDay,
  checkNewDay,
  checkRerun,
  type DemoBatch,
  LocalRunError,
  numOf,
  Observed,
  obj,
  strOf,
} from './checks';
import { type Arrivals, type Demo, printStates } from './phases';
import type { ReportBatch } from './report';
import { driftFromStats, quarantineSummary } from './report-data';

/** Bins of the per-run score histograms. */
const SCORE_BINS = 20;

/** The score store as the read API sees it: a reader client built the way the read handler builds its own. */
export async function observe(demo: Demo): Promise<Observed> {
  const redis = await redisFromEnv({ role: 'reader' });
  await ensureConnected(redis);
  return new Observed(demo.clients.ddb, demo.tableName, redis);
}

/** Runs BatchInference (real handlers, local transformer) and keeps every run and every score for the report. */
export class BatchRunner {
  readonly batches: DemoBatch[] = [];

  constructor(private readonly demo: Demo) {
    findMachine(demo.resources, 'BatchInference'); // fail before the batch runs when it is missing
  }

  /**
   * @param options.input the execution input. @default `{ trigger: 'local' }`
   * @param options.env on top of the handlers' environment. @default - none
   */
  async run(
    label: string,
    options: { readonly input?: Record<string, unknown>; readonly env?: Readonly<Record<string, string>> } = {},
  ): Promise<DemoBatch> {
    const { resources, clients, region, progress } = this.demo;
    const env = { ...this.demo.env, ...options.env };
    const scores: number[] = [];
    const res = await executeLocal(
      'batch',
      { resources, s3: clients.s3, sageMaker: clients.sageMaker, env, region },
      {
        input: options.input ?? { trigger: 'local' },
        name: runId('batch'),
        onTransformed: (i) => {
          // A loop, not push(...scores): spreading 100 000+ arguments overflows the call stack.
          for (const score of i.scores) scores.push(score);
        },
      },
    );
    printStates(progress.print, res);
    if (res.status !== 'SUCCEEDED') {
      throw new LocalRunError(`BatchInference run ${res.name} ${res.status}: ${res.error?.Error}: ${res.error?.Cause}`);
    }
    // The execution's output is Notify's result alone; the counts come from the states' outputs.
    const state = obj(res.stateOutputs.FinalizeScores ?? res.stateOutputs.CommitLedger ?? res.output);
    const prepared = obj(state.data);
    const finalize = obj(prepared.finalize ?? state.finalize); // FinalizeScores' ResultPath is $.data.finalize
    const scoredKeys = await this.scoredKeys(strOf(prepared.partsUri));
    const report: ReportBatch = {
      label,
      runId: res.name,
      status: res.status,
      objects: scoredKeys,
      rowsIn: numOf(prepared.rowsIn) ?? 0,
      rowsScored: numOf(finalize.rowsScored) ?? 0,
      rowsQuarantined: numOf(prepared.rowsQuarantined) ?? 0,
      rowsKeptNewer: numOf(finalize.rowsKeptNewer) ?? 0,
      histogram: histogram(scores, SCORE_BINS),
      drift: await driftFromStats(clients.s3, this.demo.artifactsBucket, res.name),
      quarantine: await quarantineSummary(clients.s3, strOf(prepared.validationReportUri)),
      ms: res.durationMs,
      states: res.steps.filter((s) => s.index === undefined).map((s) => ({ state: s.state, ms: s.durationMs })),
    };
    const batch = { label, run: res, scoredKeys, report };
    this.batches.push(batch);
    return batch;
  }

  /** The source objects of the run's parts (the parts manifest in S3), sorted. */
  private async scoredKeys(partsUri: string | undefined): Promise<string[]> {
    if (!partsUri) return [];
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(partsUri);
    const body = await this.demo.clients.s3.send(new GetObjectCommand({ Bucket: m![1]!, Key: m![2]! }));
    const parts = obj(JSON.parse(await body.Body!.transformToString()));
    const list = Array.isArray(parts.parts) ? parts.parts : [];
    const keys = list.flatMap((p) => (Array.isArray(obj(p).sources) ? (obj(p).sources as unknown[]) : []));
    return [...new Set(keys.map((src) => String(obj(src).key)))].sort();
  }
}

/** Steps 8 to 11, each with its checks. */
export async function scoreBatches(
  demo: Demo,
  arrivals: Arrivals,
  runner: BatchRunner,
  checks: BatchChecks,
  modelVersion: number,
): Promise<void> {
  const { progress } = demo;
  const data = checks.expected.data;
  const first = await progress.step(
    'BatchInference: score the three initial days',
    () => runner.run('initial days'),
    (b) => `${b.report.rowsScored} rows scored, ${b.report.rowsQuarantined} quarantined`,
  );
  const afterFirst = await checkInitialDays(checks, first, modelVersion);

  const again = await progress.step(
    'BatchInference again: nothing new to score',
    () => runner.run('rerun'),
    (b) => b.run.path.join(' → '),
  );
  await checkRerun(checks, again, afterFirst);

  const later = await progress.step(
    `A new day (${data.laterDate}) arrives and is scored alone`,
    async () => {
      await arrivals.upload('later');
      return runner.run(`new day ${data.laterDate}`);
    },
    (b) => `${b.report.rowsScored} rows scored from ${b.scoredKeys.length} objects`,
  );
  const afterLater = await checkNewDay(checks, later);

  const late = await progress.step(
    `A late, older day (${data.lateDate}) arrives and is scored without overwriting newer scores`,
    async () => {
      await arrivals.upload('late');
      return runner.run(`late older day ${data.lateDate}`);
    },
    (b) => `${b.report.rowsScored} rows scored, ${b.report.rowsKeptNewer} kept newer`,
  );
  await checkLateDay(checks, late, afterLater);
}
