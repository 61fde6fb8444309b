import { mulberry32 } from '../platform/random';
import type { FeatureContract } from './contract';
import type { ParsedRow } from './validator';

/**
 * Streaming feature statistics (constant memory) and the population stability index (PSI) for drift.
 *
 * Numeric (and boolean, as 0/1) features: count of non-null values, nulls, mean and population standard deviation
 * (Welford), min, max, and a histogram over fixed bin edges. The edges come from training: the first training pass keeps
 * a deterministic reservoir sample per feature and takes its deciles; every later pass (the second training pass,
 * every inference run) counts into the same edges, so the training and inference histograms are comparable.
 * Category features: counts and shares per allowed value. Nulls are their own PSI bin.
 */

/** Histogram over `edges` (ascending): bin 0 = (-inf, e0), bin i = [e(i-1), e(i)), last bin = [e(last), +inf). */
export interface Histogram {
  edges: number[];
  counts: number[];
}

export interface NumericFeatureStats {
  type: 'number' | 'integer' | 'boolean';
  /** Non-null values. */
  count: number;
  nulls: number;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  histogram: Histogram;
}

export interface CategoryFeatureStats {
  type: 'category';
  count: number;
  nulls: number;
  /** Per allowed value in contract order (values never seen have 0). */
  counts: Record<string, number>;
  shares: Record<string, number>;
}

export type FeatureStats = NumericFeatureStats | CategoryFeatureStats;

export interface DatasetStats {
  contract: { name: string; version: string };
  rows: number;
  features: Record<string, FeatureStats>;
}

/** Small per-feature summary for Step Functions payloads and the run record. */
export type FeatureSummary = Pick<NumericFeatureStats, 'count' | 'nulls' | 'mean' | 'std' | 'min' | 'max'> & {
  shares?: Record<string, number>;
};

export const DEFAULT_RESERVOIR_SIZE = 10_000;
const DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

interface NumAcc {
  kind: 'num';
  type: 'number' | 'integer' | 'boolean';
  n: number;
  nulls: number;
  mean: number;
  m2: number;
  min: number;
  max: number;
  edges: number[] | undefined;
  counts: Float64Array | undefined;
  sample: Float64Array | undefined;
  seen: number;
}
interface CatAcc {
  kind: 'cat';
  n: number;
  nulls: number;
  index: Map<string, number>;
  categories: string[];
  counts: Float64Array;
}

/** One feature's accumulator state in a {@link PartialStats} (contract order). */
export type PartialFeature =
  | { kind: 'cat'; n: number; nulls: number; counts: number[] }
  | {
      kind: 'num';
      n: number;
      nulls: number;
      mean: number;
      m2: number;
      min: number | null;
      max: number | null;
      /** Histogram counts over the given edges; null when the accumulator samples for edges instead. */
      counts: number[] | null;
      /** The reservoir sample (at most the reservoir size); null when edges were given. */
      sample: number[] | null;
      /** Non-null values the sample stands for. */
      seen: number;
    };

/** JSON state of a {@link StatsAccumulator}: what one fan-out invocation hands to the reducer. */
export interface PartialStats {
  rows: number;
  features: PartialFeature[];
}

export interface StatsOptions {
  /** Bin edges per numeric feature (from training stats). Without them edges are derived from a reservoir sample. */
  edges?: Record<string, number[]>;
  reservoirSize?: number;
  seed?: number;
}

