import { ValidationError } from '../../../contracts/errors';
import type {
  CalibrationBin,
  ConfusionMatrix,
  CurvePoint,
  LiftDecile,
  ModelFigures,
} from '../../../contracts/evaluation';

/**
 * Every figure of one model on a set of labelled rows (label 0/1, score = predicted probability of 1). Pure: the same
 * rows give the same figures, so the candidate and the champion scored on the same rows are comparable figure by
 * figure. Figures that are undefined on the rows (AUC without positives or negatives, precision without predicted
 * positives) are null.
 */

/** Labels (0/1) and scores of the same rows, index by index. */
export interface ScoredRows {
  readonly labels: Uint8Array;
  readonly scores: Float64Array;
}

/** Options of {@link computeFigures}. */
export interface FigureOptions {
  /** A score >= threshold predicts the positive class. */
  readonly threshold: number;
  /** Curves are thinned to at most this many points (AUCs use every point). @default 201 */
  readonly maxCurvePoints?: number;
  /** Equal-width reliability bins over [0, 1]. @default 10 */
  readonly calibrationBins?: number;
}

/** Log loss clips probabilities to [EPS, 1 − EPS], as scikit-learn and XGBoost do. */
const EPS = 1e-15;

/**
 * Build {@link ScoredRows} from parallel arrays, checking each value.
 * @throws ValidationError naming the row when a label is not 0/1 or a score is not a probability
 */
export function scoredRows(labels: ArrayLike<number>, scores: ArrayLike<number>, source: string): ScoredRows {
  if (labels.length !== scores.length) {
    throw new ValidationError(`${source}: ${labels.length} labels but ${scores.length} scores`);
  }
  const l = new Uint8Array(labels.length);
  const s = new Float64Array(scores.length);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    const p = scores[i]!;
    if (y !== 0 && y !== 1) throw new ValidationError(`${source}: row ${i + 1} has label ${y} (expected 0 or 1)`);
    if (!(p >= 0 && p <= 1)) throw new ValidationError(`${source}: row ${i + 1} has score ${p} (expected 0..1)`);
    l[i] = y;
    s[i] = p;
  }
  return { labels: l, scores: s };
}

/** Row indexes by descending score (stable: ties keep row order). */
export function descendingOrder(scores: Float64Array): Uint32Array {
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => scores[b]! - scores[a]! || a - b);
}

/**
 * Area under the ROC curve with per-row weights (a bootstrap resample is a weight vector), ties counted half: the
 * Mann–Whitney statistic. O(n) given the descending order. Null when the weighted positives or negatives are 0.
 */
export function weightedAuc(
  labels: Uint8Array,
  scores: Float64Array,
  order: Uint32Array,
  weights?: ArrayLike<number>,
): number | null {
  let negBelow = 0;
  let totalPos = 0;
  let totalNeg = 0;
  for (let i = 0; i < order.length; i++) {
    const w = weights ? weights[order[i]!]! : 1;
    if (labels[order[i]!] === 1) totalPos += w;
    else totalNeg += w;
  }
  if (totalPos === 0 || totalNeg === 0) return null;
  // Walk from the lowest score up, tie group by tie group.
  let sum = 0;
  let i = order.length - 1;
  while (i >= 0) {
    const s = scores[order[i]!]!;
    let pos = 0;
    let neg = 0;
    while (i >= 0 && scores[order[i]!] === s) {
      const w = weights ? weights[order[i]!]! : 1;
      if (labels[order[i]!] === 1) pos += w;
      else neg += w;
      i--;
    }
    sum += pos * (negBelow + neg / 2);
    negBelow += neg;
  }
  return sum / (totalPos * totalNeg);
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

/** Keep at most `max` points, evenly spread, always the first and the last. */
export function thin<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  const out: T[] = [];
  for (let k = 0; k < max; k++) out.push(points[Math.round((k * (points.length - 1)) / (max - 1))]!);
  return out;
}

/** ROC and PR points at every distinct score (descending thresholds), and the average precision. */
function curves(rows: ScoredRows, order: Uint32Array, positives: number, negatives: number) {
  const roc: CurvePoint[] = [{ x: 0, y: 0, threshold: 1 }];
  const pr: CurvePoint[] = [];
  let tp = 0;
  let fp = 0;
  let ap = 0;
  let prevRecall = 0;
  let i = 0;
  while (i < order.length) {
    const s = rows.scores[order[i]!]!;
    while (i < order.length && rows.scores[order[i]!] === s) {
      if (rows.labels[order[i]!] === 1) tp++;
      else fp++;
      i++;
    }
    const recall = positives === 0 ? 0 : tp / positives;
    const precision = tp / (tp + fp);
    roc.push({ x: negatives === 0 ? 0 : fp / negatives, y: recall, threshold: s });
    pr.push({ x: recall, y: precision, threshold: s });
    // Average precision: precision weighted by the recall gained at each threshold (no interpolation).
    ap += (recall - prevRecall) * precision;
    prevRecall = recall;
  }
  return { roc, pr, averagePrecision: positives === 0 ? null : ap };
}

