import type { Readable } from 'node:stream';
import { bucketRangeSlice, type ScoreLayout } from '../../contracts/score-layout';
import type { FeatureContract, FeatureSpec } from './contract';
import { type CsvEvent, type CsvRecordEvent, readCsv } from './csv';
import { EntityIdSet } from './id-set';
import { type FileReport, type FileRule, type ValidationMode, type Violation, ViolationLog } from './validation-report';
import { isIsoDate, NUM_RE, parseFeatureValue, type ValueProblem } from './value-syntax';

/**
 * Row validation against the feature contract (lambdas/data/contract.ts); the rule names, violation and report
 * shapes are in validation-report.ts.
 *
 * File-level rules (the file's rows cannot be interpreted; training fails the step, inference quarantines the object):
 * `header_missing_column`, `header_unexpected_column`, `header_duplicate_column`, `empty_file` (no header or no data
 * row), `invalid_utf8` in the header. Column ORDER is not checked: columns are matched by name.
 * In inference mode a label column is allowed and ignored (scoring labelled data for a backtest is legitimate).
 *
 * Row-level rules (the row is quarantined with every reason it has): `ragged_row`, `invalid_utf8`, `enormous_line`,
 * `malformed_csv`, `wrong_type`, `out_of_range`, `null_not_allowed`, `unknown_category`, `duplicate_entity` (the first
 * occurrence in a file is kept), `as_of_mismatch` (the row's as_of differs from the file's `dt=` partition, when the
 * caller passes one).
 *
 * Value syntax (value-syntax.ts) is strict: no trimming, an empty field is null.
 */

/** A validated row: typed values in contract feature order (number for numeric and boolean (0/1), string for category). */
export interface ParsedRow {
  line: number;
  entityId: string;
  asOf: string;
  /** 0/1 in training mode; null in inference mode. */
  label: number | null;
  values: (number | string | null)[];
}

/** A rejected row: the original fields (as parsed; empty for lines that could not be parsed) and its reasons. */
export interface RejectedRow {
  line: number;
  fields: readonly string[];
  reasons: Violation[];
  /** The original text of a line that could not be split into fields (malformed CSV, enormous line: its start). */
  text?: string;
}

/**
 * Entities already used by earlier files of the same as-of day in this run (a run-level duplicate rule: the same
 * customer in two files of one day is kept from the first file in key order, quarantined in the later ones).
 */
export interface DayEntities {
  readonly set: EntityIdSet;
  /** Files of the day, in the order they were validated; the set's tag is an index into it. */
  readonly files: string[];
}

export type RowOutcome = { ok: true; row: ParsedRow } | { ok: false; rejected: RejectedRow };

/**
 * One of `count` slices of a file: the validator keeps only the data rows the slice owns (the others are skipped,
 * neither counted nor validated), so `count` validators over the same bytes partition its rows. A row with a
 * non-empty entity id in the header's width is owned by the slice whose range of the score store's buckets holds the
 * id ({@link entitySlice}) — every copy of an entity, in this file and in the other files of its day, lands in the
 * same slice, so the duplicate rules stay exact, and a slice's parts load dense (the loader writes many rows per
 * bucket); any other data line (ragged, unparseable, empty id) by its line number mod `count`. The header is read by
 * every slice.
 */
export interface RowSlice {
  readonly index: number;
  readonly count: number;
  /** The score store layout whose bucket ranges the slices own. */
  readonly layout: ScoreLayout;
}

/** The slice (0-based) that owns an entity id among `count` slices of `layout`'s buckets. */
export function entitySlice(entityId: string, count: number, layout: ScoreLayout): number {
  return bucketRangeSlice(layout, entityId, count);
}

const MAX_VALUE_CHARS = 200;
const truncate = (v: string) => (v.length > MAX_VALUE_CHARS ? `${v.slice(0, MAX_VALUE_CHARS)}…` : v);

/**
 * Validates the records of ONE file. Feed it every event of `readCsv` in order with {@link FileValidator.accept};
 * the first record is the header. Not reusable across files.
 */
