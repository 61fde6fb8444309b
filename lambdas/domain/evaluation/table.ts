import type { AucComparison, EvaluationReport, ModelFigures, ModelSummary } from '../../../contracts/evaluation';

/**
 * The side-by-side table of a candidate and the Production model on the same rows: what the approval notification,
 * `mlops-batch models compare` and the local report show. Plain text in a fixed-width layout (e-mail and terminals).
 */

/** The scalar figures of a model (the table's input). */
export function summaryOf(f: ModelFigures): ModelSummary {
  return {
    modelVersion: f.modelVersion,
    runId: f.runId,
    rows: f.rows,
    positives: f.positives,
    auc: f.auc,
    prAuc: f.prAuc,
    logLoss: f.logLoss,
    brierScore: f.brierScore,
    threshold: f.threshold,
    precision: f.precision,
    recall: f.recall,
    f1: f.f1,
    accuracy: f.accuracy,
  };
}

/** Rows of the table: label, field, whether higher is better. */
const ROWS: readonly { label: string; key: keyof ModelSummary; higherIsBetter: boolean }[] = [
  { label: 'AUC', key: 'auc', higherIsBetter: true },
  { label: 'PR AUC (average precision)', key: 'prAuc', higherIsBetter: true },
  { label: 'log loss', key: 'logLoss', higherIsBetter: false },
  { label: 'Brier score', key: 'brierScore', higherIsBetter: false },
  { label: 'precision @ threshold', key: 'precision', higherIsBetter: true },
  { label: 'recall @ threshold', key: 'recall', higherIsBetter: true },
  { label: 'F1 @ threshold', key: 'f1', higherIsBetter: true },
  { label: 'accuracy @ threshold', key: 'accuracy', higherIsBetter: true },
];

const num = (v: unknown): string => (typeof v === 'number' ? v.toFixed(4) : 'n/a');
const signed = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(4)}`;

/** Column title of a model: `candidate` / `version 3 (Production)`. */
function title(s: ModelSummary, role: string): string {
  return s.modelVersion === null ? role : `v${s.modelVersion} (${role})`;
}

/**
 * The table as lines. With a champion: candidate, champion, difference (candidate − champion) and which is better;
 * the AUC row carries the bootstrap interval. Without: the candidate's column and `note`.
 */
export function comparisonTable(
  candidate: ModelSummary,
  champion: ModelSummary | null,
  comparison: AucComparison | null,
  options: { readonly candidateRole?: string; readonly championRole?: string; readonly note?: string } = {},
): string[] {
  const left = title(candidate, options.candidateRole ?? 'candidate');
  const right = champion ? title(champion, options.championRole ?? 'Production') : '';
  const w0 = 28;
  const w = Math.max(12, left.length + 2, right.length + 2);
  const line = (a: string, b: string, c = '', d = '', e = '') =>
    `${a.padEnd(w0)}${b.padStart(w)}${champion ? `${c.padStart(w)}${d.padStart(12)}  ${e}` : ''}`.trimEnd();
  const out = [
    `Same ${candidate.rows} validation rows (${candidate.positives} positives), threshold ${candidate.threshold}`,
    line('', left, right, 'difference', champion ? 'better' : ''),
  ];
  for (const r of ROWS) {
    const a = candidate[r.key] as number | null;
    const b = champion ? (champion[r.key] as number | null) : null;
    const diff = typeof a === 'number' && typeof b === 'number' ? a - b : undefined;
    const better =
      diff === undefined || Math.abs(diff) < 5e-5 ? '' : diff > 0 === r.higherIsBetter ? 'candidate' : 'Production';
    out.push(line(r.label, num(a), num(b), diff === undefined ? '' : signed(diff), better));
  }
  if (champion && comparison) {
    out.push(
      `AUC difference ${signed(comparison.difference)}, ${Math.round(comparison.level * 100)}% bootstrap interval ` +
        `[${signed(comparison.lower)}, ${signed(comparison.upper)}] (${comparison.resamples} paired resamples)`,
    );
  }
  if (options.note) out.push(`note: ${options.note}`);
  return out;
}

/** The table of a stored evaluation document (candidate vs the champion it was scored with). */
export function reportTable(report: EvaluationReport, candidateRole = 'candidate'): string[] {
  return comparisonTable(
    summaryOf(report.candidate),
    report.champion ? summaryOf(report.champion) : null,
    report.comparison,
    { candidateRole, ...(report.championNote ? { note: report.championNote } : {}) },
  );
}
