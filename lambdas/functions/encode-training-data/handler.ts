import type { S3Client } from '@aws-sdk/client-s3';
import { functionEnvLoader } from '../../../contracts/function-env';
import { TrainingTaskItemSchema } from '../../../contracts/states/training';
import { loadDefaultContract } from '../../data/contract';
import { encodeTask } from '../../data/training-encode';
import { s3Client } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';

let s3: S3Client | undefined;
const env = functionEnvLoader('encode-training-data');

/**
 * `EncodeTask` (the item processor of EncodeTrainingData): re-read one task's objects pinned to the versions its
 * profile read, encode the valid rows with the run's spec into the train shards and validation file assigned to the
 * task, and write the task's partial to `training/<runId>/prepare/encode/part-<task>.json`.
 */
export const handler = withLambdaContext(
  async (event: unknown): Promise<{ task: number; trainRows: number; validationRows: number }> => {
    const item = parseStateInput(TrainingTaskItemSchema, event, 'EncodeTask');
    const vars = env();
    s3 ??= s3Client();
    const p = await encodeTask(
      {
        s3,
        contract: loadDefaultContract(),
        bucket: vars.FEATURES_BUCKET,
        artifactsBucket: vars.ARTIFACTS_BUCKET,
        runId: item.runId,
        validationShare: vars.VALIDATION_SHARE,
        maxInvalidRowRatio: 1,
        maxReportedViolations: 0,
        logger,
      },
      item.task,
    );
    logger.info('Training task encoded', { runId: item.runId, task: p.task, trainShards: p.trainKeys.length });
    return { task: p.task, trainRows: p.trainRows, validationRows: p.validationRows };
  },
);