export class FileValidator {
  readonly report: FileReport;
  private columnIndex: Int32Array | undefined; // per contract feature: index in the record
  private entityIdx = -1;
  private asOfIdx = -1;
  private labelIdx = -1;
  private width = 0;
  /** Per-file duplicate ids (64-bit hashes; see id-set.ts for memory per row and the collision rate). */
  private readonly seen = new EntityIdSet();
  private readonly dayTag: number;
  private readonly entityRe: RegExp;
  private readonly features: FeatureSpec[];
  private readonly categorySets: (Set<string> | undefined)[];
  /** Data lines owned by other slices (skipped). */
  private skipped = 0;

  constructor(
    private readonly contract: FeatureContract,
    private readonly mode: ValidationMode,
    readonly file: string,
    private readonly log: ViolationLog,
    /** When set, every row's as_of must equal it (inference: the `dt=` of the object key). */
    private readonly expectedAsOf?: string,
    private readonly day?: DayEntities,
    private readonly slice?: RowSlice,
  ) {
    this.dayTag = day ? day.files.push(file) - 1 : -1;
    this.report = {
      file,
      status: 'ok',
      fileViolations: [],
      header: [],
      rowsIn: 0,
      rowsValid: 0,
      rowsQuarantined: 0,
      countsByRule: {},
    };
    this.entityRe = new RegExp(contract.entity.pattern);
    this.features = contract.features;
    this.categorySets = contract.features.map((f) => (f.type === 'category' ? new Set(f.categories) : undefined));
  }

  /** True once the header was accepted (data rows can be validated). */
  get headerOk(): boolean {
    return this.columnIndex !== undefined;
  }

  /** Record a file-level violation (also used by callers, e.g. for a key without `dt=`). */
  failFile(
    rule: FileRule | 'invalid_utf8',
    message: string,
    line = 0,
    column: string | null = null,
    value: string | null = null,
  ): void {
    const v: Violation = { file: this.file, line, column, rule, value, message };
    this.report.status = 'failed';
    this.report.fileViolations.push(v);
    this.count(v);
  }

  private count(v: Violation): void {
    this.report.countsByRule[v.rule] = (this.report.countsByRule[v.rule] ?? 0) + 1;
    this.log.add(v);
  }

  /**
   * Accept the next event. Returns null for the header (or any event after a file-level failure, which is only counted),
   * else the row's outcome. Rows are counted in `report` either way.
   */
  accept(ev: CsvEvent): RowOutcome | null {
    if (this.slice && this.slice.count > 1 && this.headerOk && !this.owns(ev)) {
      this.skipped += 1;
      return null;
    }
    if (ev.kind !== 'record') {
      if (!this.headerOk) {
        if (this.report.status === 'ok') {
          this.failFile('empty_file', `no readable header: line ${ev.line}: ${ev.detail}`, ev.line);
        } else {
          this.report.rowsIn += 1;
          this.report.rowsQuarantined += 1;
        }
        return null;
      }
      this.report.rowsIn += 1;
      const out = this.reject(
        ev.line,
        [],
        [{ file: this.file, line: ev.line, column: null, rule: ev.kind, value: null, message: ev.detail }],
      );
      if (!out.ok && ev.text !== undefined) out.rejected.text = ev.text;
      return out;
    }
    if (this.columnIndex === undefined) {
      if (this.report.status === 'failed') {
        // Data rows of a file whose header failed: counted and quarantined with the file, not validated one by one.
        this.report.rowsIn += 1;
        this.report.rowsQuarantined += 1;
        return null;
      }
      this.acceptHeader(ev);
      return null;
    }
    this.report.rowsIn += 1;
    return this.validate(ev);
  }

  /** Whether this validator's slice owns a data line (see {@link RowSlice}). */
  private owns(ev: CsvEvent): boolean {
    const { index, count, layout } = this.slice!;
    if (ev.kind === 'record' && ev.fields.length === this.width) {
      const id = ev.fields[this.entityIdx]!;
      if (id !== '') return entitySlice(id, count, layout) === index;
    }
    return ev.line % count === index;
  }

  /** Call after the last event: flags a file without header or without data rows. */
  finish(): FileReport {
    if (this.report.status === 'ok') {
      if (!this.headerOk) this.failFile('empty_file', 'the file is empty (no header row)');
      else if (this.report.rowsIn + this.skipped === 0) {
        this.failFile('empty_file', 'the file has a header but no data rows');
      }
    }
    return this.report;
  }

