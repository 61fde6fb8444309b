/**
 * What the local report reads back from S3 after a run: the quarantine counts per rule, with a few examples each, from
 * a run's validation report (`reports/<runId>/validation.json`).
 */
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { parseS3Uri, reportKeys } from '../../contracts/s3-layout';

/** How many example violations the report shows per rule. */
export const EXAMPLES_PER_RULE = 3;

export interface QuarantineExample {
  readonly rule: string;
  readonly file: string;
  readonly line: number;
  readonly column: string | null;
  readonly message: string;
}

export interface QuarantineSummary {
  /** The validation report the figures come from. */
  readonly reportUri: string;
  readonly rowsQuarantined: number;
  /** Rows and files quarantined per rule, largest first. */
  readonly countsByRule: readonly { readonly rule: string; readonly count: number }[];
  /** The first {@link EXAMPLES_PER_RULE} listed violations of each rule, in file/line order. */
  readonly examples: readonly QuarantineExample[];
}

const obj = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/**
 * The quarantine summary of one validation report; undefined when the run wrote none (a run with nothing to score).
 * Examples carry rule, file, line, column and message, not the offending value: the report is something people pass
 * around, while the values stay in the validation report and the quarantine objects in S3.
 */
export async function quarantineSummary(
  s3: S3Client,
  reportUri: string | undefined,
): Promise<QuarantineSummary | undefined> {
  if (!reportUri) return undefined;
  const { bucket, key } = parseS3Uri(reportUri);
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const report = obj(JSON.parse(await res.Body!.transformToString()));
  const counts = Object.entries(obj(report.countsByRule))
    .map(([rule, count]) => ({ rule, count: Number(count) }))
    .sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule));
  const perRule = new Map<string, number>();
  const examples: QuarantineExample[] = [];
  for (const raw of Array.isArray(report.violations) ? report.violations : []) {
    const v = obj(raw);
    const rule = String(v.rule);
    const seen = perRule.get(rule) ?? 0;
    if (seen >= EXAMPLES_PER_RULE) continue;
    perRule.set(rule, seen + 1);
    examples.push({
      rule,
      file: String(v.file),
      line: Number(v.line),
      column: typeof v.column === 'string' ? v.column : null,
      message: String(v.message),
    });
  }
  return { reportUri, rowsQuarantined: Number(report.rowsQuarantined ?? 0), countsByRule: counts, examples };
}

/** PSI per feature from a batch run's statistics (`reports/<runId>/stats.json`); empty when the run wrote none. */
export async function driftFromStats(s3: S3Client, bucket: string, runId: string): Promise<Record<string, number>> {
  let res: GetObjectCommandOutput;
  try {
    res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: reportKeys(runId).stats }));
  } catch (e) {
    if ((e as { name?: string }).name === 'NoSuchKey') return {};
    throw e;
  }
  const out: Record<string, number> = {};
  for (const [feature, psi] of Object.entries(obj(obj(JSON.parse(await res.Body!.transformToString())).drift))) {
    if (typeof psi === 'number') out[feature] = psi;
  }
  return out;
}
