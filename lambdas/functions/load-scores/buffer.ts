/**
 * How many rows the loader buffers before it sends them (the bucket writer's `bufferRows`, bucket-writer.ts). A script
 * call pays per bucket it touches (an HSET, an EXPIRE, a key), so the rows one buffer holds per bucket decide the
 * server's cost per row: the loader buffers the whole part when it fits its memory budget, else as many rows as fit.
 * One buffer, not two that alternate (one filling while the other is sent): with 1 M rows into the default layout
 * one buffer of the whole part cost 2.5–2.8 µs/row of server CPU and loaded 1.1–1.4× redis-cli, two of half the
 * part 3.5–3.7 µs/row and 0.8–1.1× (same run) — the server is the bottleneck, so rows per bucket beat the overlap.
 *
 * Memory per buffered row: {@link ROW_INDEX_BYTES} (bucket slot and record offset, twice for the radix sort) plus its
 * record (3 + id + score text bytes), which is never longer than its line in the result file
 * (`<id>,<segment>,<score>\n`), so a part of `rows` rows and `bytes` bytes needs at most `16 × rows + bytes`.
 */

/** Bytes per buffered row besides its record. */
export const ROW_INDEX_BYTES = 16;
/** Share of the function's memory the row buffers may take (the rest: Node, the SDK, the stream, the calls). */
export const BUFFER_MEMORY_SHARE = 0.5;
/** Memory assumed when the platform does not say (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE` unset: tests, local runs). */
export const DEFAULT_MEMORY_MB = 1_024;
/** Rows per buffer at most (the writer's limit: 32-bit row indices). */
const MAX_ROWS = 2 ** 24;

/** The writer's buffer: rows and record bytes allocated up front (writer options `bufferRows`, `bufferBytes`). */
export interface LoaderBuffer {
  readonly rows: number;
  readonly bytes: number;
}

/** The row buffers' budget in bytes for a function of `memoryMb` MB. */
export function bufferBudget(memoryMb: number = DEFAULT_MEMORY_MB): number {
  if (!(memoryMb > 0)) throw new RangeError(`memory must be a positive number of MB, got ${memoryMb}`);
  return Math.floor(memoryMb * 1024 ** 2 * BUFFER_MEMORY_SHARE);
}

/**
 * The buffer for a part of `rows` rows and `bytes` bytes (the result file's length; `undefined`: 40 bytes a row are
 * assumed): the whole part when `16 × rows + bytes` fits `budgetBytes`, else as many rows of the part's average
 * length as fit (a buffer of longer rows than the average doubles its records' bytes once more).
 */
export function loaderBuffer(rows: number, bytes: number | undefined, budgetBytes: number): LoaderBuffer {
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`rows must be a non-negative integer, got ${rows}`);
  if (!(budgetBytes > 0)) throw new RangeError(`the buffer budget must be positive, got ${budgetBytes}`);
  const partBytes = Math.max(rows, bytes ?? rows * 40);
  if (ROW_INDEX_BYTES * rows + partBytes <= budgetBytes && rows < MAX_ROWS) {
    // One row more than the part: the buffer never fills, so the writer's finish sends it once the stream has ended
    // (sent and awaited on the part's last row, inside the stream loop, a cache killed mid-call hung the load in the
    // fault suite, test/faults/batch-faults.test.ts).
    return { rows: rows + 1, bytes: Math.max(64, partBytes) };
  }
  const average = partBytes / rows;
  const fit = Math.max(1, Math.min(MAX_ROWS, Math.floor(budgetBytes / (ROW_INDEX_BYTES + average))));
  return { rows: fit, bytes: Math.max(64, Math.ceil(fit * average)) };
}
