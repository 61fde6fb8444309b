import type { S3Client } from '@aws-sdk/client-s3';
import { IntegrityError } from '../../contracts/errors';
import { S3LineWriter } from '../platform/s3';

/**
 * Transform input parts sized by rows, not by objects: a big object is split into parts of at most `maxRows` rows;
 * small objects of one as-of day are coalesced into shared parts of up to `maxRows` rows.
 *
 * An object's rows join a shared part only once the object is known to be good (validated to its end, not
 * quarantined), so a file-level failure never leaves a quarantined object's rows in a part: while an object has at
 * most `coalesceRows` valid rows they are held in memory (≤ `coalesceRows` encoded lines), and appended to the day's
 * shared part on {@link ObjectSink.commit}. An object that grows past `coalesceRows` spills to parts of its own
 * (streamed, ≤ `maxRows` each, all full but the last), which become parts only on commit; on abort they are left out
 * of the manifest (the transform reads only the files the manifest lists).
 */

/** One source object's share of a part. */
export interface PartSource {
  key: string;
  etag: string;
  rows: number;
}

export interface InferencePart {
  /** File name inside `batch/<runId>/input/`, e.g. `part-00001.csv`; the transform writes `<part>.out`. */
  part: string;
  asOf: string;
  rows: number;
  /** The objects whose rows the part holds, in order (one for a split object's part, several for a coalesced one). */
  sources: PartSource[];
}

export interface PartWriterOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  /** Key prefix of the parts (ends with `/`). */
  readonly prefix: string;
  /** Most rows in one part (`batch.targetRowsPerPart`). */
  readonly maxRows: number;
  /**
   * Objects with at most this many valid rows are coalesced into shared parts; 0: none (each object its own parts).
   * @default - a quarter of maxRows
   */
  readonly coalesceRows?: number;
  /** File name of the n-th part written (1-based). */
  readonly name: (n: number) => string;
  /** Multipart upload part size of the S3 writers. */
  readonly partBytes?: number;
}

/** An open part file: its writer and what it holds so far. */
interface OpenPart {
  readonly writer: S3LineWriter;
  readonly part: InferencePart;
}

/** Writes the parts of a run (or of one prepare invocation) and lists them in `parts`. */
export class PartWriter {
  readonly parts: InferencePart[] = [];
  readonly coalesceRows: number;
  private written = 0;
  private shared: OpenPart | undefined;

  constructor(readonly options: PartWriterOptions) {
    this.coalesceRows = Math.max(0, Math.min(options.maxRows, options.coalesceRows ?? Math.floor(options.maxRows / 4)));
  }

  /** Start the rows of one object (objects are written one after another). */
  begin(key: string, etag: string, asOf: string): ObjectSink {
    return new ObjectSink(this, { key, etag, asOf });
  }

  /** Close the shared part, if open (end of the run). */
  async close(): Promise<void> {
    await this.closeShared();
  }

  /** Abort every open writer (on a failure that fails the run). */
  async abort(): Promise<void> {
    const open = this.shared;
    this.shared = undefined;
    await open?.writer.abort();
  }

  /** @internal A new part file for `asOf`. */
  open(asOf: string): OpenPart {
    this.written += 1;
    const part = this.options.name(this.written);
    const writer = new S3LineWriter(this.options.s3, this.options.bucket, `${this.options.prefix}${part}`, {
      contentType: 'text/csv',
      partBytes: this.options.partBytes,
    });
    return { writer, part: { part, asOf, rows: 0, sources: [] } };
  }

  /** @internal Close a part file and check it holds the rows it was given. */
  async finish(open: OpenPart): Promise<InferencePart> {
    const res = await open.writer.close();
    if (res.lines !== open.part.rows) {
      throw new IntegrityError(`${res.uri}: wrote ${res.lines} rows but the part lists ${open.part.rows}`);
    }
    return open.part;
  }

  /** @internal Append a good small object's lines to the day's shared part (a new one when full or another day). */
  async appendShared(source: PartSource, asOf: string, lines: readonly string[]): Promise<void> {
    if (
      this.shared &&
      (this.shared.part.asOf !== asOf || this.shared.part.rows + lines.length > this.options.maxRows)
    ) {
      await this.closeShared();
    }
    this.shared ??= this.open(asOf);
    const { writer, part } = this.shared;
    for (const line of lines) if (writer.write(line)) await writer.flush();
    part.rows += lines.length;
    part.sources.push(source);
  }

  /** @internal Add finished parts of an object to the list (in the order the files were named). */
  add(parts: readonly InferencePart[]): void {
    this.parts.push(...parts);
  }

  private async closeShared(): Promise<void> {
    const open = this.shared;
    this.shared = undefined;
    if (open) this.parts.push(await this.finish(open));
  }
}

/** The rows of one object on their way into parts: buffered while small, spilled to parts of its own when big. */
export class ObjectSink {
  /** Lines held until commit while the object is small; undefined once spilled (or when nothing is coalesced). */
  private buffer: string[] | undefined;
  private own: OpenPart | undefined;
  private readonly done: InferencePart[] = [];
  private rows = 0;

  constructor(
    private readonly w: PartWriter,
    private readonly object: { key: string; etag: string; asOf: string },
  ) {
    this.buffer = w.coalesceRows > 0 ? [] : undefined;
  }

  /** Add one encoded line (ending with `\n`); a returned promise must be awaited before the next write. */
  write(line: string): Promise<void> | undefined {
    this.rows += 1;
    if (this.buffer) {
      this.buffer.push(line);
      if (this.buffer.length <= this.w.coalesceRows) return undefined;
      return this.spill();
    }
    return this.toOwn(line);
  }

  /** The object is good: its rows become parts. Returns the rows written. */
  async commit(): Promise<number> {
    const { key, etag, asOf } = this.object;
    if (this.buffer) {
      if (this.buffer.length > 0) await this.w.appendShared({ key, etag, rows: this.buffer.length }, asOf, this.buffer);
      this.buffer = undefined;
    } else if (this.own) {
      this.done.push(await this.finishOwn());
    }
    this.w.add(this.done);
    return this.rows;
  }

  /** The object is quarantined or failed: none of its rows become parts. */
  async abort(): Promise<void> {
    this.buffer = undefined;
    const open = this.own;
    this.own = undefined;
    await open?.writer.abort();
  }

  private async spill(): Promise<void> {
    const lines = this.buffer ?? [];
    this.buffer = undefined;
    for (const line of lines) {
      const pending = this.toOwn(line);
      if (pending) await pending;
    }
  }

  /** Synchronous unless a buffer must be flushed or a full part closed (one promise per 8 MiB, not per row). */
  private toOwn(line: string): Promise<void> | undefined {
    if (this.own && this.own.part.rows >= this.w.options.maxRows) return this.rollThen(line);
    this.own ??= this.w.open(this.object.asOf);
    const { writer, part } = this.own;
    part.rows += 1;
    return writer.write(line) ? writer.flush() : undefined;
  }

  private async rollThen(line: string): Promise<void> {
    this.done.push(await this.finishOwn());
    const pending = this.toOwn(line);
    if (pending) await pending;
  }

  private async finishOwn(): Promise<InferencePart> {
    const open = this.own!;
    this.own = undefined;
    open.part.sources.push({ key: this.object.key, etag: this.object.etag, rows: open.part.rows });
    return this.w.finish(open);
  }
}
