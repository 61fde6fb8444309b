import type { S3Client } from '@aws-sdk/client-s3';
import { functionEnvLoader } from '../../../contracts/function-env';
import { PrepareSliceInputSchema, type PrepareSliceResult } from '../../../contracts/states/batch';
import { readPreprocessingSpec } from '../../data/preprocessing-spec';
import { s3Client } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { runPrepareTask } from './core';

let s3: S3Client | undefined;
const env = functionEnvLoader('prepare-slice');

/** `PrepareSlice`: validate, quarantine and encode one prepare task's objects (its slice of their rows). */
export const handler = withLambdaContext(async (event: unknown): Promise<PrepareSliceResult> => {
  const input = parseStateInput(PrepareSliceInputSchema, event, 'PrepareSlice');
  const vars = env();
  s3 ??= s3Client();
  const spec = await readPreprocessingSpec(s3, input.preprocessingUri);
  return runPrepareTask({
    s3,
    runId: input.runId,
    task: input.task,
    spec,
    featuresBucket: vars.FEATURES_BUCKET,
    artifactsBucket: vars.ARTIFACTS_BUCKET,
    segmentFeature: vars.SEGMENT_FEATURE,
    maxReportedViolations: vars.MAX_REPORTED_VIOLATIONS,
    targetRowsPerPart: vars.TARGET_ROWS_PER_PART,
    coalesceRows: vars.COALESCE_ROWS,
    logger,
  });
});
