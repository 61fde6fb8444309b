import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { NotFoundError } from '../contracts/errors';
import { quarantinePrefix, reportKeys, s3Uri } from '../contracts/s3-layout';
import type { RunKind } from '../contracts/table-keys';
import type { ValidationReport, Violation } from '../lambdas/data/validation-report';
import { getRun, listRuns, type RunRecord } from '../lambdas/domain/tracking';
import { CliUsageError } from './errors';
import { fmt, oneLine } from './output';
import { reconcileStaleRuns } from './stale-runs';
import { output, type Target } from './target';

/**
 * What `runs` lists and `runs show <id>` (and a failed `train` / `batch`) prints: the run record as the steps wrote
 * it, plus what it points at — the validation report's counts per rule and first violations, and where the reports,
 * the quarantined rows and the results are.
 */

/** One line of `runs`. */
export interface RunRow {
  readonly runId: string;
  readonly kind: RunKind;
  readonly status: string;
  readonly outcome: string | undefined;
  readonly trigger: string;
  readonly startedAt: string;
  readonly completedAt: string | undefined;
  /** `<error name>: <cause>` of a failed run, whole (the table shortens it). */
  readonly error: string | undefined;
}

export async function runs(target: Target, kinds: readonly RunKind[], limit = 20): Promise<RunRow[]> {
  const table = output(target, 'TableName');
  const all = await Promise.all(kinds.map((k) => listRuns(target.clients.doc, table, k, { limit })));
  // A RUNNING run whose execution has ended without its failure path is recorded as it ended (cli/stale-runs.ts).
  const listed = await reconcileStaleRuns(
    target,
    all.flatMap((r) => r.runs),
  );
  return listed
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
    .slice(0, limit)
    .map((r) => ({
      runId: r.runId,
      kind: r.kind,
      status: r.status,
      outcome: typeof r.outcome === 'string' ? r.outcome : undefined,
      trigger: r.trigger,
      startedAt: r.startedAt,
      completedAt: r.completedAt,
      error: errorOf(r),
    }));
}

/**
 * Refuse a run id any run already has, training or batch, before anything starts: Step Functions only refuses a name
 * its own state machine used, and the run record (`RUN#<runId>`) is shared by both kinds. The state machines refuse
 * it as well (the run record is created conditionally); this says so before anything runs.
 */
export async function refuseUsedRunId(target: Target, runId: string): Promise<void> {
  const run = await getRun(target.clients.doc, output(target, 'TableName'), runId);
  if (run) {
    throw new CliUsageError(
      `--run-id ${runId} is already used by the ${run.kind} run started ${run.startedAt} (${run.status}); choose a new id or leave --run-id out`,
    );
  }
}

const errorOf = (r: RunRecord): string | undefined =>
  r.error ? `${r.error.error}${r.error.cause ? `: ${oneLine(r.error.cause)}` : ''}` : undefined;

/** The validation report's figures (the whole report is at `uri`). */
export interface ValidationSummary {
  readonly uri: string;
  readonly status: ValidationReport['status'];
  readonly failure?: string;
  readonly rowsIn: number;
  readonly rowsValid: number;
  readonly rowsQuarantined: number;
  readonly invalidRowRatio: number;
  readonly maxInvalidRowRatio: number;
  readonly countsByRule: ValidationReport['countsByRule'];
  readonly firstViolations: readonly Violation[];
}

export interface RunDetails {
  /** The whole run record. */
  readonly run: RunRecord;
  readonly durationMs: number | undefined;
  readonly validation: ValidationSummary | undefined;
  /** Where the run's files are (only those that exist). */
  readonly locations: Readonly<Record<string, string>>;
}

const FIRST_VIOLATIONS = 5;

