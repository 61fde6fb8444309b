import { barChart, lineChart } from '../../../local/demo/charts';
import { type LocalRunReport, renderHtml, renderMarkdown } from '../../../local/demo/report';

const report: LocalRunReport = {
  generatedAt: '2026-11-26T20:00:00.000Z',
  customers: 100,
  seed: 1,
  totalMs: 12_345,
  services: { moto: 'http://127.0.0.1:1', redis: 'redis://127.0.0.1:2' },
  steps: [
    { name: 'Services', ms: 1000, detail: 'moto, redis' },
    { name: 'Training <run> with a long name that used to be clipped at the left edge', ms: 3000 },
  ],
  training: {
    runId: 'train-1',
    status: 'SUCCEEDED',
    auc: 0.81234,
    logloss: 0.4,
    trainRows: 80,
    validationRows: 20,
    rowsQuarantined: 6,
    modelVersion: 1,
    modelPackageArn: 'arn:pkg/1',
    algorithm: ['XGBoost 1.7.4 (binary:logistic)'],
    baseRate: 0.25,
    quarantine: {
      reportUri: 's3://artifacts/reports/train-1/validation.json',
      rowsQuarantined: 6,
      countsByRule: [
        { rule: 'out_of_range', count: 4 },
        { rule: 'ragged_row', count: 2 },
      ],
      examples: [
        { rule: 'out_of_range', file: 'training/dt=2026-11-01/a.csv', line: 7, column: 'tenure', message: 'below 0' },
        { rule: 'ragged_row', file: 'training/dt=2026-11-01/a.csv', line: 9, column: null, message: 'expected 5' },
      ],
    },
    states: [{ state: 'Train', ms: 500 }],
  },
  approval: { version: 1, productionVersion: 1, detail: 'Approved; Production is version 1' },
  batches: [
    {
      label: 'initial days',
      runId: 'batch-1',
      status: 'SUCCEEDED',
      objects: ['inference/dt=2026-11-02/part-0.csv'],
      rowsIn: 106,
      rowsScored: 100,
      rowsQuarantined: 6,
      rowsKeptNewer: 0,
      histogram: [10, 20, 70],
      drift: { tenure: 0.02, monthly_charges: 0.3 },
      quarantine: undefined,
      ms: 2000,
      states: [{ state: 'Transform', ms: 300 }],
    },
    {
      label: 'rerun',
      runId: 'batch-2',
      status: 'SUCCEEDED',
      objects: [],
      rowsIn: 0,
      rowsScored: 0,
      rowsQuarantined: 0,
      rowsKeptNewer: 0,
      histogram: [0, 0, 0],
      drift: {},
      quarantine: undefined,
      ms: 100,
      states: [],
    },
  ],
  checks: [{ name: 'rows scored', passed: true, detail: '100 of 100' }],
  reads: [{ id: 'C1', expected: 'known', result: { source: 'model' } }],
  fallback: { global: 0.2 },
  roc: [
    { fpr: 0, tpr: 0 },
    { fpr: 0.5, tpr: 0.9 },
    { fpr: 1, tpr: 1 },
  ],
  resultFiles: ['artifacts/results/model_version=1/run=batch-1/part-00001.csv.out'],
};

describe('report', () => {
  it('markdown has the model, batch, checks, reads and timing tables', () => {
    const md = renderMarkdown(report);
    expect(md).toContain('| train-1 | SUCCEEDED | 0.8123 | 0.4000 | 80 | 20 | 6 | 1 |');
    expect(md).toContain('| initial days | batch-1 | SUCCEEDED | 1 | 106 | 100 | 6 | 0 | 2.00 s |');
    expect(md).toContain('- label base rate (validation rows): 25.0 %');
    expect(md).toContain('- PASS rows scored: 100 of 100');
    expect(md).toContain('| Services | 1.00 s | moto, redis |');
    expect(md).toContain('artifacts/results/model_version=1/run=batch-1/part-00001.csv.out');
  });

  const html = renderHtml(report);

  it('html has the model, histogram, drift, quarantine, checks and timing sections', () => {
    for (const h of ['Model', 'Batch runs', 'Score histograms per run', 'Feature drift', 'Quarantine', 'Checks']) {
      expect(html).toContain(`<h2>${h}</h2>`);
    }
    expect(html).toContain('label base rate 25.0 %');
    expect(html).toContain('XGBoost 1.7.4 (binary:logistic)');
  });

  it('draws one histogram per run that scored rows, with its bins', () => {
    expect(html).toContain('aria-label="initial days (100 rows)"');
    expect(html).not.toContain('aria-label="rerun (0 rows)"');
    expect(html).toContain('<title>0.67–1.00: 70</title>');
  });

  it('bands drift per feature and lists quarantine counts and examples per rule', () => {
    expect(html).toContain('<td class="psi-stable" title="stable">0.0200</td>');
    expect(html).toContain('<td class="psi-major" title="major">0.3000</td>');
    expect(html).toContain('aria-label="training train-1: violations per rule"');
    expect(html).toContain('<td>out_of_range</td><td><code>training/dt=2026-11-01/a.csv</code></td><td>7</td>');
    expect(html).toContain('No validation report (nothing was prepared).');
  });

  it('is one static file: no script, no external resource; text escaped; no NaN', () => {
    expect(html).not.toMatch(/<script|<link|<img|src=|href="http/);
    expect(html).toContain('Training &lt;run&gt;');
    expect(html).not.toContain('Training <run>');
    expect(html).not.toMatch(/NaN|undefined/);
  });
});

describe('charts', () => {
  it('line charts have labelled axes and ticks', () => {
    const svg = lineChart({
      title: 'ROC',
      x: { label: 'false positive rate', min: 0, max: 1 },
      y: { label: 'true positive rate', min: 0, max: 1 },
      series: [
        {
          label: 'a',
          color: '#000',
          points: [
            { x: 0, y: 0 },
            { x: 1, y: 1 },
          ],
        },
      ],
    });
    expect(svg).toContain('>false positive rate</text>');
    expect(svg).toContain('>true positive rate</text>');
    for (const tick of ['0', '0.25', '0.5', '0.75', '1']) expect(svg).toContain(`>${tick}</text>`);
  });

  it('bar charts make the label column as wide as the longest label', () => {
    const label = 'x'.repeat(60);
    const svg = barChart('t', [{ label, value: 1 }]);
    const rect = /<rect x="(\d+)"/.exec(svg);
    expect(Number(rect![1])).toBeGreaterThanOrEqual(60 * 7);
  });
});
