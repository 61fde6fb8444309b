import { CopyObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  ConflictError,
  DependencyError,
  IntegrityError,
  NotFoundError,
  PipelineError,
  ValidationError,
} from '../../contracts/errors';
import { quarantineKey } from '../../contracts/s3-layout';
import { putJson, S3LineWriter } from '../platform/s3';
import { csvLine } from './csv';
import type { FileReport } from './validation-report';
import type { RejectedRow } from './validator';

/**
 * Quarantine of rejected rows: `artifacts/quarantine/<runId>/<original key>` (contracts/s3-layout.ts), a CSV with the
 * file's original header plus `_line` and `_reasons`, one row per rejected row. Streamed with {@link S3LineWriter}
 * (multipart once more than one part is buffered, so memory stays bounded for any number of rejected rows).
 * The object is created only when the file has at least one rejected row.
 */

/** `_reasons` text: `rule[column]='value': message` per violation, joined by ` | ` (single quotes keep CSV readable). */
export function formatReasons(row: RejectedRow): string {
  return row.reasons
    .map((r) => `${r.rule}${r.column ? `[${r.column}]` : ''}${r.value !== null ? `='${r.value}'` : ''}: ${r.message}`)
    .join(' | ');
}

export class QuarantineWriter {
  private writer: S3LineWriter | undefined;
  private header: string[] = [];
  rows = 0;

  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    readonly runId: string,
    readonly sourceKey: string,
    private readonly partBytes?: number,
    /** Where the rows go. @default - quarantineKey(runId, sourceKey) */
    private readonly keyOverride?: string,
  ) {}

  get key(): string {
    return this.keyOverride ?? quarantineKey(this.runId, this.sourceKey);
  }

  get uri(): string {
    return `s3://${this.bucket}/${this.key}`;
  }

  /** The source file's header (called once the header is read; a header-less file gets positional names). */
  setHeader(header: readonly string[]): void {
    this.header = [...header];
  }

  /**
   * Add a rejected row: its fields aligned to the header (missing ones empty; surplus fields of a ragged row are
   * kept in `_reasons`). Returns true when the caller should `await flush()`.
   */
  add(row: RejectedRow): boolean {
    if (!this.writer) {
      this.writer = new S3LineWriter(this.s3, this.bucket, this.key, {
        contentType: 'text/csv',
        partBytes: this.partBytes,
      });
      this.writer.write(csvLine([...this.header, '_line', '_reasons']));
    }
    const width = this.header.length;
    const out = new Array<string>(width + 2);
    for (let i = 0; i < width; i++) out[i] = row.fields[i] ?? '';
    let reasons = formatReasons(row);
    if (row.fields.length > width) reasons += ` | surplus fields: ${JSON.stringify(row.fields.slice(width))}`;
    if (row.text !== undefined) reasons += ` | original text: ${JSON.stringify(row.text)}`;
    out[width] = String(row.line);
    out[width + 1] = reasons;
    this.rows += 1;
    return this.writer.write(csvLine(out));
  }

  async flush(): Promise<void> {
    await this.writer?.flush();
  }

  /** Finish the object; returns its URI, or undefined when nothing was quarantined. */
  async close(): Promise<string | undefined> {
    if (!this.writer) return undefined;
    const res = await this.writer.close();
    return res.uri;
  }

  async abort(): Promise<void> {
    await this.writer?.abort();
  }
}

/** Add one rejected row to the file's quarantine object, uploading a part when the buffer is full. */
export async function quarantineRow(q: QuarantineWriter, row: RejectedRow): Promise<void> {
  if (q.add(row)) await q.flush();
}

/** CopyObject's limit: a larger object cannot be copied in one request. */
export const MAX_COPY_OBJECT_BYTES = 5 * 1024 ** 3;

/**
 * Quarantine a whole object whose file-level checks failed (inference): a server-side copy of the original to the
 * quarantine key plus `<key>.report.json` with the file report.
 *
 * Two cases get no copy, only the report plus a pointer `<key>.pointer.json` (`{ source, etag, sizeBytes, reason }`):
 * an object that no longer exists (`missing`), and one over 5 GiB (CopyObject refuses it). For the large one a pointer
 * rather than a multipart UploadPartCopy: the original stays where it is (the features bucket is retained and
 * versioned, and its ledger item names it QUARANTINED), a pointer is one small PUT, while a copy of many GB would
 * double the storage and take minutes of the function's time for bytes nobody needs twice.
 */