/** The run record and what it points at. @throws NotFoundError for an unknown run id */
export async function runDetails(target: Target, runId: string): Promise<RunDetails> {
  const table = output(target, 'TableName');
  const found = await getRun(target.clients.doc, table, runId);
  if (!found) throw new NotFoundError(`Run ${runId} not found in table ${table} (list them with: mlops-batch runs)`);
  const [run] = await reconcileStaleRuns(target, [found]);
  if (!run) throw new NotFoundError(`Run ${runId} not found in table ${table}`);
  const bucket = output(target, 'ArtifactsBucketName');
  const keys = reportKeys(runId);
  const [report, stats, evaluation, quarantined] = await Promise.all([
    readJson<ValidationReport>(target, bucket, keys.validation),
    exists(target, bucket, keys.stats),
    exists(target, bucket, keys.evaluation),
    exists(target, bucket, quarantinePrefix(runId)),
  ]);
  const locations: Record<string, string> = {};
  if (report) locations.validation = s3Uri(bucket, keys.validation);
  if (stats) locations.stats = s3Uri(bucket, keys.stats);
  if (evaluation) locations.evaluation = s3Uri(bucket, keys.evaluation);
  if (quarantined) locations.quarantine = s3Uri(bucket, quarantinePrefix(runId));
  // Whatever else the steps recorded (`partsUri`, `reports.preprocessing`, `modelDataUrl` …), each location once.
  const listed = new Set(Object.values(locations));
  const add = (name: string, value: unknown) => {
    if (typeof value !== 'string' || !value.startsWith('s3://') || listed.has(value)) return;
    locations[name.replace(/(Uri|Url)$/, '')] ??= value;
    listed.add(value);
  };
  for (const [name, value] of Object.entries(run)) {
    if (/(Uri|Url)$/.test(name)) add(name, value);
  }
  for (const [name, value] of Object.entries(obj(run.reports) ?? {})) add(name, value);
  const end = run.completedAt ?? (run.status === 'RUNNING' ? undefined : run.updatedAt);
  return {
    run,
    durationMs: end ? Date.parse(end) - Date.parse(run.startedAt) : undefined,
    validation: report
      ? {
          uri: s3Uri(bucket, keys.validation),
          status: report.status,
          ...(report.failure ? { failure: report.failure } : {}),
          rowsIn: report.rowsIn,
          rowsValid: report.rowsValid,
          rowsQuarantined: report.rowsQuarantined,
          invalidRowRatio: report.invalidRowRatio,
          maxInvalidRowRatio: report.maxInvalidRowRatio,
          countsByRule: report.countsByRule,
          firstViolations: report.violations.slice(0, FIRST_VIOLATIONS),
        }
      : undefined,
    locations,
  };
}

async function readJson<T>(target: Target, bucket: string, key: string): Promise<T | undefined> {
  try {
    const res = await target.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse(await res.Body!.transformToString()) as T;
  } catch (e) {
    if ((e as Error).name === 'NoSuchKey' || (e as Error).name === 'NotFound') return undefined;
    throw e;
  }
}

async function exists(target: Target, bucket: string, keyOrPrefix: string): Promise<boolean> {
  const res = await target.clients.s3.send(
    new ListObjectsV2Command({ Bucket: bucket, Prefix: keyOrPrefix, MaxKeys: 1 }),
  );
  return (res.KeyCount ?? 0) > 0;
}