/** Counts at the threshold and the figures derived from them. */
export function atThreshold(rows: ScoredRows, threshold: number, weights?: ArrayLike<number>) {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < rows.labels.length; i++) {
    const w = weights ? weights[i]! : 1;
    const predicted = rows.scores[i]! >= threshold;
    if (rows.labels[i] === 1) {
      if (predicted) tp += w;
      else fn += w;
    } else if (predicted) fp += w;
    else tn += w;
  }
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  const fBeta = (beta: number): number | null => {
    const b2 = beta * beta;
    return ratio((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp);
  };
  return {
    matrix: { truePositives: tp, falsePositives: fp, trueNegatives: tn, falseNegatives: fn } as ConfusionMatrix,
    precision,
    recall,
    f: fBeta,
    accuracy: ratio(tp + tn, tp + tn + fp + fn),
    trueNegativeRate: ratio(tn, tn + fp),
  };
}

function calibration(rows: ScoredRows, bins: number): CalibrationBin[] {
  const count = new Array<number>(bins).fill(0);
  const sumP = new Array<number>(bins).fill(0);
  const pos = new Array<number>(bins).fill(0);
  for (let i = 0; i < rows.scores.length; i++) {
    const p = rows.scores[i]!;
    const b = Math.min(bins - 1, Math.floor(p * bins));
    count[b]!++;
    sumP[b]! += p;
    pos[b]! += rows.labels[i]!;
  }
  return count.map((c, b) => ({
    lower: b / bins,
    upper: (b + 1) / bins,
    count: c,
    meanPredicted: ratio(sumP[b]!, c),
    fractionPositive: ratio(pos[b]!, c),
  }));
}

/** Deciles of rows by descending score (row k of n goes to decile ⌊10k/n⌋ + 1; ties keep row order). */
function lift(rows: ScoredRows, order: Uint32Array, positives: number): LiftDecile[] {
  const n = order.length;
  const baseRate = ratio(positives, n);
  const out: LiftDecile[] = [];
  let cumulative = 0;
  for (let d = 0; d < 10; d++) {
    const from = Math.floor((d * n) / 10);
    const to = Math.floor(((d + 1) * n) / 10);
    let p = 0;
    for (let k = from; k < to; k++) p += rows.labels[order[k]!]!;
    cumulative += p;
    const rate = ratio(p, to - from);
    out.push({
      decile: d + 1,
      rows: to - from,
      positives: p,
      positiveRate: rate,
      lift: rate === null || !baseRate ? null : rate / baseRate,
      cumulativeGain: ratio(cumulative, positives),
    });
  }
  return out;
}

/** Log loss and Brier score (means over the rows). */
function probabilityScores(rows: ScoredRows): { logLoss: number | null; brierScore: number | null } {
  const n = rows.labels.length;
  if (n === 0) return { logLoss: null, brierScore: null };
  let ll = 0;
  let brier = 0;
  for (let i = 0; i < n; i++) {
    const y = rows.labels[i]!;
    const p = Math.min(1 - EPS, Math.max(EPS, rows.scores[i]!));
    ll -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
    brier += (rows.scores[i]! - y) ** 2;
  }
  return { logLoss: ll / n, brierScore: brier / n };
}

/** Every figure of one model on `rows` (model identity fields are the caller's). */
export function computeFigures(rows: ScoredRows, options: FigureOptions): Omit<ModelFigures, 'modelVersion' | 'runId'> {
  const n = rows.labels.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += rows.labels[i]!;
  const negatives = n - positives;
  const order = descendingOrder(rows.scores);
  const { roc, pr, averagePrecision } = curves(rows, order, positives, negatives);
  const t = atThreshold(rows, options.threshold);
  const maxPoints = options.maxCurvePoints ?? 201;
  return {
    rows: n,
    positives,
    negatives,
    baseRate: ratio(positives, n),
    auc: weightedAuc(rows.labels, rows.scores, order),
    prAuc: averagePrecision,
    ...probabilityScores(rows),
    threshold: options.threshold,
    confusionMatrix: t.matrix,
    precision: t.precision,
    recall: t.recall,
    f1: t.f(1),
    accuracy: t.accuracy,
    roc: positives === 0 || negatives === 0 ? [] : thin(roc, maxPoints),
    pr: positives === 0 ? [] : thin(pr, maxPoints),
    calibration: calibration(rows, options.calibrationBins ?? 10),
    lift: lift(rows, order, positives),
  };
}
