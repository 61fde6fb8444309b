import type { SNSClient } from '@aws-sdk/client-sns';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import { EvaluationSchema, RegistrationSchema, RunIdSchema } from '../../../contracts/states/training';
import { snsClient } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { notifyApprovers } from './core';

let sns: SNSClient | undefined;
const env = functionEnvLoader('notify-approvers');

/** State input (Parameters of `NotifyApprovers`). */
const InputSchema = z.object({ runId: RunIdSchema, registration: RegistrationSchema, evaluation: EvaluationSchema });

/** `NotifyApprovers`: SNS message with version, metrics vs Production, console link and the approve commands. */
export const handler = withLambdaContext(async (event: unknown): Promise<{ messageId: string }> => {
  const input = parseStateInput(InputSchema, event, 'NotifyApprovers');
  const vars = env();
  sns ??= snsClient();
  const out = await notifyApprovers(sns, {
    runId: input.runId,
    registration: input.registration,
    evaluation: input.evaluation,
    groupName: vars.MODEL_PACKAGE_GROUP_NAME,
    region: vars.AWS_REGION,
    topicArn: vars.APPROVER_TOPIC_ARN,
  });
  logger.info('Approvers notified', { runId: input.runId, version: input.registration.version, ...out });
  return out;
});
