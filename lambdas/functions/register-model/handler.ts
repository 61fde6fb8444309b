import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import {
  EvaluationSchema,
  PreparedTrainingDataSchema,
  type Registration,
  RunInfoSchema,
  TrainingJobSchema,
} from '../../../contracts/states/training';
import { docClient, requireEnv, sageMakerClient } from '../../platform/clients';
import { logger } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { registerModel } from './core';

let sm: SageMakerClient | undefined;
let doc: DynamoDBDocumentClient | undefined;

/** State input (Parameters of `RegisterModel`). */
const InputSchema = z.object({
  run: RunInfoSchema,
  data: PreparedTrainingDataSchema,
  training: TrainingJobSchema,
  evaluation: EvaluationSchema,
});

/** Instance types batch transform may use (`TRANSFORM_INSTANCE_TYPES`, comma-separated). */
function transformInstanceTypes(): string[] {
  const list = requireEnv('TRANSFORM_INSTANCE_TYPES')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) throw new Error('Environment variable TRANSFORM_INSTANCE_TYPES lists no instance type');
  return list;
}

/** `RegisterModel`: the model package (PendingManualApproval) and the model record, linked to the run. */
export const handler = async (event: unknown): Promise<Registration> => {
  const input = parseStateInput(InputSchema, event, 'RegisterModel');
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
      groupName: requireEnv('MODEL_PACKAGE_GROUP_NAME'),
      imageUri: requireEnv('INFERENCE_IMAGE_URI'),
      transformInstanceTypes: transformInstanceTypes(),
      table: requireEnv('TABLE_NAME'),
    },
  );
  logger.info('Model registered', { runId: input.run.runId, ...registration });
  return registration;
};
