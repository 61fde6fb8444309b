import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ConflictError, DependencyError, NotFoundError, PipelineError } from '../../contracts/errors';

/**
 * Streaming CSV reading (constant memory) for feature files, with ONE line-numbering authority: the physical line.
 *
 * Every physical line (LF or CRLF ending; a UTF-8 BOM on line 1 is dropped; blank lines are skipped) is exactly one
 * event: a record, or an issue carrying the line's original text. A record never spans lines: no value a feature
 * contract accepts contains a line break (numbers, booleans, dates, categories, entity ids), so a line ending inside a
 * quoted field is a stray or unbalanced quote, reported as `malformed_csv` on the line where it opens — the following
 * lines are read as the records they are and are never swallowed into it. This also means there is no "record too
 * large" failure: the longest thing ever buffered is one line (`maxLineBytes`).
 *
 * Per line: longer than `maxLineBytes` → `enormous_line` (its bytes are discarded, not buffered, up to the next line
 * break; the first 200 characters are kept as its text); not valid UTF-8 → the record is flagged `invalidUtf8` (bad
 * bytes become U+FFFD); fields are split by RFC 4180 on that line alone (a quote inside an unquoted field is kept as
 * text; `"a"b` or an unclosed quote is `malformed_csv`).
 *
 * csv-parse is not used: its records may span lines and it numbers lines on its own, which is what made a quoted CR LF
 * shift every later line number and a stray quote swallow the rest of a file.
 */

/** Default longest physical line accepted (bytes). A feature row of this contract is ~200 bytes. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

export type CsvIssueKind = 'enormous_line' | 'malformed_csv';

/** A data record: its fields as text, and its line. */
export interface CsvRecordEvent {
  kind: 'record';
  line: number;
  fields: string[];
  /** Set when the line is not valid UTF-8 (its bad bytes appear as U+FFFD in `fields`). */
  invalidUtf8: boolean;
}

/** A line the reader could not turn into a record; it is reported (and counted as a rejected row), never dropped. */
export interface CsvIssueEvent {
  kind: CsvIssueKind;
  line: number;
  detail: string;
  /** The line's original text (an enormous line: its first 200 characters). */
  text?: string;
}

export type CsvEvent = CsvRecordEvent | CsvIssueEvent;

export interface CsvReadOptions {
  /** Longest accepted physical line in bytes. @default DEFAULT_MAX_LINE_BYTES */
  maxLineBytes?: number;
}

const EXCERPT_CHARS = 200;
const LF = 10;
const CR = 13;

/**
 * Split one line into fields (RFC 4180 within the line). Returns the fields, or a string describing why the line is
 * not CSV.
 */
