/**
 * B6 prepare rows: PrepareInferenceData's time per million rows in one task (the path before the fan-out: every
 * object of a run in one invocation) next to the fan-out over the same objects (PlanPrepare → PrepareSlice per task →
 * the reducer), in one run on moto_server. The tasks run one after another here, each timed; the makespan at
 * `batch.prepareConcurrency` is computed from those times (greedy list scheduling in task order, as the Distributed
 * Map starts items), plus the plan and the reducer, which run once.
 *
 * Two shapes of a run: one big day of 4 objects split into 4 entity-hash slices (each slice parses the whole day and
 * validates/encodes a quarter of it), and 4 days of one object each, packed one day per task (no slicing).
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { contractColumns, loadDefaultContract } from '../lambdas/data/contract';
import { PrepareMerger } from '../lambdas/data/prepare-merge';
import { readPartial } from '../lambdas/data/prepare-store';
import { readPreprocessingSpec } from '../lambdas/data/preprocessing-spec';
import { planPrepare } from '../lambdas/functions/plan-prepare/core';
import { prepareInferenceData, reducePrepared } from '../lambdas/functions/prepare-inference-data/core';
import { runPrepareTask } from '../lambdas/functions/prepare-slice/core';
import { prepareTrainingData } from '../lambdas/functions/prepare-training-data/core';
import { BatchConfigSchema } from '../lib/config';
import { featureValues } from '../test/support/batch-fixtures';
import { type BenchEnv, type BenchResult, fixed, int, nowMs, ratio } from './lib';

const contract = loadDefaultContract();
const settings = { maxInvalidRowRatio: 0.05, maxReportedViolations: 100, targetRowsPerPart: 1_000_000 };

function csv(mode: 'training' | 'inference', dt: string, from: number, n: number): string {
  const header = contractColumns(contract, mode);
  const lines = [header.join(',')];
  for (let i = from; i < from + n; i++) {
    const v: Record<string, string> = {
      customer_id: `C${String(i).padStart(9, '0')}`,
      as_of: dt,
      churned: i % 3 === 0 ? '1' : '0',
      ...featureValues(i),
    };
    lines.push(header.map((c) => v[c] ?? '').join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** Finish time of the last of `times` (in order) on `workers` workers, each task to the first free worker. */
export function makespan(times: readonly number[], workers: number): number {
  const free = new Array<number>(Math.max(1, workers)).fill(0);
  for (const t of times) {
    let i = 0;
    for (let j = 1; j < free.length; j++) if (free[j]! < free[i]!) i = j;
    free[i]! += t;
  }
  return Math.max(...free);
}

interface ShapeResult {
  shape: string;
  rows: number;
  tasks: number;
  oneTaskMs: number;
  planMs: number;
  taskMs: number[];
  reduceMs: number;
  makespanMs: number;
}

