/**
 * `local-run/report.md` and `local-run/report.html` for `npm run local`: the run summary, the checks, per-step timing,
 * and (HTML, inline SVG) the validation ROC curve, the score histogram and a timing bar chart; and the summary printed
 * at the end of the run.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { EvaluationReport } from '../../contracts/evaluation';
import type { RocPoint } from '../standins/metrics';
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
  readonly histogram: readonly number[];
  readonly resultFiles: readonly string[];
  /** The challenger's evaluation document (both models on the same rows): the model section. */
  readonly evaluation?: EvaluationReport;
}

const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const num = (n: number | undefined, d = 4) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(d));
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

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
  lines.push('', 'Charts (ROC curve, score histogram, timing): report.html', '');
  return lines.join('\n');
}

function rocSvg(roc: readonly RocPoint[], auc: number | undefined): string {
  const W = 320;
  const P = 36;
  const x = (v: number) => P + v * (W - 2 * P);
  const y = (v: number) => W - P - v * (W - 2 * P);
  const pts = roc.map((p) => `${x(p.fpr).toFixed(1)},${y(p.tpr).toFixed(1)}`).join(' ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${W}" role="img" aria-label="ROC curve">
  <rect x="${P}" y="${P}" width="${W - 2 * P}" height="${W - 2 * P}" fill="none" stroke="#999"/>
  <line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#bbb" stroke-dasharray="4 4"/>
  <polyline points="${pts}" fill="none" stroke="#1f77b4" stroke-width="2"/>
  <text x="${W / 2}" y="${W - 8}" text-anchor="middle" font-size="12">false positive rate</text>
  <text x="12" y="${W / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 12 ${W / 2})">true positive rate</text>
  <text x="${x(0.95)}" y="${y(0.06)}" text-anchor="end" font-size="13">AUC ${num(auc)}</text>
</svg>`;
}

function histogramSvg(counts: readonly number[]): string {
  const W = 420;
  const H = 240;
  const P = 32;
  const max = Math.max(1, ...counts);
  const bw = (W - 2 * P) / Math.max(1, counts.length);
  const bars = counts
    .map((c, i) => {
      const h = (c / max) * (H - 2 * P);
      return `<rect x="${(P + i * bw).toFixed(1)}" y="${(H - P - h).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="#ff7f0e"><title>${(i / counts.length).toFixed(2)}–${((i + 1) / counts.length).toFixed(2)}: ${c}</title></rect>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" aria-label="score histogram">
  ${bars}
  <line x1="${P}" y1="${H - P}" x2="${W - P}" y2="${H - P}" stroke="#999"/>
  <text x="${P}" y="${H - 12}" font-size="11">0</text><text x="${W - P}" y="${H - 12}" font-size="11" text-anchor="end">1</text>
  <text x="${W / 2}" y="${H - 4}" text-anchor="middle" font-size="12">churn score (all scored rows)</text>
  <text x="${P}" y="${P - 8}" font-size="11">max ${max}</text>
</svg>`;
}

function timingSvg(steps: readonly ReportStep[]): string {
  const W = 560;
  const row = 22;
  const L = 190;
  const H = steps.length * row + 20;
  const max = Math.max(1, ...steps.map((s) => s.ms));
  const bars = steps
    .map((s, i) => {
      const w = (s.ms / max) * (W - L - 70);
      const yy = 10 + i * row;
      return `<text x="${L - 6}" y="${yy + 14}" text-anchor="end" font-size="12">${esc(s.name)}</text><rect x="${L}" y="${yy + 3}" width="${w.toFixed(1)}" height="${row - 6}" fill="#2ca02c"/><text x="${(L + w + 4).toFixed(1)}" y="${yy + 14}" font-size="11">${sec(s.ms)}</text>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" aria-label="time per step">${bars}</svg>`;
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
.pass{color:#176117}.fail{color:#a11}.charts{display:flex;gap:2rem;flex-wrap:wrap;align-items:flex-start}
code{background:#f4f4f4;padding:0 .2rem}details pre{white-space:pre-wrap;font-size:.8rem}
</style></head><body>
<h1>Local pipeline run</h1>
<p>Generated ${esc(r.generatedAt)} · ${r.customers} customers (seed ${r.seed}) · total ${sec(r.totalMs)}</p>
<h2>Model</h2>
<p>Training run <code>${esc(t.runId)}</code>: ${esc(t.status)} · validation AUC <b>${num(t.auc)}</b> · logloss ${num(t.logloss)} · model version <b>${t.modelVersion ?? '-'}</b> · ${esc(r.approval.detail)}</p>
${t.algorithm?.length ? `<ul>${t.algorithm.map((a) => `<li>${esc(a)}</li>`).join('')}</ul>` : ''}
<div class="charts"><figure>${rocSvg(r.roc, t.auc)}<figcaption>ROC curve (validation set)</figcaption></figure>
<figure>${histogramSvg(r.histogram)}<figcaption>Score histogram</figcaption></figure></div>
${r.evaluation ? renderModelSection(r.evaluation) : ''}
<h2>Batch runs</h2>
<table><tr><th>run</th><th>id</th><th>status</th><th>objects</th><th>rows in</th><th>rows scored</th><th>quarantined</th><th>kept newer</th><th>time</th></tr>${batchRows}</table>
<h2>Checks</h2><ul>${checks}</ul>
<h2>Sample reads</h2><ul>${reads}</ul>
<h2>Time per step</h2>${timingSvg(r.steps)}
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
  for (const x of r.reads) print(`  read ${x.id} (${x.expected}): ${JSON.stringify(x.result)}`);
  print(`  checks: ${r.checks.filter((c) => c.passed).length}/${r.checks.length} passed`);
  print(`  total ${(r.totalMs / 1000).toFixed(1)} s`);
  for (const f of files) print(`  report: ${path.relative(process.cwd(), f) || f}`);
  print(
    `  result files: ${r.resultFiles.length} under ${path.relative(process.cwd(), path.join(outDir, 'artifacts')) || outDir}`,
  );
}
