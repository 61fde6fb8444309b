import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { parseS3Uri, reportKeys } from '../../../contracts/s3-layout';
import type { Evaluation, FinalMetric, ProductionRef, TrainingJob } from '../../../contracts/states/training';
import { findProductionPackage, type PackageInfo } from '../../domain/registry';

/** Gate thresholds (config `gate.*`, env `GATE_MIN_AUC`, `GATE_MAX_LOGLOSS`, `GATE_MAX_AUC_DROP`). */
export interface GateThresholds {
  readonly minAuc: number;
  readonly maxLogloss: number;
  /** The candidate's AUC may be below Production's by at most this much. */
  readonly maxAucDrop: number;
}

/** Metric names the built-in XGBoost algorithm reports for the `validation` channel. */
export const AUC_METRIC = 'validation:auc';
export const LOGLOSS_METRIC = 'validation:logloss';

/** The candidate's validation metrics from DescribeTrainingJob's FinalMetricDataList. */
export function metricsFromFinalMetricDataList(list: readonly FinalMetric[]): { auc?: number; logloss?: number } {
  const pick = (name: string) => list.find((m) => m.MetricName === name)?.Value;
  return { auc: pick(AUC_METRIC), logloss: pick(LOGLOSS_METRIC) };
}

const fmt = (n: number) => Number(n.toFixed(6)).toString();

/**
 * The gate decision: absolute thresholds, and "not worse than Production by more than `maxAucDrop`".
 * Pure; every failed check adds one reason naming the metric, its value and the limit.
 */
export function decideGate(
  metrics: { auc?: number; logloss?: number },
  production: ProductionRef | null,
  t: GateThresholds,
): { passed: boolean; reasons: string[]; notes: string[] } {
  const reasons: string[] = [];
  const notes: string[] = [];
  if (metrics.auc === undefined) {
    reasons.push(`${AUC_METRIC} missing from the training job's FinalMetricDataList (eval_metric must include auc)`);
  } else if (!(metrics.auc >= t.minAuc)) {
    reasons.push(`${AUC_METRIC} ${fmt(metrics.auc)} < minimum ${fmt(t.minAuc)}`);
  }
  if (metrics.logloss === undefined) {
    reasons.push(
      `${LOGLOSS_METRIC} missing from the training job's FinalMetricDataList (eval_metric must include logloss)`,
    );
  } else if (!(metrics.logloss <= t.maxLogloss)) {
    reasons.push(`${LOGLOSS_METRIC} ${fmt(metrics.logloss)} > maximum ${fmt(t.maxLogloss)}`);
  }
  if (production === null) {
    notes.push('no Production model (no Approved version): comparison with Production skipped');
  } else if (production.auc === undefined) {
    notes.push(`Production version ${production.version} records no validation AUC: comparison skipped`);
  } else if (metrics.auc !== undefined && metrics.auc < production.auc - t.maxAucDrop - 1e-12) {
    // (1e-12: a drop of exactly maxAucDrop passes despite binary floating point)
    reasons.push(
      `${AUC_METRIC} ${fmt(metrics.auc)} is ${fmt(production.auc - metrics.auc)} below Production version ` +
        `${production.version} (${fmt(production.auc)}); allowed drop ${fmt(t.maxAucDrop)}`,
    );
  }
  return { passed: reasons.length === 0, reasons, notes };
}

/**
 * The Production model's reference for the comparison. Its AUC comes from the package metadata; packages registered
 * without it (e.g. by hand) fall back to the `metrics.auc` of their ModelMetrics evaluation report in S3.
 */
export async function productionRef(s3: S3Client, pkg: PackageInfo | null): Promise<ProductionRef | null> {
  if (pkg === null) return null;
  let { auc, logloss } = pkg.metrics;
  if (auc === undefined && pkg.evaluationReportUri) {
    try {
      const { bucket, key } = parseS3Uri(pkg.evaluationReportUri);
      const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const report = JSON.parse((await obj.Body?.transformToString()) ?? '{}') as { metrics?: Record<string, unknown> };
      if (typeof report.metrics?.auc === 'number') auc = report.metrics.auc;
      if (typeof report.metrics?.logloss === 'number') logloss ??= report.metrics.logloss;
    } catch {
      // The report is optional evidence; without it the comparison is skipped and noted (decideGate).
    }
  }
  return { version: pkg.version, arn: pkg.arn, runId: pkg.runId, auc, logloss };
}

/** Inputs of {@link evaluateModel}. */
export interface EvaluateParams {
  readonly runId: string;
  readonly training: TrainingJob;
  readonly thresholds: GateThresholds;
  readonly artifactsBucket: string;
  readonly modelPackageGroupName: string;
}

/**
 * Evaluate a trained candidate: read its metrics, compare with the thresholds and the Production model, write
 * `reports/<runId>/evaluation.json` to the artifacts bucket and return the decision (the ModelGate input).
 */
export async function evaluateModel(
  clients: { s3: S3Client; sageMaker: SageMakerClient },
  p: EvaluateParams,
): Promise<Evaluation> {
  const metrics = metricsFromFinalMetricDataList(p.training.FinalMetricDataList ?? []);
  const production = await productionRef(
    clients.s3,
    await findProductionPackage(clients.sageMaker, p.modelPackageGroupName),
  );
  const decision = decideGate(metrics, production, p.thresholds);
  const key = reportKeys(p.runId).evaluation;
  const reportUri = `s3://${p.artifactsBucket}/${key}`;
  const evaluation: Evaluation = {
    ...decision,
    metrics,
    production,
    thresholds: { ...p.thresholds },
    reportUri,
  };
  const report = {
    runId: p.runId,
    trainingJobName: p.training.TrainingJobName,
    evaluatedAt: new Date().toISOString(),
    modelDataUrl: p.training.ModelArtifacts.S3ModelArtifacts,
    trainingJobStatus: p.training.TrainingJobStatus,
    finalMetricDataList: p.training.FinalMetricDataList ?? [],
    ...evaluation,
  };
  await clients.s3.send(
    new PutObjectCommand({
      Bucket: p.artifactsBucket,
      Key: key,
      Body: `${JSON.stringify(report, null, 2)}\n`,
      ContentType: 'application/json',
    }),
  );
  return evaluation;
}
