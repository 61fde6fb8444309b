import type { S3Client } from '@aws-sdk/client-s3';
import { functionEnvLoader } from '../../../contracts/function-env';
import { TrainingTaskItemSchema } from '../../../contracts/states/training';
import { loadDefaultContract } from '../../data/contract';
import { profileTask } from '../../data/training-profile';
import { s3Client } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';

let s3: S3Client | undefined;
const env = functionEnvLoader('profile-training-data');

/**
 * `ProfileTask` (the item processor of ProfileTrainingData): validate one task's objects against the feature
 * contract, quarantine rejected rows, and write the task's partial (file reports, violations, statistics, split
 * counts) to `training/<runId>/prepare/profile/part-<task>.json`.
 */
export const handler = withLambdaContext(
  async (event: unknown): Promise<{ task: number; trainRows: number; validationRows: number }> => {
    const item = parseStateInput(TrainingTaskItemSchema, event, 'ProfileTask');
    const vars = env();
    s3 ??= s3Client();
    const p = await profileTask(
      {
        s3,
        contract: loadDefaultContract(),
        bucket: vars.FEATURES_BUCKET,
        artifactsBucket: vars.ARTIFACTS_BUCKET,
        runId: item.runId,
        validationShare: vars.VALIDATION_SHARE,
        // The merged report applies the ratio; a task only counts.
        maxInvalidRowRatio: 1,
        maxReportedViolations: vars.MAX_REPORTED_VIOLATIONS,
        logger,
      },
      { task: item.task, keys: item.keys, bytes: 0 },
    );
    return { task: p.task, trainRows: p.trainRows, validationRows: p.validationRows };
  },
);
