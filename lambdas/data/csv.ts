import { isUtf8 } from 'node:buffer';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type CsvError, type Options, Parser } from 'csv-parse';
import { ConflictError, DependencyError, NotFoundError, PipelineError, ValidationError } from '../../contracts/errors';

/**
 * Streaming CSV reading (constant memory) for feature files.
 *
 * Bytes flow `S3 body → LineGuard → csv-parse`:
 * - `LineGuard` passes complete physical lines through unchanged, holding back at most one incomplete line
 *   (bounded by `maxLineBytes`). It checks UTF-8 with the native `buffer.isUtf8` per block and remembers the line
 *   numbers that are not valid UTF-8. A physical line longer than `maxLineBytes` is never buffered: its bytes are
 *   discarded up to the next line break, an empty line takes its place (so line numbers stay right) and the line is
 *   reported as an `enormous_line` issue.
 * - csv-parse (BOM stripped, LF or CRLF, quoted fields, `relax_column_count` so ragged rows reach the validator,
 *   `skip_records_with_error` so one malformed record is reported instead of failing the file) turns lines into records.
 *
 * Line numbers are 1-based physical lines of the file (line 1 = header). A record spanning several lines (a quoted
 * field with a line break) carries the number of its last line. Line endings LF and CRLF are supported (CR alone is not).
 */

/** Default longest physical line accepted (bytes). A feature row of this contract is ~200 bytes. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

export type CsvIssueKind = 'enormous_line' | 'malformed_csv';

/** A data record: its fields as text, and the line it ends on. */
export interface CsvRecordEvent {
  kind: 'record';
  line: number;
  fields: string[];
  /** Set when a line of this record is not valid UTF-8 (its bad bytes appear as U+FFFD in `fields`). */
  invalidUtf8: boolean;
}

/** A line the parser could not turn into a record; it is reported (and counted as a rejected row), never dropped. */
export interface CsvIssueEvent {
  kind: CsvIssueKind;
  line: number;
  detail: string;
}

export type CsvEvent = CsvRecordEvent | CsvIssueEvent;

export interface CsvReadOptions {
  /** Longest accepted physical line in bytes. @default DEFAULT_MAX_LINE_BYTES */
  maxLineBytes?: number;
}

const EMPTY = Buffer.alloc(0);

/** Splits the byte stream into complete lines; checks UTF-8 and line length (see module doc). */
class LineGuard extends Transform {
  /** Physical line number of the first byte of `tail` (or of the next byte when tail is empty). */
  private line = 1;
  private tail: Buffer = EMPTY;
  /** True while discarding the rest of an enormous line. */
  private skipping = false;
  private skippedBytes = 0;
  /** Lines with invalid UTF-8, ascending; consumed by the reader. */
  readonly invalidLines: number[] = [];
  /** Enormous lines, ascending; consumed by the reader. */
  readonly enormousLines: { line: number; bytes: number }[] = [];

  constructor(private readonly maxLineBytes: number) {
    super();
  }

  override _transform(chunk: Buffer | string, _enc: BufferEncoding, cb: TransformCallback): void {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let pos = 0;
    if (this.skipping) {
      const nl = buf.indexOf(10);
      if (nl === -1) {
        this.skippedBytes += buf.length;
        cb();
        return;
      }
      this.skippedBytes += nl;
      this.enormousLines.push({ line: this.line, bytes: this.skippedBytes });
      this.skipping = false;
      this.skippedBytes = 0;
      pos = nl; // keep the '\n': the parser sees an empty line in place of the enormous one, line numbers stay right
    }
    if (this.tail.length > 0) {
      buf = Buffer.concat([this.tail, pos === 0 ? buf : buf.subarray(pos)]);
      pos = 0;
      this.tail = EMPTY;
    }
    this.scan(buf, pos, false);
    cb();
  }

  override _flush(cb: TransformCallback): void {
    if (this.skipping) {
      this.enormousLines.push({ line: this.line, bytes: this.skippedBytes });
      this.skipping = false;
    } else if (this.tail.length > 0) {
      const tail = this.tail;
      this.tail = EMPTY;
      this.scan(tail, 0, true);
    }
    cb();
  }

