import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import { type ResolvedModel, RunIdSchema } from '../../../contracts/states/batch';
import { sageMakerClient } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { resolveModel } from './core';

let sm: SageMakerClient | undefined;
const env = functionEnvLoader('resolve-model');

/** State input (Parameters of `ResolveModel`). `namePrefix` comes from the definition (config `namePrefix`). */
const InputSchema = z.object({
  runId: RunIdSchema,
  namePrefix: z.string().regex(/^[a-z][a-z0-9-]{1,40}$/, 'lowercase letters, digits and dashes'),
});

/** `ResolveModel`: the Production model version and its SageMaker Model (created when missing). */
export const handler = withLambdaContext(async (event: unknown): Promise<ResolvedModel> => {
  const input = parseStateInput(InputSchema, event, 'ResolveModel');
  const vars = env();
  sm ??= sageMakerClient();
  const model = await resolveModel(sm, {
    groupName: vars.MODEL_PACKAGE_GROUP_NAME,
    namePrefix: input.namePrefix,
    executionRoleArn: vars.SAGEMAKER_ROLE_ARN,
    artifactsBucket: vars.ARTIFACTS_BUCKET,
  });
  logger.info('Resolved Production model', { runId: input.runId, ...model });
  return model;
});
