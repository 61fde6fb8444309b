/** Binary-classification metrics computed here (not by the ML library): AUC, log loss, ROC curve, histogram. */

/** Mann–Whitney AUC of `scores` against 0/1 `labels` (ties count half). NaN when one class is absent. */
export function auc(scores: readonly number[], labels: readonly number[]): number {
  if (scores.length !== labels.length) throw new Error(`auc: ${scores.length} scores but ${labels.length} labels`);
  const idx = scores.map((s, i) => [s, labels[i]!] as const).sort((a, b) => a[0] - b[0]);
  let pos = 0;
  let rankSum = 0;
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1]![0] === idx[i]![0]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (idx[k]![1] === 1) {
        pos++;
        rankSum += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = idx.length - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Mean binary cross-entropy, probabilities clipped to [1e-15, 1 - 1e-15] (as XGBoost's logloss). */
export function logloss(probabilities: readonly number[], labels: readonly number[]): number {
  if (probabilities.length !== labels.length)
    throw new Error(`logloss: ${probabilities.length} predictions but ${labels.length} labels`);
  if (probabilities.length === 0) return Number.NaN;
  const eps = 1e-15;
  let sum = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = Math.min(1 - eps, Math.max(eps, probabilities[i]!));
    sum += labels[i] === 1 ? -Math.log(p) : -Math.log(1 - p);
  }
  return sum / probabilities.length;
}

export interface RocPoint {
  readonly fpr: number;
  readonly tpr: number;
}

/** ROC curve (one point per distinct threshold, from (0,0) to (1,1)), thinned to at most `maxPoints`. */
export function rocCurve(scores: readonly number[], labels: readonly number[], maxPoints = 200): RocPoint[] {
  const idx = scores.map((s, i) => [s, labels[i]!] as const).sort((a, b) => b[0] - a[0]);
  const pos = idx.filter((x) => x[1] === 1).length;
  const neg = idx.length - pos;
  if (pos === 0 || neg === 0) return [];
  const pts: RocPoint[] = [{ fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < idx.length; i++) {
    if (idx[i]![1] === 1) tp++;
    else fp++;
    if (i === idx.length - 1 || idx[i + 1]![0] !== idx[i]![0]) pts.push({ fpr: fp / neg, tpr: tp / pos });
  }
  if (pts.length <= maxPoints) return pts;
  const step = (pts.length - 1) / (maxPoints - 1);
  return Array.from({ length: maxPoints }, (_, k) => pts[Math.round(k * step)]!);
}

/** Counts of `values` in `bins` equal-width bins over [min, max]. */
export function histogram(values: readonly number[], bins = 20, min = 0, max = 1): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(((v - min) / (max - min)) * bins)));
    counts[b]! += 1;
  }
  return counts;
}