/** Index of the bin `v` falls in (binary search; edges ascending). */
export function binIndex(edges: readonly number[], v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v < (edges[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export class StatsAccumulator {
  private rows = 0;
  private readonly accs: (NumAcc | CatAcc)[];
  private readonly random: () => number;
  private readonly reservoirSize: number;

  constructor(
    private readonly contract: FeatureContract,
    options: StatsOptions = {},
  ) {
    this.reservoirSize = options.reservoirSize ?? DEFAULT_RESERVOIR_SIZE;
    this.random = mulberry32(options.seed ?? 20_240_601);
    this.accs = contract.features.map((f): NumAcc | CatAcc => {
      if (f.type === 'category') {
        return {
          kind: 'cat',
          n: 0,
          nulls: 0,
          categories: f.categories,
          index: new Map(f.categories.map((c, i) => [c, i])),
          counts: new Float64Array(f.categories.length),
        };
      }
      const edges = f.type === 'boolean' ? [0.5] : options.edges?.[f.name];
      return {
        kind: 'num',
        type: f.type,
        n: 0,
        nulls: 0,
        mean: 0,
        m2: 0,
        min: Number.POSITIVE_INFINITY,
        max: Number.NEGATIVE_INFINITY,
        edges,
        counts: edges ? new Float64Array(edges.length + 1) : undefined,
        sample: edges ? undefined : new Float64Array(this.reservoirSize),
        seen: 0,
      };
    });
  }

  /** Add one validated row (values in contract feature order). */
  add(row: ParsedRow): void {
    this.rows += 1;
    const values = row.values;
    for (let i = 0; i < this.accs.length; i++) {
      const a = this.accs[i]!;
      const v = values[i];
      if (v === null || v === undefined) {
        a.nulls += 1;
        continue;
      }
      if (a.kind === 'cat') {
        const j = a.index.get(v as string);
        if (j !== undefined) {
          a.counts[j]! += 1;
          a.n += 1;
        }
        continue;
      }
      const x = v as number;
      a.n += 1;
      const d = x - a.mean;
      a.mean += d / a.n;
      a.m2 += d * (x - a.mean);
      if (x < a.min) a.min = x;
      if (x > a.max) a.max = x;
      if (a.counts) a.counts[binIndex(a.edges!, x)]! += 1;
      if (a.sample) {
        // Algorithm R reservoir sampling.
        if (a.seen < this.reservoirSize) a.sample[a.seen] = x;
        else {
          const j = Math.floor(this.random() * (a.seen + 1));
          if (j < this.reservoirSize) a.sample[j] = x;
        }
        a.seen += 1;
      }
    }
  }

  /**
   * The accumulator's state as JSON, for a fan-out: each invocation accumulates its share of the rows and returns
   * this; the reducer {@link absorb}s every partial into one accumulator built with the same contract and options.
   */
  toPartial(): PartialStats {
    const features = this.accs.map((a): PartialFeature => {
      if (a.kind === 'cat') return { kind: 'cat', n: a.n, nulls: a.nulls, counts: Array.from(a.counts) };
      const empty = a.n === 0;
      return {
        kind: 'num',
        n: a.n,
        nulls: a.nulls,
        mean: a.mean,
        m2: a.m2,
        min: empty ? null : a.min,
        max: empty ? null : a.max,
        counts: a.counts ? Array.from(a.counts) : null,
        sample: a.sample ? Array.from(a.sample.subarray(0, Math.min(a.seen, this.reservoirSize))) : null,
        seen: a.seen,
      };
    });
    return { rows: this.rows, features };
  }

  /**
   * Merge a partial (from {@link toPartial}) into this accumulator: counts add, moments combine by Chan et al.'s
   * parallel formula (exact up to rounding), and two reservoirs merge into one uniform sample of the union (each draw
   * takes from a side with probability proportional to the values it still stands for). Merging is order-independent
   * except for which values the merged reservoir keeps, which is deterministic for a given order and seed.
   */
  absorb(partial: PartialStats): void {
    if (partial.features.length !== this.accs.length) {
      throw new RangeError(`partial stats have ${partial.features.length} features, the contract ${this.accs.length}`);
    }
    this.rows += partial.rows;
    partial.features.forEach((p, i) => {
      const a = this.accs[i]!;
      if (a.kind !== p.kind || (a.kind === 'num' && p.kind === 'num' && !a.counts !== !p.counts)) {
        throw new RangeError(
          `partial stats of feature ${this.contract.features[i]!.name} were built with other options`,
        );
      }
      a.nulls += p.nulls;
      if (a.kind === 'cat' || p.kind === 'cat') {
        p.counts?.forEach((c, j) => {
          a.counts![j]! += c;
        });
        a.n += p.n;
        return;
      }
      if (p.n > 0) {
        const n = a.n + p.n;
        const delta = p.mean - a.mean;
        a.mean += (delta * p.n) / n;
        a.m2 += p.m2 + (delta * delta * a.n * p.n) / n;
        a.n = n;
        a.min = Math.min(a.min, p.min ?? Number.POSITIVE_INFINITY);
        a.max = Math.max(a.max, p.max ?? Number.NEGATIVE_INFINITY);
      }
      p.counts?.forEach((c, j) => {
        a.counts![j]! += c;
      });
      if (a.sample && p.sample) this.mergeReservoir(a, p.sample, p.seen);
    });
  }

  private mergeReservoir(a: NumAcc, other: readonly number[], otherSeen: number): void {
    const mine = Array.from(a.sample!.subarray(0, Math.min(a.seen, this.reservoirSize)));
    const theirs = other.slice();
    let leftMine = a.seen;
    let leftTheirs = otherSeen;
    const size = Math.min(this.reservoirSize, a.seen + otherSeen);
    const merged = new Float64Array(this.reservoirSize);
    for (let k = 0; k < size; k++) {
      const fromMine = theirs.length === 0 || (mine.length > 0 && this.random() * (leftMine + leftTheirs) < leftMine);
      const pool = fromMine ? mine : theirs;
      const j = Math.floor(this.random() * pool.length);
      merged[k] = pool[j]!;
      pool[j] = pool[pool.length - 1]!;
      pool.pop();
      if (fromMine) leftMine -= 1;
      else leftTheirs -= 1;
    }
    a.sample = merged;
    a.seen += otherSeen;
  }

  /** The statistics so far. Without given edges, histogram edges are the sample deciles and counts are empty. */
  finish(): DatasetStats {
    const features: Record<string, FeatureStats> = {};
    this.contract.features.forEach((f, i) => {
      const a = this.accs[i]!;
      if (a.kind === 'cat') {
        const counts: Record<string, number> = {};
        const shares: Record<string, number> = {};
        a.categories.forEach((c, j) => {
          counts[c] = a.counts[j]!;
          shares[c] = a.n === 0 ? 0 : a.counts[j]! / a.n;
        });
        features[f.name] = { type: 'category', count: a.n, nulls: a.nulls, counts, shares };
        return;
      }
      const edges = a.edges ?? decileEdges(a.sample!.subarray(0, Math.min(a.seen, this.reservoirSize)));
      features[f.name] = {
        type: a.type,
        count: a.n,
        nulls: a.nulls,
        mean: a.n === 0 ? null : a.mean,
        std: a.n === 0 ? null : Math.sqrt(a.m2 / a.n),
        min: a.n === 0 ? null : a.min,
        max: a.n === 0 ? null : a.max,
        histogram: { edges, counts: a.counts ? Array.from(a.counts) : [] },
      };
    });
    return { contract: { name: this.contract.name, version: this.contract.version }, rows: this.rows, features };
  }
}

/** Distinct deciles of a sample (ascending): the inner edges of at most 10 bins. */
export function decileEdges(sample: Float64Array): number[] {
  if (sample.length === 0) return [];
  const sorted = Float64Array.from(sample).sort();
  const edges: number[] = [];
  for (const q of DECILES) {
    const v = sorted[Math.floor(q * (sorted.length - 1))]!;
    // An edge equal to the minimum would leave bin 0 always empty; skip it and duplicates.
    if (v > sorted[0]! && (edges.length === 0 || v > edges[edges.length - 1]!)) edges.push(v);
  }
  return edges;
}

/** Bin edges per numeric feature of training stats, for counting inference data into the same bins. */
export function edgesOf(stats: DatasetStats): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, s] of Object.entries(stats.features)) if (s.type !== 'category') out[name] = s.histogram.edges;
  return out;
}

