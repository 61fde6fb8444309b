/**
 * B6 scale (state): the BatchInference execution's largest state for runs of 10 … 5 000 parts, measured on the
 * synthesized definition with the local runtime (bench/state-size.ts), side by side with the same runs' state in the
 * previous design (the part list and every part's load result inline), and the parts per run each allows under Step
 * Functions' 256 KB state limit.
 *
 * Next to it, the feature objects a day can score before (one run per scheduled trigger, `batch.maxObjectsPerRun`)
 * and with continuation (a truncated run starts the next, up to `batch.maxRunsPerChain`), for the configured defaults
 * and run durations of 10 / 30 / 60 minutes: computed from the configuration, not measured.
 *
 * Then the prepare times per million rows, side by side in the same run: batch inference, one task vs the prepare
 * fan-out (bench/b6-prepare.ts), and PrepareTrainingData as one invocation vs fanned out
 * (bench/b6-training-prepare.ts). Load times, bytes per entity and the loader ratio are B1 and B6S (the README's
 * Benchmarks section says what is where).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { BatchConfigSchema } from '../lib/config';
import { extractDefinition } from '../local/runtime/inventory';
import { synthesizeApp } from '../local/runtime/synth';
import { createBucket } from '../test/support/aws';
import { measurePrepare } from './b6-prepare';
import { runTrainingPrepareBench } from './b6-training-prepare';
import { type BenchEnv, type BenchResult, int, ratio } from './lib';
import { measureStateSize, STATE_LIMIT_BYTES, type StateSizeResult } from './state-size';

export async function runB6(env: BenchEnv, s3: S3Client): Promise<BenchResult> {
  const sizes = env.quick ? [10, 500] : [10, 500, 5_000];
  const definition = extractDefinition(synthesizeApp(), 'WorkflowStateMachine');
  const bucket = await createBucket(s3);
  const results: StateSizeResult[] = [];
  for (const parts of sizes) {
    const r = await measureStateSize({ definition, s3, bucket, parts, endpoint: env.motoEndpoint });
    if (r.status !== 'SUCCEEDED' || r.rowsScored !== parts * 100_000) {
      throw new Error(
        `B6: run of ${parts} parts ended ${r.status} with ${r.rowsScored} rows reconciled${r.error ? ` (${r.error})` : ''}`,
      );
    }
    env.log(
      `B6: ${parts} parts: state ${r.maxStateBytes} B (after ${r.largestAfter}), inline design ${r.inlineDesignBytes} B`,
    );
    results.push(r);
  }
  const first = results[0]!;
  const last = results.at(-1)!;
  // Bytes each extra part adds: the slope between the smallest and largest run.
  const slope = (f: (r: StateSizeResult) => number) => (f(last) - f(first)) / (last.parts - first.parts);
  const inlinePerPart = slope((r) => r.inlineDesignBytes);
  const newPerPart = slope((r) => r.maxStateBytes);
  const inlineBase = first.inlineDesignBytes - inlinePerPart * first.parts;
  const inlineMaxParts = Math.floor((STATE_LIMIT_BYTES - inlineBase) / inlinePerPart);
  const trainingPrepare = await runTrainingPrepareBench(env, s3);
  const prepare = await measurePrepare(env, s3, bucket);
  return {
    id: 'B6',
    title: 'Scale: execution state per run (BatchInference, synthesized definition, local runtime)',
    tables: [
      {
        title: 'Largest execution state (bytes) by parts per run',
        columns: ['parts', 'manifests + Distributed Map', 'inline (previous design)', 'inline / manifests'],
        rows: results.map((r) => [
          int(r.parts),
          int(r.maxStateBytes),
          int(r.inlineDesignBytes),
          ratio(r.inlineDesignBytes / r.maxStateBytes),
        ]),
      },
      {
        title: 'Growth and limit (256 KB)',
        columns: ['design', 'bytes per extra part', 'parts per run allowed by the state'],
        rows: [
          ['manifests + Distributed Map', newPerPart.toFixed(3), 'not bounded by the state'],
          ['inline (previous design)', inlinePerPart.toFixed(0), int(inlineMaxParts)],
        ],
      },
      continuationTable(),
      ...trainingPrepare.tables,
      ...prepare,
    ],
    notes: [
      'Each part: 100 000 rows, 5 segment values in its load result; a tenth as many quarantined objects as parts.',
      'Objects per day: computed from lib/config.ts defaults for one scheduled trigger a day (the default cron); continuation runs back to back within the chain, so a day holds min(maxRunsPerChain, 1 440 / run minutes) runs.',
      "Training prepare: the fan-out phases run one after another in this process (moto S3); its wall time in AWS is modelled as plan + each Map's makespan (tasks longest first on training.prepareConcurrency slots) + spec + finish. Lambda start-up and Step Functions overhead (about 1 s a state, a few s a Map run) are not included.",
      'Prepare: moto_server S3 on this machine, tasks timed one after another in this process (a Lambda per task on AWS); makespan = plan + tasks scheduled on prepareConcurrency workers + reducer. Slices of one day each parse every byte of the day.',
      'Task states are stand-ins with the real output shapes (bench/state-size.ts); the Distributed Map runs in the local emulation (local/runtime/distributed-map.ts) and FinalizeScores reads every part result back from S3.',
    ],
    data: { results, inlinePerPart, newPerPart, inlineMaxParts, trainingPrepare: trainingPrepare.data },
  };
}

/**
 * Feature objects a day can score, before continuation (one run per trigger) and with it (a chain of runs per
 * trigger), for the default `batch.maxObjectsPerRun` and `batch.maxRunsPerChain` and a few run durations.
 */
function continuationTable(): BenchResult['tables'][number] {
  const { maxObjectsPerRun, maxRunsPerChain } = BatchConfigSchema.parse({});
  const triggersPerDay = 1; // the default schedule.cron: once a day
  return {
    title: `Feature objects scored per day (maxObjectsPerRun ${int(maxObjectsPerRun)}, maxRunsPerChain ${int(maxRunsPerChain)}, one scheduled trigger a day)`,
    columns: ['run duration', 'before (one run per trigger)', 'with continuation', 'with / before'],
    rows: [10, 30, 60].map((minutes) => {
      const before = maxObjectsPerRun * triggersPerDay;
      const runs = Math.min(maxRunsPerChain, Math.floor((24 * 60) / minutes));
      const after = maxObjectsPerRun * runs * triggersPerDay;
      return [`${minutes} min`, int(before), int(after), ratio(after / before)];
    }),
  };
}
