import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import { RunIdSchema, type RunInfo, TrainingExecutionInputSchema } from '../../../contracts/states/training';
import { docClient, s3Client } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { runParams, startRun } from './core';

let s3: S3Client | undefined;
let doc: DynamoDBDocumentClient | undefined;
const env = functionEnvLoader('start-run');

/** State input (Parameters of `StartRun`): the execution name and start time, and the execution input. */
const InputSchema = z.object({
  runId: RunIdSchema,
  startedAt: z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'an ISO timestamp ($$.Execution.StartTime)'),
  /** `$$.Execution.Id`. */
  executionArn: z.string().min(1).optional(),
  input: z.preprocess((v) => v ?? {}, TrainingExecutionInputSchema),
});

/** `StartRun`: resolve the data window and create the run record. */
export const handler = withLambdaContext(async (event: unknown): Promise<RunInfo> => {
  const input = parseStateInput(InputSchema, event, 'StartRun');
  const vars = env();
  s3 ??= s3Client();
  doc ??= docClient();
  const info = await startRun(
    { s3, doc },
    {
      runId: input.runId,
      startedAt: input.startedAt,
      ...(input.executionArn ? { executionArn: input.executionArn } : {}),
      input: input.input,
      codeVersion: vars.CODE_VERSION,
      featuresBucket: vars.FEATURES_BUCKET,
      artifactsBucket: vars.ARTIFACTS_BUCKET,
      table: vars.TABLE_NAME,
      params: runParams(vars),
    },
  );
  logger.info('Training run started', { runId: info.runId, dataWindow: info.dataWindow, trigger: info.trigger });
  return info;
});
