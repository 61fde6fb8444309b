import type { S3Client } from '@aws-sdk/client-s3';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import { S3UriSchema } from '../../../contracts/s3-layout';
import { type EvaluationPlan, RunIdSchema, TrainingJobSchema } from '../../../contracts/states/training';
import { s3Client, sageMakerClient } from '../../platform/clients';
import { logger } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { prepareEvaluation } from './core';

let s3: S3Client | undefined;
let sm: SageMakerClient | undefined;
const env = functionEnvLoader('prepare-evaluation');

/** State input (Parameters of `PrepareEvaluation`). */
const InputSchema = z.object({
  runId: RunIdSchema,
  training: TrainingJobSchema,
  data: z.object({ validationUri: S3UriSchema, preprocessingUri: S3UriSchema }),
});

/**
 * `PrepareEvaluation`: SageMaker Models for the candidate and the Production model, and the two transform jobs of
 * the candidate's validation channel that ScoreValidation runs (the champion's only when it can read these rows).
 */
export const handler = async (event: unknown): Promise<EvaluationPlan> => {
  const input = parseStateInput(InputSchema, event, 'PrepareEvaluation');
  const vars = env();
  s3 ??= s3Client();
  sm ??= sageMakerClient();
  const plan = await prepareEvaluation(
    { s3, sageMaker: sm },
    {
      runId: input.runId,
      modelDataUrl: input.training.ModelArtifacts.S3ModelArtifacts,
      validationUri: input.data.validationUri,
      preprocessingUri: input.data.preprocessingUri,
      artifactsBucket: vars.ARTIFACTS_BUCKET,
      groupName: vars.MODEL_PACKAGE_GROUP_NAME,
      namePrefix: vars.EVALUATION_NAME_PREFIX,
      imageUri: vars.INFERENCE_IMAGE_URI,
      executionRoleArn: vars.SAGEMAKER_ROLE_ARN,
    },
  );
  logger.info('Evaluation planned', { runId: input.runId, ...plan });
  return plan;
};
