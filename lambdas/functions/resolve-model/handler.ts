import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import { type ResolvedModel, RunIdSchema } from '../../../contracts/states/batch';
import { docClient, sageMakerClient } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { resolveModel } from './core';

let sm: SageMakerClient | undefined;
let doc: DynamoDBDocumentClient | undefined;
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
  doc ??= docClient();
  const model = await resolveModel(sm, {
    groupName: vars.MODEL_PACKAGE_GROUP_NAME,
    namePrefix: input.namePrefix,
    executionRoleArn: vars.SAGEMAKER_ROLE_ARN,
    artifactsBucket: vars.ARTIFACTS_BUCKET,
    pointer: { doc, tableName: vars.TABLE_NAME, runId: input.runId },
  });
  logger.info('Resolved Production model', { runId: input.runId, ...model });
  return model;
});
