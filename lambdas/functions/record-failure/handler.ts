import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import { MAP_RESULTS_PREFIXES } from '../../../contracts/s3-layout';
import { ExecutionRefSchema } from '../../../contracts/states/execution';
import { RunIdSchema, StepErrorSchema } from '../../../contracts/states/training';
import { docClient, s3Client } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { type RecordedFailure, recordFailure } from './core';

const metrics = new Metrics();
let doc: DynamoDBDocumentClient | undefined;
let s3: S3Client | undefined;
const env = functionEnvLoader('record-failure');

/** State input of `RecordFailure` (both workflows): `{ runId, kind, error: { Error, Cause } }`. */
export const RecordFailureInputSchema = z.object({
  runId: RunIdSchema,
  kind: z.enum(['training', 'batch']),
  error: StepErrorSchema,
  execution: ExecutionRefSchema.optional(),
});

/**
 * `RecordFailure`: the run record gets status FAILED with the error and cause — for a failed Distributed Map, its first
 * failed item's (read from the map run's ResultWriter files under the artifacts bucket). Emits `RunFailed`
 * (dimension kind).
 */
export const handler = withLambdaContext(async (event: unknown): Promise<RecordedFailure> => {
  const input = parseStateInput(RecordFailureInputSchema, event, 'RecordFailure');
  const vars = env();
  doc ??= docClient();
  s3 ??= s3Client();
  const out = await recordFailure(doc, vars.TABLE_NAME, input, {
    s3,
    bucket: vars.ARTIFACTS_BUCKET,
    prefixes: MAP_RESULTS_PREFIXES[input.kind],
  });
  if (out.itemNotFound) logger.warn('The failed Distributed Map item could not be read', { why: out.itemNotFound });
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
