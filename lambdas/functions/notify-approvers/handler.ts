import type { SNSClient } from '@aws-sdk/client-sns';
import { z } from 'zod';
import { EvaluationSchema, RegistrationSchema, RunIdSchema } from '../../../contracts/states/training';
import { requireEnv, snsClient } from '../../platform/clients';
import { logger } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { notifyApprovers } from './core';

let sns: SNSClient | undefined;

/** State input (Parameters of `NotifyApprovers`). */
const InputSchema = z.object({ runId: RunIdSchema, registration: RegistrationSchema, evaluation: EvaluationSchema });

/** `NotifyApprovers`: SNS message with version, metrics vs Production, console link and the approve commands. */
export const handler = async (event: unknown): Promise<{ messageId: string }> => {
  const input = parseStateInput(InputSchema, event, 'NotifyApprovers');
  sns ??= snsClient();
  const out = await notifyApprovers(sns, {
    runId: input.runId,
    registration: input.registration,
    evaluation: input.evaluation,
    groupName: requireEnv('MODEL_PACKAGE_GROUP_NAME'),
    region: requireEnv('AWS_REGION'),
    topicArn: requireEnv('APPROVER_TOPIC_ARN'),
  });
  logger.info('Approvers notified', { runId: input.runId, version: input.registration.version, ...out });
  return out;
};
