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
 * The shards of a channel written by several tasks at once (each shard by exactly one task): how many shards each
 * task writes, given the training rows each task holds. Every task gets the fewest shards of at most
 * `maxRowsPerShard` rows (none for a task without training rows); then, until the total is a multiple of
 * `instanceCount` (and at least one shard per instance), one more shard goes to the task whose shards are largest and
 * that can still give every shard a row. Within a task the rows are dealt as {@link planShards} deals them.
 * @throws ValidationError when no such split exists (fewer rows than shards needed, or more than MAX_SHARDS)
 */
export function allocateShards(taskRows: readonly number[], instanceCount: number, maxRowsPerShard: number): number[] {
  const total = taskRows.reduce((a, b) => a + b, 0);
  if (total < instanceCount) planShards(total, instanceCount, maxRowsPerShard); // throws the one-row-per-instance error
  const shards = taskRows.map((r) => Math.ceil(r / maxRowsPerShard));
  let sum = shards.reduce((a, b) => a + b, 0);
  const target = instanceCount * Math.max(1, Math.ceil(sum / instanceCount));
  while (sum < target) {
    let best = -1;
    for (let i = 0; i < taskRows.length; i++) {
      if (taskRows[i]! <= shards[i]!) continue;
      if (best < 0 || taskRows[i]! / Math.max(1, shards[i]!) > taskRows[best]! / Math.max(1, shards[best]!)) best = i;
    }
    if (best < 0) {
      throw new ValidationError(
        `${total} training row(s) in ${taskRows.length} task(s) cannot make a multiple of training.instanceCount ${instanceCount} non-empty shards of at most ${maxRowsPerShard} rows: raise training.maxRowsPerShard`,
      );
    }
    shards[best]! += 1;
    sum += 1;
  }
  if (sum > MAX_SHARDS) {
    throw new ValidationError(
      `${total} training rows need ${sum} shards of at most ${maxRowsPerShard} rows (more than ${MAX_SHARDS}): raise training.maxRowsPerShard`,
    );
  }
  return shards;
}

/** `rows` dealt over `shards` shards as evenly as whole rows allow (the first `rows mod shards` get one more). */
export function dealRows(rows: number, shards: number): ShardPlan {
  const base = Math.floor(rows / shards);
  const extra = rows % shards;
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
