import { ValidationError } from '../../../contracts/errors';
import type { AucComparison } from '../../../contracts/evaluation';
import { mulberry32 } from '../../platform/random';
import { descendingOrder, type ScoredRows, weightedAuc } from './figures';

/**
 * Paired bootstrap of the AUC difference between two models scored on the same rows: each resample draws n rows with
 * replacement (the same draw for both models, so the rows' own difficulty cancels out), and the interval is the
 * percentile interval of candidate AUC − champion AUC over the resamples. A resample is a weight vector (how often
 * each row was drawn), so each one costs O(n) per model instead of a sort.
 */

/** Options of {@link bootstrapAucDifference}. */
export interface BootstrapOptions {
  /** @default 1000 */
  readonly resamples?: number;
  /** Two-sided level of the interval. @default 0.95 */
  readonly level?: number;
  /** Seed of the draws (the same seed gives the same interval). @default 1 */
  readonly seed?: number;
}

/** A 31-bit seed from a string (e.g. the run id), so a rerun of the same evaluation draws the same resamples. */
export function seedOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0) & 0x7fffffff;
}

/** The q-quantile of sorted values (linear interpolation between order statistics). */
function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Candidate AUC − champion AUC on the same rows with its paired bootstrap percentile interval, or null when the AUC is
 * undefined on the rows (no positives or no negatives). Resamples without a positive or a negative are redrawn.
 * @throws ValidationError when the two score sets are not of the same rows (different lengths or labels)
 */
export function bootstrapAucDifference(
  candidate: ScoredRows,
  champion: ScoredRows,
  options: BootstrapOptions = {},
): AucComparison | null {
  const n = candidate.labels.length;
  if (champion.labels.length !== n || champion.labels.some((y, i) => y !== candidate.labels[i])) {
    throw new ValidationError('AUC comparison: the two models were not scored on the same rows (labels differ)');
  }
  const resamples = options.resamples ?? 1000;
  const level = options.level ?? 0.95;
  const seed = options.seed ?? 1;
  const orderA = descendingOrder(candidate.scores);
  const orderB = descendingOrder(champion.scores);
  const a = weightedAuc(candidate.labels, candidate.scores, orderA);
  const b = weightedAuc(champion.labels, champion.scores, orderB);
  if (a === null || b === null) return null;
  const random = mulberry32(seed);
  const weights = new Float64Array(n);
  const diffs: number[] = [];
  let attempts = 0;
  while (diffs.length < resamples && attempts < resamples * 10) {
    attempts++;
    weights.fill(0);
    for (let k = 0; k < n; k++) weights[Math.floor(random() * n)]!++;
    const ra = weightedAuc(candidate.labels, candidate.scores, orderA, weights);
    const rb = weightedAuc(champion.labels, champion.scores, orderB, weights);
    if (ra !== null && rb !== null) diffs.push(ra - rb);
  }
  if (diffs.length === 0) return null;
  diffs.sort((x, y) => x - y);
  const alpha = (1 - level) / 2;
  return {
    difference: a - b,
    lower: quantile(diffs, alpha),
    upper: quantile(diffs, 1 - alpha),
    level,
    resamples: diffs.length,
    seed,
  };
}
