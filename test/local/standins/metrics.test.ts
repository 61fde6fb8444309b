import { histogram, logloss, rocCurve } from '../../../local/standins/metrics';

describe('metrics', () => {
  it('logloss matches the formula and clips', () => {
    expect(logloss([0.9, 0.2], [1, 0])).toBeCloseTo(-(Math.log(0.9) + Math.log(0.8)) / 2, 12);
    expect(Number.isFinite(logloss([0, 1], [1, 0]))).toBe(true);
  });
  it('rocCurve runs from (0,0) to (1,1) and is monotone', () => {
    const roc = rocCurve([0.1, 0.4, 0.35, 0.8, 0.8], [0, 0, 1, 1, 0]);
    expect(roc[0]).toEqual({ fpr: 0, tpr: 0 });
    expect(roc.at(-1)).toEqual({ fpr: 1, tpr: 1 });
    for (let i = 1; i < roc.length; i++) {
      expect(roc[i]!.fpr).toBeGreaterThanOrEqual(roc[i - 1]!.fpr);
      expect(roc[i]!.tpr).toBeGreaterThanOrEqual(roc[i - 1]!.tpr);
    }
  });
  it('histogram counts every value once', () => {
    expect(histogram([0, 0.05, 0.5, 0.99, 1], 10)).toEqual([2, 0, 0, 0, 0, 1, 0, 0, 0, 2]);
  });
});
