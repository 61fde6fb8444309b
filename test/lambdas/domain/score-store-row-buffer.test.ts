import { encodeRowPairs, RespEncoder, RowBuffer, recordStrings } from '../../../lambdas/domain/score-store/row-buffer';

const resp = (items: string[]) => items.map((s) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`).join('');

describe('RowBuffer', () => {
  it.each([
    ['one 16-bit pass', 1_000],
    ['two passes (slots ≥ 65 536)', 3_000_000],
  ])('orders rows by slot, rows of one slot in arrival order (%s)', (_name, slots) => {
    const rows = new RowBuffer(5_000);
    const line = Buffer.from('id,0.5');
    const want: { slot: number; i: number }[] = [];
    for (let i = 0; i < 5_000; i++) {
      const slot = (i * 7919 + (i % 3) * 65_536) % slots;
      const id = Buffer.from(`${line.toString()}${i}`);
      expect(rows.push(id, 0, 2, 3, id.length, slot)).toBe(i === 4_999);
      want.push({ slot, i });
    }
    want.sort((a, b) => a.slot - b.slot || a.i - b.i);
    const { slots: got, offsets } = rows.sorted();
    expect([...got]).toEqual(want.map((w) => w.slot));
    expect(offsets.length).toBe(5_000);
    expect([...offsets].map((o) => recordStrings(rows.bytes, o))).toEqual(want.map((w) => ['id', `0.5${w.i}`]));
  });

  it('grows its arena for long records and encodes pairs as RESP bulk strings', () => {
    const rows = new RowBuffer(4);
    const long = `0.${'1'.repeat(300)}`;
    const records = [
      ['c1', '0.25'],
      ['a'.repeat(64), long],
      ['z', '1'],
    ] as const;
    for (const [id, score] of records) {
      const b = Buffer.from(id + score);
      rows.push(b, 0, id.length, id.length, b.length, 0);
    }
    const { offsets } = rows.sorted();
    const enc = new RespEncoder(8, 0);
    encodeRowPairs(enc, rows.bytes, offsets, 0, 3, Buffer.from('1z|'));
    expect(enc.buf.toString('latin1', 0, enc.pos)).toBe(resp(records.flatMap(([id, s]) => [id, `1z|${s}`])));
    const e2 = new RespEncoder(4, 0);
    e2.bulkInt(-12_345);
    e2.bulkText('m{ä}');
    expect(e2.buf.toString('utf8', 0, e2.pos)).toBe(resp(['-12345', 'm{ä}']));
    expect(RespEncoder.head(3, ['EVALSHA']).toString()).toBe(`*3\r\n${resp(['EVALSHA'])}`);
  });
});
