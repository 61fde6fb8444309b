import type { AucComparison, ModelFigures } from '../../../contracts/evaluation';

/** Gate thresholds (config `gate.*`, env `GATE_MIN_AUC`, `GATE_MAX_LOGLOSS`, `GATE_MAX_AUC_DROP`). */
export interface GateThresholds {
  readonly minAuc: number;
  readonly maxLogloss: number;
  /** Tolerance: the candidate's AUC may be below Production's by this much (see {@link decideGate}). */
  readonly maxAucDrop: number;
}

const fmt = (n: number) => Number(n.toFixed(6)).toString();

/** The gate decision: `passed` when there is no reason; notes never fail it. */
export interface GateDecision {
  readonly passed: boolean;
  readonly reasons: string[];
  readonly notes: string[];
}

/**
 * The gate, on figures computed from both models' scores of the same validation rows. Pure; every failed check adds
 * one reason naming the figure, its value and the limit.
 *
 * - The candidate needs both classes on the rows (otherwise AUC is undefined), AUC >= `minAuc` and log loss <=
 *   `maxLogloss`.
 * - Against Production, the paired bootstrap interval of the AUC difference (candidate − Production) decides: the gate
 *   fails when the whole interval lies below −`maxAucDrop`, i.e. the candidate is worse than Production by more than
 *   the tolerance beyond sampling noise. A point difference below −`maxAucDrop` whose interval still reaches above it
 *   is not conclusive on these rows: it passes, with a note the approver sees next to the table.
 * - Without a comparable Production model (none, its transform failed, another contract) the comparison is skipped
 *   and `championNote` becomes a note: the approver decides on the candidate's own figures.
 */
export function decideGate(
  candidate: ModelFigures,
  champion: ModelFigures | null,
  comparison: AucComparison | null,
  t: GateThresholds,
  championNote?: string,
): GateDecision {
  const reasons: string[] = [];
  const notes: string[] = [];
  if (candidate.positives === 0 || candidate.negatives === 0) {
    reasons.push(
      `the validation channel has ${candidate.rows} rows with ${candidate.positives} positives and ` +
        `${candidate.negatives} negatives: AUC is undefined without both classes`,
    );
  } else if (candidate.auc === null || !(candidate.auc >= t.minAuc)) {
    reasons.push(`AUC ${candidate.auc === null ? 'n/a' : fmt(candidate.auc)} < minimum ${fmt(t.minAuc)}`);
  }
  if (candidate.logLoss === null) reasons.push('log loss undefined: the validation channel has no rows');
  else if (!(candidate.logLoss <= t.maxLogloss)) {
    reasons.push(`log loss ${fmt(candidate.logLoss)} > maximum ${fmt(t.maxLogloss)}`);
  }
  if (champion === null) {
    notes.push(championNote ?? 'no Production model (no Approved version): comparison with Production skipped');
    return { passed: reasons.length === 0, reasons, notes };
  }
  const who = `Production version ${champion.modelVersion ?? '?'}`;
  if (comparison === null) {
    notes.push(`AUC comparison with ${who} undefined on these rows: skipped`);
  } else {
    const ci = `${Math.round(comparison.level * 100)}% CI [${fmt(comparison.lower)}, ${fmt(comparison.upper)}]`;
    const d = `AUC difference ${fmt(comparison.difference)} vs ${who} on the same ${candidate.rows} rows (${ci})`;
    // (1e-12: an interval ending exactly at −maxAucDrop passes despite binary floating point)
    if (comparison.upper < -t.maxAucDrop - 1e-12) {
      reasons.push(`${d}: the whole interval is below the allowed drop −${fmt(t.maxAucDrop)}`);
    } else if (comparison.difference < -t.maxAucDrop - 1e-12) {
      notes.push(`${d}: below the allowed drop −${fmt(t.maxAucDrop)}, but within sampling noise; approver decides`);
    } else {
      notes.push(d);
    }
  }
  return { passed: reasons.length === 0, reasons, notes };
}
