import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import { DataWindowSchema, type PreparedTrainingData, RunIdSchema } from '../../../contracts/states/training';
import { loadDefaultContract } from '../../data/contract';
import { finishTrainingData } from '../../data/training-encode';
import { updateRun } from '../../domain/tracking';
import { docClient, s3Client } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';

const metrics = new Metrics();
/** Training objects listed on the run record itself (all of them are in `reports/<runId>/lineage.json`). */
const LINEAGE_OBJECTS_ON_RUN = 50;
let s3: S3Client | undefined;
let doc: DynamoDBDocumentClient | undefined;
const env = functionEnvLoader('prepare-training-data');

/** State input (Parameters of `PrepareTrainingData`): the run id and the data window StartRun resolved. */
const InputSchema = z.object({ runId: RunIdSchema, dataWindow: DataWindowSchema });

/**
 * `PrepareTrainingData`, the last step of the fanned-out preparation (PlanTrainingData → ProfileTrainingData →
 * BuildPreprocessingSpec → EncodeTrainingData → here): sum the encode tasks' partials into the step's result
 * (`finishTrainingData`: rows in = used + quarantined, the split and shard counts as planned), write the
 * preprocessing spec with its reference histograms, the stats and lineage reports, and record row counts, feature
 * statistics and report locations on the run. `prepareTrainingData` (core.ts) is the same work in one invocation.
 */
export const handler = withLambdaContext(async (event: unknown): Promise<PreparedTrainingData> => {
  const input = parseStateInput(InputSchema, event, 'PrepareTrainingData');
  const vars = env();
  s3 ??= s3Client();
  doc ??= docClient();
  const res = await finishTrainingData(
    {
      s3,
      contract: loadDefaultContract(),
      bucket: vars.FEATURES_BUCKET,
      artifactsBucket: vars.ARTIFACTS_BUCKET,
      runId: input.runId,
      validationShare: vars.VALIDATION_SHARE,
      maxInvalidRowRatio: vars.MAX_INVALID_ROW_RATIO,
      maxReportedViolations: vars.MAX_REPORTED_VIOLATIONS,
      instanceCount: vars.TRAINING_INSTANCE_COUNT,
      maxRowsPerShard: vars.TRAIN_SHARD_MAX_ROWS,
      logger,
    },
    { from: input.dataWindow.from, to: input.dataWindow.to },
  );
  const out: PreparedTrainingData = {
    trainUri: res.trainPrefixUri,
    validationUri: res.validationPrefixUri,
    preprocessingUri: res.preprocessingUri,
    statsUri: res.statsUri,
    validationReportUri: res.validationReportUri,
    rowsIn: res.rowsIn,
    rowsUsed: res.rowsUsed,
    rowsQuarantined: res.rowsQuarantined,
    trainRows: res.trainRows,
    validationRows: res.validationRows,
    trainShards: res.trainShards,
    contractVersion: res.contractVersion,
    lineageUri: res.lineageUri,
  };
  await updateRun(doc, vars.TABLE_NAME, input.runId, {
    contractVersion: res.contractVersion,
    files: res.files,
    rowCounts: {
      in: res.rowsIn,
      used: res.rowsUsed,
      quarantined: res.rowsQuarantined,
      train: res.trainRows,
      validation: res.validationRows,
    },
    featureCount: res.featureCount,
    trainShards: res.trainShards,
    featureStats: res.featureStats,
    reports: {
      validation: res.validationReportUri,
      stats: res.statsUri,
      preprocessing: res.preprocessingUri,
      quarantine: res.quarantinePrefixUri,
      lineage: res.lineageUri,
    },
    // The full list is in the lineage report (an item stays far below DynamoDB's 400 KB); the first objects here.
    lineage: {
      uri: res.lineageUri,
      contractVersion: res.contractVersion,
      trainingObjectCount: res.trainingObjects.length,
      trainingObjects: res.trainingObjects.slice(0, LINEAGE_OBJECTS_ON_RUN),
    },
  });
  metrics.addMetric('TrainingRowsUsed', MetricUnit.Count, res.rowsUsed);
  metrics.addMetric('TrainingRowsQuarantined', MetricUnit.Count, res.rowsQuarantined);
  metrics.publishStoredMetrics();
  logger.info('Training data prepared', { runId: input.runId, ...out });
  return out;
});
