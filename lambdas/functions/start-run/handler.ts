import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import {
  RunIdSchema,
  type RunInfo,
  TrainingExecutionInputSchema,
  trainingParamsFromEnv,
} from '../../../contracts/states/training';
import { docClient, requireEnv, s3Client } from '../../platform/clients';
import { logger } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { startRun } from './core';

let s3: S3Client | undefined;
let doc: DynamoDBDocumentClient | undefined;

/** State input (Parameters of `StartRun`): the execution name and start time, and the execution input. */
const InputSchema = z.object({
  runId: RunIdSchema,
  startedAt: z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'an ISO timestamp ($$.Execution.StartTime)'),
  input: z.preprocess((v) => v ?? {}, TrainingExecutionInputSchema),
});

/** `StartRun`: resolve the data window and create the run record. */
export const handler = async (event: unknown): Promise<RunInfo> => {
  const input = parseStateInput(InputSchema, event, 'StartRun');
  s3 ??= s3Client();
  doc ??= docClient();
  const info = await startRun(
    { s3, doc },
    {
      runId: input.runId,
      startedAt: input.startedAt,
      input: input.input,
      codeVersion: process.env.CODE_VERSION || 'unknown',
      featuresBucket: requireEnv('FEATURES_BUCKET'),
      artifactsBucket: requireEnv('ARTIFACTS_BUCKET'),
      table: requireEnv('TABLE_NAME'),
      params: trainingParamsFromEnv(process.env),
    },
  );
  logger.info('Training run started', { runId: info.runId, dataWindow: info.dataWindow, trigger: info.trigger });
  return info;
};
