import { ConflictError, IntegrityError } from '../../contracts/errors';
import type { FeatureContract } from './contract';
import type { InferencePart } from './inference-parts';
import type { ObjectOutcome, ObjectVerdict, PreparePartial } from './prepare-slice';
import { type DatasetStats, edgesOf, StatsAccumulator } from './stats';
import type { FileReport, Rule, Violation } from './validation-report';
import { ViolationLog } from './validation-report';

/**
 * The reducer's merge of the prepare tasks' partial results (prepare-slice.ts) into one run: file reports of an
 * object's slices summed into one report per object, violation counts per rule summed and the listed examples kept
 * first-N in (object key, line) order (so the report does not depend on which task finished first), statistics
 * absorbed, parts sorted by name.
 *
 * Memory is constant in rows: it holds one entry per object (its file report) and per part, the statistics' bins and
 * at most `2 × maxReportedViolations` listed violations at a time.
 */

export interface MergedPrepare {
  /** One report per object, in key order. */
  files: FileReport[];
  violations: ViolationLog;
  stats: StatsAccumulator;
  /** Every part of the run, by name. */
  parts: InferencePart[];
  /** Objects none of whose rows are used (quarantined whole, or every row rejected), in key order. */
  quarantinedObjects: string[];
}

/** An object's slices seen so far. */
interface ObjectSlices {
  readonly key: string;
  readonly slices: number;
  readonly seen: Map<number, ObjectOutcome>;
}

const byKey = <T extends { key: string }>(a: T, b: T) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** Merge one object's slices into its run-level report (see the module comment). */
function mergeObject(o: ObjectSlices): { verdict: ObjectVerdict; report: FileReport } {
  const outcomes = [...o.seen.entries()].sort((a, b) => a[0] - b[0]).map(([, out]) => out);
  if (outcomes.length !== o.slices) {
    throw new IntegrityError(`Prepare: ${o.key} was reported by ${outcomes.length} of its ${o.slices} slices`);
  }
  const first = outcomes[0]!;
  const disagree = outcomes.find((x) => x.verdict !== first.verdict || x.etag !== first.etag);
  if (disagree) {
    throw new ConflictError(
      `Prepare: the slices of ${o.key} disagree on it (slice 0: ${first.verdict}, another: ${disagree.verdict}): ` +
        'it changed while the run read it. Nothing was committed; the next run reads it again.',
    );
  }
  if (!first.report) throw new IntegrityError(`Prepare: slice 0 of ${o.key} has no file report`);
  if (first.verdict !== 'ok') return { verdict: first.verdict, report: first.report };
  const report: FileReport = { ...first.report, countsByRule: { ...first.report.countsByRule } };
  for (const x of outcomes.slice(1)) {
    const r = x.report;
    if (r?.status !== 'ok') throw new IntegrityError(`Prepare: a slice of ${o.key} has no ok file report`);
    report.rowsIn += r.rowsIn;
    report.rowsValid += r.rowsValid;
    report.rowsQuarantined += r.rowsQuarantined;
    for (const [rule, n] of Object.entries(r.countsByRule) as [Rule, number][]) {
      report.countsByRule[rule] = (report.countsByRule[rule] ?? 0) + n;
    }
  }
  return { verdict: 'ok', report };
}

/**
 * Incremental merge: {@link add} each partial (any order), then {@link finish}. The reducer reads the partials one by
 * one, so only this state — not every partial — is held.
 */
export class PrepareMerger {
  private readonly objects = new Map<string, ObjectSlices>();
  private readonly parts: InferencePart[] = [];
  private readonly stats: StatsAccumulator;
  private listed: Violation[] = [];
  private readonly counts: Partial<Record<Rule, number>> = {};
  private total = 0;
  private readonly tasks = new Set<number>();

  constructor(
    contract: FeatureContract,
    reference: DatasetStats,
    private readonly maxReportedViolations: number,
  ) {
    this.stats = new StatsAccumulator(contract, { edges: edgesOf(reference) });
  }

  add(p: PreparePartial): void {
    if (this.tasks.has(p.task)) throw new IntegrityError(`Prepare: task ${p.task} reported twice`);
    this.tasks.add(p.task);
    for (const out of p.objects) {
      const o = this.objects.get(out.key) ?? { key: out.key, slices: p.slices, seen: new Map() };
      if (o.slices !== p.slices || o.seen.has(p.slice)) {
        throw new IntegrityError(`Prepare: ${out.key} is in two tasks that are not slices of one day`);
      }
      o.seen.set(p.slice, out);
      this.objects.set(out.key, o);
    }
    this.parts.push(...p.parts);
    this.stats.absorb(p.stats);
    for (const [rule, n] of Object.entries(p.violations.countsByRule) as [Rule, number][]) {
      this.counts[rule] = (this.counts[rule] ?? 0) + n;
    }
    this.total += p.violations.listed.length + p.violations.notListed;
    // Keep the first N of the union seen so far; the final order is fixed in finish (object key order, then line).
    this.listed = this.order([...this.listed, ...p.violations.listed]).slice(0, this.maxReportedViolations);
  }

  finish(): MergedPrepare {
    const files: FileReport[] = [];
    const quarantinedObjects: string[] = [];
    for (const o of [...this.objects.values()].sort(byKey)) {
      const { verdict, report } = mergeObject(o);
      files.push(report);
      if (verdict !== 'ok' || report.rowsValid === 0) quarantinedObjects.push(o.key);
    }
    const parts = [...this.parts].sort((a, b) => (a.part < b.part ? -1 : a.part > b.part ? 1 : 0));
    for (let i = 1; i < parts.length; i++) {
      if (parts[i]!.part === parts[i - 1]!.part) throw new IntegrityError(`Prepare: part ${parts[i]!.part} twice`);
    }
    const violations = new ViolationLog(this.maxReportedViolations);
    Object.assign(violations.countsByRule, this.counts);
    violations.listed.push(...this.order(this.listed));
    violations.notListed = this.total - violations.listed.length;
    return { files, violations, stats: this.stats, parts, quarantinedObjects };
  }

  /** Violations in (object key, line) order; stable, so one line's violations keep the order they were found in. */
  private order(vs: Violation[]): Violation[] {
    return vs
      .map((v, i) => ({ v, i }))
      .sort((a, b) =>
        a.v.file < b.v.file ? -1 : a.v.file > b.v.file ? 1 : a.v.line !== b.v.line ? a.v.line - b.v.line : a.i - b.i,
      )
      .map((x) => x.v);
  }
}

/** Merge the partials of a run (see {@link PrepareMerger}). */
export function mergePartials(
  partials: readonly PreparePartial[],
  contract: FeatureContract,
  reference: DatasetStats,
  maxReportedViolations: number,
): MergedPrepare {
  const m = new PrepareMerger(contract, reference, maxReportedViolations);
  for (const p of partials) m.add(p);
  return m.finish();
}
