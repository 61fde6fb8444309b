/**
 * `local-run/report.md` and `local-run/report.html` for `npm run local`: the run summary, the checks, per-step timing,
 * and (HTML, inline SVG) the validation ROC curve, the score histogram and a timing bar chart; and the summary printed
 * at the end of the run.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { EvaluationReport } from '../../contracts/evaluation';
import type { RocPoint } from '../standins/metrics';
import { barChart, esc, histogramChart, lineChart, ticksOf } from './charts';
import type { QuarantineSummary } from './report-data';
import { renderModelMarkdown, renderModelSection } from './report-model';

export interface ReportStep {
  readonly name: string;
  readonly ms: number;
  readonly detail?: string;
}

export interface ReportCheck {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

export interface ReportBatch {
  readonly label: string;
  readonly runId: string;
  readonly status: string;
  readonly objects: readonly string[];
  readonly rowsIn: number;
  readonly rowsScored: number;
  readonly rowsQuarantined: number;
  readonly rowsKeptNewer: number;
  /** This run's scores in 20 equal bins over [0, 1] (each run on its own: a customer scored by two runs counts in both). */
  readonly histogram: readonly number[];
  /** Population stability index per feature against the training statistics. */
  readonly drift: Readonly<Record<string, number>>;
  readonly quarantine: QuarantineSummary | undefined;
  readonly ms: number;
  readonly states: readonly { readonly state: string; readonly ms: number }[];
}

export interface ReportRead {
  readonly id: string;
  readonly expected: string;
  readonly result: unknown;
}

export interface LocalRunReport {
  readonly generatedAt: string;
  readonly customers: number;
  readonly seed: number;
  readonly totalMs: number;
  readonly services: { readonly moto: string; readonly redis: string };
  readonly steps: readonly ReportStep[];
  readonly training: {
    readonly runId: string;
    readonly status: string;
    readonly auc: number | undefined;
    readonly logloss: number | undefined;
    readonly trainRows: number | undefined;
    readonly validationRows: number | undefined;
    readonly rowsQuarantined: number | undefined;
    readonly modelVersion: number | undefined;
    readonly modelPackageArn: string | undefined;
    /** Which algorithm and version trained, hyperparameters, rounds, train/validation AUC (local/standins/summary.ts). */
    readonly algorithm?: readonly string[];
    /** Share of positive labels in the validation rows. */
    readonly baseRate?: number;
    readonly quarantine?: QuarantineSummary;
    readonly states: readonly { readonly state: string; readonly ms: number }[];
  };
  readonly approval: {
    readonly version: number;
    readonly productionVersion: number | undefined;
    readonly detail: string;
  };
  readonly batches: readonly ReportBatch[];
  readonly checks: readonly ReportCheck[];
  readonly reads: readonly ReportRead[];
  readonly fallback: unknown;
  readonly roc: readonly RocPoint[];
  readonly resultFiles: readonly string[];
  /** The challenger's evaluation document (both models on the same rows): the model section. */
  readonly evaluation?: EvaluationReport;
}

const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const num = (n: number | undefined, d = 4) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(d));
const pct = (n: number | undefined) => (n === undefined ? '-' : `${(n * 100).toFixed(1)} %`);

