import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import {
  type CompletedRun,
  EvaluationSchema,
  RegistrationSchema,
  RunIdSchema,
} from '../../../contracts/states/training';
import { docClient } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { completeRegisteredRun, completeRejectedRun, type GateFailure } from './core';

let doc: DynamoDBDocumentClient | undefined;
const env = functionEnvLoader('complete-run');

/**
 * State input: `CompleteRun` passes `outcome: 'registered'` with the registration; `RecordGateFailure` passes
 * `outcome: 'rejected'` (same function, two states).
 */
const InputSchema = z.discriminatedUnion('outcome', [
  z.object({
    outcome: z.literal('registered'),
    runId: RunIdSchema,
    registration: RegistrationSchema,
    evaluation: EvaluationSchema,
  }),
  z.object({ outcome: z.literal('rejected'), runId: RunIdSchema, evaluation: EvaluationSchema }),
]);

/** `CompleteRun` / `RecordGateFailure`: end the run record SUCCEEDED or REJECTED. */
export const handler = withLambdaContext(async (event: unknown): Promise<CompletedRun | GateFailure> => {
  const input = parseStateInput(InputSchema, event, 'CompleteRun');
  doc ??= docClient();
  const table = env().TABLE_NAME;
  if (input.outcome === 'registered') {
    const out = await completeRegisteredRun(doc, table, input);
    logger.info('Training run succeeded', { ...out });
    return out;
  }
  const out = await completeRejectedRun(doc, table, input);
  logger.warn('Training run rejected by the model gate', { runId: input.runId, reasons: input.evaluation.reasons });
  return out;
});
