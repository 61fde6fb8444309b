import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { DependencyError, IntegrityError, NotFoundError, PipelineError } from '../../../contracts/errors';
import type { Stamp } from '../../domain/score-store/format';
import type { ScoreStore } from '../../domain/score-store/store';
import { bufferBudget, type LoaderBuffer, loaderBuffer } from './buffer';
import { corrupt, MAX_LINE_LENGTH, ResultLines } from './lines';
import type { SegmentAgg } from './rows';

export type { SegmentAgg } from './rows';

/**
 * LoadScores (one Map iteration per transform result file): stream `<entity_id>,<segment>,<score>` rows from S3 into the
 * score store with the conditional batch upsert, and return counts plus per-segment sums for FinalizeScores.
 *
 * Parsing: a validating line splitter on the bytes (rows.ts) instead of csv-parse. The file is machine-written by the
 * batch transform from our own encoded input: no header, no quoting, ids and segment values restricted to
 * `[A-Za-z0-9_.-]`. Every field is checked against those patterns, so anything a CSV parser would treat specially
 * (quotes, extra commas, non-ASCII bytes) fails the line with an IntegrityError instead of being misread — and the
 * splitter is several times faster than a general CSV parser, which matters for the B1 load benchmark.
 */

export interface LoadScoresInput {
  readonly bucket: string;
  readonly resultKey: string;
  /** Part name or number from parts.json; echoed back. */
  readonly part: string | number;
  readonly asOf: string;
  /** Rows sent to the transform for this part. */
  readonly expectedRows: number;
  readonly runId: string;
  readonly modelVersion: string;
}

export interface LoadStreamResult {
  rowsRead: number;
  rowsApplied: number;
  rowsKeptNewer: number;
  /** Count and score sum per segment value (rows with an empty segment count only in the totals). */
  segments: Record<string, SegmentAgg>;
  /** Sum of all scores of this file. */
  sum: number;
  /** Rows counted into `sum` (= rowsRead). */
  count: number;
}

export interface LoadScoresOutput extends LoadStreamResult {
  readonly resultKey: string;
  readonly part: string | number;
  /** The part's as-of date (echoed so FinalizeScores can find the run's newest). */
  readonly asOf: string;
}

export interface LoadStreamOptions {
  readonly stamp: Stamp;
  readonly ttlSeconds: number;
  /** Name of the file in messages, e.g. `s3://bucket/key`. */
  readonly source: string;
  /** When given, more rows than this fail at once and fewer fail at the end. */
  readonly expectedRows?: number;
  /** @default 1000 */
  readonly batchSize?: number;
  /** @default 8 */
  readonly maxInFlight?: number;
  /**
   * The row buffer (buffer.ts sizes it; one buffer: rows wait while it is sent). @default - the writer's defaults
   * (two buffers of 200 000 rows)
   */
  readonly buffer?: LoaderBuffer;
}

export { MAX_LINE_LENGTH } from './lines';

/**
 * Load one result stream into Redis. Memory: one chunk, one partial line, the writer's row buffers (`buffer`) and
 * `batchSize × maxInFlight` rows being sent.
 *
 * @throws IntegrityError naming file and line for a missing or corrupt line or a row-count mismatch
 * @throws DependencyError when the cache (or the stream) fails
 */