export function renderMarkdown(r: LocalRunReport): string {
  const lines: string[] = [];
  lines.push('# Local pipeline run', '');
  lines.push(`Generated ${r.generatedAt} · ${r.customers} customers (seed ${r.seed}) · total ${sec(r.totalMs)}`, '');
  lines.push(`Services: moto ${r.services.moto} · redis ${r.services.redis}`, '');
  lines.push('## Model', '');
  lines.push(
    '| training run | status | validation AUC | validation logloss | train rows | validation rows | quarantined | model version |',
  );
  lines.push('|---|---|---|---|---|---|---|---|');
  const t = r.training;
  lines.push(
    `| ${t.runId} | ${t.status} | ${num(t.auc)} | ${num(t.logloss)} | ${t.trainRows ?? '-'} | ${t.validationRows ?? '-'} | ${t.rowsQuarantined ?? '-'} | ${t.modelVersion ?? '-'} |`,
  );
  lines.push('');
  for (const a of t.algorithm ?? []) lines.push(`- ${a}`);
  lines.push(`- label base rate (validation rows): ${pct(t.baseRate)}`);
  lines.push('', `Approval: ${r.approval.detail}`, '');
  if (r.evaluation) lines.push(...renderModelMarkdown(r.evaluation), '');
  lines.push('## Batch runs', '');
  lines.push('| run | id | status | objects | rows in | rows scored | quarantined | kept newer | time |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const b of r.batches) {
    lines.push(
      `| ${b.label} | ${b.runId} | ${b.status} | ${b.objects.length} | ${b.rowsIn} | ${b.rowsScored} | ${b.rowsQuarantined} | ${b.rowsKeptNewer} | ${sec(b.ms)} |`,
    );
  }
  lines.push('', '## Checks', '');
  for (const c of r.checks) lines.push(`- ${c.passed ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);
  lines.push('', '## Sample reads (read API core)', '');
  for (const x of r.reads) lines.push(`- \`${x.id}\` (${x.expected}): \`${JSON.stringify(x.result)}\``);
  lines.push('', `Fallback scores: \`${JSON.stringify(r.fallback)}\``, '');
  lines.push('## Time per step', '', '| step | time | detail |', '|---|---|---|');
  for (const s of r.steps) lines.push(`| ${s.name} | ${sec(s.ms)} | ${s.detail ?? ''} |`);
  lines.push('', '### Training states', '', '| state | time |', '|---|---|');
  for (const s of t.states) lines.push(`| ${s.state} | ${sec(s.ms)} |`);
  const first = r.batches.find((b) => b.objects.length > 0);
  if (first) {
    lines.push('', `### BatchInference states (${first.label})`, '', '| state | time |', '|---|---|');
    for (const s of first.states) lines.push(`| ${s.state} | ${sec(s.ms)} |`);
  }
  lines.push('', '## Result files', '');
  for (const f of r.resultFiles) lines.push(`- ${f}`);
  lines.push('', 'Charts (ROC curve, quarantine, drift, score histograms per run, timing): report.html', '');
  return lines.join('\n');
}

/** PSI bands as commonly read: below 0.1 stable, 0.1–0.25 a moderate shift, above 0.25 a major one. */
const PSI_MODERATE = 0.1;
const PSI_MAJOR = 0.25;

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

function rocChart(roc: readonly RocPoint[], auc: number | undefined): string {
  return lineChart({
    title: 'ROC curve (validation rows)',
    x: { label: 'false positive rate', min: 0, max: 1 },
    y: { label: 'true positive rate', min: 0, max: 1 },
    series: [{ label: `AUC ${num(auc)}`, color: COLORS[0]!, points: roc.map((p) => ({ x: p.fpr, y: p.tpr })) }],
    diagonal: true,
  });
}

/** Rows quarantined per rule and the first examples of each (rule, file, line, column, message). */
function quarantineHtml(label: string, q: QuarantineSummary | undefined): string {
  if (!q) return `<h3>${esc(label)}</h3><p>No validation report (nothing was prepared).</p>`;
  if (q.countsByRule.length === 0) return `<h3>${esc(label)}</h3><p>No row or file quarantined.</p>`;
  const chart = barChart(
    `${label}: violations per rule`,
    q.countsByRule.map((c) => ({ label: c.rule, value: c.count })),
    '#d62728',
  );
  const examples = q.examples
    .map(
      (e) =>
        `<tr><td>${esc(e.rule)}</td><td><code>${esc(e.file)}</code></td><td>${e.line}</td><td>${esc(e.column ?? '')}</td><td>${esc(e.message)}</td></tr>`,
    )
    .join('');
  return `<h3>${esc(label)}</h3><p>${q.rowsQuarantined} rows quarantined · report <code>${esc(q.reportUri)}</code></p>
<div class="charts">${chart}</div>
<table><tr><th>rule</th><th>file</th><th>line</th><th>column</th><th>message</th></tr>${examples}</table>`;
}

