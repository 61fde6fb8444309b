import type { ModelFigures } from '../../../contracts/evaluation';
import { mulberry32 } from '../../platform/random';
import { atThreshold, descendingOrder, type ScoredRows, thin, weightedAuc } from './figures';

/**
 * The model-quality statistics document SageMaker's model registry shows for a version
 * (`ModelMetrics.ModelQuality.Statistics`): the `binary_classification_metrics` format that Model Monitor's model
 * quality jobs write, as documented at
 * https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html
 *
 * - `confusion_matrix[actual][predicted]` counts (`"0"`/`"1"`); the "best constant classifier" figures are those of
 *   always predicting the positive class (what the documented example shows: its recall is 1, its precision and
 *   accuracy the base rate);
 * - every scalar is `{ value, standard_deviation }`; as the page says, the standard deviation is given only with at
 *   least 200 rows and is that of the metric over 5 random 80% samples of the rows, otherwise the string "NaN";
 *   a value undefined on these rows (e.g. precision without predicted positives) is also "NaN".
 */

type Metric = { value: number | 'NaN'; standard_deviation: number | 'NaN' };

/** Rows needed for a standard deviation, and how Model Monitor samples for it (from the page above). */
const STD_MIN_ROWS = 200;
const STD_SAMPLES = 5;
const STD_SHARE = 0.8;

/** The scalar metrics of the document, computed from counts at the threshold (and the AUC). */
function scalars(rows: ScoredRows, threshold: number, weights?: Float64Array, order?: Uint32Array) {
  const t = atThreshold(rows, threshold, weights);
  const m = t.matrix;
  const total = m.truePositives + m.falsePositives + m.trueNegatives + m.falseNegatives;
  const pos = m.truePositives + m.falseNegatives;
  const base = total === 0 ? null : pos / total;
  // Always predicting positive: recall 1, precision = accuracy = base rate, F_beta from those.
  const constF = (beta: number) =>
    base === null || base === 0 ? null : ((1 + beta * beta) * base) / (beta * beta * base + 1);
  const fpr = t.trueNegativeRate === null ? null : 1 - t.trueNegativeRate;
  return {
    recall: t.recall,
    precision: t.precision,
    accuracy: t.accuracy,
    recall_best_constant_classifier: pos > 0 ? 1 : null,
    precision_best_constant_classifier: base,
    accuracy_best_constant_classifier: base,
    true_positive_rate: t.recall,
    true_negative_rate: t.trueNegativeRate,
    false_positive_rate: fpr,
    false_negative_rate: t.recall === null ? null : 1 - t.recall,
    auc: weightedAuc(rows.labels, rows.scores, order ?? descendingOrder(rows.scores), weights),
    f0_5: t.f(0.5),
    f1: t.f(1),
    f2: t.f(2),
    f0_5_best_constant_classifier: constF(0.5),
    f1_best_constant_classifier: constF(1),
    f2_best_constant_classifier: constF(2),
  };
}
type ScalarName = keyof ReturnType<typeof scalars>;

function std(values: readonly number[]): number | 'NaN' {
  if (values.length < 2) return 'NaN';
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
}

/** Per metric: its values over 5 random 80% samples of the rows (without replacement), seeded. */
function sampledValues(rows: ScoredRows, threshold: number, seed: number): Map<ScalarName, number[]> {
  const n = rows.labels.length;
  const out = new Map<ScalarName, number[]>();
  if (n < STD_MIN_ROWS) return out;
  const random = mulberry32(seed);
  const order = descendingOrder(rows.scores);
  const idx = new Uint32Array(n);
  for (let s = 0; s < STD_SAMPLES; s++) {
    for (let i = 0; i < n; i++) idx[i] = i;
    const take = Math.floor(n * STD_SHARE);
    const weights = new Float64Array(n);
    for (let k = 0; k < take; k++) {
      const j = k + Math.floor(random() * (n - k));
      const tmp = idx[k]!;
      idx[k] = idx[j]!;
      idx[j] = tmp;
      weights[idx[k]!] = 1;
    }
    for (const [name, v] of Object.entries(scalars(rows, threshold, weights, order)) as [ScalarName, number][]) {
      if (v === null) continue;
      const list = out.get(name) ?? [];
      list.push(v);
      out.set(name, list);
    }
  }
  return out;
}

/** The statistics document of one model on `rows` (the figures give the curves and the threshold). */
export function modelQualityStatistics(
  rows: ScoredRows,
  figures: Pick<ModelFigures, 'threshold' | 'roc' | 'pr' | 'confusionMatrix'>,
  options: { readonly evaluatedAt: string; readonly seed?: number; readonly maxCurvePoints?: number },
): Record<string, unknown> {
  const values = scalars(rows, figures.threshold);
  const samples = sampledValues(rows, figures.threshold, options.seed ?? 1);
  const metrics: Record<string, unknown> = {};
  const m = figures.confusionMatrix;
  metrics.confusion_matrix = {
    '0': { '0': m.trueNegatives, '1': m.falsePositives },
    '1': { '0': m.falseNegatives, '1': m.truePositives },
  };
  for (const [name, v] of Object.entries(values) as [ScalarName, number | null][]) {
    const metric: Metric = { value: v ?? 'NaN', standard_deviation: std(samples.get(name) ?? []) };
    metrics[name] = metric;
  }
  const points = options.maxCurvePoints ?? 101;
  const roc = thin(figures.roc, points);
  const pr = thin(figures.pr, points);
  metrics.receiver_operating_characteristic_curve = {
    false_positive_rates: roc.map((p) => p.x),
    true_positive_rates: roc.map((p) => p.y),
  };
  metrics.precision_recall_curve = { precisions: pr.map((p) => p.y), recalls: pr.map((p) => p.x) };
  return {
    version: 0.0,
    dataset: { item_count: rows.labels.length, evaluation_time: options.evaluatedAt },
    binary_classification_metrics: metrics,
  };
}
