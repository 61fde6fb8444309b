import type { S3Client } from '@aws-sdk/client-s3';
import type { ScoreLayout } from '../../../contracts/score-layout';
import type { PreparePlan, Work } from '../../../contracts/states/batch';
import { planPrepareTasks } from '../../data/prepare-plan';
import { withSizes, writeTasks } from '../../data/prepare-store';
import { loadWorkObjects } from '../../domain/work';
import type { StepLogger } from '../../platform/logger';

export interface PlanPrepareInput {
  s3: S3Client;
  runId: string;
  work: Work;
  featuresBucket: string;
  artifactsBucket: string;
  /** `batch.prepareBytesPerTask`. */
  bytesPerTask: number;
  /** The score store's layout (`SCORE_LAYOUT`): the slices of a big day own ranges of its buckets. @default DEFAULT_LAYOUT */
  layout?: ScoreLayout;
  logger?: StepLogger;
}

/**
 * `PlanPrepare`: the run's work objects with their sizes (the ledger's, else HeadObject's), planned into prepare
 * tasks (lambdas/data/prepare-plan.ts) and written to `batch/<runId>/prepare-tasks.json`; returns where they are.
 */
export async function planPrepare(input: PlanPrepareInput): Promise<PreparePlan> {
  const { s3, runId } = input;
  const objects = await loadWorkObjects(s3, input.work);
  const sized = await withSizes(s3, input.featuresBucket, objects);
  const tasks = planPrepareTasks(sized, input.bytesPerTask, input.layout);
  const tasksKey = await writeTasks(s3, input.artifactsBucket, runId, tasks);
  input.logger?.info('Planned prepare tasks', {
    runId,
    objects: sized.length,
    bytes: sized.reduce((n, o) => n + o.size, 0),
    tasks: tasks.length,
    slicedTasks: tasks.filter((t) => t.slices > 1).length,
    bytesPerTask: input.bytesPerTask,
  });
  return { bucket: input.artifactsBucket, tasksKey, tasks: tasks.length };
}
