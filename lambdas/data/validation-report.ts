import type { S3Client } from '@aws-sdk/client-s3';
import { ValidationError } from '../../contracts/errors';
import { putJson } from '../platform/s3';
import type { FeatureContract } from './contract';

/**
 * What validation reports: the rule names, one violation, the per-file and per-run reports (written to
 * `reports/<runId>/validation.json`), and the run-wide violation log that caps how many violations are listed.
 */

export type ValidationMode = 'training' | 'inference';

export const FILE_RULES = [
  'header_missing_column',
  'header_unexpected_column',
  'header_duplicate_column',
  'empty_file',
  'missing_partition_date',
  'object_missing',
  'object_unreadable',
] as const;
export const ROW_RULES = [
  'ragged_row',
  'invalid_utf8',
  'enormous_line',
  'malformed_csv',
  'wrong_type',
  'out_of_range',
  'null_not_allowed',
  'unknown_category',
  'duplicate_entity',
  'as_of_mismatch',
] as const;
export type FileRule = (typeof FILE_RULES)[number];
export type RowRule = (typeof ROW_RULES)[number];
export type Rule = FileRule | RowRule | 'invalid_utf8';

export interface Violation {
  file: string;
  /** 1-based physical line (1 = header); 0 when the file as a whole is meant (e.g. empty file). */
  line: number;
  /** Column name, or null when the violation is about the whole line or file. */
  column: string | null;
  rule: Rule;
  /** The offending value (truncated to 200 characters), or null. */
  value: string | null;
  message: string;
}

export interface FileReport {
  file: string;
  status: 'ok' | 'failed';
  /** File-level violations (header, empty file): non-empty exactly when status is 'failed'. */
  fileViolations: Violation[];
  header: string[];
  rowsIn: number;
  rowsValid: number;
  rowsQuarantined: number;
  countsByRule: Partial<Record<Rule, number>>;
}

export interface ValidationReport {
  contract: { name: string; version: string };
  mode: ValidationMode;
  status: 'passed' | 'failed';
  /** Why the validation failed (file-level failure or too many invalid rows); absent when it passed. */
  failure?: string;
  rowsIn: number;
  rowsValid: number;
  rowsQuarantined: number;
  /**
   * Quarantined / in over the files that passed the file-level checks (a failed file's rows are all quarantined with
   * the file and fail training on their own; they do not count here).
   */
  invalidRowRatio: number;
  maxInvalidRowRatio: number;
  countsByRule: Partial<Record<Rule, number>>;
  /** The first `maxReportedViolations` violations, in file/line order. */
  violations: Violation[];
  /** Violations not listed in `violations` (they are in `countsByRule`). */
  violationsNotListed: number;
  files: FileReport[];
}

/** What a {@link ViolationLog} holds, as JSON (a prepare task's share, merged by the reducer). */
export interface ViolationSummary {
  countsByRule: Partial<Record<Rule, number>>;
  listed: Violation[];
  notListed: number;
}

/** Collects violations over a whole run: counts every one, keeps the first `max`. */
export class ViolationLog implements ViolationSummary {
  readonly countsByRule: Partial<Record<Rule, number>> = {};
  readonly listed: Violation[] = [];
  notListed = 0;
  constructor(readonly max: number) {}

  add(v: Violation): void {
    this.countsByRule[v.rule] = (this.countsByRule[v.rule] ?? 0) + 1;
    if (this.listed.length < this.max) this.listed.push(v);
    else this.notListed += 1;
  }

  /** Append another log's violations as if they had been added after this log's (counts add, the first `max` kept). */
  absorb(other: ViolationSummary): void {
    for (const [rule, n] of Object.entries(other.countsByRule) as [Rule, number][]) {
      this.countsByRule[rule] = (this.countsByRule[rule] ?? 0) + n;
    }
    const room = Math.max(0, this.max - this.listed.length);
    this.listed.push(...other.listed.slice(0, room));
    this.notListed += other.notListed + Math.max(0, other.listed.length - room);
  }
}

/** A {@link ViolationLog} as JSON: what one fan-out invocation hands to the reducer. */
export type ViolationLogState = Pick<ViolationLog, 'countsByRule' | 'listed' | 'notListed'>;

/**
 * Merge the violation logs of several invocations into the log one pass over all their files would have kept:
 * counts per rule add up, and the listed violations are the first `max` in (file, line) order (a stable sort, so
 * violations of one line keep their order). Each log must list its own first `max` (as {@link ViolationLog} does).
 */
export function mergeViolationLogs(logs: readonly ViolationLogState[], max: number): ViolationLogState {
  const countsByRule: Partial<Record<Rule, number>> = {};
  let notListed = 0;
  const all: Violation[] = [];
  for (const log of logs) {
    for (const [rule, n] of Object.entries(log.countsByRule) as [Rule, number][]) {
      countsByRule[rule] = (countsByRule[rule] ?? 0) + n;
    }
    notListed += log.notListed;
    all.push(...log.listed);
  }
  all.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  const listed = all.slice(0, max);
  return { countsByRule, listed, notListed: notListed + all.length - listed.length };
}

