import type { S3Client } from '@aws-sdk/client-s3';
import { IntegrityError, ValidationError } from '../../contracts/errors';
import { S3LineWriter, type S3WriterOptions } from '../platform/s3';

/**
 * How the training channel is cut into files. SageMaker's `ShardedByS3Key` hands each of n instances about 1/n of
 * the channel's *objects* (not bytes), and an instance without an object trains on nothing, so: the shard count is a
 * multiple of the instance count (every instance gets the same number of shards), each shard holds at most
 * `maxRowsPerShard` rows, and the rows are dealt as evenly as whole rows allow (sizes differ by at most one row).
 */
export interface ShardPlan {
  readonly shards: number;
  /** Rows of each shard, in order (sum = the training rows). */
  readonly rows: readonly number[];
}

/** Shard names have five digits (contracts/s3-layout.ts partName), so key order is shard order up to this many. */
export const MAX_SHARDS = 99_999;

/**
 * shards = instanceCount × ⌈trainRows / (instanceCount × maxRowsPerShard)⌉; shard k of S gets ⌊T/S⌋ rows, one more
 * for the first T mod S shards.
 * @throws ValidationError when there are fewer training rows than instances (some instance would get no data)
 */
export function planShards(trainRows: number, instanceCount: number, maxRowsPerShard: number): ShardPlan {
  for (const [name, v] of [
    ['trainRows', trainRows],
    ['instanceCount', instanceCount],
    ['maxRowsPerShard', maxRowsPerShard],
  ] as const) {
    if (!Number.isInteger(v) || v < (name === 'trainRows' ? 0 : 1)) {
      throw new ValidationError(
        `planShards: ${name} must be a ${name === 'trainRows' ? 'non-negative' : 'positive'} integer, got ${v}`,
      );
    }
  }
  if (trainRows < instanceCount) {
    throw new ValidationError(
      `${trainRows} training row(s) cannot be sharded over training.instanceCount ${instanceCount} instances: every instance needs at least one row`,
    );
  }
  const shards = instanceCount * Math.max(1, Math.ceil(trainRows / (instanceCount * maxRowsPerShard)));
  if (shards > MAX_SHARDS) {
    throw new ValidationError(
      `${trainRows} training rows need ${shards} shards of at most ${maxRowsPerShard} rows (more than ${MAX_SHARDS}): raise training.maxRowsPerShard`,
    );
  }
  if (shards > trainRows) {
    throw new ValidationError(
      `${trainRows} training row(s) in ${shards} shards of at most ${maxRowsPerShard} rows would leave shards empty: raise training.maxRowsPerShard`,
    );
  }
  const base = Math.floor(trainRows / shards);
  const extra = trainRows % shards;
  return { shards, rows: Array.from({ length: shards }, (_, k) => base + (k < extra ? 1 : 0)) };
}

/**
 * Writes lines into consecutive shard objects following a {@link ShardPlan}: the first `rows[0]` lines to shard 1,
 * the next `rows[1]` to shard 2, … Concatenating the shards in key order gives back the lines in the order written,
 * so a model trained on all shards sees exactly the rows of the one-file channel, in the same order. One shard is
 * open at a time (memory of one writer).
 */
export class ShardedLineWriter {
  private index = 0;
  private inShard = 0;
  private current: S3LineWriter | undefined;
  private readonly written: string[] = [];

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly keyOf: (shard: number) => string,
    private readonly plan: ShardPlan,
    private readonly options: S3WriterOptions = {},
  ) {}

  /** Keys of the shards closed so far. */
  get keys(): readonly string[] {
    return this.written;
  }

  /**
   * Write one line (ending in '\n'); closes a shard when it is full and opens the next. Returns a promise only when
   * it uploads (a part, or a shard's end), so the per-row path stays synchronous.
   */
  write(line: string): Promise<void> | undefined {
    if (this.index < this.plan.shards && this.inShard >= this.plan.rows[this.index]!) {
      return this.next().then(() => this.write(line));
    }
    if (this.index >= this.plan.shards) {
      const total = this.plan.rows.reduce((a, b) => a + b, 0);
      throw new IntegrityError(`ShardedLineWriter: more lines than the ${total} the shard plan holds`);
    }
    this.current ??= new S3LineWriter(this.s3, this.bucket, this.keyOf(this.index + 1), this.options);
    this.inShard += 1;
    return this.current.write(line) ? this.current.flush() : undefined;
  }

  private async next(): Promise<void> {
    if (this.current) {
      await this.current.close();
      this.written.push(this.current.key);
    }
    this.current = undefined;
    this.index += 1;
    this.inShard = 0;
  }

  /** Close the last shard. @throws IntegrityError when fewer lines came than the plan holds */
  async close(): Promise<readonly string[]> {
    const done = this.index === this.plan.shards - 1 && this.inShard === this.plan.rows[this.index];
    if (!done) {
      throw new IntegrityError(
        `ShardedLineWriter: shard ${this.index + 1} of ${this.plan.shards} holds ${this.inShard} of its ${this.plan.rows[this.index] ?? 0} rows at close`,
      );
    }
    await this.next();
    return this.written;
  }

  /** Drop the open shard's upload (closed shards stay: their keys are deterministic, a retry overwrites them). */
  async abort(): Promise<void> {
    await this.current?.abort();
    this.current = undefined;
  }
}
