import { ENTITY_ID_PATTERN, SEGMENT_PATTERN } from '../../domain/score-store/format';

/**
 * One line of a transform result (`<entity_id>,<segment>,<score>`) checked and parsed on its bytes, without a string
 * per field: at a million rows per part the loader's own CPU per row decides whether it keeps up with the cache.
 *
 * The byte rules come from ENTITY_ID_PATTERN and SEGMENT_PATTERN (probed once per byte below; a test keeps the two
 * in agreement), the score from SCORE_TEXT. A line the byte path does not accept — an error, or a score it does not
 * parse itself (exponent notation, more than 15 digits) — goes through the same checks on its text, which name the
 * reason or accept it.
 */

/** Decimal or scientific notation, no sign, no spaces; range is checked after parsing. */
export const SCORE_TEXT = /^(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

const ID_FIRST = 1;
const ID_REST = 2;
const SEG = 4;

const CLASS = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  const c = String.fromCharCode(b);
  if (ENTITY_ID_PATTERN.test(c)) CLASS[b]! |= ID_FIRST;
  if (ENTITY_ID_PATTERN.test(`0${c}`)) CLASS[b]! |= ID_REST;
  if (SEGMENT_PATTERN.test(c)) CLASS[b]! |= SEG;
}
const longest = (re: RegExp) => {
  let n = 1;
  while (n < 512 && re.test('0'.repeat(n + 1))) n++;
  return n;
};
const ID_MAX = longest(ENTITY_ID_PATTERN);
const SEG_MAX = longest(SEGMENT_PATTERN);
/** 10^k, exact in a double for k ≤ 22. */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
const COMMA = 44;

/** The fields of the last parsed line, as offsets into its bytes (the id starts at the line's start). */
export class ResultRow {
  idEnd = 0;
  segStart = 0;
  segEnd = 0;
  scoreStart = 0;
  score = 0;

  /** Parse `bytes[s, e)` (no line end); `undefined` when valid, else why not (for the error message). */
  parse(bytes: Buffer, s: number, e: number): string | undefined {
    return this.fast(bytes, s, e) ? undefined : this.slow(bytes, s, e);
  }

  private fast(b: Buffer, s: number, e: number): boolean {
    let i = s;
    if (i >= e || (CLASS[b[i]!]! & ID_FIRST) === 0) return false;
    for (i++; i < e && b[i] !== COMMA; i++) if ((CLASS[b[i]!]! & ID_REST) === 0) return false;
    if (i >= e || i - s > ID_MAX) return false;
    this.idEnd = i;
    const seg = ++i;
    for (; i < e && b[i] !== COMMA; i++) if ((CLASS[b[i]!]! & SEG) === 0) return false;
    if (i >= e || i - seg > SEG_MAX) return false;
    this.segStart = seg;
    this.segEnd = i;
    this.scoreStart = ++i;
    let mantissa = 0;
    let digits = 0;
    let frac = -1;
    for (; i < e; i++) {
      const c = b[i]!;
      if (c >= 48 && c <= 57) {
        mantissa = mantissa * 10 + (c - 48);
        digits++;
        if (frac >= 0) frac++;
      } else if (c === 46 && frac < 0) frac = 0;
      else return false;
    }
    // ≤ 15 digits: the mantissa and 10^frac are exact, so one division rounds exactly as Number(text) does.
    if (digits === 0 || digits > 15) return false;
    const score = frac > 0 ? mantissa / POW10[frac]! : mantissa;
    if (!(score <= 1)) return false;
    this.score = score;
    return true;
  }

  private slow(bytes: Buffer, s: number, e: number): string | undefined {
    const text = bytes.toString('latin1', s, e);
    const c1 = text.indexOf(',');
    const c2 = c1 < 0 ? -1 : text.indexOf(',', c1 + 1);
    if (c2 < 0 || text.indexOf(',', c2 + 1) >= 0) return 'expected 3 fields <entity_id>,<segment>,<score>';
    if (!ENTITY_ID_PATTERN.test(text.slice(0, c1))) return `entity id must match ${ENTITY_ID_PATTERN}`;
    const segment = text.slice(c1 + 1, c2);
    if (segment.length > 0 && !SEGMENT_PATTERN.test(segment)) {
      return `segment must be empty or match ${SEGMENT_PATTERN}`;
    }
    const scoreText = text.slice(c2 + 1);
    const score = SCORE_TEXT.test(scoreText) ? Number(scoreText) : Number.NaN;
    if (!(score >= 0 && score <= 1)) return 'score must be a number in 0..1';
    // Valid fields are ASCII, so the text's offsets are the bytes'.
    this.idEnd = s + c1;
    this.segStart = s + c1 + 1;
    this.segEnd = s + c2;
    this.scoreStart = s + c2 + 1;
    this.score = score;
    return undefined;
  }
}

export interface SegmentAgg {
  count: number;
  sum: number;
}

/** Count and score sum per segment value, looked up by the value's bytes (a string only for a value not seen lately). */
export class SegmentSums {
  private readonly byName = new Map<string, SegmentAgg>();
  private readonly recent: { bytes: Buffer; agg: SegmentAgg }[] = [];

  add(b: Buffer, s: number, e: number, score: number): void {
    const n = e - s;
    for (let k = 0; k < this.recent.length; k++) {
      const r = this.recent[k]!;
      const known = r.bytes;
      if (known.length !== n) continue;
      let j = 0;
      while (j < n && known[j] === b[s + j]) j++;
      if (j === n) {
        r.agg.count++;
        r.agg.sum += score;
        return;
      }
    }
    const name = b.toString('latin1', s, e);
    let agg = this.byName.get(name);
    if (agg === undefined) {
      agg = { count: 0, sum: 0 };
      this.byName.set(name, agg);
    }
    agg.count++;
    agg.sum += score;
    if (this.recent.length < 16) this.recent.push({ bytes: Buffer.from(b.subarray(s, e)), agg });
  }

  toRecord(): Record<string, SegmentAgg> {
    return Object.fromEntries(this.byName);
  }
}
