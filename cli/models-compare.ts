import { NotFoundError, ValidationError } from '../contracts/errors';
import { type EvaluationReport, EvaluationReportSchema, type ModelSummary } from '../contracts/evaluation';
import { parseS3Uri } from '../contracts/s3-layout';
import { comparisonTable, reportTable, summaryOf } from '../lambdas/domain/evaluation/table';
import {
  findPackageByVersion,
  findProductionPackage,
  listPackages,
  METADATA_KEYS,
  type PackageInfo,
} from '../lambdas/domain/registry';
import { getText } from '../lambdas/platform/s3';
import { parseVersion } from './commands';
import { output, type Target } from './target';

/**
 * `mlops-batch models compare [A] [B]` and `models show V`: the evaluation documents (contracts/evaluation.ts) the
 * Training runs wrote, read through the registry, against AWS or `--local`.
 */

/** The evaluation document a package points at. */
export async function evaluationOf(target: Target, pkg: PackageInfo): Promise<EvaluationReport> {
  const uri = pkg.evaluationReportUri;
  if (!uri) throw new NotFoundError(`model version ${pkg.version} names no evaluation report`);
  const { bucket, key } = parseS3Uri(uri);
  const raw = await getText(target.clients.s3, bucket, key);
  const parsed = EvaluationReportSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) {
    throw new ValidationError(
      `model version ${pkg.version}: ${uri} is not an evaluation document of this version of the pipeline (schema ${EvaluationReportSchema.shape.schemaVersion.value}); it was written by an older EvaluateModel`,
    );
  }
  return parsed.data;
}

/** What `models compare` prints. */
export interface Comparison {
  readonly a: number;
  readonly b: number;
  /** True when one was evaluated against the other on the same validation rows. */
  readonly sameRows: boolean;
  /** The training run whose evaluation holds both (or A's when none does). */
  readonly evaluationRunId: string;
  readonly candidate: ModelSummary;
  readonly other: ModelSummary;
  readonly comparison: EvaluationReport['comparison'];
  readonly table: readonly string[];
}

/** The newest PendingManualApproval version. */
async function newestPending(target: Target, group: string): Promise<PackageInfo> {
  const [pkg] = await listPackages(target.clients.sm, group, { status: 'PendingManualApproval', limit: 1 });
  if (!pkg)
    throw new NotFoundError(`no model version is PendingManualApproval in ${group}; name one: models compare <A> <B>`);
  return pkg;
}

/**
 * A against B (default: the newest pending version against Production). Same-row figures come from the evaluation
 * in which one was the champion of the other; otherwise each model's own figures are shown, marked as not comparable
 * row for row.
 */
export async function compareModels(target: Target, rawA?: string, rawB?: string): Promise<Comparison> {
  const group = output(target, 'ModelPackageGroupName');
  const sm = target.clients.sm;
  const a = rawA ? await findPackageByVersion(sm, group, parseVersion(rawA)) : await newestPending(target, group);
  let b: PackageInfo | null = rawB ? await findPackageByVersion(sm, group, parseVersion(rawB)) : null;
  if (!b) b = await findProductionPackage(sm, group);
  if (!b) throw new NotFoundError(`no Production (Approved) version in ${group} to compare version ${a.version} with`);
  if (a.version === b.version) throw new ValidationError(`compare needs two versions; both are ${a.version}`);
  const [ea, eb] = await Promise.all([evaluationOf(target, a), evaluationOf(target, b)]);
  const roles = (r: EvaluationReport, candidate: PackageInfo) => ({
    ...summaryOf(r.candidate),
    modelVersion: candidate.version,
  });
  for (const [r, cand, other] of [
    [ea, a, b],
    [eb, b, a],
  ] as const) {
    if (r.champion?.modelVersion === other.version) {
      const candidate = roles(r, cand);
      const champion = summaryOf(r.champion);
      return {
        a: a.version,
        b: b.version,
        sameRows: true,
        evaluationRunId: r.runId,
        candidate,
        other: champion,
        comparison: r.comparison,
        table: comparisonTable(candidate, champion, r.comparison, {
          candidateRole: 'candidate',
          championRole: 'then Production',
        }),
      };
    }
  }
  const candidate = roles(ea, a);
  const other = roles(eb, b);
  return {
    a: a.version,
    b: b.version,
    sameRows: false,
    evaluationRunId: ea.runId,
    candidate,
    other,
    comparison: null,
    table: comparisonTable(candidate, other, null, {
      candidateRole: `run ${ea.runId}`,
      championRole: `run ${eb.runId}`,
      note: 'neither was evaluated against the other: each column is on its own validation rows, not comparable row for row',
    }).slice(1),
  };
}

/** What `models show` prints. */
export interface ModelDetail {
  readonly version: number;
  readonly status: string | undefined;
  readonly modelPackageArn: string;
  readonly modelQualityUri: string | undefined;
  readonly lineageUri: string | undefined;
  readonly evaluation: EvaluationReport;
}

/** One version's full evaluation and lineage. */
export async function showModel(target: Target, rawVersion: string): Promise<ModelDetail> {
  const group = output(target, 'ModelPackageGroupName');
  const pkg = await findPackageByVersion(target.clients.sm, group, parseVersion(rawVersion));
  return {
    version: pkg.version,
    status: pkg.status,
    modelPackageArn: pkg.arn,
    modelQualityUri: pkg.metadata[METADATA_KEYS.modelQualityUri],
    lineageUri: pkg.metadata[METADATA_KEYS.lineageUri],
    evaluation: await evaluationOf(target, pkg),
  };
}

/** The human form of {@link showModel}. */
export function showText(d: ModelDetail): string {
  const e = d.evaluation;
  const l = e.lineage;
  const objects = l.trainingObjects
    .slice(0, 10)
    .map((o) => `    ${o.key}  ${o.etag ?? ''}${o.versionId ? `  version ${o.versionId}` : ''}`);
  return [
    `model version ${d.version} (${d.status ?? '-'}) · training run ${e.runId} · evaluated ${e.evaluatedAt}`,
    `  ${d.modelPackageArn}`,
    `  algorithm ${e.algorithm.name} ${e.algorithm.version}`,
    '',
    ...reportTable(e).map((s) => `  ${s}`),
    '',
    `gate: ${e.gate.passed ? 'passed' : 'failed'}`,
    ...e.gate.reasons.map((r) => `  reason: ${r}`),
    ...e.gate.notes.map((n) => `  note: ${n}`),
    '',
    `lineage: contract ${l.contractVersion} · code ${l.codeVersion} · ${l.trainingObjects.length} training objects`,
    ...objects,
    ...(l.trainingObjects.length > 10
      ? [`    … ${l.trainingObjects.length - 10} more (${d.lineageUri ?? 'lineage report'})`]
      : []),
  ].join('\n');
}

/** Wire `models compare` and `models show` under the `models` command. */

/** The human form of a comparison: the heading and the side-by-side table. */
export function compareText(res: Comparison): string {
  return [
    `model version ${res.a} vs ${res.b}${res.sameRows ? ` (evaluation of run ${res.evaluationRunId})` : ''}`,
    ...res.table,
  ].join('\n');
}
