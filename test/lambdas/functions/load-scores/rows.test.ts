import { ENTITY_ID_PATTERN, SEGMENT_PATTERN } from '../../../../lambdas/domain/score-store/format';
import { ResultRow, SCORE_TEXT, SegmentSums } from '../../../../lambdas/functions/load-scores/rows';

/** The text checks the byte path must agree with (the previous string parser, kept as the reference). */
function reference(line: string): { id: string; segment: string; score: number } | undefined {
  const f = line.split(',');
  if (f.length !== 3) return undefined;
  const [id, segment, scoreText] = f as [string, string, string];
  if (!ENTITY_ID_PATTERN.test(id) || (segment.length > 0 && !SEGMENT_PATTERN.test(segment))) return undefined;
  const score = SCORE_TEXT.test(scoreText) ? Number(scoreText) : Number.NaN;
  return score >= 0 && score <= 1 ? { id, segment, score } : undefined;
}

function parsed(line: string) {
  const bytes = Buffer.from(line, 'latin1');
  const row = new ResultRow();
  const bad = row.parse(bytes, 0, bytes.length);
  if (bad !== undefined) return bad;
  return {
    id: bytes.toString('latin1', 0, row.idEnd),
    segment: bytes.toString('latin1', row.segStart, row.segEnd),
    score: row.score,
    scoreText: bytes.toString('latin1', row.scoreStart),
  };
}

describe('ResultRow (byte-level line check)', () => {
  it('accepts exactly the lines the entity, segment and score patterns accept, byte by byte', () => {
    const lines: string[] = [];
    for (let b = 0; b < 256; b++) {
      const c = String.fromCharCode(b);
      lines.push(
        `${c},basic,0.5`,
        `A${c}1,basic,0.5`,
        `A1${c},basic,0.5`,
        `A1,${c},0.5`,
        `A1,b${c}s,0.5`,
        `A1,,0${c}5`,
      );
    }
    for (const n of [63, 64, 65])
      lines.push(`${'a'.repeat(n)},s,0.1`, `a,${'s'.repeat(n)},0.1`, `a:${'.'.repeat(n - 2)},,1`);
    for (const line of lines) {
      const want = reference(line);
      const got = parsed(line);
      if (want === undefined) expect(typeof got).toBe('string');
      else expect(got).toMatchObject(want);
    }
  });

  it('parses scores exactly as Number() does, and names what is wrong', () => {
    const texts = ['0', '1', '1.', '.5', '0.25', '1.0000', '00.5', '0.123456789012345', '0.1234567890123456', '1e-1'];
    texts.push('1.5e-1', '5E-1', '0.0', '1.000000000000001', '2', '1.5', '-0.1', '', '.', 'NaN', '0x1', ' 0.5', '0.5 ');
    for (let i = 0; i < 20_000; i++) {
      const digits = 1 + (i % 17);
      texts.push(`0.${String(Math.floor(Math.random() * 10 ** Math.min(digits, 15))).padStart(digits, '0')}`);
    }
    for (const t of texts) {
      const want = reference(`c1,seg,${t}`);
      const got = parsed(`c1,seg,${t}`);
      if (want === undefined) expect(got).toBe('score must be a number in 0..1');
      else expect(got).toEqual({ id: 'c1', segment: 'seg', score: Number(t), scoreText: t });
    }
    expect(parsed('c1,seg')).toBe('expected 3 fields <entity_id>,<segment>,<score>');
    expect(parsed('c 1,seg,0.5')).toMatch(/^entity id must match/);
    expect(parsed('c1,s g,0.5')).toMatch(/^segment must be empty or match/);
  });
});

describe('SegmentSums', () => {
  it('sums by value past its cache of recent values, in first-seen order', () => {
    const sums = new SegmentSums();
    const want = new Map<string, { count: number; sum: number }>();
    for (let i = 0; i < 2_000; i++) {
      const name = `seg${(i * 7) % 40}`;
      const line = Buffer.from(`x,${name},`);
      const score = (i % 10) / 10;
      sums.add(line, 2, 2 + name.length, score);
      const w = want.get(name) ?? { count: 0, sum: 0 };
      w.count++;
      w.sum += score;
      want.set(name, w);
    }
    expect(sums.toRecord()).toEqual(Object.fromEntries(want));
    expect(Object.keys(sums.toRecord())).toEqual([...want.keys()]);
  });
});
