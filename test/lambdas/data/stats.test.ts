import { loadDefaultContract } from '../../../lambdas/data/contract';
import {
  binIndex,
  decileEdges,
  edgesOf,
  featureDrift,
  type NumericFeatureStats,
  psi,
  StatsAccumulator,
  summarize,
} from '../../../lambdas/data/stats';
import type { ParsedRow } from '../../../lambdas/data/validator';

const contract = loadDefaultContract();
const row = (values: ParsedRow['values']): ParsedRow => ({
  line: 2,
  entityId: 'c',
  asOf: '2026-11-01',
  label: 0,
  values,
});

describe('feature statistics', () => {
  it('count, nulls, mean, population std, min, max, category shares', () => {
    const acc = new StatsAccumulator(contract);
    const tenure = [2, 4, 4, 4, 5, 5, 7, 9]; // mean 5, population std 2
    tenure.forEach((t, i) => {
      acc.add(
        row([t, 10, i % 2 === 0 ? null : 100, 0, 1, i < 6 ? 1 : 0, i < 4 ? 'basic' : 'premium', i < 2 ? null : 'west']),
      );
    });
    const s = acc.finish();
    expect(s.rows).toBe(8);
    expect(s.features.tenure_months).toMatchObject({ count: 8, nulls: 0, mean: 5, std: 2, min: 2, max: 9 });
    expect(s.features.total_charges).toMatchObject({ count: 4, nulls: 4, mean: 100, std: 0 });
    expect(s.features.has_autopay).toMatchObject({ type: 'boolean', mean: 0.75, histogram: { edges: [0.5] } });
    expect(s.features.plan).toEqual({
      type: 'category',
      count: 8,
      nulls: 0,
      counts: { basic: 4, standard: 0, premium: 4 },
      shares: { basic: 0.5, standard: 0, premium: 0.5 },
    });
    expect(s.features.region).toMatchObject({ count: 6, nulls: 2, shares: { west: 1 } });
    expect(summarize(s).tenure_months).toEqual({ count: 8, nulls: 0, mean: 5, std: 2, min: 2, max: 9 });
    expect(JSON.stringify(summarize(s)).length).toBeLessThan(2000);
  });

  it('Welford stays accurate with a large offset', () => {
    const acc = new StatsAccumulator(contract);
    for (let i = 0; i < 1000; i++) acc.add(row([0, 0, 999_000 + (i % 2), 0, 0, 0, 'basic', null]));
    const s = acc.finish().features.total_charges as NumericFeatureStats;
    expect(s.mean).toBeCloseTo(999_000.5, 9);
    expect(s.std).toBeCloseTo(0.5, 9);
  });

  it('derives decile edges from a reservoir, then counts into fixed edges', () => {
    const acc = new StatsAccumulator(contract, { reservoirSize: 1000 });
    for (let i = 0; i < 100; i++) acc.add(row([i, 0, null, 0, 0, 0, 'basic', null]));
    const first = acc.finish();
    const edges = (first.features.tenure_months as NumericFeatureStats).histogram.edges;
    expect(edges).toEqual([9, 19, 29, 39, 49, 59, 69, 79, 89]);
    expect(edgesOf(first).total_charges).toEqual([]);
    const second = new StatsAccumulator(contract, { edges: edgesOf(first) });
    for (let i = 0; i < 100; i++) second.add(row([i, 0, null, 0, 0, 0, 'basic', null]));
    expect((second.finish().features.tenure_months as NumericFeatureStats).histogram.counts).toEqual([
      9, 10, 10, 10, 10, 10, 10, 10, 10, 11,
    ]);
    expect(decileEdges(new Float64Array([3, 3, 3]))).toEqual([]);
    expect(binIndex([1, 2], 0.5)).toBe(0);
    expect(binIndex([1, 2], 1)).toBe(1);
    expect(binIndex([1, 2], 5)).toBe(2);
  });
});

