import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ValidationError } from '../../../contracts/errors';
import {
  EVALUATION_SCHEMA_VERSION,
  type EvaluationReport,
  EvaluationReportSchema,
  type Lineage,
  type ModelFigures,
  TrainingObjectRefSchema,
} from '../../../contracts/evaluation';
import { parseS3Uri, reportKeys } from '../../../contracts/s3-layout';
import type {
  Evaluation,
  EvaluationPlan,
  FinalMetric,
  Scoring,
  ScoringResult,
  TrainingJob,
} from '../../../contracts/states/training';
import { bootstrapAucDifference, seedOf } from '../../domain/evaluation/bootstrap';
import { computeFigures, type ScoredRows, scoredRows } from '../../domain/evaluation/figures';
import { decideGate, type GateThresholds } from '../../domain/evaluation/gate';
import { modelQualityStatistics } from '../../domain/evaluation/model-quality';
import { summaryOf } from '../../domain/evaluation/table';
import { getText, putJson } from '../../platform/s3';

export type { GateThresholds } from '../../domain/evaluation/gate';

/** Metric names the built-in XGBoost algorithm reports for the `validation` channel. */
export const AUC_METRIC = 'validation:auc';
export const LOGLOSS_METRIC = 'validation:logloss';

/** The training job's own validation metrics (kept on the run next to the same-row figures, as a cross-check). */
export function metricsFromFinalMetricDataList(list: readonly FinalMetric[]): { auc?: number; logloss?: number } {
  const pick = (name: string) => list.find((m) => m.MetricName === name)?.Value;
  return { auc: pick(AUC_METRIC), logloss: pick(LOGLOSS_METRIC) };
}

/**
 * The rows of a transform output prefix: every `<part>.out` in key order, each line `<label>,<score>` (the
 * validation channel's label joined to the score by DataProcessing).
 * @throws ValidationError naming the object and line of a malformed row, or when the prefix holds no output
 */
export async function readScoredRows(s3: S3Client, outputUri: string): Promise<ScoredRows> {
  const { bucket, key: prefix } = parseS3Uri(outputUri, { prefix: true });
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key?.endsWith('.out')) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (keys.length === 0) throw new ValidationError(`No transform output (*.out) under ${outputUri}`);
  const labels: number[] = [];
  const scores: number[] = [];
  for (const key of keys.sort()) {
    const lines = (await getText(s3, bucket, key)).split('\n');
    lines.forEach((raw, i) => {
      const line = raw.replace(/\r$/, '');
      if (line.trim() === '') return;
      const [label, score, extra] = line.split(',');
      if (extra !== undefined || label === undefined || score === undefined) {
        throw new ValidationError(`s3://${bucket}/${key} line ${i + 1}: expected "<label>,<score>", got "${line}"`);
      }
      labels.push(Number(label));
      scores.push(Number(score));
    });
  }
  return scoredRows(labels, scores, outputUri);
}

/** Inputs of {@link evaluateModel}. */
export interface EvaluateParams {
  readonly runId: string;
  readonly codeVersion: string;
  readonly training: TrainingJob;
  readonly data: { readonly validationRows?: number; readonly lineageUri?: string; readonly contractVersion?: string };
  readonly plan: EvaluationPlan;
  readonly scoring: Scoring;
  readonly thresholds: GateThresholds;
  readonly decisionThreshold: number;
  readonly artifactsBucket: string;
  readonly now?: Date;
}

/** The champion's rows, or the note that says why there are none to compare with. */
async function championRows(
  s3: S3Client,
  plan: EvaluationPlan,
  result: ScoringResult,
  candidate: ScoredRows,
): Promise<{ rows: ScoredRows | null; note?: string }> {
  const c = plan.champion;
  if (c === null) return { rows: null, ...(plan.championNote ? { note: plan.championNote } : {}) };
  if (result.status !== 'Completed') {
    const why = result.error ? `${result.error.Error}${result.error.Cause ? `: ${result.error.Cause}` : ''}` : '';
    return {
      rows: null,
      note: `Production version ${c.version}: transform job ${c.transformJobName} ${result.status === 'None' ? 'did not run' : 'failed'}${why ? ` (${why.slice(0, 300)})` : ''}; comparison skipped`,
    };
  }
  const rows = await readScoredRows(s3, c.outputUri);
  const same = rows.labels.length === candidate.labels.length && rows.labels.every((y, i) => y === candidate.labels[i]);
  if (!same) {
    return {
      rows: null,
      note: `Production version ${c.version} scored ${rows.labels.length} rows, the candidate ${candidate.labels.length} (or labels differ): not the same rows; comparison skipped`,
    };
  }
  return { rows };
}