export async function measurePrepare(env: BenchEnv, s3: S3Client, bucket: string): Promise<BenchResult['tables']> {
  const rows = env.quick ? 200_000 : 1_000_000;
  const { prepareConcurrency } = BatchConfigSchema.parse({});
  const trainKey = 'training/dt=2026-10-31/bench.csv';
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: trainKey, Body: csv('training', '2026-10-31', 0, 2000) }));
  const trained = await prepareTrainingData({
    s3,
    contract,
    bucket,
    artifactsBucket: bucket,
    keys: [trainKey],
    runId: 'b6-train',
    validationShare: 0.2,
    maxInvalidRowRatio: 0.05,
    maxReportedViolations: 10,
  });
  const spec = await readPreprocessingSpec(s3, trained.preprocessingUri);
  // Warm-up (JIT, clients, moto) on a small object, so neither side pays it.
  const warmKey = 'inference/dt=2026-10-31/b6-warm.csv';
  const warm = await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: warmKey, Body: csv('inference', '2026-10-31', 0, 20_000) }),
  );
  await prepareInferenceData({
    s3,
    spec,
    featuresBucket: bucket,
    artifactsBucket: bucket,
    objects: [{ key: warmKey, etag: warm.ETag! }],
    runId: 'b6-warm',
    segmentFeature: 'plan',
    ...settings,
  });
  const results: ShapeResult[] = [];
  for (const shape of ['one day, 4 slices', '4 days, packed'] as const) {
    const objects: { key: string; etag: string; size: number }[] = [];
    const quarter = rows / 4;
    for (let k = 0; k < 4; k++) {
      const dt = shape === '4 days, packed' ? `2026-11-0${k + 1}` : '2026-11-01';
      const key = `inference/dt=${dt}/b6-${shape.startsWith('one') ? 'sliced' : 'packed'}-${k}.csv`;
      const body = csv('inference', dt, k * quarter, quarter);
      const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      objects.push({ key, etag: put.ETag!, size: Buffer.byteLength(body) });
    }
    const tag = shape.startsWith('one') ? 'sliced' : 'packed';
    let t = nowMs();
    const one = await prepareInferenceData({
      s3,
      spec,
      featuresBucket: bucket,
      artifactsBucket: bucket,
      objects,
      runId: `b6-one-${tag}`,
      segmentFeature: 'plan',
      ...settings,
    });
    const oneTaskMs = nowMs() - t;
    const runId = `b6-fan-${tag}`;
    const budget =
      shape === '4 days, packed'
        ? Math.max(...objects.map((o) => o.size))
        : Math.ceil(objects.reduce((n, o) => n + o.size, 0) / 4);
    t = nowMs();
    const work = { count: objects.length, truncated: false, objects };
    const plan = await planPrepare({
      s3,
      runId,
      work,
      featuresBucket: bucket,
      artifactsBucket: bucket,
      bytesPerTask: budget,
    });
    const planMs = nowMs() - t;
    const taskMs: number[] = [];
    for (let task = 0; task < plan.tasks; task++) {
      t = nowMs();
      await runPrepareTask({
        s3,
        runId,
        task,
        spec,
        featuresBucket: bucket,
        artifactsBucket: bucket,
        segmentFeature: 'plan',
        maxReportedViolations: settings.maxReportedViolations,
        targetRowsPerPart: settings.targetRowsPerPart,
      });
      taskMs.push(nowMs() - t);
    }
    t = nowMs();
    const merger = new PrepareMerger(spec.contract, spec.trainingStats, settings.maxReportedViolations);
    for (let task = 0; task < plan.tasks; task++) merger.add(await readPartial(s3, bucket, runId, task));
    const fan = await reducePrepared({ s3, spec, artifactsBucket: bucket, runId, ...settings }, merger.finish());
    const reduceMs = nowMs() - t;
    if (fan.rowsUsed !== one.rowsUsed || fan.rowsUsed !== rows) {
      throw new Error(`B6 prepare (${shape}): fan-out used ${fan.rowsUsed} rows, one task ${one.rowsUsed}, of ${rows}`);
    }
    const r: ShapeResult = {
      shape,
      rows,
      tasks: plan.tasks,
      oneTaskMs,
      planMs,
      taskMs,
      reduceMs,
      makespanMs: planMs + makespan(taskMs, prepareConcurrency) + reduceMs,
    };
    env.log(
      `B6 prepare ${shape}: one task ${fixed(oneTaskMs / 1000, 1)} s, tasks ${taskMs.map((x) => fixed(x / 1000, 1)).join(' / ')} s, reduce ${fixed(reduceMs / 1000, 1)} s`,
    );
    results.push(r);
  }
  const perM = (ms: number, n: number) => fixed(ms / 1000 / (n / 1e6), 1);
  return [
    {
      title: `Prepare time per million rows: one task vs the fan-out (${int(rows)} rows a run, makespan at prepareConcurrency ${prepareConcurrency})`,
      columns: [
        'run shape',
        'tasks',
        'one task (s / M rows)',
        'per task (s, each)',
        'Σ tasks / one task',
        'plan + reduce (s)',
        'fan-out makespan (s / M rows)',
        'one task / fan-out',
      ],
      rows: results.map((r) => [
        r.shape,
        int(r.tasks),
        perM(r.oneTaskMs, r.rows),
        r.taskMs.map((x) => fixed(x / 1000, 1)).join(' / '),
        ratio(r.taskMs.reduce((a, b) => a + b, 0) / r.oneTaskMs),
        fixed((r.planMs + r.reduceMs) / 1000, 2),
        perM(r.makespanMs, r.rows),
        ratio(r.oneTaskMs / r.makespanMs),
      ]),
    },
  ];
}
