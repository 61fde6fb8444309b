import { IntegrityError } from '../../../contracts/errors';
import type { ScoreBatchWriter } from '../../domain/score-store/store';
import { ResultRow, SegmentSums } from './rows';

/** Longest line accepted (id 64 + segment 64 + score + commas, with room to spare). */
export const MAX_LINE_LENGTH = 512;

export function corrupt(source: string, line: number, reason: string, text: string): IntegrityError {
  const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return new IntegrityError(`${source} line ${line}: ${reason}: ${JSON.stringify(shown)}`);
}

/**
 * The synchronous part of a load: lines of the result stream checked (rows.ts), counted, summed per segment and
 * handed to the writer. Kept out of the async loop in core.ts because variables that live across an `await` are
 * kept in the generator's context, which made the per-byte scan several times slower.
 */
export class ResultLines {
  lineNo = 0;
  rows = 0;
  sum = 0;
  readonly segments = new SegmentSums();
  /** Set when the writer asked the caller to wait (its buffer is full) before the next {@link feed}. */
  pending: Promise<void> | undefined;
  private readonly row = new ResultRow();

  constructor(
    private readonly writer: ScoreBatchWriter,
    private readonly source: string,
    private readonly expectedRows: number | undefined,
  ) {}

  /**
   * Handle the complete lines of `bytes` from `from` on; stops early when the writer returns a promise (then
   * {@link pending} is set). Returns where the next line starts.
   */
  feed(bytes: Buffer, from: number): number {
    let start = from;
    const n = bytes.length;
    for (let i = from; i < n; i++) {
      if (bytes[i] !== 10) continue;
      const w = this.line(bytes, start, i);
      start = i + 1;
      if (w !== undefined) {
        this.pending = w;
        return start;
      }
    }
    return start;
  }

  /** One line `bytes[start, stop)` without its `\n` (a trailing `\r` is dropped). */
  line(bytes: Buffer, start: number, stop: number): Promise<void> | undefined {
    const { source, row } = this;
    const lineNo = ++this.lineNo;
    const end = stop > start && bytes[stop - 1] === 13 ? stop - 1 : stop;
    if (end === start) throw corrupt(source, lineNo, 'empty line (a missing row)', '');
    if (end - start > MAX_LINE_LENGTH) {
      throw corrupt(source, lineNo, `line longer than ${MAX_LINE_LENGTH}`, bytes.toString('latin1', start, end));
    }
    const bad = row.parse(bytes, start, end);
    if (bad !== undefined) throw corrupt(source, lineNo, bad, bytes.toString('latin1', start, end));
    const rows = ++this.rows;
    if (this.expectedRows !== undefined && rows > this.expectedRows) {
      throw new IntegrityError(
        `${source}: more rows than the ${this.expectedRows} sent to the transform (line ${lineNo})`,
      );
    }
    const score = row.score;
    this.sum += score;
    if (row.segEnd > row.segStart) this.segments.add(bytes, row.segStart, row.segEnd, score);
    return this.writer.addBytes(bytes, start, row.idEnd, row.scoreStart, end);
  }
}