export async function loadScoresFromStream(
  store: ScoreStore,
  readable: AsyncIterable<Uint8Array | string>,
  opts: LoadStreamOptions,
): Promise<LoadStreamResult> {
  const writer = store.scoreWriter({
    stamp: opts.stamp,
    ttlSeconds: opts.ttlSeconds,
    ...(opts.batchSize === undefined ? {} : { batchSize: opts.batchSize }),
    ...(opts.maxInFlight === undefined ? {} : { maxInFlight: opts.maxInFlight }),
    ...(opts.buffer === undefined
      ? {}
      : { bufferRows: opts.buffer.rows, bufferBytes: opts.buffer.bytes, buffers: 1 as const }),
  });
  const { source, expectedRows } = opts;
  const lines = new ResultLines(writer, source, expectedRows);
  let rest: Buffer | undefined;

  try {
    try {
      for await (const chunk of readable) {
        const next =
          typeof chunk === 'string'
            ? Buffer.from(chunk, 'utf8')
            : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        const bytes = rest === undefined ? next : Buffer.concat([rest, next]);
        let start = lines.feed(bytes, 0);
        while (lines.pending !== undefined) {
          const w = lines.pending;
          lines.pending = undefined;
          await w;
          start = lines.feed(bytes, start);
        }
        // A copy: the stream may reuse its chunk.
        rest = start === bytes.length ? undefined : Buffer.from(bytes.subarray(start));
        if (rest !== undefined && rest.length > MAX_LINE_LENGTH + 1) {
          throw corrupt(source, lines.lineNo + 1, `line longer than ${MAX_LINE_LENGTH}`, rest.toString('latin1'));
        }
      }
    } catch (err) {
      if (err instanceof PipelineError) throw err;
      throw new DependencyError(`${source}: reading the file failed: ${(err as Error).message}`, { cause: err });
    }
    if (rest !== undefined) {
      const w = lines.line(rest, 0, rest.length);
      if (w !== undefined) await w;
    }
    const rows = lines.rows;
    const counts = await writer.finish();
    if (expectedRows !== undefined && rows !== expectedRows) {
      throw new IntegrityError(
        `${source}: ${rows} rows in the transform output but ${expectedRows} rows were sent to it (a missing or extra line)`,
      );
    }
    if (counts.applied + counts.keptNewer !== rows) {
      throw new IntegrityError(
        `${source}: ${rows} rows read but the store acknowledged ${counts.applied + counts.keptNewer} (applied ${counts.applied}, kept newer ${counts.keptNewer})`,
      );
    }
    return {
      rowsRead: rows,
      rowsApplied: counts.applied,
      rowsKeptNewer: counts.keptNewer,
      segments: lines.segments.toRecord(),
      sum: lines.sum,
      count: rows,
    };
  } catch (err) {
    await writer.abandon();
    throw err;
  }
}

export interface LoadScoresDeps {
  readonly s3: S3Client;
  readonly store: ScoreStore;
}

export interface LoadScoresSettings {
  readonly ttlSeconds: number;
  readonly batchSize?: number;
  readonly maxInFlight?: number;
  /** Bytes the row buffers may take (buffer.ts). @default bufferBudget() (half of 1 024 MB) */
  readonly bufferBudgetBytes?: number;
}

/**
 * Stream `s3://bucket/resultKey` into the score store and check its row count against `expectedRows`. The rows are
 * buffered whole when the part fits the buffer budget (sized from `expectedRows` and the object's length, buffer.ts).
 *
 * @throws NotFoundError when the result file does not exist
 * @throws IntegrityError for a corrupt/missing line or a row-count mismatch
 * @throws DependencyError when S3 or the cache fails (the run fails; the ledger stays untouched)
 */
export async function loadScores(
  deps: LoadScoresDeps,
  input: LoadScoresInput,
  settings: LoadScoresSettings,
): Promise<LoadScoresOutput> {
  const source = `s3://${input.bucket}/${input.resultKey}`;
  let body: AsyncIterable<Uint8Array> | undefined;
  let length: number | undefined;
  try {
    const out = await deps.s3.send(new GetObjectCommand({ Bucket: input.bucket, Key: input.resultKey }));
    body = out.Body as AsyncIterable<Uint8Array> | undefined;
    length = out.ContentLength;
  } catch (err) {
    if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') {
      throw new NotFoundError(`Transform result ${source} (part ${input.part}) does not exist`);
    }
    throw new DependencyError(`Cannot read ${source}: ${(err as Error).message}`, { cause: err });
  }
  if (body === undefined) throw new DependencyError(`${source}: S3 returned no body`);
  const result = await loadScoresFromStream(deps.store, body, {
    stamp: { asOf: input.asOf, runId: input.runId, modelVersion: input.modelVersion },
    ttlSeconds: settings.ttlSeconds,
    source,
    expectedRows: input.expectedRows,
    ...(settings.batchSize === undefined ? {} : { batchSize: settings.batchSize }),
    ...(settings.maxInFlight === undefined ? {} : { maxInFlight: settings.maxInFlight }),
    buffer: loaderBuffer(input.expectedRows, length, settings.bufferBudgetBytes ?? bufferBudget()),
  });
  return { resultKey: input.resultKey, part: input.part, asOf: input.asOf, ...result };
}
