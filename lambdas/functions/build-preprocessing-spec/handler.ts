import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import { RunIdSchema, type TrainingSpecSummarySchema } from '../../../contracts/states/training';
import { loadDefaultContract } from '../../data/contract';
import { buildTrainingSpec } from '../../data/training-profile';
import { s3Client } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';

let s3: S3Client | undefined;
const env = functionEnvLoader('build-preprocessing-spec');
const InputSchema = z.object({ runId: RunIdSchema, tasks: z.number().int().positive() });

/**
 * `BuildPreprocessingSpec`: merge the profile partials of every task into the run's validation report, statistics
 * and preprocessing spec; fail with ValidationError (naming the report) when a file breaks the contract or the
 * invalid-row ratio is over `validation.maxInvalidRowRatio`; assign each encode task its train shards.
 */
export const handler = withLambdaContext(async (event: unknown): Promise<z.infer<typeof TrainingSpecSummarySchema>> => {
  const input = parseStateInput(InputSchema, event, 'BuildPreprocessingSpec');
  const vars = env();
  s3 ??= s3Client();
  const plan = await buildTrainingSpec(
    {
      s3,
      contract: loadDefaultContract(),
      bucket: '',
      artifactsBucket: vars.ARTIFACTS_BUCKET,
      runId: input.runId,
      validationShare: vars.VALIDATION_SHARE,
      maxInvalidRowRatio: vars.MAX_INVALID_ROW_RATIO,
      maxReportedViolations: vars.MAX_REPORTED_VIOLATIONS,
      instanceCount: vars.TRAINING_INSTANCE_COUNT,
      maxRowsPerShard: vars.TRAIN_SHARD_MAX_ROWS,
      logger,
    },
    input.tasks,
  );
  const out = {
    tasks: plan.tasks,
    trainRows: plan.trainRows,
    validationRows: plan.validationRows,
    trainShards: plan.trainShards,
  };
  logger.info('Preprocessing spec built', { runId: input.runId, ...out });
  return out;
});