describe('population stability index', () => {
  it('is 0 for identical distributions (also when scaled)', () => {
    expect(psi([10, 20, 30, 40], [10, 20, 30, 40])).toBe(0);
    expect(psi([10, 20, 30, 40], [1, 2, 3, 4])).toBeCloseTo(0, 12);
  });

  it('matches a hand-computed value for a known shift', () => {
    // expected shares .5/.5, actual .25/.75:
    // (.25-.5)·ln(.25/.5) + (.75-.5)·ln(.75/.5) = .25·ln 2 + .25·ln 1.5 = 0.1732868 + 0.1013663 = 0.2746531
    expect(psi([50, 50], [25, 75])).toBeCloseTo(0.2746531, 6);
    // three bins .2/.3/.5 → .3/.3/.4: .1·ln(1.5) + 0 + (-.1)·ln(.8) = 0.0405465 + 0.0223144 = 0.0628609
    expect(psi([20, 30, 50], [30, 30, 40])).toBeCloseTo(0.0628609, 6);
  });

  it('handles empty bins with epsilon instead of infinity', () => {
    // expected .5/.5/0, actual .5/.4/.1 with eps 1e-4:
    // 0 + (-.1)·ln(.8) + (.1-1e-4)·ln(.1/1e-4) = 0.0223144 + 0.0999·6.9077553 = 0.0223144 + 0.6900848 = 0.7123992
    const v = psi([50, 50, 0], [50, 40, 10]);
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeCloseTo(0.7123992, 6);
    expect(psi([0, 10], [0, 10])).toBe(0);
    expect(() => psi([1, 2], [1])).toThrow(RangeError);
    expect(() => psi([0, 0], [1, 1])).toThrow(/no observations/);
  });

  it('per feature: numeric over training edges, categories and nulls as bins', () => {
    const train = new StatsAccumulator(contract, { reservoirSize: 1000 });
    for (let i = 0; i < 100; i++)
      train.add(row([i, 0, i % 4 === 0 ? null : 1, 0, 0, i % 2, i < 50 ? 'basic' : 'premium', 'north']));
    const pass1 = train.finish();
    const train2 = new StatsAccumulator(contract, { edges: edgesOf(pass1) });
    const same = new StatsAccumulator(contract, { edges: edgesOf(pass1) });
    const shifted = new StatsAccumulator(contract, { edges: edgesOf(pass1) });
    for (let i = 0; i < 100; i++) {
      const r = row([i, 0, i % 4 === 0 ? null : 1, 0, 0, i % 2, i < 50 ? 'basic' : 'premium', 'north']);
      train2.add(r);
      same.add(r);
      shifted.add(row([Math.min(i + 50, 600), 0, null, 0, 0, 1, i < 25 ? 'basic' : 'premium', 'north']));
    }
    const reference = train2.finish();
    const d0 = featureDrift(reference, same.finish());
    expect(Object.values(d0).every((v) => v === 0)).toBe(true);
    expect(Object.keys(d0)).toEqual(
      expect.arrayContaining(['tenure_months', 'plan', 'region', 'has_autopay', 'total_charges']),
    );
    const d1 = featureDrift(reference, shifted.finish());
    // plan: .5/.5 → .25/.75, nulls 0 → 0 (eps both sides): the hand-computed 0.2746531
    expect(d1.plan).toBeCloseTo(0.2746531, 6);
    expect(d1.tenure_months).toBeGreaterThan(1);
    expect(d1.region).toBe(0);
  });
});

describe('mergeable statistics (fan-out partials)', () => {
  const rows = Array.from({ length: 3000 }, (_, i) =>
    row([
      i % 97,
      (i * 7) % 13,
      i % 5 === 0 ? null : 1000 + (i % 31),
      i % 2,
      0,
      0,
      i % 3 === 0 ? 'basic' : 'premium',
      null,
    ]),
  );
  const split = (parts: number): ParsedRow[][] =>
    Array.from({ length: parts }, (_, p) => rows.filter((_, i) => i % parts === p));

  it('absorbing partials equals one pass over all rows (counts, moments, histograms over given edges)', () => {
    const first = new StatsAccumulator(contract);
    for (const r of rows) first.add(r);
    const edges = edgesOf(first.finish());
    const whole = new StatsAccumulator(contract, { edges });
    for (const r of rows) whole.add(r);
    const reduced = new StatsAccumulator(contract, { edges });
    for (const share of split(7)) {
      const acc = new StatsAccumulator(contract, { edges });
      for (const r of share) acc.add(r);
      reduced.absorb(JSON.parse(JSON.stringify(acc.toPartial())));
    }
    const a = whole.finish();
    const b = reduced.finish();
    expect(b.rows).toBe(a.rows);
    for (const [name, f] of Object.entries(a.features)) {
      const g = b.features[name]!;
      if (f.type === 'category') {
        expect(g).toEqual(f);
        continue;
      }
      const h = g as NumericFeatureStats;
      expect(h).toMatchObject({ count: f.count, nulls: f.nulls, min: f.min, max: f.max, histogram: f.histogram });
      expect(h.mean).toBeCloseTo(f.mean as number, 9);
      expect(h.std).toBeCloseTo(f.std as number, 9);
    }
  });

  it('an empty partial changes nothing, and a partial from other options is refused', () => {
    const acc = new StatsAccumulator(contract);
    for (const r of rows.slice(0, 10)) acc.add(r);
    const before = acc.finish();
    acc.absorb(new StatsAccumulator(contract).toPartial());
    expect(acc.finish()).toEqual(before);
    const withEdges = new StatsAccumulator(contract, { edges: edgesOf(before) });
    expect(() => withEdges.absorb(acc.toPartial())).toThrow(/built with other options/);
  });

  it('merged reservoirs give the same decile edges as one pass, within a bin', () => {
    const whole = new StatsAccumulator(contract, { reservoirSize: 500 });
    for (const r of rows) whole.add(r);
    const reduced = new StatsAccumulator(contract, { reservoirSize: 500 });
    for (const share of split(4)) {
      const acc = new StatsAccumulator(contract, { reservoirSize: 500 });
      for (const r of share) acc.add(r);
      reduced.absorb(acc.toPartial());
    }
    const a = (whole.finish().features.tenure_months as NumericFeatureStats).histogram.edges;
    const b = (reduced.finish().features.tenure_months as NumericFeatureStats).histogram.edges;
    expect(b).toHaveLength(a.length);
    // tenure is uniform on 0..96: deciles near 9.6·k; a uniform 500-value sample is within a few values of them.
    b.forEach((e, k) => {
      expect(Math.abs(e - 9.6 * (k + 1))).toBeLessThan(8);
    });
  });
});
