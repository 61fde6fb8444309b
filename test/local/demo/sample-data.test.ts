import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { loadDefaultContract } from '../../../lambdas/data/contract';
import { generateSampleData, LATE_OLDER_DATE, LATER_DATE } from '../../../local/demo/sample-data';
import { auc } from '../../../local/standins/metrics';

const digest = (files: readonly { key: string; body: string }[]) =>
  createHash('sha256')
    .update(files.map((f) => `${f.key}\n${f.body}`).join('\n'))
    .digest('hex');

describe('generateSampleData', () => {
  const data = generateSampleData({ customers: 2000 });

  it('is deterministic for a seed and differs for another seed', () => {
    expect(digest(generateSampleData({ customers: 2000 }).files)).toBe(digest(data.files));
    expect(digest(generateSampleData({ customers: 2000, seed: 7 }).files)).not.toBe(digest(data.files));
  });

  it('writes the contract columns in the contract layout', () => {
    const contract = loadDefaultContract();
    const features = contract.features.map((f) => f.name);
    for (const f of data.files) {
      const header = f.body.slice(0, f.body.indexOf('\n')).split(',');
      const expected = ['customer_id', 'as_of', ...(f.kind === 'training' ? ['churned'] : []), ...features];
      expect(header).toEqual(expected);
      expect(f.key).toMatch(new RegExp(`^${f.kind}/dt=${f.asOf}/part-\\d+\\.csv$`));
      const rows = parse(f.body, { columns: true }) as Record<string, string>[];
      expect(rows).toHaveLength(f.rows);
      expect(rows.every((r) => r.as_of === f.asOf)).toBe(true);
    }
  });

  it('has labelled training snapshots, three inference days, a later and a late older day', () => {
    const byPhase = (p: string) => [
      ...new Set(data.files.filter((f) => f.phase === p).map((f) => `${f.kind}:${f.asOf}`)),
    ];
    expect(byPhase('initial')).toEqual([
      'training:2026-10-30',
      'training:2026-10-31',
      'inference:2026-11-02',
      'inference:2026-11-03',
      'inference:2026-11-04',
    ]);
    expect(byPhase('later')).toEqual([`inference:${LATER_DATE}`]);
    expect(byPhase('late')).toEqual([`inference:${LATE_OLDER_DATE}`]);
    const training = data.files.filter((f) => f.kind === 'training');
    expect(training.reduce((a, f) => a + f.rows - f.badRows, 0)).toBe(2000);
    const late = data.files
      .filter((f) => f.phase === 'late')
      .flatMap((f) => f.body.split('\n').slice(1).filter(Boolean));
    expect(late.some((l) => l.startsWith(data.lateOnlyIds[0]!))).toBe(true);
    expect(late.some((l) => l.startsWith('C0000001,'))).toBe(true);
  });

  it('has learnable but not trivial labels', () => {
    expect(data.trueAuc).toBeGreaterThan(0.75);
    expect(data.trueAuc).toBeLessThan(0.9);
    expect(data.churnRate).toBeGreaterThan(0.1);
    expect(data.churnRate).toBeLessThan(0.4);
  });

  it('adds bad rows that each break one contract rule', () => {
    const contract = loadDefaultContract();
    const plan = contract.features.find((f) => f.name === 'plan');
    expect(data.badRows.map((b) => b.rule)).toEqual(
      expect.arrayContaining(['unknown category', 'out of range', 'wrong type']),
    );
    expect(data.files.reduce((a, f) => a + f.badRows, 0)).toBe(data.badRows.length);
    const rows = data.files.flatMap((f) => parse(f.body, { columns: true }) as Record<string, string>[]);
    const bad = rows.filter((r) => data.badRows.some((b) => b.id === r.customer_id));
    expect(bad).toHaveLength(data.badRows.length);
    expect(bad.some((r) => plan?.type === 'category' && !plan.categories.includes(r.plan!))).toBe(true);
  });

  it('rejects a bad size', () => {
    expect(() => generateSampleData({ customers: 3 })).toThrow(/customers must be an integer >= 10, got 3/);
  });
});

describe('auc', () => {
  it.each([
    [[0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.75],
    [[1, 2, 3], [0, 0, 1], 1],
    [[0.5, 0.5], [0, 1], 0.5],
  ])('auc(%j, %j) = %d', (s, l, expected) => {
    expect(auc(s, l)).toBeCloseTo(expected, 10);
  });
});
