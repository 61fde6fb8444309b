/**
 * The fanned-out PrepareTrainingData run in-process, phase by phase, as the state machine runs it (plan → every
 * profile task → spec → every encode task → finish), with each phase timed: for tests comparing it with the
 * one-Lambda path (lambdas/functions/prepare-training-data/core.ts) and for bench B6.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { encodeTask, finishTrainingData, type TrainingDataResult } from '../../lambdas/data/training-encode';
import {
  buildTrainingSpec,
  type PrepareTask,
  planTrainingData,
  profileTask,
  type TrainingPlan,
  type TrainingPrepareSettings,
} from '../../lambdas/data/training-profile';

export interface FanOutTimings {
  readonly planMs: number;
  readonly profileMs: number[];
  readonly specMs: number;
  readonly encodeMs: number[];
  readonly finishMs: number;
}

export async function runTrainingFanOut(
  s: TrainingPrepareSettings,
  options: { taskBytes: number; prefix?: string; window?: { from?: string; to?: string } },
): Promise<{ plan: TrainingPlan; tasks: PrepareTask[]; result: TrainingDataResult; timings: FanOutTimings }> {
  const t = () => performance.now();
  let t0 = t();
  const plan = await planTrainingData({
    s3: s.s3,
    bucket: s.bucket,
    artifactsBucket: s.artifactsBucket,
    runId: s.runId,
    taskBytes: options.taskBytes,
    prefix: options.prefix,
    window: options.window,
  });
  const planMs = t() - t0;
  const body = await s.s3.send(new GetObjectCommand({ Bucket: plan.bucket, Key: plan.tasksKey }));
  const tasks = JSON.parse(await body.Body!.transformToString('utf8')) as PrepareTask[];
  const profileMs: number[] = [];
  for (const task of tasks) {
    t0 = t();
    await profileTask(s, task);
    profileMs.push(t() - t0);
  }
  t0 = t();
  await buildTrainingSpec(s, tasks.length);
  const specMs = t() - t0;
  const encodeMs: number[] = [];
  for (const task of tasks) {
    t0 = t();
    await encodeTask(s, task.task);
    encodeMs.push(t() - t0);
  }
  t0 = t();
  const result = await finishTrainingData(s, options.window);
  const finishMs = t() - t0;
  return { plan, tasks, result, timings: { planMs, profileMs, specMs, encodeMs, finishMs } };
}
