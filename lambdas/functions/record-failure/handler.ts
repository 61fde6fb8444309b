import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import { ExecutionRefSchema } from '../../../contracts/states/execution';
import { RunIdSchema, StepErrorSchema } from '../../../contracts/states/training';
import { docClient } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { type RecordedFailure, recordFailure } from './core';

const metrics = new Metrics();
let doc: DynamoDBDocumentClient | undefined;
const env = functionEnvLoader('record-failure');

/** State input of `RecordFailure` (both workflows): `{ runId, kind, error: { Error, Cause } }`. */
export const RecordFailureInputSchema = z.object({
  runId: RunIdSchema,
  kind: z.enum(['training', 'batch']),
  error: StepErrorSchema,
  execution: ExecutionRefSchema.optional(),
});

/** `RecordFailure`: the run record gets status FAILED with the error and cause. Emits `RunFailed` (dimension kind). */
export const handler = withLambdaContext(async (event: unknown): Promise<RecordedFailure> => {
  const input = parseStateInput(RecordFailureInputSchema, event, 'RecordFailure');
  doc ??= docClient();
  const out = await recordFailure(doc, env().TABLE_NAME, input);
  metrics.addDimension('kind', input.kind);
  metrics.addMetric('RunFailed', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  if (out.recorded) logger.error('Run failed', { ...out, kind: input.kind });
  else
    logger.error('Execution failed under a run id another execution owns; that run record left as it was', {
      ...out,
      kind: input.kind,
    });
  return out;
});
