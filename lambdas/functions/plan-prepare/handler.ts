import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import { parseLayout } from '../../../contracts/score-layout';
import { type PreparePlan, ResolvedModelSchema, RunIdSchema, WorkSchema } from '../../../contracts/states/batch';
import { readPreprocessingSpec } from '../../data/preprocessing-spec';
import { s3Client } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { planPrepare } from './core';

let s3: S3Client | undefined;
const env = functionEnvLoader('plan-prepare');

const InputSchema = z.object({ runId: RunIdSchema, work: WorkSchema, model: ResolvedModelSchema });

/** `PlanPrepare`: split the run's objects into prepare tasks (`batch/<runId>/prepare-tasks.json`). */
export const handler = withLambdaContext(async (event: unknown): Promise<PreparePlan> => {
  const input = parseStateInput(InputSchema, event, 'PlanPrepare');
  const vars = env();
  s3 ??= s3Client();
  // The Production model's spec is read (and validated) once here, before the fan-out: a malformed spec fails the run
  // naming its URI and path, instead of failing every PrepareSlice, whose errors a Distributed Map reports only as
  // its failure threshold exceeded.
  await readPreprocessingSpec(s3, input.model.preprocessingUri);
  return planPrepare({
    s3,
    runId: input.runId,
    work: input.work,
    featuresBucket: vars.FEATURES_BUCKET,
    artifactsBucket: vars.ARTIFACTS_BUCKET,
    bytesPerTask: vars.PREPARE_BYTES_PER_TASK,
    layout: parseLayout(vars.SCORE_LAYOUT),
    logger,
  });
});
