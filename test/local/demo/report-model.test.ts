import { type EvaluationReport, EvaluationReportSchema } from '../../../contracts/evaluation';
import { computeFigures, scoredRows } from '../../../lambdas/domain/evaluation/figures';
import { renderModelMarkdown, renderModelSection } from '../../../local/demo/report-model';

// Two models scored on the same 200 rows: the candidate separates the classes better than the champion.
const labels = Array.from({ length: 200 }, (_, i) => (i % 4 === 0 ? 1 : 0));
const noise = (i: number) => ((i * 7919) % 100) / 100;
const figures = (strength: number, version: number | null) => ({
  modelVersion: version,
  runId: version ? `train-${version}` : 'train-new',
  ...computeFigures(
    scoredRows(
      labels,
      labels.map((y, i) => Math.min(0.99, Math.max(0.01, 0.5 * noise(i) + strength * (y - 0.25)))),
      'test',
    ),
    { threshold: 0.5 },
  ),
});

const report: EvaluationReport = EvaluationReportSchema.parse({
  schemaVersion: 1,
  runId: 'train-new',
  evaluatedAt: '2026-12-01T12:00:00Z',
  algorithm: { name: 'xgboost', version: '1.7-1' },
  decisionThreshold: 0.5,
  candidate: figures(0.6, null),
  champion: figures(0.3, 1),
  comparison: { difference: 0.05, lower: 0.01, upper: 0.09, level: 0.95, resamples: 1000, seed: 1 },
  gate: { passed: true, reasons: [], notes: [] },
  lineage: { trainingObjects: [], contractVersion: '1.0.0', codeVersion: 'abc' },
});

describe('report model section', () => {
  const html = renderModelSection(report);

  it('plots ROC, precision-recall, calibration and lift for both models with labelled axes', () => {
    for (const title of ['ROC', 'Precision-recall', 'Calibration (10 bins)', 'Lift by decile']) {
      expect(html).toContain(`aria-label="${title}"`);
    }
    for (const axis of ['false-positive rate', 'recall', 'mean predicted probability', 'decile (1 = highest scores)']) {
      expect(html).toContain(`>${axis}</text>`);
    }
    expect(html.match(/candidate \(AUC /g)).toHaveLength(1);
    expect(html).toContain('Production v1 (AUC ');
  });

  it('shows the confusion matrix of each model at the threshold, adding up to the rows', () => {
    expect(html).toContain('<caption>candidate @ 0.5</caption>');
    expect(html).toContain('<caption>Production v1 @ 0.5</caption>');
    const c = report.candidate.confusionMatrix;
    expect(c.truePositives + c.falsePositives + c.trueNegatives + c.falseNegatives).toBe(200);
    expect(html).toContain(`${c.truePositives} (TP)`);
  });

  it('has the side-by-side table in HTML and Markdown, with no NaN', () => {
    expect(html).toContain('candidate vs Production on the same rows');
    expect(renderModelMarkdown(report).join('\n')).toContain('AUC difference +0.0500');
    expect(html).not.toMatch(/NaN|undefined/);
  });
});
