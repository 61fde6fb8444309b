/**
 * B6 training prepare: PrepareTrainingData on the same objects (moto S3, this machine) as one invocation
 * (lambdas/functions/prepare-training-data/core.ts, both passes over every object) and fanned out
 * (test/support/training-fanout.ts: plan → profile per task → spec → encode per task → finish, the tasks run one after
 * another here and are timed one by one). The fan-out's wall time in AWS is modelled from those timings: each Map's
 * makespan is the tasks scheduled greedily, longest first, on `training.prepareConcurrency` slots; plus the plan,
 * spec and finish steps. Times per million rows, as ratios against the one-invocation path of the same run.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { loadDefaultContract } from '../lambdas/data/contract';
import { prepareTrainingData } from '../lambdas/functions/prepare-training-data/core';
import { TrainingConfigSchema } from '../lib/config';
import { generateSampleData } from '../local/demo/sample-data';
import { createBucket } from '../test/support/aws';
import { runTrainingFanOut } from '../test/support/training-fanout';
import { type BenchEnv, type BenchResult, fixed, int, ratio } from './lib';

/** Makespan of `durations` on `slots` parallel workers, longest first onto the least loaded (LPT). */
export function makespan(durations: readonly number[], slots: number): number {
  const load = new Array<number>(Math.max(1, slots)).fill(0);
  for (const d of [...durations].sort((a, b) => b - a)) {
    let i = 0;
    for (let j = 1; j < load.length; j++) if (load[j]! < load[i]!) i = j;
    load[i]! += d;
  }
  return Math.max(...load);
}

export async function runTrainingPrepareBench(
  env: BenchEnv,
  s3: S3Client,
): Promise<{ tables: BenchResult['tables']; data: Record<string, unknown> }> {
  const customers = env.quick ? 100_000 : 400_000;
  const objectsPerSnapshot = 4;
  const { prepareConcurrency } = TrainingConfigSchema.parse({});
  const features = await createBucket(s3);
  const artifacts = await createBucket(s3);
  const sample = generateSampleData({ customers, seed: 3 });
  let bytes = 0;
  for (const f of sample.files.filter((x) => x.kind === 'training' && x.phase === 'initial')) {
    const [header, ...rows] = f.body.trimEnd().split('\n');
    const per = Math.ceil(rows.length / objectsPerSnapshot);
    for (let p = 0; p < objectsPerSnapshot; p++) {
      const body = `${[header, ...rows.slice(p * per, (p + 1) * per)].join('\n')}\n`;
      bytes += Buffer.byteLength(body);
      const key = f.key.replace('part-0.csv', `part-${p}.csv`);
      await s3.send(new PutObjectCommand({ Bucket: features, Key: key, Body: body }));
    }
  }
  const settings = {
    s3,
    contract: loadDefaultContract(),
    bucket: features,
    artifactsBucket: artifacts,
    validationShare: 0.2,
    maxInvalidRowRatio: 0.05,
    maxReportedViolations: 100,
  };
  const t0 = performance.now();
  const one = await prepareTrainingData({ ...settings, runId: 'bench-one', prefix: 'training/' });
  const oneMs = performance.now() - t0;
  env.log(`B6 training prepare: one invocation ${int(one.rowsIn)} rows in ${fixed(oneMs / 1000, 1)} s`);
  // One task per object: the budget is just over the largest object.
  const taskBytes = Math.ceil(bytes / (2 * objectsPerSnapshot)) + 1024;
  const fan = await runTrainingFanOut({ ...settings, runId: 'bench-fan' }, { taskBytes, prefix: 'training/' });
  const t = fan.timings;
  if (fan.result.rowsIn !== one.rowsIn || fan.result.trainRows !== one.trainRows) {
    throw new Error(`B6: the fan-out prepared ${fan.result.rowsIn} rows, one invocation ${one.rowsIn}`);
  }
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  const perM = 1e6 / one.rowsIn;
  const serial = t.planMs + sum(t.profileMs) + t.specMs + sum(t.encodeMs) + t.finishMs;
  const modelled =
    t.planMs +
    makespan(t.profileMs, prepareConcurrency) +
    t.specMs +
    makespan(t.encodeMs, prepareConcurrency) +
    t.finishMs;
  const rowsPerTask = one.rowsIn / fan.tasks.length;
  const s = (ms: number) => fixed((ms * perM) / 1000, 1);
  env.log(`B6 training prepare: fan-out ${fan.tasks.length} tasks, serial ${fixed(serial / 1000, 1)} s`);
  const data = { rows: one.rowsIn, tasks: fan.tasks.length, oneMs, serialMs: serial, modelledMs: modelled, ...t };
  const tables: BenchResult['tables'] = [
    {
      title: `Training prepare: ${int(one.rowsIn)} rows in ${fan.tasks.length} objects (${fixed(bytes / 1e6, 1)} MB), s per million rows`,
      columns: ['path', 's / M rows', 'vs one invocation'],
      rows: [
        ['one invocation (both passes over every object)', s(oneMs), ratio(1)],
        ['fan-out, every phase one after another (CPU work)', s(serial), ratio(serial / oneMs)],
        [
          `fan-out wall time at prepareConcurrency ${prepareConcurrency} (modelled)`,
          s(modelled),
          ratio(modelled / oneMs),
        ],
      ],
    },
    {
      title: `Training prepare fan-out phases (ms; ${int(rowsPerTask)} rows a task)`,
      columns: ['phase', 'median ms', 'max ms', 'ms per M rows of a task', 'invocations'],
      rows: [
        ['PlanTrainingData', int(t.planMs), int(t.planMs), '–', '1'],
        ...(
          [
            ['ProfileTask', t.profileMs],
            ['EncodeTask', t.encodeMs],
          ] as const
        ).map(([name, ms]) => {
          const sorted = [...ms].sort((a, b) => a - b);
          const med = sorted[Math.floor(sorted.length / 2)]!;
          return [name, int(med), int(sorted.at(-1)!), int((med * 1e6) / rowsPerTask), String(ms.length)];
        }),
        ['BuildPreprocessingSpec (reducer)', int(t.specMs), int(t.specMs), '–', '1'],
        ['PrepareTrainingData (sum)', int(t.finishMs), int(t.finishMs), '–', '1'],
      ],
    },
  ];
  return { tables, data };
}