/** PSI per feature (rows) and batch run (columns), banded. */
function driftHtml(batches: readonly ReportBatch[]): string {
  const runs = batches.filter((b) => Object.keys(b.drift).length > 0);
  if (runs.length === 0) return '<p>No batch run prepared rows, so no drift was computed.</p>';
  const features = [...new Set(runs.flatMap((b) => Object.keys(b.drift)))];
  const cell = (v: number | undefined) => {
    if (v === undefined) return '<td>-</td>';
    const band = v >= PSI_MAJOR ? 'major' : v >= PSI_MODERATE ? 'moderate' : 'stable';
    return `<td class="psi-${band}" title="${band}">${v.toFixed(4)}</td>`;
  };
  const head = runs.map((b) => `<th>${esc(b.label)}</th>`).join('');
  const rows = features.map((f) => `<tr><td>${esc(f)}</td>${runs.map((b) => cell(b.drift[f])).join('')}</tr>`).join('');
  return `<p>Population stability index of each feature against the training statistics: below ${PSI_MODERATE} stable, ${PSI_MODERATE}–${PSI_MAJOR} moderate, above ${PSI_MAJOR} major.</p>
<table><tr><th>feature</th>${head}</tr>${rows}</table>`;
}

/** One histogram per run that scored rows (runs are not pooled: a customer scored twice would count twice). */
function histogramsHtml(batches: readonly ReportBatch[]): string {
  const scored = batches.filter((b) => b.rowsScored > 0);
  if (scored.length === 0) return '<p>No run scored rows.</p>';
  const charts = scored.map((b, i) =>
    histogramChart({
      title: `${b.label} (${b.rowsScored} rows)`,
      counts: b.histogram,
      x: { label: 'churn score', min: 0, max: 1, ticks: ticksOf(0, 1, 6) },
      yLabel: 'rows',
      color: COLORS[i % COLORS.length],
    }),
  );
  return `<div class="charts">${charts.join('')}</div>`;
}

function timingHtml(steps: readonly ReportStep[]): string {
  return barChart(
    'time per step',
    steps.map((s) => ({ label: s.name, value: s.ms, text: sec(s.ms) })),
  );
}

export function renderHtml(r: LocalRunReport): string {
  const md = renderMarkdown(r);
  const checks = r.checks
    .map(
      (c) =>
        `<li class="${c.passed ? 'pass' : 'fail'}">${c.passed ? '✔' : '✘'} <b>${esc(c.name)}</b>: ${esc(c.detail)}</li>`,
    )
    .join('');
  const batchRows = r.batches
    .map(
      (b) =>
        `<tr><td>${esc(b.label)}</td><td>${esc(b.runId)}</td><td>${esc(b.status)}</td><td>${b.objects.length}</td><td>${b.rowsIn}</td><td>${b.rowsScored}</td><td>${b.rowsQuarantined}</td><td>${b.rowsKeptNewer}</td><td>${sec(b.ms)}</td></tr>`,
    )
    .join('');
  const reads = r.reads
    .map(
      (x) => `<li><code>${esc(x.id)}</code> (${esc(x.expected)}): <code>${esc(JSON.stringify(x.result))}</code></li>`,
    )
    .join('');
  const t = r.training;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Local pipeline run</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;font-size:.9rem}
