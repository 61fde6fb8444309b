import { Logger } from '@aws-lambda-powertools/logger';
import type { SNSClient } from '@aws-sdk/client-sns';
import { parseInput } from '../../../contracts/states/batch';
import { requireEnv, snsClient } from '../../platform/clients';
import { type NotificationResult, NotificationSchema, notify } from './core';

const logger = new Logger();
let sns: SNSClient | undefined;

/** `Notify` (run summary) and `Alert` (failure): publish to ALERT_TOPIC_ARN. */
export const handler = async (event: unknown): Promise<NotificationResult> => {
  const input = parseInput(NotificationSchema, event, 'Notify');
  sns ??= snsClient();
  const result = await notify(sns, requireEnv('ALERT_TOPIC_ARN'), input);
  logger.info('Published run notification', { runId: input.runId, kind: input.kind, messageId: result.messageId });
  return result;
};
