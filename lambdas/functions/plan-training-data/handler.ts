import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import { DataWindowSchema, RunIdSchema, type TrainingPlanPayload } from '../../../contracts/states/training';
import { planTrainingData } from '../../data/training-profile';
import { s3Client } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';

let s3: S3Client | undefined;
const env = functionEnvLoader('plan-training-data');
const InputSchema = z.object({ runId: RunIdSchema, dataWindow: DataWindowSchema });

/**
 * `PlanTrainingData`: list the training objects in the run's data window and write them as tasks (consecutive
 * objects up to `training.prepareTaskBytes`) for the ProfileTrainingData and EncodeTrainingData Distributed Maps.
 * An empty window fails with NotFoundError, as the one-Lambda step did.
 */
export const handler = withLambdaContext(async (event: unknown): Promise<TrainingPlanPayload> => {
  const input = parseStateInput(InputSchema, event, 'PlanTrainingData');
  const vars = env();
  s3 ??= s3Client();
  const plan = await planTrainingData({
    s3,
    bucket: vars.FEATURES_BUCKET,
    artifactsBucket: vars.ARTIFACTS_BUCKET,
    runId: input.runId,
    taskBytes: vars.PREPARE_TASK_BYTES,
    window: { from: input.dataWindow.from, to: input.dataWindow.to },
    logger,
  });
  logger.info('Training data planned', { runId: input.runId, ...plan });
  return plan;
});
