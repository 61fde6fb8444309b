import { type LocalRunReport, renderHtml, renderMarkdown } from '../../../local/demo/report';

const report: LocalRunReport = {
  generatedAt: '2026-11-26T20:00:00.000Z',
  customers: 100,
  seed: 1,
  totalMs: 12_345,
  services: { moto: 'http://127.0.0.1:1', redis: 'redis://127.0.0.1:2' },
  steps: [
    { name: 'Services', ms: 1000, detail: 'moto, redis' },
    { name: 'Training <run>', ms: 3000 },
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
      ms: 2000,
      states: [{ state: 'Transform', ms: 300 }],
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
  histogram: [1, 2, 3],
  resultFiles: ['artifacts/results/model_version=1/run=batch-1/part-00001.csv.out'],
};

describe('report', () => {
  it('markdown has the model, batch, checks, reads and timing tables', () => {
    const md = renderMarkdown(report);
    expect(md).toContain('| train-1 | SUCCEEDED | 0.8123 | 0.4000 | 80 | 20 | 6 | 1 |');
    expect(md).toContain('| initial days | batch-1 | SUCCEEDED | 1 | 106 | 100 | 6 | 0 | 2.00 s |');
    expect(md).toContain('- PASS rows scored: 100 of 100');
    expect(md).toContain('| Services | 1.00 s | moto, redis |');
    expect(md).toContain('artifacts/results/model_version=1/run=batch-1/part-00001.csv.out');
  });

  it('html inlines the three charts and escapes text', () => {
    const html = renderHtml(report);
    expect(html).toContain('<polyline points="36.0,284.0 160.0,60.8 284.0,36.0"');
    expect(html.match(/fill="#ff7f0e"/g)).toHaveLength(3);
    expect(html).toContain('Training &lt;run&gt;');
    expect(html).not.toContain('Training <run>');
    expect(html).not.toMatch(/NaN|undefined/);
  });
});
