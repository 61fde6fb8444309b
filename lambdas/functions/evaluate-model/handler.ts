import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { functionEnvLoader } from '../../../contracts/function-env';
import {
  type Evaluation,
  EvaluationPlanSchema,
  PreparedTrainingDataSchema,
  RunIdSchema,
  ScoringSchema,
  TrainingJobSchema,
} from '../../../contracts/states/training';
import { updateRun } from '../../domain/tracking';
import { docClient, s3Client } from '../../platform/clients';
import { logger, withLambdaContext } from '../../platform/logger';
import { parseStateInput } from '../../platform/state-input';
import { evaluateModel, metricsFromFinalMetricDataList } from './core';

const metrics = new Metrics();
let s3: S3Client | undefined;
let doc: DynamoDBDocumentClient | undefined;
const env = functionEnvLoader('evaluate-model');

/** State input (Parameters of `EvaluateModel`). */
const InputSchema = z.object({
  runId: RunIdSchema,
  codeVersion: z.string().optional(),
  training: TrainingJobSchema,
  data: PreparedTrainingDataSchema.pick({ validationRows: true, lineageUri: true, contractVersion: true }).partial(),
  plan: EvaluationPlanSchema,
  scoring: ScoringSchema,
});

/**
 * `EvaluateModel`: both models' figures on the same validation rows, the gate decision, the evaluation and
 * model-quality reports, and the decision with its reasons on the run record. Emits `ValidationAuc`.
 */
export const handler = withLambdaContext(async (event: unknown): Promise<Evaluation> => {
  const input = parseStateInput(InputSchema, event, 'EvaluateModel');
  s3 ??= s3Client();
  doc ??= docClient();
  const vars = env();
  const evaluation = await evaluateModel(s3, {
    runId: input.runId,
    codeVersion: input.codeVersion ?? vars.CODE_VERSION,
    training: input.training,
    data: input.data,
    plan: input.plan,
    scoring: input.scoring,
    thresholds: { minAuc: vars.GATE_MIN_AUC, maxLogloss: vars.GATE_MAX_LOGLOSS, maxAucDrop: vars.GATE_MAX_AUC_DROP },
    decisionThreshold: vars.GATE_DECISION_THRESHOLD,
    artifactsBucket: vars.ARTIFACTS_BUCKET,
  });
  await updateRun(doc, vars.TABLE_NAME, input.runId, {
    trainingJobName: input.training.TrainingJobName,
    modelDataUrl: input.training.ModelArtifacts.S3ModelArtifacts,
    metrics: evaluation.metrics,
    trainingJobMetrics: metricsFromFinalMetricDataList(input.training.FinalMetricDataList ?? []),
    gate: {
      passed: evaluation.passed,
      reasons: evaluation.reasons,
      notes: evaluation.notes,
      thresholds: evaluation.thresholds,
      production: evaluation.production,
      comparison: evaluation.comparison ?? null,
      ...(evaluation.championNote ? { championNote: evaluation.championNote } : {}),
      reportUri: evaluation.reportUri,
      modelQualityUri: evaluation.modelQualityUri,
    },
    evaluation: {
      reportUri: evaluation.reportUri,
      modelQualityUri: evaluation.modelQualityUri,
      candidateJob: input.plan.candidate.transformJobName,
      championJob: input.plan.champion?.transformJobName ?? null,
      championStatus: input.scoring.champion.status,
    },
  });
  if (evaluation.metrics.auc !== undefined) {
    metrics.addMetric('ValidationAuc', MetricUnit.NoUnit, evaluation.metrics.auc);
  }
  metrics.addMetric(evaluation.passed ? 'GatePassed' : 'GateFailed', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  const { summary: _s, ...logged } = evaluation;
  logger.info('Model evaluated', { runId: input.runId, ...logged });
  return evaluation;
});
