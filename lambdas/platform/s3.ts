import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { DependencyError, NotFoundError } from '../../contracts/errors';

/** S3 accepts multipart parts of at least 5 MiB (except the last). */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const DEFAULT_PART_BYTES = 8 * 1024 * 1024;

export interface S3WriterOptions {
  contentType?: string;
  /** Buffered text (in UTF-16 code units, a lower bound of the UTF-8 bytes) that triggers a part upload. */
  partBytes?: number;
}

export interface S3WriteResult {
  bucket: string;
  key: string;
  uri: string;
  lines: number;
  bytes: number;
}

/**
 * Streams text lines to one S3 object with bounded memory: lines are buffered up to `partBytes` (default 8 MiB);
 * when the buffer fills, a multipart upload is started and the buffer goes up as a part. A small object (never
 * reaching one part) is written with a single PutObject. Memory per writer: at most one part plus one line.
 *
 * Usage: `if (w.write(line)) await w.flush();` … `await w.close()`; on any error `await w.abort()`.
 * Encryption: the buckets' default encryption (SSE-KMS with the data key) applies; nothing is set per request.
 *
 * Not `@aws-sdk/lib-storage`'s `Upload`: it takes a stream, so the callers' `if (write) await flush()` would become a
 * PassThrough with drain handling, it holds up to `queueSize` (default 4) parts at once instead of one, and it is one
 * more dependency; the create/upload/complete/abort calls below are all it would save.
 */
export class S3LineWriter {
  private chunks: string[] = [];
  private buffered = 0;
  private uploadId: string | undefined;
  private readonly parts: { ETag: string; PartNumber: number }[] = [];
  private lines = 0;
  private bytes = 0;
  private readonly partBytes: number;
  private closed = false;

  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    readonly key: string,
    private readonly options: S3WriterOptions = {},
  ) {
    this.partBytes = Math.max(options.partBytes ?? DEFAULT_PART_BYTES, MIN_PART_BYTES);
  }

  get uri(): string {
    return `s3://${this.bucket}/${this.key}`;
  }

  get lineCount(): number {
    return this.lines;
  }

  /** Buffer one line (must end with '\n'). Returns true when the caller should `await flush()`. */
  write(line: string): boolean {
    this.chunks.push(line);
    this.buffered += line.length;
    this.lines += 1;
    return this.buffered >= this.partBytes;
  }

  /** Upload the buffer as a part if it is full. */
  async flush(): Promise<void> {
    if (this.buffered < this.partBytes) return;
    await this.uploadPart();
  }

  private async uploadPart(): Promise<void> {
    const body = Buffer.from(this.chunks.join(''), 'utf8');
    this.chunks = [];
    this.buffered = 0;
    try {
      if (!this.uploadId) {
        const res = await this.s3.send(
          new CreateMultipartUploadCommand({
            Bucket: this.bucket,
            Key: this.key,
            ContentType: this.options.contentType,
          }),
        );
        this.uploadId = res.UploadId;
      }
      const partNumber = this.parts.length + 1;
      const res = await this.s3.send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: this.uploadId,
          PartNumber: partNumber,
          Body: body,
        }),
      );
      this.parts.push({ ETag: res.ETag ?? '', PartNumber: partNumber });
      this.bytes += body.length;
    } catch (err) {
      throw new DependencyError(`Writing ${this.uri} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Write what is left and finish the object. */
  async close(): Promise<S3WriteResult> {
    if (this.closed) throw new Error(`${this.uri} is already closed`);
    this.closed = true;
    try {
      if (this.uploadId) {
        if (this.buffered > 0) await this.uploadPart();
        await this.s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: this.key,
            UploadId: this.uploadId,
            MultipartUpload: { Parts: this.parts },
          }),
        );
      } else {
        const body = Buffer.from(this.chunks.join(''), 'utf8');
        this.chunks = [];
        await this.s3.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.key,
            Body: body,
            ContentType: this.options.contentType,
          }),
        );
        this.bytes += body.length;
      }
    } catch (err) {
      await this.abort();
      if (err instanceof DependencyError) throw err;
      throw new DependencyError(`Writing ${this.uri} failed: ${(err as Error).message}`, { cause: err });
    }
    return { bucket: this.bucket, key: this.key, uri: this.uri, lines: this.lines, bytes: this.bytes };
  }

  /** Drop a started multipart upload (best effort) so no orphaned parts are billed. */
  async abort(): Promise<void> {
    this.closed = true;
    this.chunks = [];
    if (!this.uploadId) return;
    const uploadId = this.uploadId;
    this.uploadId = undefined;
    await this.s3
      .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId }))
      .catch(() => undefined);
  }
}

/**
 * Write a small JSON document (reports, manifests, long object lists), pretty-printed. SSE-KMS with `kmsKeyArn` when
 * given; otherwise the bucket's default encryption applies. Returns the object's URI.
 * @throws DependencyError when S3 fails
 */
export async function putJson(
  s3: S3Client,
  bucket: string,
  key: string,
  value: unknown,
  options: { readonly kmsKeyArn?: string } = {},
): Promise<string> {
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: `${JSON.stringify(value, null, 2)}\n`,
        ContentType: 'application/json',
        ...(options.kmsKeyArn ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: options.kmsKeyArn } : {}),
      }),
    );
  } catch (err) {
    throw new DependencyError(`Writing s3://${bucket}/${key} failed: ${(err as Error).message}`, { cause: err });
  }
  return `s3://${bucket}/${key}`;
}

/**
 * The whole text of a small object.
 * @throws NotFoundError when it does not exist; DependencyError when S3 fails
 */
export async function getText(s3: S3Client, bucket: string, key: string): Promise<string> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!res.Body) throw new Error('no body');
    return await res.Body.transformToString('utf8');
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'NoSuchKey' || name === 'NotFound') {
      throw new NotFoundError(`s3://${bucket}/${key} does not exist`, { cause: err });
    }
    throw new DependencyError(`Reading s3://${bucket}/${key} failed: ${(err as Error).message}`, { cause: err });
  }
}
