import { Logger } from '@aws-lambda-powertools/logger';
import type { SNSClient } from '@aws-sdk/client-sns';
import { functionEnvLoader } from '../../../contracts/function-env';
import { parseInput } from '../../../contracts/states/batch';
import { snsClient } from '../../platform/clients';
import { type NotificationResult, NotificationSchema, notify } from './core';

const logger = new Logger();
let sns: SNSClient | undefined;
const env = functionEnvLoader('notify');

/** `Notify` (run summary) and `Alert` (failure): publish to ALERT_TOPIC_ARN. */
export const handler = async (event: unknown): Promise<NotificationResult> => {
  const input = parseInput(NotificationSchema, event, 'Notify');
  const { ALERT_TOPIC_ARN } = env();
  sns ??= snsClient();
  const result = await notify(sns, ALERT_TOPIC_ARN, input);
  logger.info('Published run notification', { runId: input.runId, kind: input.kind, messageId: result.messageId });
  return result;
};