export async function quarantineObject(
  s3: S3Client,
  args: {
    sourceBucket: string;
    sourceKey: string;
    sourceEtag?: string;
    bucket: string;
    runId: string;
    report: FileReport;
    /** Size of the source, when known (over 5 GiB → pointer). */
    sizeBytes?: number;
    /** The source is gone: only the report and the pointer are written. */
    missing?: boolean;
  },
): Promise<string> {
  const key = quarantineKey(args.runId, args.sourceKey);
  const pointer = async (reason: string): Promise<string> => {
    await putJson(s3, args.bucket, `${key}.pointer.json`, {
      source: `s3://${args.sourceBucket}/${args.sourceKey}`,
      etag: args.sourceEtag ?? null,
      sizeBytes: args.sizeBytes ?? null,
      reason,
    });
    await putJson(s3, args.bucket, `${key}.report.json`, args.report);
    return `s3://${args.bucket}/${key}.pointer.json`;
  };
  if (args.missing) return pointer('the object no longer exists (or changed) since its arrival was recorded');
  if ((args.sizeBytes ?? 0) > MAX_COPY_OBJECT_BYTES)
    return pointer(`larger than ${MAX_COPY_OBJECT_BYTES} bytes: not copied`);
  try {
    await s3.send(
      new CopyObjectCommand({
        Bucket: args.bucket,
        Key: key,
        CopySource: `${args.sourceBucket}/${args.sourceKey.split('/').map(encodeURIComponent).join('/')}`,
        CopySourceIfMatch: args.sourceEtag,
      }),
    );
  } catch (err) {
    const name = (err as { name?: string }).name ?? '';
    // Gone or changed since it was read, or too large to copy in one request: a pointer instead (see above).
    if (['NoSuchKey', 'NotFound', 'PreconditionFailed'].includes(name)) {
      return pointer('the object no longer exists (or changed) since its arrival was recorded');
    }
    if (name === 'InvalidRequest' || name === 'EntityTooLarge') return pointer(`not copied: ${name}`);
    throw new DependencyError(
      `Copying s3://${args.sourceBucket}/${args.sourceKey} to quarantine failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
  await putJson(s3, args.bucket, `${key}.report.json`, args.report);
  return `s3://${args.bucket}/${key}`;
}

/** Nothing is dropped silently: rows in = rows used + rows quarantined. Throws {@link IntegrityError} otherwise. */
export function assertRowBalance(
  where: string,
  counts: { rowsIn: number; rowsUsed: number; rowsQuarantined: number },
): void {
  const { rowsIn, rowsUsed, rowsQuarantined } = counts;
  if (rowsIn !== rowsUsed + rowsQuarantined) {
    throw new IntegrityError(
      `${where}: rows in (${rowsIn}) != rows used (${rowsUsed}) + rows quarantined (${rowsQuarantined}); ${rowsIn - rowsUsed - rowsQuarantined} row(s) unaccounted for`,
    );
  }
}

/**
 * Why an object's failure cannot be fixed by retrying it (so it must not fail every later run), or undefined when it
 * can (a dependency outage: DependencyError) or is a bug of ours (IntegrityError): those fail the run.
 */
export function poisonReason(
  err: unknown,
): { rule: 'object_missing' | 'object_unreadable'; message: string } | undefined {
  if (err instanceof NotFoundError) {
    return { rule: 'object_missing', message: 'the object was deleted after its arrival was recorded' };
  }
  if (err instanceof ConflictError) {
    return {
      rule: 'object_missing',
      message: 'the object was rewritten after its arrival was recorded (the new version is scored on its own)',
    };
  }
  if (err instanceof DependencyError || err instanceof IntegrityError) return undefined;
  if (err instanceof ValidationError || !(err instanceof PipelineError)) {
    // A reader limit or an unexpected failure on this object's bytes: the same bytes fail the same way every run.
    const name = err instanceof Error ? err.name : 'Error';
    return { rule: 'object_unreadable', message: `the object could not be read to the end (${name})` };
  }
  return undefined;
}
