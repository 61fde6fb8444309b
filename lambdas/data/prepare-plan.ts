import { ValidationError } from '../../contracts/errors';
import { partitionDate } from '../../contracts/s3-layout';
import { DEFAULT_LAYOUT, formatLayout, type ScoreLayout } from '../../contracts/score-layout';

/**
 * The plan of a run's prepare fan-out: which objects each prepare task (one PrepareSlice invocation) reads, and which
 * slice of their rows it keeps (see `RowSlice` in validator.ts).
 *
 * Objects are grouped by as-of day (`dt=`); the days, ordered by their first key, are packed whole into tasks of at
 * most `bytesPerTask` bytes. A day larger than the budget becomes N = ⌈day bytes / budget⌉ tasks that each read all
 * of the day's objects but keep only the rows whose entity falls in their 1/N of the score store's buckets (the
 * layout is recorded in the task, so every slice uses the same): every copy of an entity lands in the same task, so
 * the run-level duplicate rule (a repeated entity of one day across objects: the later object in key order loses)
 * stays exact, the parts of a slice cover 1/N of the buckets (the loader writes N times as many rows per bucket as
 * with random parts), and no CSV is split by byte range (a quoted field may hold a newline). A
 * slice still parses every byte of its day (it skips the rows it does not own after splitting the line), which is
 * what bounds one day: see README, Batch inference, "Prepare fans out". Objects without a `dt=` partition (quarantined
 * whole, never read) go to one task of their own.
 */

/** One object a prepare task reads, pinned to its ETag. */
export interface PrepareTaskObject {
  key: string;
  etag: string;
  /** Bytes (the ledger's size, or HeadObject's). */
  size: number;
}

/** One prepare task: an item of the PrepareTasks Distributed Map. */
export interface PrepareTask {
  /** 0-based index: the task's position in `prepare-tasks.json`, its partial result and its part names. */
  task: number;
  /** The objects it reads, in key order (several days when small days are packed together). */
  objects: PrepareTaskObject[];
  /** Slice this task keeps (0-based), of `slices`; 1 slice = every row. */
  slice: number;
  slices: number;
  /**
   * The score store layout (`SCORE_LAYOUT` text) whose bucket ranges the slices own; set when `slices` > 1.
   * @default - DEFAULT_LAYOUT
   */
  layout?: string;
  /** Bytes the task reads (a slice reads the whole day). */
  bytes: number;
}

/** Bytes one prepare task reads when the caller gives no budget (`batch.prepareBytesPerTask`'s default). */
export const DEFAULT_PREPARE_BYTES_PER_TASK = 512 * 1024 ** 2;

const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * The prepare tasks of a run's objects (see the module comment); slices follow `layout`'s buckets.
 * @throws ValidationError when there is no object, an object is listed twice or the budget is not a positive number
 */
export function planPrepareTasks(
  objects: readonly PrepareTaskObject[],
  bytesPerTask: number,
  layout: ScoreLayout = DEFAULT_LAYOUT,
): PrepareTask[] {
  if (objects.length === 0) throw new ValidationError('PlanPrepare: no objects to prepare');
  if (!(bytesPerTask > 0)) throw new ValidationError(`PlanPrepare: bytesPerTask must be positive, got ${bytesPerTask}`);
  const sorted = [...objects].sort(byKey);
  const days = new Map<string, PrepareTaskObject[]>();
  const undated: PrepareTaskObject[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const o = sorted[i]!;
    if (i > 0 && sorted[i - 1]!.key === o.key) throw new ValidationError(`PlanPrepare: ${o.key} is listed twice`);
    const day = partitionDate(o.key);
    if (day === undefined) undated.push(o);
    else days.set(day, [...(days.get(day) ?? []), o]);
  }
  const tasks: PrepareTask[] = [];
  let open: PrepareTask | undefined;
  const add = (t: Omit<PrepareTask, 'task'>): PrepareTask => {
    const task = { task: tasks.length, ...t };
    tasks.push(task);
    return task;
  };
  for (const day of days.values()) {
    const bytes = day.reduce((n, o) => n + o.size, 0);
    if (bytes > bytesPerTask) {
      const slices = Math.ceil(bytes / bytesPerTask);
      const text = formatLayout(layout);
      for (let slice = 0; slice < slices; slice++) add({ objects: day, slice, slices, bytes, layout: text });
      continue;
    }
    if (open && open.bytes + bytes <= bytesPerTask) {
      open.objects.push(...day);
      open.bytes += bytes;
    } else {
      open = add({ objects: [...day], slice: 0, slices: 1, bytes });
    }
  }
  if (undated.length > 0) add({ objects: undated, slice: 0, slices: 1, bytes: 0 });
  return tasks;
}
