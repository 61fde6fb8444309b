import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ValidationError } from '../../../contracts/errors';
import { functionEnvLoader } from '../../../contracts/function-env';
import {
  type PreparedData,
  PreparePlanSchema,
  ResolvedModelSchema,
  RunIdSchema,
  WorkSchema,
} from '../../../contracts/states/batch';
import { PrepareMerger } from '../../data/prepare-merge';
import { readPartial } from '../../data/prepare-store';
import { readPreprocessingSpec } from '../../data/preprocessing-spec';
import { driftedFeatures } from '../../data/stats';
import { updateRun } from '../../domain/tracking';
import { docClient, s3Client } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { reducePrepared, toPreparedData } from './core';

const metrics = new Metrics();
let s3: S3Client | undefined;
let doc: DynamoDBDocumentClient | undefined;
const env = functionEnvLoader('prepare-inference-data');

/**
 * State input: the run, the work FindUnscored found, the Production model ResolveModel resolved (the prepare tasks
 * encoded with its preprocessing spec) and PlanPrepare's plan (how many partial results PrepareTasks left).
 */
const InputSchema = z.object({
  runId: RunIdSchema,
  namePrefix: z.string().min(1),
  work: WorkSchema,
  model: ResolvedModelSchema,
  plan: PreparePlanSchema,
});

/**
 * `PrepareInferenceData`, the reducer of the prepare fan-out: merge the prepare tasks' partial results (read one by
 * one, in task order), write the reports, manifest and part lists, record drift on the run and publish the metrics.
 */
export const handler = withLambdaContext(async (event: unknown): Promise<PreparedData> => {
  const input = parseStateInput(InputSchema, event, 'PrepareInferenceData');
  const vars = env();
  s3 ??= s3Client();
  const artifactsBucket = vars.ARTIFACTS_BUCKET;
  const spec = await readPreprocessingSpec(s3, input.model.preprocessingUri);
  const merger = new PrepareMerger(spec.contract, spec.trainingStats, vars.MAX_REPORTED_VIOLATIONS);
  for (let task = 0; task < input.plan.tasks; task++) {
    merger.add(await readPartial(s3, artifactsBucket, input.runId, task));
  }
  const prepared = await reducePrepared(
    {
      s3,
      runId: input.runId,
      artifactsBucket,
      spec,
      maxInvalidRowRatio: vars.MAX_INVALID_ROW_RATIO,
      maxReportedViolations: vars.MAX_REPORTED_VIOLATIONS,
      logger,
    },
    merger.finish(),
  );
  const data = toPreparedData(prepared, {
    runId: input.runId,
    namePrefix: input.namePrefix,
    artifactsBucket,
    modelVersion: input.model.modelVersion,
  });
  metrics.addMetric('MaxFeatureDriftPsi', MetricUnit.NoUnit, data.maxDriftPsi);
  metrics.addMetric('RowsQuarantined', MetricUnit.Count, data.rowsQuarantined);
  metrics.publishStoredMetrics();
  // FeatureDriftPSI per feature (dimension `feature`), one EMF record each.
  for (const [feature, psi] of Object.entries(prepared.drift)) {
    if (!Number.isFinite(psi)) continue;
    const single = metrics.singleMetric();
    single.addDimension('feature', feature);
    single.addMetric('FeatureDriftPSI', MetricUnit.NoUnit, psi);
  }
  const threshold = vars.DRIFT_PSI_THRESHOLD;
  const drifted = driftedFeatures(prepared.drift, threshold);
  // Drift is recorded on the run before a FAIL_ON_DRIFT failure, so the failed run shows why.
  doc ??= docClient();
  await updateRun(doc, vars.TABLE_NAME, input.runId, {
    drift: { psi: prepared.drift, max: data.maxDriftPsi, threshold, drifted, statsUri: prepared.statsUri },
  });
  if (drifted.length > 0) {
    logger.warn('Feature drift over threshold', { runId: input.runId, threshold, drifted });
    if (vars.FAIL_ON_DRIFT) {
      throw new ValidationError(
        `Feature drift over PSI ${threshold} against the training data of model v${input.model.modelVersion}: ${drifted.join(', ')} (FAIL_ON_DRIFT is on; see ${prepared.statsUri})`,
      );
    }
  }
  logger.info('Prepared transform input', {
    runId: input.runId,
    objects: input.work.count,
    tasks: input.plan.tasks,
    parts: data.partCount,
    rowsIn: data.rowsIn,
    rowsUsed: data.rowsUsed,
    rowsQuarantined: data.rowsQuarantined,
    transformJobName: data.transformJobName,
    quarantinedObjects: data.objectsQuarantined,
  });
  return data;
});