  private acceptHeader(ev: CsvRecordEvent): void {
    const header = ev.fields;
    this.report.header = header;
    if (ev.invalidUtf8) {
      this.failFile('invalid_utf8', 'the header row is not valid UTF-8', ev.line, null, truncate(header.join(',')));
      return;
    }
    const positions = new Map<string, number>();
    header.forEach((name, i) => {
      if (positions.has(name)) {
        this.failFile(
          'header_duplicate_column',
          `column "${name}" appears more than once in the header`,
          1,
          name,
          name,
        );
      } else positions.set(name, i);
    });
    const required = [this.contract.entity.name, this.contract.asOf.name];
    if (this.mode === 'training') required.push(this.contract.label.name);
    for (const f of this.features) required.push(f.name);
    for (const name of required) {
      if (!positions.has(name)) {
        this.failFile('header_missing_column', `required column "${name}" is missing from the header`, 1, name, null);
      }
    }
    const allowed = new Set(required);
    if (this.mode === 'inference') allowed.add(this.contract.label.name);
    for (const name of header) {
      if (!allowed.has(name)) {
        this.failFile(
          'header_unexpected_column',
          `column "${name}" is not in feature contract ${this.contract.name} ${this.contract.version}`,
          1,
          name,
          truncate(name),
        );
      }
    }
    if (this.report.status === 'failed') return;
    this.width = header.length;
    this.entityIdx = positions.get(this.contract.entity.name)!;
    this.asOfIdx = positions.get(this.contract.asOf.name)!;
    this.labelIdx = this.mode === 'training' ? positions.get(this.contract.label.name)! : -1;
    this.columnIndex = Int32Array.from(this.features.map((f) => positions.get(f.name)!));
  }

  private reject(line: number, fields: readonly string[], reasons: Violation[]): RowOutcome {
    for (const r of reasons) this.count(r);
    this.report.rowsQuarantined += 1;
    return { ok: false, rejected: { line, fields, reasons } };
  }

  private validate(ev: CsvRecordEvent): RowOutcome {
    const { fields, line } = ev;
    const file = this.file;
    if (fields.length !== this.width) {
      return this.reject(line, fields, [
        {
          file,
          line,
          column: null,
          rule: 'ragged_row',
          value: `${fields.length} fields`,
          message: `expected ${this.width} fields (as in the header), got ${fields.length}`,
        },
      ]);
    }
    if (ev.invalidUtf8) {
      const i = fields.findIndex((f) => f.includes('\uFFFD'));
      return this.reject(line, fields, [
        {
          file,
          line,
          column: i >= 0 ? (this.report.header[i] ?? null) : null,
          rule: 'invalid_utf8',
          value: i >= 0 ? truncate(fields[i]!) : null,
          message: 'the line is not valid UTF-8 (bad bytes shown as U+FFFD)',
        },
      ]);
    }
    let reasons: Violation[] | undefined;
    const add: ValueProblem = (column, rule, value, message) => {
      reasons ??= [];
      reasons.push({ file, line, column, rule, value: truncate(value), message });
    };

    const entityName = this.contract.entity.name;
    const entityId = fields[this.entityIdx]!;
    if (entityId === '') add(entityName, 'null_not_allowed', entityId, 'the entity id is empty');
    else if (!this.entityRe.test(entityId)) {
      add(entityName, 'wrong_type', entityId, `entity id does not match ${this.contract.entity.pattern}`);
    }

    const asOfName = this.contract.asOf.name;
    const asOf = fields[this.asOfIdx]!;
    if (asOf === '') add(asOfName, 'null_not_allowed', asOf, 'as_of is empty');
    else if (!isIsoDate(asOf)) add(asOfName, 'wrong_type', asOf, 'not a date YYYY-MM-DD');
    else if (this.expectedAsOf !== undefined && asOf !== this.expectedAsOf) {
      add(asOfName, 'as_of_mismatch', asOf, `as_of differs from the file's partition dt=${this.expectedAsOf}`);
    }

    let label: number | null = null;
    if (this.labelIdx >= 0) {
      const labelName = this.contract.label.name;
      const raw = fields[this.labelIdx]!;
      if (raw === '') add(labelName, 'null_not_allowed', raw, 'the label is required in training data');
      else if (raw === '0') label = 0;
      else if (raw === '1') label = 1;
      else if (NUM_RE.test(raw)) add(labelName, 'out_of_range', raw, 'the label must be 0 or 1');
      else add(labelName, 'wrong_type', raw, 'the label must be 0 or 1');
    }

    const features = this.features;
    const idx = this.columnIndex!;
    const values: (number | string | null)[] = new Array(features.length);
    for (let i = 0; i < features.length; i++) {
      const f = features[i]!;
      const raw = fields[idx[i]!]!;
      if (raw === '') {
        values[i] = null;
        if (!f.nullable) add(f.name, 'null_not_allowed', raw, `${f.name} is not nullable`);
        continue;
      }
      values[i] = parseFeatureValue(f, raw, this.categorySets[i], add);
    }

    if (reasons === undefined && entityId !== '') {
      // Duplicates are checked only for otherwise valid rows, so the kept row is always a valid one.
      const first = this.seen.getOrAdd(entityId, line);
      if (first !== undefined) {
        add(entityName, 'duplicate_entity', entityId, `entity id already seen at line ${first} of this file`);
      } else if (this.day) {
        const other = this.day.set.getOrAdd(entityId, this.dayTag);
        if (other !== undefined && other !== this.dayTag) {
          add(
            entityName,
            'duplicate_entity',
            entityId,
            `entity id also in ${this.day.files[other]} of the same as-of day (the first file in key order is kept)`,
          );
        }
      }
    }

    if (reasons !== undefined) return this.reject(line, fields, reasons);
    this.report.rowsValid += 1;
    return { ok: true, row: { line, entityId, asOf, label, values } };
  }
}

