import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import {
  EvaluationSchema,
  PreparedTrainingDataSchema,
  type Registration,
  RunInfoSchema,
  TrainingJobSchema,
} from '../../../contracts/states/training';
import { docClient, sageMakerClient } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { registerModel } from './core';

let sm: SageMakerClient | undefined;
let doc: DynamoDBDocumentClient | undefined;
const env = functionEnvLoader('register-model');

/** State input (Parameters of `RegisterModel`). */
const InputSchema = z.object({
  run: RunInfoSchema,
  data: PreparedTrainingDataSchema,
  training: TrainingJobSchema,
  evaluation: EvaluationSchema,
});

/** `RegisterModel`: the model package (PendingManualApproval) and the model record, linked to the run. */
export const handler = withLambdaContext(async (event: unknown): Promise<Registration> => {
  const input = parseStateInput(InputSchema, event, 'RegisterModel');
  const vars = env();
  sm ??= sageMakerClient();
  doc ??= docClient();
  const registration = await registerModel(
    { sageMaker: sm, doc },
    {
      runId: input.run.runId,
      startedAt: input.run.startedAt,
      codeVersion: input.run.codeVersion,
      dataWindow: input.run.dataWindow,
      training: input.training,
      preprocessingUri: input.data.preprocessingUri,
      statsUri: input.data.statsUri,
      evaluation: input.evaluation,
      groupName: vars.MODEL_PACKAGE_GROUP_NAME,
      imageUri: vars.INFERENCE_IMAGE_URI,
      transformInstanceTypes: vars.TRANSFORM_INSTANCE_TYPES,
      table: vars.TABLE_NAME,
    },
  );
  logger.info('Model registered', { runId: input.run.runId, ...registration });
  return registration;
});