/** Summary without histograms (small enough for a Step Functions payload). */
export function summarize(stats: DatasetStats): Record<string, FeatureSummary> {
  const out: Record<string, FeatureSummary> = {};
  for (const [name, s] of Object.entries(stats.features)) {
    if (s.type === 'category') {
      out[name] = { count: s.count, nulls: s.nulls, mean: null, std: null, min: null, max: null, shares: s.shares };
    } else out[name] = { count: s.count, nulls: s.nulls, mean: s.mean, std: s.std, min: s.min, max: s.max };
  }
  return out;
}

export const DEFAULT_PSI_EPSILON = 1e-4;

/**
 * Population stability index of two count vectors over the same bins:
 * PSI = Σ (a_i − e_i) · ln(a_i / e_i) with e_i, a_i the bin shares; an empty bin's share is replaced by `epsilon`
 * so the sum stays finite. Identical distributions give 0; rule of thumb: < 0.1 stable, 0.1–0.2 moderate, > 0.2 drift.
 */
export function psi(expected: readonly number[], actual: readonly number[], epsilon = DEFAULT_PSI_EPSILON): number {
  if (expected.length !== actual.length) {
    throw new RangeError(`psi: bin counts differ (expected ${expected.length} bins, actual ${actual.length})`);
  }
  let se = 0;
  let sa = 0;
  for (let i = 0; i < expected.length; i++) {
    se += expected[i]!;
    sa += actual[i]!;
  }
  if (se <= 0 || sa <= 0) throw new RangeError('psi: a distribution has no observations');
  let total = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i]! / se, epsilon);
    const a = Math.max(actual[i]! / sa, epsilon);
    total += (a - e) * Math.log(a / e);
  }
  return total;
}

