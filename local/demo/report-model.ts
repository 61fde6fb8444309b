/**
 * The model section of the local report, read from the challenger's evaluation document (contracts/evaluation.ts):
 * ROC, precision-recall, calibration and lift of the candidate and the Production model on the same validation
 * rows, with labelled axes and ticks, and the comparison table.
 */
import type { EvaluationReport, ModelFigures } from '../../contracts/evaluation';
import { reportTable } from '../../lambdas/domain/evaluation/table';

interface Series {
  readonly label: string;
  readonly color: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
  /** Draw markers instead of a line (calibration bins, deciles). */
  readonly markers?: boolean;
}

interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly x: readonly [number, number];
  readonly y: readonly [number, number];
  readonly xTicks: readonly number[];
  readonly yTicks: readonly number[];
  readonly series: readonly Series[];
  /** A reference line, e.g. the diagonal of a ROC or a perfectly calibrated model. */
  readonly reference?: readonly [{ x: number; y: number }, { x: number; y: number }];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const tick = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));

/** One SVG line chart with axes, ticks, axis labels and a legend. */
export function lineChart(c: ChartSpec): string {
  const W = 340;
  const H = 300;
  const L = 48;
  const R = 12;
  const T = 26;
  const B = 44;
  const sx = (v: number) => L + ((v - c.x[0]) / (c.x[1] - c.x[0])) * (W - L - R);
  const sy = (v: number) => H - B - ((v - c.y[0]) / (c.y[1] - c.y[0])) * (H - T - B);
  const parts: string[] = [
    `<text x="${W / 2}" y="16" text-anchor="middle" font-weight="bold">${esc(c.title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>`,
  ];
  for (const t of c.xTicks) {
    parts.push(`<line x1="${sx(t)}" y1="${H - B}" x2="${sx(t)}" y2="${H - B + 4}" stroke="#333"/>`);
    parts.push(`<text x="${sx(t)}" y="${H - B + 16}" text-anchor="middle">${tick(t)}</text>`);
  }
  for (const t of c.yTicks) {
    parts.push(`<line x1="${L - 4}" y1="${sy(t)}" x2="${L}" y2="${sy(t)}" stroke="#333"/>`);
    parts.push(`<text x="${L - 6}" y="${sy(t) + 4}" text-anchor="end">${tick(t)}</text>`);
    parts.push(`<line x1="${L}" y1="${sy(t)}" x2="${W - R}" y2="${sy(t)}" stroke="#eee"/>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  parts.push(
    `<text x="12" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 12 ${(T + H - B) / 2})">${esc(c.yLabel)}</text>`,
  );
  if (c.reference) {
    const [a, b] = c.reference;
    parts.push(
      `<line x1="${sx(a.x)}" y1="${sy(a.y)}" x2="${sx(b.x)}" y2="${sy(b.y)}" stroke="#999" stroke-dasharray="4 3"/>`,
    );
  }
  c.series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (s.markers) {
      for (const p of pts)
        parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    }
    const d = pts.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${d}"/>`);
    parts.push(`<rect x="${L + 10}" y="${T + 6 + i * 16}" width="10" height="10" fill="${s.color}"/>`);
    parts.push(`<text x="${L + 24}" y="${T + 15 + i * 16}">${esc(s.label)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11" role="img" aria-label="${esc(c.title)}">${parts.join('')}</svg>`;
}

const UNIT = [0, 0.2, 0.4, 0.6, 0.8, 1];

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
    lineChart({
      title: 'ROC',
      xLabel: 'false-positive rate',
      yLabel: 'true-positive rate',
      x: [0, 1],
      y: [0, 1],
      xTicks: UNIT,
      yTicks: UNIT,
      reference: [
        { x: 0, y: 0 },
        { x: 1, y: 1 },
      ],
      series: m.map((x) => ({
        label: `${x.label} (AUC ${x.f.auc?.toFixed(3) ?? 'n/a'})`,
        color: x.color,
        points: x.f.roc,
      })),
    }),
    lineChart({
      title: 'Precision-recall',
      xLabel: 'recall',
      yLabel: 'precision',
      x: [0, 1],
      y: [0, 1],
      xTicks: UNIT,
      yTicks: UNIT,
      series: m.map((x) => ({
        label: `${x.label} (AP ${x.f.prAuc?.toFixed(3) ?? 'n/a'})`,
        color: x.color,
        points: x.f.pr,
      })),
    }),
    lineChart({
      title: 'Calibration (10 bins)',
      xLabel: 'mean predicted probability',
      yLabel: 'observed fraction positive',
      x: [0, 1],
      y: [0, 1],
      xTicks: UNIT,
      yTicks: UNIT,
      reference: [
        { x: 0, y: 0 },
        { x: 1, y: 1 },
      ],
      series: m.map((x) => ({
        label: `${x.label} (Brier ${x.f.brierScore?.toFixed(3) ?? 'n/a'})`,
        color: x.color,
        markers: true,
        points: x.f.calibration
          .filter((b) => b.count > 0 && b.meanPredicted !== null && b.fractionPositive !== null)
          .map((b) => ({ x: b.meanPredicted!, y: b.fractionPositive! })),
      })),
    }),
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

/** The HTML model section: the comparison table, the gate decision and the charts. */
export function renderModelSection(r: EvaluationReport): string {
  const gate = r.gate.passed ? 'passed' : `failed: ${r.gate.reasons.join('; ')}`;
  return `<h2>Model: candidate vs Production on the same rows (run ${esc(r.runId)})</h2>
<pre>${esc(reportTable(r).join('\n'))}</pre>
<p>Gate ${esc(gate)}${r.gate.notes.length ? `<br>${r.gate.notes.map(esc).join('<br>')}` : ''}</p>
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