async function lineageOf(s3: S3Client, p: EvaluateParams): Promise<Lineage> {
  let trainingObjects: Lineage['trainingObjects'] = [];
  if (p.data.lineageUri) {
    const { bucket, key } = parseS3Uri(p.data.lineageUri);
    const doc = JSON.parse(await getText(s3, bucket, key)) as { trainingObjects?: unknown };
    trainingObjects = TrainingObjectRefSchema.array().parse(doc.trainingObjects ?? []);
  }
  return {
    trainingObjects,
    contractVersion: p.data.contractVersion ?? p.plan.contractVersion,
    codeVersion: p.codeVersion,
  };
}

/** `xgboost` and the image tag (`…/sagemaker-xgboost:1.7-1` → `1.7-1`) of the training job. */
function algorithmOf(training: TrainingJob): EvaluationReport['algorithm'] {
  const spec = (training as { AlgorithmSpecification?: { TrainingImage?: string } }).AlgorithmSpecification;
  const image = spec?.TrainingImage;
  const version = image?.includes(':') ? image.slice(image.lastIndexOf(':') + 1) : 'unknown';
  return { name: 'xgboost', version, ...(image ? { image } : {}) };
}

/**
 * EvaluateModel: every figure of the candidate and (when it could be scored) the Production model on the same
 * validation rows, the bootstrap interval of the AUC difference, the gate decision; writes
 * `reports/<runId>/evaluation.json` (contracts/evaluation.ts) and `reports/<runId>/model-quality.json` (SageMaker's
 * model-quality statistics of the candidate) and returns the decision (the ModelGate input).
 * @throws ValidationError when the candidate's scores are missing or not of the validation rows
 */
export async function evaluateModel(s3: S3Client, p: EvaluateParams): Promise<Evaluation> {
  const evaluatedAt = (p.now ?? new Date()).toISOString();
  if (p.scoring.candidate.status !== 'Completed') {
    throw new ValidationError(`ScoreCandidate ended ${p.scoring.candidate.status}; the candidate has no scores`);
  }
  const rows = await readScoredRows(s3, p.plan.candidate.outputUri);
  if (p.data.validationRows !== undefined && rows.labels.length !== p.data.validationRows) {
    throw new ValidationError(
      `The candidate scored ${rows.labels.length} rows but the validation channel has ${p.data.validationRows}`,
    );
  }
  const champion = await championRows(s3, p.plan, p.scoring.champion, rows);
  const options = { threshold: p.decisionThreshold };
  const candidate: ModelFigures = { modelVersion: null, runId: p.runId, ...computeFigures(rows, options) };
  const c = p.plan.champion;
  const championFigures: ModelFigures | null =
    champion.rows && c
      ? { modelVersion: c.version, runId: c.runId ?? null, ...computeFigures(champion.rows, options) }
      : null;
  const seed = seedOf(p.runId);
  const comparison = champion.rows ? bootstrapAucDifference(rows, champion.rows, { seed }) : null;
  const gate = decideGate(candidate, championFigures, comparison, p.thresholds, champion.note);
  const keys = reportKeys(p.runId);
  const report: EvaluationReport = EvaluationReportSchema.parse({
    schemaVersion: EVALUATION_SCHEMA_VERSION,
    runId: p.runId,
    evaluatedAt,
    algorithm: algorithmOf(p.training),
    decisionThreshold: p.decisionThreshold,
    candidate,
    champion: championFigures,
    ...(champion.note ? { championNote: champion.note } : {}),
    comparison,
    gate,
    lineage: await lineageOf(s3, p),
  });
  const reportUri = await putJson(s3, p.artifactsBucket, keys.evaluation, report);
  const modelQualityUri = await putJson(
    s3,
    p.artifactsBucket,
    keys.modelQuality,
    modelQualityStatistics(rows, candidate, { evaluatedAt, seed }),
  );
  const num = (v: number | null) => (v === null ? undefined : v);
  return {
    ...gate,
    metrics: { auc: num(candidate.auc), logloss: num(candidate.logLoss) },
    production:
      c && championFigures
        ? {
            version: c.version,
            arn: c.arn,
            ...(c.runId ? { runId: c.runId } : {}),
            auc: num(championFigures.auc),
            logloss: num(championFigures.logLoss),
          }
        : null,
    thresholds: { ...p.thresholds },
    reportUri,
    modelQualityUri,
    summary: { candidate: summaryOf(candidate), champion: championFigures ? summaryOf(championFigures) : null },
    comparison,
    ...(champion.note ? { championNote: champion.note } : {}),
    ...(p.data.lineageUri ? { lineageUri: p.data.lineageUri } : {}),
    contractVersion: report.lineage.contractVersion,
    trainingObjectCount: report.lineage.trainingObjects.length,
  };
}