/** PSI bins of one feature: histogram counts (numeric) or per-category counts in `order`, then the null count. */
function binsOf(s: FeatureStats, order?: string[]): number[] {
  if (s.type === 'category') return [...(order ?? Object.keys(s.counts)).map((c) => s.counts[c] ?? 0), s.nulls];
  return [...s.histogram.counts, s.nulls];
}

/**
 * PSI per feature of `actual` (inference) against `expected` (training). Features absent in either, without histogram
 * counts, or without rows are skipped. The numeric histograms must share edges (see {@link edgesOf}).
 */
export function featureDrift(
  expected: DatasetStats,
  actual: DatasetStats,
  epsilon = DEFAULT_PSI_EPSILON,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, e] of Object.entries(expected.features)) {
    const a = actual.features[name];
    if (!a || (a.type !== e.type && !(a.type !== 'category' && e.type !== 'category'))) continue;
    if (e.count + e.nulls === 0 || a.count + a.nulls === 0) continue;
    if (e.type !== 'category' && a.type !== 'category') {
      if (e.histogram.counts.length === 0 || a.histogram.counts.length !== e.histogram.counts.length) continue;
    }
    const order = e.type === 'category' ? Object.keys(e.counts) : undefined;
    out[name] = psi(binsOf(e, order), binsOf(a, order), epsilon);
  }
  return out;
}

/** Largest PSI over the features (0 when nothing was measured). */
export function maxDrift(drift: Readonly<Record<string, number>>): number {
  return Object.values(drift).reduce((m, v) => (Number.isFinite(v) && v > m ? v : m), 0);
}

/**
 * Features whose drift exceeds `threshold`, worst first, as `name=psi` strings.
 */
export function driftedFeatures(drift: Readonly<Record<string, number>>, threshold: number): string[] {
  return Object.entries(drift)
    .filter(([, v]) => v > threshold)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}=${v.toFixed(3)}`);
}