/** Build the run report from the per-file reports and the run's violation log. */
export function buildReport(
  contract: FeatureContract,
  mode: ValidationMode,
  files: FileReport[],
  log: ViolationLog,
  maxInvalidRowRatio: number,
): ValidationReport {
  let rowsIn = 0;
  let rowsValid = 0;
  let rowsQuarantined = 0;
  let ratioIn = 0;
  let ratioQuarantined = 0;
  for (const f of files) {
    rowsIn += f.rowsIn;
    rowsValid += f.rowsValid;
    rowsQuarantined += f.rowsQuarantined;
    if (f.status === 'ok') {
      ratioIn += f.rowsIn;
      ratioQuarantined += f.rowsQuarantined;
    }
  }
  return {
    contract: { name: contract.name, version: contract.version },
    mode,
    status: 'passed',
    rowsIn,
    rowsValid,
    rowsQuarantined,
    invalidRowRatio: ratioIn === 0 ? 0 : ratioQuarantined / ratioIn,
    maxInvalidRowRatio,
    countsByRule: log.countsByRule,
    violations: log.listed,
    violationsNotListed: log.notListed,
    files,
  };
}

/** Rules whose `column` is a header cell as found in the file (for a header-less file: a customer's value). */
const UNTRUSTED_COLUMN = new Set<Rule>(['header_unexpected_column', 'header_duplicate_column']);

/**
 * A violation without anything taken from the data, for what leaves S3 (execution causes, run records, alerts, logs):
 * file, line, rule and the contract column; no value and no message (messages may quote a header cell).
 */
export function publicViolation(v: Violation): Pick<Violation, 'file' | 'line' | 'rule' | 'column'> {
  return { file: v.file, line: v.line, rule: v.rule, column: UNTRUSTED_COLUMN.has(v.rule) ? null : v.column };
}

/**
 * One line summary of a report for error messages: counts per rule and where the first few violations are. No value
 * leaves the report (see {@link publicViolation}); the values are in the report and quarantine objects.
 */
export function summarizeReport(report: ValidationReport, firstN = 3): string {
  const counts = Object.entries(report.countsByRule)
    .map(([rule, n]) => `${rule}=${n}`)
    .join(', ');
  const first = report.violations
    .slice(0, firstN)
    .map(publicViolation)
    .map((v) => `${v.file}:${v.line}${v.column ? ` [${v.column}]` : ''} ${v.rule}`)
    .join('; ');
  return `rows in ${report.rowsIn}, valid ${report.rowsValid}, quarantined ${report.rowsQuarantined}; violations: ${counts || 'none'}${first ? `; first: ${first}` : ''}`;
}

/** The failed file report of an object whose key has no `dt=` partition (its rows have no as-of date). */
export function missingPartitionReport(key: string): FileReport {
  return {
    file: key,
    status: 'failed',
    fileViolations: [
      {
        file: key,
        line: 0,
        column: null,
        rule: 'missing_partition_date',
        value: key,
        message: 'the key has no dt=YYYY-MM-DD partition, so the rows have no as-of date',
      },
    ],
    header: [],
    rowsIn: 0,
    rowsValid: 0,
    rowsQuarantined: 0,
    countsByRule: { missing_partition_date: 1 },
  };
}

/**
 * The failed file report of an object that could not be read to the end for a reason retrying cannot fix (deleted
 * after its arrival, rewritten, or a reader limit): the object is quarantined whole with this report.
 */
export function unreadableReport(
  key: string,
  rule: 'object_missing' | 'object_unreadable',
  message: string,
): FileReport {
  return {
    file: key,
    status: 'failed',
    fileViolations: [{ file: key, line: 0, column: null, rule, value: null, message }],
    header: [],
    rowsIn: 0,
    rowsValid: 0,
    rowsQuarantined: 0,
    countsByRule: { [rule]: 1 },
  };
}

/** Write the report, then throw a ValidationError carrying a compact summary and the report's URI. */
export async function failValidation(
  s3: S3Client,
  bucket: string,
  reportKey: string,
  report: ValidationReport,
  failure: string,
): Promise<never> {
  report.status = 'failed';
  report.failure = failure;
  const uri = await putJson(s3, bucket, reportKey, report);
  throw new ValidationError(`${failure}. ${summarizeReport(report)}. Full report: ${uri}`, {
    validationReportUri: uri,
    rowsIn: report.rowsIn,
    rowsValid: report.rowsValid,
    rowsQuarantined: report.rowsQuarantined,
    countsByRule: report.countsByRule,
    violations: report.violations.slice(0, 10).map(publicViolation),
  });
}
