import { bootstrapAucDifference } from '../../../../lambdas/domain/evaluation/bootstrap';
import { computeFigures, scoredRows } from '../../../../lambdas/domain/evaluation/figures';
import { decideGate } from '../../../../lambdas/domain/evaluation/gate';
import { modelQualityStatistics } from '../../../../lambdas/domain/evaluation/model-quality';
import { comparisonTable, summaryOf } from '../../../../lambdas/domain/evaluation/table';
import { mulberry32 } from '../../../../lambdas/platform/random';

/** AUC by its definition: P(score of a positive > score of a negative), ties half. O(n²). */
function bruteAuc(labels: number[], scores: number[]): number {
  let sum = 0;
  let pairs = 0;
  labels.forEach((y, i) => {
    if (y !== 1) return;
    labels.forEach((z, j) => {
      if (z !== 0) return;
      pairs++;
      sum += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    });
  });
  return sum / pairs;
}

function sample(n: number, seed: number, signal: number) {
  const r = mulberry32(seed);
  const labels = Array.from({ length: n }, () => (r() < 0.3 ? 1 : 0));
  // Scores rounded to 2 digits: plenty of ties.
  const scores = labels.map(
    (y) => Math.round(Math.min(1, Math.max(0, 0.3 + signal * (y - 0.3) + (r() - 0.5) * 0.6)) * 100) / 100,
  );
  return { labels, scores };
}

describe('computeFigures', () => {
  it('AUC equals the pairwise definition (ties counted half), PR AUC is the average precision', () => {
    const { labels, scores } = sample(400, 3, 0.3);
    const f = computeFigures(scoredRows(labels, scores, 't'), { threshold: 0.5 });
    expect(f.auc).toBeCloseTo(bruteAuc(labels, scores), 12);
    expect(f.rows).toBe(400);
    expect(f.positives + f.negatives).toBe(400);
    // ROC from (0,0) to (1,1), monotone
    expect(f.roc[0]).toEqual({ x: 0, y: 0, threshold: 1 });
    expect(f.roc.at(-1)).toMatchObject({ x: 1, y: 1 });
    for (let i = 1; i < f.roc.length; i++) expect(f.roc[i]!.x).toBeGreaterThanOrEqual(f.roc[i - 1]!.x);
    expect(f.prAuc!).toBeGreaterThan(f.baseRate!);
  });

  it('matches hand-computed figures on a small set', () => {
    // labels 1,0,1,0,0 scores .9,.8,.4,.3,.1 at threshold .5: TP 1, FP 1, FN 1, TN 2
    const f = computeFigures(scoredRows([1, 0, 1, 0, 0], [0.9, 0.8, 0.4, 0.3, 0.1], 't'), { threshold: 0.5 });
    expect(f.confusionMatrix).toEqual({ truePositives: 1, falsePositives: 1, trueNegatives: 2, falseNegatives: 1 });
    expect(f.precision).toBe(0.5);
    expect(f.recall).toBe(0.5);
    expect(f.f1).toBe(0.5);
    expect(f.accuracy).toBe(0.6);
    expect(f.auc).toBeCloseTo(5 / 6, 12); // positive .9 beats 3 negatives, .4 beats 2
    expect(f.prAuc).toBeCloseTo(0.5 * 1 + 0.5 * (2 / 3), 12); // AP: recall steps at precision 1 and 2/3
    const ll = -(Math.log(0.9) + Math.log(0.2) + Math.log(0.4) + Math.log(0.7) + Math.log(0.9)) / 5;
    expect(f.logLoss).toBeCloseTo(ll, 12);
    expect(f.brierScore).toBeCloseTo((0.01 + 0.64 + 0.36 + 0.09 + 0.01) / 5, 12);
    expect(f.calibration[9]).toMatchObject({ count: 1, meanPredicted: 0.9, fractionPositive: 1 });
    expect(f.lift.map((d) => d.rows)).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    expect(f.lift.at(-1)!.cumulativeGain).toBe(1);
  });

  it('undefined figures are null, never made up: no positives, no predicted positives', () => {
    const f = computeFigures(scoredRows([0, 0, 0], [0.1, 0.2, 0.3], 't'), { threshold: 0.5 });
    expect(f.auc).toBeNull();
    expect(f.prAuc).toBeNull();
    expect(f.precision).toBeNull();
    expect(f.recall).toBeNull();
    expect(f.roc).toEqual([]);
    expect(f.accuracy).toBe(1);
  });

  it('rejects a label that is not 0/1 or a score outside 0..1, naming the row', () => {
    expect(() => scoredRows([1, 2], [0.1, 0.2], 'out.csv')).toThrow(/out\.csv: row 2 has label 2/);
    expect(() => scoredRows([1, 0], [0.1, Number.NaN], 'out.csv')).toThrow(/row 2 has score NaN/);
  });
});