  /**
   * Pass on the complete lines of `buf` from `pos` (all of it at end of file) in as few pushes as possible, cutting
   * out lines over the limit and noting lines that are not UTF-8; hold back the incomplete last line.
   */
  private scan(buf: Buffer, pos: number, atEnd: boolean): void {
    const end = atEnd ? buf.length : buf.lastIndexOf(10) + 1;
    if (end > pos) {
      const valid = isUtf8(buf.subarray(pos, end));
      let runStart = pos;
      let p = pos;
      while (p < end) {
        const nl = buf.indexOf(10, p);
        const lineEnd = nl === -1 || nl >= end ? end : nl;
        const len = lineEnd - p;
        if (len > this.maxLineBytes) {
          if (p > runStart) this.push(buf.subarray(runStart, p));
          this.enormousLines.push({ line: this.line, bytes: len });
          runStart = lineEnd; // its '\n' (if any) goes on with the next run
        } else if (!valid && len > 0 && !isUtf8(buf.subarray(p, lineEnd))) {
          this.invalidLines.push(this.line);
        }
        if (lineEnd === end) break;
        this.line += 1;
        p = lineEnd + 1;
      }
      if (end > runStart) this.push(buf.subarray(runStart, end));
    }
    if (!atEnd) {
      const rest = buf.subarray(Math.max(end, pos));
      if (rest.length > this.maxLineBytes) {
        this.skipping = true;
        this.skippedBytes = rest.length;
      } else if (rest.length > 0) {
        this.tail = Buffer.from(rest); // a copy, so the source chunk is not retained
      }
    }
  }
}

interface NumberedRecord {
  line: number;
  fields: string[];
}

/**
 * csv-parse's stream, emitting `{ line, fields }`: the parser's live line counter is read at the moment a record is
 * pushed (the same value as `info.lines` of its `info` option, without building an info object per record, which
 * costs ~40% of the parse time).
 */
class LineNumberedParser extends Parser {
  constructor(options: Options) {
    super(options);
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) return super.push(null);
    const rec: NumberedRecord = { line: this.info.lines, fields: chunk as string[] };
    return super.push(rec, encoding);
  }
}

/**
 * Read CSV records from a byte stream. Yields the header as the first record (line 1). Issues (enormous lines,
 * malformed CSV) are yielded in line order between records. A stream error (S3 connection reset) rejects with
 * {@link DependencyError}; a record over 4 × `maxLineBytes` across quoted lines rejects with {@link ValidationError}.
 */
