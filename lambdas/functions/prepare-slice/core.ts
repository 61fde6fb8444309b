import type { S3Client } from '@aws-sdk/client-s3';
import { partName } from '../../../contracts/s3-layout';
import type { PrepareSliceResult } from '../../../contracts/states/batch';
import type { PreprocessingSpec } from '../../data/encoder';
import { prepareSlice } from '../../data/prepare-slice';
import { readTask, writePartial } from '../../data/prepare-store';
import type { StepLogger } from '../../platform/logger';

export interface PrepareSliceTaskInput {
  s3: S3Client;
  runId: string;
  /** 0-based index into `batch/<runId>/prepare-tasks.json`. */
  task: number;
  spec: PreprocessingSpec;
  featuresBucket: string;
  artifactsBucket: string;
  segmentFeature: string;
  maxReportedViolations: number;
  targetRowsPerPart: number;
  coalesceRows?: number;
  logger?: StepLogger;
}

/**
 * `PrepareSlice` (one item of the PrepareTasks Map): read its task from the tasks file, prepare it
 * (lambdas/data/prepare-slice.ts; parts `part-<task>-<n>.csv`), write its partial result for the reducer and return
 * a small constant summary.
 */
export async function runPrepareTask(input: PrepareSliceTaskInput): Promise<PrepareSliceResult> {
  const { s3, runId, artifactsBucket } = input;
  const task = await readTask(s3, artifactsBucket, runId, input.task);
  const partial = await prepareSlice({
    s3,
    spec: input.spec,
    featuresBucket: input.featuresBucket,
    artifactsBucket,
    runId,
    task,
    segmentFeature: input.segmentFeature,
    reference: input.spec.trainingStats,
    maxReportedViolations: input.maxReportedViolations,
    targetRowsPerPart: input.targetRowsPerPart,
    coalesceRows: input.coalesceRows,
    partName: (n) => partName(n, task.task),
    logger: input.logger,
  });
  const partialKey = await writePartial(s3, artifactsBucket, runId, partial);
  let rowsIn = 0;
  let rowsValid = 0;
  for (const o of partial.objects) {
    rowsIn += o.report?.rowsIn ?? 0;
    rowsValid += o.report?.rowsValid ?? 0;
  }
  return { task: task.task, partialKey, rowsIn, rowsValid, parts: partial.parts.length };
}