describe('bootstrapAucDifference', () => {
  it('is deterministic per seed, brackets the difference, and separates a clearly better model', () => {
    const a = sample(600, 5, 0.5);
    const bScores = sample(600, 5, 0.1).scores; // same labels (same seed draws), weaker signal
    const A = scoredRows(a.labels, a.scores, 'a');
    const B = scoredRows(a.labels, bScores, 'b');
    const one = bootstrapAucDifference(A, B, { seed: 9, resamples: 300 })!;
    expect(bootstrapAucDifference(A, B, { seed: 9, resamples: 300 })).toEqual(one);
    expect(one.difference).toBeCloseTo(bruteAuc(a.labels, a.scores) - bruteAuc(a.labels, bScores), 12);
    expect(one.lower).toBeLessThan(one.difference);
    expect(one.upper).toBeGreaterThan(one.difference);
    expect(one.lower).toBeGreaterThan(0);
    // A model against itself: difference 0, interval [0, 0].
    expect(bootstrapAucDifference(A, A, { seed: 1, resamples: 50 })).toMatchObject({
      difference: 0,
      lower: 0,
      upper: 0,
    });
  });

  it('refuses scores of different rows, and is null when AUC is undefined', () => {
    const A = scoredRows([1, 0], [0.6, 0.4], 'a');
    expect(() => bootstrapAucDifference(A, scoredRows([0, 1], [0.6, 0.4], 'b'))).toThrow(/not scored on the same rows/);
    const none = scoredRows([0, 0], [0.6, 0.4], 'a');
    expect(bootstrapAucDifference(none, none)).toBeNull();
  });
});

describe('modelQualityStatistics (SageMaker binary_classification_metrics)', () => {
  it("reproduces the documented example's figures", () => {
    // The page's example: 4 rows, 1 positive; TP 1, FP 2, TN 1, FN 0; AUC 1.
    const rows = scoredRows([1, 0, 0, 0], [0.9, 0.6, 0.55, 0.2], 'doc');
    const f = computeFigures(rows, { threshold: 0.5 });
    const doc = modelQualityStatistics(rows, f, { evaluatedAt: '2026-12-01T00:00:00Z' });
    const m = doc.binary_classification_metrics as Record<string, { value: number; standard_deviation: unknown }>;
    expect(doc.dataset).toEqual({ item_count: 4, evaluation_time: '2026-12-01T00:00:00Z' });
    expect(m.confusion_matrix).toEqual({ '0': { '0': 1, '1': 2 }, '1': { '0': 0, '1': 1 } });
    const v = (k: string) => m[k]!.value;
    expect(v('recall')).toBe(1);
    expect(v('precision')).toBeCloseTo(1 / 3, 12);
    expect(v('accuracy')).toBe(0.5);
    expect(v('recall_best_constant_classifier')).toBe(1);
    expect(v('precision_best_constant_classifier')).toBe(0.25);
    expect(v('true_negative_rate')).toBeCloseTo(1 / 3, 12);
    expect(v('false_positive_rate')).toBeCloseTo(2 / 3, 12);
    expect(v('auc')).toBe(1);
    expect(v('f0_5')).toBeCloseTo(0.3846153846153846, 12);
    expect(v('f1')).toBe(0.5);
    expect(v('f2')).toBeCloseTo(0.7142857142857143, 12);
    expect(v('f0_5_best_constant_classifier')).toBeCloseTo(0.29411764705882354, 12);
    expect(v('f1_best_constant_classifier')).toBeCloseTo(0.4, 12);
    expect(v('f2_best_constant_classifier')).toBeCloseTo(0.625, 12);
    // Fewer than 200 rows: no standard deviation, as the page says.
    expect(m.auc!.standard_deviation).toBe('NaN');
  });

  it('gives standard deviations over 5 samples of 80% from 200 rows on', () => {
    const { labels, scores } = sample(500, 8, 0.3);
    const rows = scoredRows(labels, scores, 's');
    const doc = modelQualityStatistics(rows, computeFigures(rows, { threshold: 0.5 }), { evaluatedAt: 'x' });
    const auc = (doc.binary_classification_metrics as Record<string, { standard_deviation: number }>).auc!;
    expect(auc.standard_deviation).toBeGreaterThan(0);
    expect(auc.standard_deviation).toBeLessThan(0.05);
  });
});