export async function* readCsv(
  body: Readable | AsyncIterable<Uint8Array>,
  source: string,
  options: CsvReadOptions = {},
): AsyncGenerator<CsvEvent, void, undefined> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const guard = new LineGuard(maxLineBytes);
  const malformed: CsvIssueEvent[] = [];
  let fatal: Error | undefined;
  const parser = new LineNumberedParser({
    bom: true,
    // Both endings, also mixed in one file (auto-detection would lock onto the first line's ending).
    record_delimiter: ['\r\n', '\n'],
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: 4 * maxLineBytes,
    on_skip: (err: CsvError | undefined) => {
      if (!err) return;
      if (err.code === 'CSV_MAX_RECORD_SIZE') {
        fatal = new ValidationError(
          `${source}: a record exceeds ${4 * maxLineBytes} bytes at line ${(err as CsvError & { lines?: number }).lines} (unterminated quoted field?)`,
          { source, rule: 'enormous_record' },
        );
        throw fatal;
      }
      const line = Number((err as CsvError & { lines?: number }).lines ?? 0);
      const last = malformed[malformed.length - 1];
      if (last && last.line === line) return; // one report per record
      malformed.push({ kind: 'malformed_csv', line, detail: `${err.code}: ${err.message}` });
    },
  });
  const input = body instanceof Readable ? body : Readable.from(body);
  const done = pipeline(input, guard, parser).catch((err: unknown) => {
    fatal ??= err instanceof ValidationError ? err : streamError(source, err);
  });
  let prevLine = 0;
  let invalidIdx = 0;
  let enormousIdx = 0;
  let malformedIdx = 0;

  function* issuesUpTo(line: number): Generator<CsvIssueEvent> {
    // Merge the two ordered issue queues up to `line`.
    for (;;) {
      const e = guard.enormousLines[enormousIdx];
      const m = malformed[malformedIdx];
      const eLine = e && e.line <= line ? e.line : Number.POSITIVE_INFINITY;
      const mLine = m && m.line <= line ? m.line : Number.POSITIVE_INFINITY;
      if (eLine === Number.POSITIVE_INFINITY && mLine === Number.POSITIVE_INFINITY) break;
      if (eLine <= mLine && e) {
        enormousIdx += 1;
        if (e.line > prevLine) prevLine = e.line;
        yield {
          kind: 'enormous_line',
          line: e.line,
          detail: `line has ${e.bytes} bytes, more than the limit of ${maxLineBytes}; not parsed`,
        };
      } else if (m) {
        malformedIdx += 1;
        // The lines up to here belong to the skipped record: bad bytes in them are not the next record's.
        if (m.line > prevLine) prevLine = m.line;
        yield m;
      }
    }
    // Compact consumed queue heads now and then so memory stays constant on long files.
    if (enormousIdx > 1024) {
      guard.enormousLines.splice(0, enormousIdx);
      enormousIdx = 0;
    }
    if (malformedIdx > 1024) {
      malformed.splice(0, malformedIdx);
      malformedIdx = 0;
    }
  }

  try {
    try {
      for await (const item of parser as AsyncIterable<NumberedRecord>) {
        const line = item.line;
        if (guard.enormousLines.length > enormousIdx || malformed.length > malformedIdx) yield* issuesUpTo(line);
        let invalidUtf8 = false;
        const inv = guard.invalidLines;
        while (invalidIdx < inv.length && (inv[invalidIdx] as number) <= line) {
          if ((inv[invalidIdx] as number) > prevLine) invalidUtf8 = true;
          invalidIdx += 1;
        }
        if (invalidIdx > 1024) {
          inv.splice(0, invalidIdx);
          invalidIdx = 0;
        }
        prevLine = line;
        yield { kind: 'record', line, fields: item.fields, invalidUtf8 };
      }
    } catch (err) {
      throw fatal ?? (err instanceof PipelineError ? err : streamError(source, err));
    }
    await done;
    if (fatal) throw fatal;
    yield* issuesUpTo(Number.POSITIVE_INFINITY);
  } finally {
    if (!parser.destroyed) parser.destroy();
    if (!input.destroyed) input.destroy();
  }
}

function streamError(source: string, err: unknown): Error {
  const msg = err instanceof Error ? err.message : String(err);
  return new DependencyError(`Reading ${source} failed: ${msg}`, { cause: err });
}

/**
 * Open an S3 object as a byte stream. Missing object → NotFoundError; `ifMatch` given and the object changed →
 * ConflictError; other failures → DependencyError.
 */
export async function openS3Object(
  s3: S3Client,
  bucket: string,
  key: string,
  ifMatch?: string,
): Promise<{
  body: Readable;
  etag: string | undefined;
  contentLength: number | undefined;
  versionId?: string | undefined;
}> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: ifMatch }));
    const body = res.Body;
    if (!body) throw new DependencyError(`s3://${bucket}/${key}: GetObject returned no body`);
    const stream =
      body instanceof Readable
        ? body
        : Readable.from(body as unknown as AsyncIterable<Uint8Array>, { objectMode: false });
    return { body: stream, etag: res.ETag, contentLength: res.ContentLength, versionId: res.VersionId };
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'NoSuchKey' || name === 'NotFound') {
      throw new NotFoundError(`s3://${bucket}/${key} does not exist`, { cause: err });
    }
    if (name === 'PreconditionFailed') {
      throw new ConflictError(`s3://${bucket}/${key} changed: its ETag is no longer ${ifMatch}`, { cause: err });
    }
    if (err instanceof DependencyError) throw err;
    throw new DependencyError(`GetObject s3://${bucket}/${key} failed: ${(err as Error).message}`, { cause: err });
  }
}

/** Quote a CSV field when needed (RFC 4180). */
export function csvField(value: string): string {
  if (value === '') return value;
  if (/[",\r\n]/.test(value) || value.trim() !== value) return `"${value.replace(/"/g, '""')}"`;
  return value;
}

/** One CSV line (with trailing '\n') from fields. */
export function csvLine(fields: readonly string[]): string {
  let out = '';
  for (let i = 0; i < fields.length; i++) {
    if (i > 0) out += ',';
    out += csvField(fields[i] as string);
  }
  return `${out}\n`;
}
