import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import { type Evaluation, RunIdSchema, TrainingJobSchema } from '../../../contracts/states/training';
import { updateRun } from '../../domain/tracking';
import { docClient, s3Client, sageMakerClient } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { evaluateModel } from './core';

const metrics = new Metrics();
let s3: S3Client | undefined;
let sm: SageMakerClient | undefined;
let doc: DynamoDBDocumentClient | undefined;
const env = functionEnvLoader('evaluate-model');

/** State input (Parameters of `EvaluateModel`): the run id and the Train state's DescribeTrainingJob output. */
const InputSchema = z.object({ runId: RunIdSchema, training: TrainingJobSchema });

/**
 * `EvaluateModel`: metrics from FinalMetricDataList, gate decision against the thresholds and the Production model,
 * `reports/<runId>/evaluation.json`, and metrics + gate decision on the run record. Emits `ValidationAuc`.
 */
export const handler = withLambdaContext(async (event: unknown): Promise<Evaluation> => {
  const input = parseStateInput(InputSchema, event, 'EvaluateModel');
  s3 ??= s3Client();
  sm ??= sageMakerClient();
  doc ??= docClient();
  const vars = env();
  const evaluation = await evaluateModel(
    { s3, sageMaker: sm },
    {
      runId: input.runId,
      training: input.training,
      thresholds: {
        minAuc: vars.GATE_MIN_AUC,
        maxLogloss: vars.GATE_MAX_LOGLOSS,
        maxAucDrop: vars.GATE_MAX_AUC_DROP,
      },
      artifactsBucket: vars.ARTIFACTS_BUCKET,
      modelPackageGroupName: vars.MODEL_PACKAGE_GROUP_NAME,
    },
  );
  await updateRun(doc, vars.TABLE_NAME, input.runId, {
    trainingJobName: input.training.TrainingJobName,
    modelDataUrl: input.training.ModelArtifacts.S3ModelArtifacts,
    metrics: evaluation.metrics,
    gate: {
      passed: evaluation.passed,
      reasons: evaluation.reasons,
      notes: evaluation.notes,
      thresholds: evaluation.thresholds,
      production: evaluation.production,
      reportUri: evaluation.reportUri,
    },
  });
  if (evaluation.metrics.auc !== undefined) {
    metrics.addMetric('ValidationAuc', MetricUnit.NoUnit, evaluation.metrics.auc);
  }
  metrics.addMetric(evaluation.passed ? 'GatePassed' : 'GateFailed', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  logger.info('Model evaluated', { runId: input.runId, ...evaluation });
  return evaluation;
});