describe('decideGate', () => {
  const T = { minAuc: 0.7, maxLogloss: 0.6, maxAucDrop: 0.01 };
  const { labels, scores } = sample(300, 4, 0.5);
  const good = {
    modelVersion: null,
    runId: 'r',
    ...computeFigures(scoredRows(labels, scores, 'g'), { threshold: 0.5 }),
  };
  const champion = { ...good, modelVersion: 3 };
  const cmp = (difference: number, lower: number, upper: number) => ({
    difference,
    lower,
    upper,
    level: 0.95,
    resamples: 1000,
    seed: 1,
  });

  it('passes without Production, noting it; fails on the absolute thresholds', () => {
    expect(good.auc!).toBeGreaterThan(0.7);
    expect(decideGate(good, null, null, T)).toEqual({
      passed: true,
      reasons: [],
      notes: ['no Production model (no Approved version): comparison with Production skipped'],
    });
    const d = decideGate(good, null, null, { ...T, minAuc: 0.99, maxLogloss: 0.01 });
    expect(d.reasons).toEqual([
      expect.stringMatching(/^AUC 0\.\d+ < minimum 0\.99$/),
      expect.stringMatching(/^log loss .* > maximum 0\.01$/),
    ]);
  });

  it('uses the interval: fails only when all of it is below −tolerance; a noisy drop is a note', () => {
    expect(decideGate(good, champion, cmp(-0.05, -0.08, -0.02), T).reasons[0]).toMatch(
      /AUC difference -0\.05 vs Production version 3 on the same 300 rows \(95% CI \[-0\.08, -0\.02\]\): the whole interval is below/,
    );
    const noisy = decideGate(good, champion, cmp(-0.02, -0.05, 0.01), T);
    expect(noisy.passed).toBe(true);
    expect(noisy.notes[0]).toMatch(/within sampling noise; approver decides/);
    expect(decideGate(good, champion, cmp(0.01, -0.01, 0.03), T)).toMatchObject({ passed: true, reasons: [] });
    // An interval ending exactly at −tolerance passes.
    expect(decideGate(good, champion, cmp(-0.02, -0.03, -0.01), T).passed).toBe(true);
  });

  it('fails a channel with one class, naming the counts; records why there is no champion', () => {
    const one = {
      modelVersion: null,
      runId: 'r',
      ...computeFigures(scoredRows([0, 0, 0], [0.1, 0.2, 0.3], 'o'), { threshold: 0.5 }),
    };
    expect(decideGate(one, null, null, T, 'champion note').reasons[0]).toBe(
      'the validation channel has 3 rows with 0 positives and 3 negatives: AUC is undefined without both classes',
    );
    expect(decideGate(good, null, null, T, 'champion note').notes).toEqual(['champion note']);
  });
});

describe('comparisonTable', () => {
  it('puts both models side by side with the difference and the interval', () => {
    const { labels, scores } = sample(300, 4, 0.5);
    const f = {
      modelVersion: null,
      runId: 'r',
      ...computeFigures(scoredRows(labels, scores, 'g'), { threshold: 0.5 }),
    };
    const lines = comparisonTable(
      summaryOf(f),
      { ...summaryOf(f), modelVersion: 2, auc: f.auc! - 0.01 },
      {
        difference: 0.01,
        lower: -0.002,
        upper: 0.021,
        level: 0.95,
        resamples: 1000,
        seed: 1,
      },
    );
    expect(lines[0]).toBe(`Same 300 validation rows (${f.positives} positives), threshold 0.5`);
    expect(lines[1]).toMatch(/candidate\s+v2 \(Production\)\s+difference\s+better/);
    expect(lines.find((l) => l.startsWith('AUC '))).toMatch(/\+0\.0100\s+candidate$/);
    expect(lines.at(-1)).toBe(
      'AUC difference +0.0100, 95% bootstrap interval [-0.0020, +0.0210] (1000 paired resamples)',
    );
  });
});