export interface ValidateStreamOptions {
  contract: FeatureContract;
  mode: ValidationMode;
  /** Name used in violations (the S3 key). */
  file: string;
  log?: ViolationLog;
  expectedAsOf?: string;
  maxLineBytes?: number;
  /** Run-level duplicate check across the files of one as-of day. */
  day?: DayEntities;
  /** Validate only the rows of one slice (a day split across prepare tasks). @default - every row */
  slice?: RowSlice;
  /** Called with the header once it is read (even a failing one). */
  onHeader?: (header: readonly string[]) => void;
  /** Called per valid row; may return a promise (awaited only then, so synchronous consumers stay cheap). */
  onValid?: (row: ParsedRow) => void | Promise<void>;
  /** Called per rejected row; may return a promise. */
  onRejected?: (row: RejectedRow) => void | Promise<void>;
}

/** Validate one CSV byte stream end to end (readCsv → FileValidator); returns the finished file report. */
export async function validateCsvStream(
  body: Readable | AsyncIterable<Uint8Array>,
  options: ValidateStreamOptions,
): Promise<FileReport> {
  const log = options.log ?? new ViolationLog(100);
  const v = new FileValidator(
    options.contract,
    options.mode,
    options.file,
    log,
    options.expectedAsOf,
    options.day,
    options.slice,
  );
  let headerSeen = false;
  for await (const ev of readCsv(body, options.file, { maxLineBytes: options.maxLineBytes })) {
    const out = v.accept(ev);
    if (!headerSeen && ev.kind === 'record') {
      headerSeen = true;
      options.onHeader?.(ev.fields);
    }
    if (out === null) continue;
    const p = out.ok ? options.onValid?.(out.row) : options.onRejected?.(out.rejected);
    if (p !== undefined) await p;
  }
  return v.finish();
}

/**
 * Validation throughput of one stream (for the evidence benchmark): rows per second through readCsv + FileValidator
 * with no output, and the peak RSS growth observed.
 */
export async function measureValidationThroughput(
  body: Readable | AsyncIterable<Uint8Array>,
  contract: FeatureContract,
  mode: ValidationMode,
): Promise<{ rows: number; valid: number; seconds: number; rowsPerSecond: number; rssGrowthBytes: number }> {
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  let n = 0;
  const t0 = process.hrtime.bigint();
  const report = await validateCsvStream(body, {
    contract,
    mode,
    file: 'benchmark',
    onValid: () => {
      if ((++n & 0xffff) === 0) peak = Math.max(peak, process.memoryUsage().rss);
    },
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  peak = Math.max(peak, process.memoryUsage().rss);
  return {
    rows: report.rowsIn,
    valid: report.rowsValid,
    seconds,
    rowsPerSecond: seconds > 0 ? report.rowsIn / seconds : 0,
    rssGrowthBytes: peak - rss0,
  };
}