export function splitCsvLine(s: string): string[] | string {
  if (s.indexOf('"') === -1) return s.split(',');
  const fields: string[] = [];
  const n = s.length;
  let i = 0;
  for (;;) {
    if (s.charCodeAt(i) === 34) {
      const open = i;
      let val = '';
      let j = i + 1;
      for (;;) {
        const q = s.indexOf('"', j);
        if (q === -1)
          return `CSV_QUOTE_NOT_CLOSED: the quoted field opened at character ${open + 1} is not closed on this line`;
        val += s.slice(j, q);
        if (s.charCodeAt(q + 1) === 34) {
          val += '"';
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(val);
      if (i === n) return fields;
      if (s.charCodeAt(i) !== 44) {
        return `CSV_INVALID_CLOSING_QUOTE: text follows the closing quote at character ${i} (field ${fields.length})`;
      }
      i += 1;
    } else {
      const c = s.indexOf(',', i);
      if (c === -1) {
        fields.push(s.slice(i));
        return fields;
      }
      fields.push(s.slice(i, c));
      i = c + 1;
    }
    if (i === n) {
      fields.push('');
      return fields;
    }
  }
}

/** Line splitting state across chunks. */
class Lines {
  /** Number of the next line to complete. */
  line = 1;
  tail: Buffer | undefined;
  /** Set while discarding the rest of an enormous line: its byte count so far and its first characters. */
  skipping: { bytes: number; excerpt: string } | undefined;

  /** Bytes an enormous line's excerpt is taken from: always available, however the line was chunked. */
  private readonly excerptBytes: number;

  constructor(private readonly maxLineBytes: number) {
    this.excerptBytes = Math.min(EXCERPT_CHARS * 4, maxLineBytes);
  }

  /** The first characters of an enormous line (a character cut at the end becomes U+FFFD, which is fine here). */
  private excerpt(b: Buffer): string {
    const s = this.line === 1 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? b.subarray(3) : b;
    return s.toString('utf8').slice(0, EXCERPT_CHARS);
  }

  /** Events of the complete lines in `chunk` (and, at the end, of the last line without a line break). */
  *take(chunk: Buffer | undefined): Generator<CsvEvent> {
    let buf: Buffer;
    if (chunk === undefined) {
      if (this.skipping) yield this.enormous(this.line, this.skipping.bytes, this.skipping.excerpt);
      else if (this.tail) yield* this.block(this.tail, 0, this.tail.length);
      this.skipping = undefined;
      this.tail = undefined;
      return;
    }
    let pos = 0;
    if (this.skipping) {
      const nl = chunk.indexOf(LF);
      if (nl === -1) {
        this.skipping.bytes += chunk.length;
        return;
      }
      const bytes = this.skipping.bytes + nl - (nl > 0 && chunk[nl - 1] === CR ? 1 : 0);
      yield this.enormous(this.line, bytes, this.skipping.excerpt);
      this.skipping = undefined;
      this.line += 1;
      pos = nl + 1;
    }
    if (this.tail) {
      buf = Buffer.concat([this.tail, chunk.subarray(pos)]);
      this.tail = undefined;
      pos = 0;
    } else buf = chunk;
    const end = buf.lastIndexOf(LF) + 1;
    if (end > pos) yield* this.block(buf, pos, end);
    const restStart = Math.max(end, pos);
    const rest = buf.length - restStart;
    if (rest > this.maxLineBytes) {
      this.skipping = { bytes: rest, excerpt: this.excerpt(buf.subarray(restStart, restStart + this.excerptBytes)) };
    } else if (rest > 0) this.tail = Buffer.from(buf.subarray(restStart)); // a copy: the chunk is not retained
  }

  /** Events of the lines in `buf[pos, end)` (each ending in LF, except the file's last line). */
  private *block(buf: Buffer, pos: number, end: number): Generator<CsvEvent> {
    if (isUtf8(buf.subarray(pos, end))) {
      // Fast path: decode the block once and split the text.
      const text = buf.toString('utf8', pos, end);
      let p = 0;
      while (p < text.length) {
        let nl = text.indexOf('\n', p);
        if (nl === -1) nl = text.length;
        let s = text.slice(p, nl);
        if (s.charCodeAt(s.length - 1) === CR) s = s.slice(0, -1);
        const ev = this.lineEvent(s, false, s.length * 3 > this.maxLineBytes ? Buffer.byteLength(s) : 0);
        if (ev) yield ev;
        this.line += 1;
        p = nl + 1;
      }
      return;
    }
    let p = pos;
    while (p < end) {
      let nl = buf.indexOf(LF, p);
      if (nl === -1 || nl >= end) nl = end;
      let e = nl;
      if (e > p && buf[e - 1] === CR) e -= 1;
      const bytes = buf.subarray(p, e);
      const ev = this.lineEvent(bytes.toString('utf8'), !isUtf8(bytes), bytes.length);
      if (ev) yield ev;
      this.line += 1;
      p = nl + 1;
    }
  }

  private lineEvent(raw: string, invalidUtf8: boolean, bytes: number): CsvEvent | undefined {
    const s = this.line === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    if (s.length === 0) return undefined;
    if (bytes > this.maxLineBytes) {
      return this.enormous(
        this.line,
        bytes,
        this.excerpt(Buffer.from(s.slice(0, this.excerptBytes)).subarray(0, this.excerptBytes)),
      );
    }
    const fields = splitCsvLine(s);
    if (typeof fields === 'string') return { kind: 'malformed_csv', line: this.line, detail: fields, text: s };
    return { kind: 'record', line: this.line, fields, invalidUtf8 };
  }

  private enormous(line: number, bytes: number, text: string): CsvIssueEvent {
    return {
      kind: 'enormous_line',
      line,
      detail: `line has ${bytes} bytes, more than the limit of ${this.maxLineBytes}; not parsed`,
      text,
    };
  }
}

/**
 * Read CSV records from a byte stream, one event per non-blank physical line, in line order. Yields the header as the
 * first record. A stream error (S3 connection reset) rejects with {@link DependencyError}.
 */
export async function* readCsv(
  body: Readable | AsyncIterable<Uint8Array>,
  source: string,
  options: CsvReadOptions = {},
): AsyncGenerator<CsvEvent, void, undefined> {
  const lines = new Lines(options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
  const it = (body as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array | string>;
      try {
        next = await it.next();
      } catch (err) {
        throw err instanceof PipelineError ? err : streamError(source, err);
      }
      if (next.done) break;
      const v = next.value;
      const chunk = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.isBuffer(v) ? v : Buffer.from(v);
      yield* lines.take(chunk);
    }
    yield* lines.take(undefined);
  } finally {
    await it.return?.();
    const r = body as Partial<Readable>;
    if (typeof r.destroy === 'function' && !r.destroyed) r.destroy();
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