.pass{color:#176117}.fail{color:#a11}.charts{display:flex;gap:2rem;flex-wrap:wrap;align-items:flex-start;margin:.5rem 0}
.psi-stable{background:#e8f5e9}.psi-moderate{background:#fff3cd}.psi-major{background:#f8d7da}
code{background:#f4f4f4;padding:0 .2rem}details pre{white-space:pre-wrap;font-size:.8rem}
</style></head><body>
<h1>Local pipeline run</h1>
<p>Generated ${esc(r.generatedAt)} · ${r.customers} customers (seed ${r.seed}) · total ${sec(r.totalMs)}</p>
<h2>Model</h2>
<p>Training run <code>${esc(t.runId)}</code>: ${esc(t.status)} · validation AUC <b>${num(t.auc)}</b> · logloss ${num(t.logloss)} · label base rate ${pct(t.baseRate)} (${t.validationRows ?? '-'} validation rows) · model version <b>${t.modelVersion ?? '-'}</b> · ${esc(r.approval.detail)}</p>
${t.algorithm?.length ? `<ul>${t.algorithm.map((a) => `<li>${esc(a)}</li>`).join('')}</ul>` : ''}
<div class="charts">${rocChart(r.roc, t.auc)}</div>
${r.evaluation ? renderModelSection(r.evaluation) : ''}
<h2>Batch runs</h2>
<table><tr><th>run</th><th>id</th><th>status</th><th>objects</th><th>rows in</th><th>rows scored</th><th>quarantined</th><th>kept newer</th><th>time</th></tr>${batchRows}</table>
<h2>Score histograms per run</h2>${histogramsHtml(r.batches)}
<h2>Feature drift</h2>${driftHtml(r.batches)}
<h2>Quarantine</h2>${quarantineHtml(`training ${t.runId}`, t.quarantine)}
${r.batches.map((b) => quarantineHtml(`batch: ${b.label}`, b.quarantine)).join('\n')}
<h2>Checks</h2><ul>${checks}</ul>
<h2>Sample reads</h2><ul>${reads}</ul>
<h2>Time per step</h2><div class="charts">${timingHtml(r.steps)}</div>
<details><summary>Markdown report</summary><pre>${esc(md)}</pre></details>
</body></html>
`;
}

/** Write report.md, report.html and report.json (without the ROC points) to `outDir`. @returns the md and html files */
export function writeReport(outDir: string, report: LocalRunReport): string[] {
  const mdFile = path.join(outDir, 'report.md');
  const htmlFile = path.join(outDir, 'report.html');
  writeFileSync(mdFile, renderMarkdown(report));
  writeFileSync(htmlFile, renderHtml(report));
  writeFileSync(path.join(outDir, 'report.json'), `${JSON.stringify({ ...report, roc: undefined }, null, 2)}\n`);
  return [mdFile, htmlFile];
}

/** The summary printed at the end of the run. */
export function printSummary(
  print: (l: string) => void,
  r: LocalRunReport,
  files: readonly string[],
  outDir: string,
): void {
  const t = r.training;
  print('');
  print('Summary');
  print(
    `  model version ${t.modelVersion} · validation AUC ${t.auc?.toFixed(4)} · logloss ${t.logloss?.toFixed(4)} · ${r.approval.detail}`,
  );
  for (const line of t.algorithm ?? []) print(`  ${line}`);
  for (const b of r.batches) {
    print(
      `  ${b.label.padEnd(26)} ${String(b.objects.length).padStart(2)} objects · ${String(b.rowsScored).padStart(6)} scored · ${String(b.rowsQuarantined).padStart(3)} quarantined · ${String(b.rowsKeptNewer).padStart(5)} kept newer · ${(b.ms / 1000).toFixed(2)} s`,
    );
  }
  // A run loads its parts in parallel: which of one customer's days lands first decides whether an older day's row is
  // refused (kept newer) or written and then replaced. The scores served at the end are the same either way.
  print(
    '  (kept newer: rows the store refused because it held a newer score; within one run it depends on the order the parts load, the served scores do not)',
  );
  for (const x of r.reads) print(`  read ${x.id} (${x.expected}): ${JSON.stringify(x.result)}`);
  print(`  checks: ${r.checks.filter((c) => c.passed).length}/${r.checks.length} passed`);
  print(`  total ${(r.totalMs / 1000).toFixed(1)} s`);
  for (const f of files) print(`  report: ${path.relative(process.cwd(), f) || f}`);
  print(
    `  result files: ${r.resultFiles.length} under ${path.relative(process.cwd(), path.join(outDir, 'artifacts')) || outDir}`,
  );
}