const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(2)} s`);
const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
const obj = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined);

/** `runs show` for people: one labelled line per fact, the cause whole. */
export function renderRunDetails(d: RunDetails, timings?: readonly { state: string; ms: number }[]): string {
  const r = d.run;
  const lines = [
    `run ${r.runId}  ${r.kind}  ${r.status}${typeof r.outcome === 'string' ? ` (${r.outcome})` : ''}`,
    `  trigger     ${r.trigger} · code ${r.codeVersion}`,
    `  started     ${r.startedAt} · completed ${r.completedAt ?? '-'} · took ${seconds(d.durationMs)}`,
  ];
  if (r.error) {
    lines.push(`  error       ${r.error.error}`);
    if (r.error.cause) lines.push(`  cause       ${oneLine(r.error.cause)}`);
  }
  lines.push(...modelLines(r), ...countLines(r, d.validation), ...driftLines(r));
  for (const [name, uri] of Object.entries(d.locations)) lines.push(`  files       ${name.padEnd(12)} ${uri}`);
  if (timings?.length) {
    lines.push(`  timings     ${timings.map((t) => `${t.state} ${seconds(t.ms)}`).join(' · ')}`);
  }
  return lines.join('\n');
}

function modelLines(r: RunRecord): string[] {
  const lines: string[] = [];
  const version = r.modelVersion ?? r.registeredVersion;
  if (version !== undefined || typeof r.modelPackageArn === 'string') {
    lines.push(
      `  model       version ${String(version ?? '-')}${r.modelPackageArn ? ` (${String(r.modelPackageArn)})` : ''}`,
    );
  }
  const m = obj(r.metrics);
  if (m) lines.push(`  metrics     AUC ${fmt(num(m.auc))} · logloss ${fmt(num(m.logloss))}`);
  const gate = obj(r.gate);
  if (gate) {
    const reasons = Array.isArray(gate.reasons) && gate.reasons.length ? `: ${gate.reasons.join('; ')}` : '';
    lines.push(`  gate        ${gate.passed ? 'passed' : 'failed'}${reasons}`);
  }
  if (Array.isArray(r.rejectionReasons)) lines.push(`  rejected    ${r.rejectionReasons.join('; ')}`);
  return lines;
}

function countLines(r: RunRecord, v: ValidationSummary | undefined): string[] {
  const lines: string[] = [];
  const counts = obj(r.rowCounts);
  const rowsIn = num(r.rowsIn) ?? num(counts?.in) ?? v?.rowsIn;
  if (rowsIn !== undefined) {
    const used = num(r.rowsUsed) ?? num(counts?.used) ?? v?.rowsValid;
    const quarantined = num(r.rowsQuarantined) ?? num(counts?.quarantined) ?? v?.rowsQuarantined;
    const loaded = num(r.rowsLoaded);
    lines.push(
      `  rows        in ${rowsIn} · valid ${used ?? '-'} · quarantined ${quarantined ?? '-'}${loaded !== undefined ? ` · loaded ${loaded}` : ''}`,
    );
  }
  if (num(r.objectsScored) !== undefined) {
    lines.push(
      `  objects     scored ${num(r.objectsScored)} · quarantined ${num(r.objectsQuarantined) ?? 0} · skipped ${num(r.objectsSkipped) ?? 0}`,
    );
  }
  if (v) {
    const rules = Object.entries(v.countsByRule).map(([rule, n]) => `${rule}=${n}`);
    lines.push(
      `  validation  ${v.status}: invalid row ratio ${v.invalidRowRatio.toFixed(4)} (max ${v.maxInvalidRowRatio}); per rule: ${rules.join(', ') || 'none'}`,
    );
    for (const x of v.firstViolations) {
      lines.push(
        `    ${x.file}:${x.line}${x.column ? ` [${x.column}]` : ''} ${x.rule}${x.value !== null ? ` "${x.value}"` : ''}: ${x.message}`,
      );
    }
  }
  return lines;
}

function driftLines(r: RunRecord): string[] {
  const drift = obj(r.drift);
  if (!drift) return [];
  const drifted = Array.isArray(drift.drifted) ? drift.drifted : [];
  const psi = obj(drift.psi) ?? {};
  const top = Object.entries(psi)
    .filter(([, x]) => typeof x === 'number' && Number.isFinite(x))
    .sort((a, b) => (b[1] as number) - (a[1] as number))
    .slice(0, 3)
    .map(([f, x]) => `${f} ${(x as number).toFixed(3)}`);
  return [
    `  drift       max PSI ${fmt(num(drift.max), 3)} (threshold ${String(drift.threshold ?? '-')}); drifted: ${drifted.join(', ') || 'none'}${top.length ? `; highest: ${top.join(', ')}` : ''}`,
  ];
}
