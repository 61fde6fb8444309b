import { z } from 'zod';

/**
 * The full evaluation of a training run, written by EvaluateModel to `reports/<runId>/evaluation.json`
 * (contracts/s3-layout.ts `reportKeys`) and read by the CLI (`models compare`, `models show`), the approval
 * notification and the local HTML report. The candidate and, when one exists, the Production model (the champion) are
 * scored on exactly the same validation rows, so every figure of the two is comparable.
 *
 * The registry's own view of the same run is the model-quality statistics document (SageMaker's
 * `binary_classification_metrics` format), written next to this one; this document keeps what that format has no room
 * for: curves, calibration, lift, the champion's figures and the comparison.
 */

export const EVALUATION_SCHEMA_VERSION = 1;

/** A point of a curve: ROC `x` = false-positive rate, `y` = true-positive rate; PR `x` = recall, `y` = precision. */
export const CurvePointSchema = z.object({
  x: z.number(),
  y: z.number(),
  /** The score threshold at which the point holds. */
  threshold: z.number(),
});
export type CurvePoint = z.infer<typeof CurvePointSchema>;

/** Counts at the decision threshold (a score >= threshold predicts the positive class). */
export const ConfusionMatrixSchema = z.object({
  truePositives: z.number().int().nonnegative(),
  falsePositives: z.number().int().nonnegative(),
  trueNegatives: z.number().int().nonnegative(),
  falseNegatives: z.number().int().nonnegative(),
});
export type ConfusionMatrix = z.infer<typeof ConfusionMatrixSchema>;

/** One reliability bin: rows whose score falls in [lower, upper). */
export const CalibrationBinSchema = z.object({
  lower: z.number(),
  upper: z.number(),
  count: z.number().int().nonnegative(),
  meanPredicted: z.number().nullable(),
  fractionPositive: z.number().nullable(),
});
export type CalibrationBin = z.infer<typeof CalibrationBinSchema>;

/** One decile of rows ordered by descending score (decile 1 = the highest scores). */
export const LiftDecileSchema = z.object({
  decile: z.number().int().min(1).max(10),
  rows: z.number().int().nonnegative(),
  positives: z.number().int().nonnegative(),
  /** positives / rows of the decile. */
  positiveRate: z.number().nullable(),
  /** positiveRate / the overall base rate. */
  lift: z.number().nullable(),
  /** Share of all positives found in deciles 1..decile. */
  cumulativeGain: z.number().nullable(),
});
export type LiftDecile = z.infer<typeof LiftDecileSchema>;

/**
 * Every figure of one model on the evaluation rows. Figures that are undefined on these rows (AUC with no positives or
 * no negatives, precision with no predicted positives) are `null`, never a made-up number.
 */
export const ModelFiguresSchema = z.object({
  /** Registry version; null for the candidate (not registered yet). */
  modelVersion: z.number().int().positive().nullable(),
  /** The training run that produced the model. */
  runId: z.string().nullable(),
  rows: z.number().int().nonnegative(),
  positives: z.number().int().nonnegative(),
  negatives: z.number().int().nonnegative(),
  /** positives / rows. */
  baseRate: z.number().nullable(),
  auc: z.number().nullable(),
  prAuc: z.number().nullable(),
  logLoss: z.number().nullable(),
  brierScore: z.number().nullable(),
  threshold: z.number(),
  confusionMatrix: ConfusionMatrixSchema,
  precision: z.number().nullable(),
  recall: z.number().nullable(),
  f1: z.number().nullable(),
  accuracy: z.number().nullable(),
  roc: z.array(CurvePointSchema),
  pr: z.array(CurvePointSchema),
  calibration: z.array(CalibrationBinSchema),
  lift: z.array(LiftDecileSchema),
});
export type ModelFigures = z.infer<typeof ModelFiguresSchema>;

/** Candidate AUC minus champion AUC on the same rows, with a paired bootstrap confidence interval. */
export const AucComparisonSchema = z.object({
  difference: z.number(),
  lower: z.number(),
  upper: z.number(),
  /** e.g. 0.95 */
  level: z.number(),
  resamples: z.number().int().positive(),
  seed: z.number().int(),
});
export type AucComparison = z.infer<typeof AucComparisonSchema>;

/** A training object a run used: the key and the exact version read. */
export const TrainingObjectRefSchema = z.object({
  key: z.string(),
  etag: z.string().optional(),
  versionId: z.string().optional(),
});
export type TrainingObjectRef = z.infer<typeof TrainingObjectRefSchema>;

export const LineageSchema = z.object({
  trainingObjects: z.array(TrainingObjectRefSchema),
  contractVersion: z.string(),
  codeVersion: z.string(),
});
export type Lineage = z.infer<typeof LineageSchema>;

export const EvaluationReportSchema = z.object({
  schemaVersion: z.literal(EVALUATION_SCHEMA_VERSION),
  runId: z.string(),
  evaluatedAt: z.string(),
  /** Algorithm that trained the candidate, e.g. `{ name: 'xgboost', version: '1.7-1', image }`. */
  algorithm: z.object({ name: z.string(), version: z.string(), image: z.string().optional() }),
  decisionThreshold: z.number(),
  candidate: ModelFiguresSchema,
  /** The Production model on the same rows; null when there is none or it could not be scored (see `championNote`). */
  champion: ModelFiguresSchema.nullable(),
  championNote: z.string().optional(),
  comparison: AucComparisonSchema.nullable(),
  gate: z.object({
    passed: z.boolean(),
    reasons: z.array(z.string()),
    notes: z.array(z.string()),
  }),
  lineage: LineageSchema,
});
export type EvaluationReport = z.infer<typeof EvaluationReportSchema>;

/**
 * The scalar figures of one model (what the comparison table shows; the approval notification gets these through the
 * state machine, the full figures stay in the report).
 */
export const ModelSummarySchema = ModelFiguresSchema.pick({
  modelVersion: true,
  runId: true,
  rows: true,
  positives: true,
  auc: true,
  prAuc: true,
  logLoss: true,
  brierScore: true,
  threshold: true,
  precision: true,
  recall: true,
  f1: true,
  accuracy: true,
});
export type ModelSummary = z.infer<typeof ModelSummarySchema>;
