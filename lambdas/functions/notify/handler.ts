import type { SNSClient } from '@aws-sdk/client-sns';
import { functionEnvLoader } from '../../../contracts/function-env';
import { snsClient } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { type NotificationResult, NotificationSchema, notify } from './core';

let sns: SNSClient | undefined;
const env = functionEnvLoader('notify');

/** `Notify` (run summary) and `Alert` (failure): publish to ALERT_TOPIC_ARN. */
export const handler = withLambdaContext(async (event: unknown): Promise<NotificationResult> => {
  const input = parseStateInput(NotificationSchema, event, 'Notify');
  const { ALERT_TOPIC_ARN } = env();
  sns ??= snsClient();
  const result = await notify(sns, ALERT_TOPIC_ARN, input);
  logger.info('Published run notification', { runId: input.runId, kind: input.kind, messageId: result.messageId });
  return result;
});
