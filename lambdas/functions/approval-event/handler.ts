import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { functionEnvLoader } from '../../../contracts/function-env';
import { docClient, sageMakerClient, sfnClient } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { type ApprovalOutcome, handleApprovalEvent, ModelPackageStateChangeSchema } from './core';

let sm: SageMakerClient | undefined;
let doc: DynamoDBDocumentClient | undefined;
let sfn: SFNClient | undefined;
const env = functionEnvLoader('approval-event');

/**
 * EventBridge target of the "SageMaker Model Package State Change" rule (this group only): approval history,
 * rollback on rejection of Production, optional batch run on approval (`START_BATCH_ON_APPROVAL`,
 * `BATCH_STATE_MACHINE_ARN`).
 */
export const handler = withLambdaContext(async (event: unknown): Promise<ApprovalOutcome> => {
  const e = parseStateInput(ModelPackageStateChangeSchema, event, 'ApprovalEvent');
  const vars = env();
  sm ??= sageMakerClient();
  doc ??= docClient();
  sfn ??= sfnClient();
  const outcome = await handleApprovalEvent(
    { sageMaker: sm, doc, sfn },
    {
      groupName: vars.MODEL_PACKAGE_GROUP_NAME,
      table: vars.TABLE_NAME,
      startBatchOnApproval: vars.START_BATCH_ON_APPROVAL,
      batchStateMachineArn: vars.BATCH_STATE_MACHINE_ARN,
    },
    e,
  );
  if (outcome.action === 'untracked') logger.warn('Approval change not recorded', { eventId: e.id, ...outcome });
  else logger.info('Model package state change handled', { eventId: e.id, ...outcome });
  return outcome;
});
