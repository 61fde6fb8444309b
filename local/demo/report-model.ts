/**
 * The model section of the local report, read from the challenger's evaluation document (contracts/evaluation.ts):
 * ROC, precision-recall, calibration and lift of the candidate and the Production model on the same validation
 * rows, with labelled axes and ticks, and the comparison table.
 */
import type { EvaluationReport, ModelFigures } from '../../contracts/evaluation';
import { reportTable } from '../../lambdas/domain/evaluation/table';
import { type ChartSeries, lineChart as drawLineChart, esc } from './charts';

interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly x: readonly [number, number];
  readonly y: readonly [number, number];
  readonly xTicks: readonly number[];
  readonly yTicks: readonly number[];
  readonly series: readonly ChartSeries[];
  /** A reference line, e.g. the diagonal of a ROC or a perfectly calibrated model. */
  readonly reference?: readonly [{ x: number; y: number }, { x: number; y: number }];
}

/** One chart of local/demo/charts.ts, the legend where the curves leave room (bottom right, as for a ROC). */
function lineChart(c: ChartSpec): string {
  return drawLineChart({
    title: c.title,
    x: { label: c.xLabel, min: c.x[0], max: c.x[1], ticks: c.xTicks },
    y: { label: c.yLabel, min: c.y[0], max: c.y[1], ticks: c.yTicks },
    series: c.series,
    ...(c.reference ? { reference: c.reference } : {}),
    legendAt: c.title.startsWith('Lift') || c.title.startsWith('Precision') ? 'top-right' : 'bottom-right',
    width: 380,
  });
}

const UNIT = [0, 0.2, 0.4, 0.6, 0.8, 1];
const DIAGONAL = [
  { x: 0, y: 0 },
  { x: 1, y: 1 },
] as const;

/** A chart on the unit square (ROC, precision-recall, calibration); `diagonal` draws the y = x reference. */
function unitChart(title: string, xLabel: string, yLabel: string, series: ChartSeries[], diagonal = false): string {
  return lineChart({
    title,
    xLabel,
    yLabel,
    x: [0, 1],
    y: [0, 1],
    xTicks: UNIT,
    yTicks: UNIT,
    series,
    ...(diagonal ? { reference: DIAGONAL } : {}),
  });
}

/** The models of the document: the candidate, and the champion when it was scored. */
function models(r: EvaluationReport): { label: string; color: string; f: ModelFigures }[] {
  const out = [{ label: 'candidate', color: '#1f77b4', f: r.candidate }];
  if (r.champion) out.push({ label: `Production v${r.champion.modelVersion ?? '?'}`, color: '#d62728', f: r.champion });
  return out;
}

/** The four charts, both models in each. */
export function modelCharts(r: EvaluationReport): string[] {
  const m = models(r);
  const liftMax = Math.max(1, ...m.flatMap((x) => x.f.lift.map((d) => d.lift ?? 0)));
  const liftTop = Math.ceil(liftMax);
  return [
    unitChart(
      'ROC',
      'false-positive rate',
      'true-positive rate',
      m.map((x) => ({ label: `${x.label} (AUC ${x.f.auc?.toFixed(3) ?? 'n/a'})`, color: x.color, points: x.f.roc })),
      true,
    ),
    unitChart(
      'Precision-recall',
      'recall',
      'precision',
      m.map((x) => ({ label: `${x.label} (AP ${x.f.prAuc?.toFixed(3) ?? 'n/a'})`, color: x.color, points: x.f.pr })),
    ),
    unitChart(
      'Calibration (10 bins)',
      'mean predicted probability',
      'observed fraction positive',
      m.map((x) => ({
        label: `${x.label} (Brier ${x.f.brierScore?.toFixed(3) ?? 'n/a'})`,
        color: x.color,
        markers: true,
        points: x.f.calibration
          .filter((b) => b.count > 0 && b.meanPredicted !== null && b.fractionPositive !== null)
          .map((b) => ({ x: b.meanPredicted!, y: b.fractionPositive! })),
      })),
      true,
    ),
    lineChart({
      title: 'Lift by decile',
      xLabel: 'decile (1 = highest scores)',
      yLabel: 'lift over the base rate',
      x: [1, 10],
      y: [0, liftTop],
      xTicks: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      yTicks: Array.from({ length: liftTop + 1 }, (_, i) => i),
      reference: [
        { x: 1, y: 1 },
        { x: 10, y: 1 },
      ],
      series: m.map((x) => ({
        label: x.label,
        color: x.color,
        markers: true,
        points: x.f.lift.filter((d) => d.lift !== null).map((d) => ({ x: d.decile, y: d.lift! })),
      })),
    }),
  ];
}

/** The confusion matrix of each model at the decision threshold (a score >= threshold predicts churn). */
function confusionHtml(r: EvaluationReport): string {
  const cells = models(r).map(({ label, f }) => {
    const c = f.confusionMatrix;
    return `<table><caption>${esc(label)} @ ${f.threshold}</caption>
<tr><th></th><th>predicted churn</th><th>predicted stay</th></tr>
<tr><th>churned</th><td>${c.truePositives} (TP)</td><td>${c.falseNegatives} (FN)</td></tr>
<tr><th>stayed</th><td>${c.falsePositives} (FP)</td><td>${c.trueNegatives} (TN)</td></tr></table>`;
  });
  return `<div class="charts">${cells.join('')}</div>`;
}

/** The HTML model section: the comparison table, the gate decision, the confusion matrices and the charts. */
export function renderModelSection(r: EvaluationReport): string {
  const gate = r.gate.passed ? 'passed' : `failed: ${r.gate.reasons.join('; ')}`;
  return `<h2>Model: candidate vs Production on the same rows (run ${esc(r.runId)})</h2>
<pre>${esc(reportTable(r).join('\n'))}</pre>
<p>Gate ${esc(gate)}${r.gate.notes.length ? `<br>${r.gate.notes.map(esc).join('<br>')}` : ''}</p>
${confusionHtml(r)}
<div class="charts">${modelCharts(r)
    .map((svg) => `<figure>${svg}</figure>`)
    .join('\n')}</div>`;
}

/** The Markdown model section (the table as a code block). */
export function renderModelMarkdown(r: EvaluationReport): string[] {
  return [
    '',
    `## Model: candidate vs Production on the same rows (run ${r.runId})`,
    '',
    '```',
    ...reportTable(r),
    '```',
    '',
    `Gate ${r.gate.passed ? 'passed' : `failed: ${r.gate.reasons.join('; ')}`}.`,
  ];
}
