import { Readable } from 'node:stream';
import { DependencyError } from '../../../contracts/errors';
import { type CsvEvent, csvLine, readCsv, splitCsvLine } from '../../../lambdas/data/csv';

async function events(chunks: (string | Buffer)[], maxLineBytes?: number): Promise<CsvEvent[]> {
  const out: CsvEvent[] = [];
  const body = Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
  for await (const e of readCsv(body, 'test.csv', { maxLineBytes })) out.push(e);
  return out;
}

describe('readCsv', () => {
  const sample = Buffer.concat([
    Buffer.from('\uFEFFa,b,c\r\n1,"x, y",3\r\n\r\n"multi\nline",é,€\n'),
    Buffer.from([0x62, 0x61, 0x64, 0xff, 0x2c, 0x32, 0x2c, 0x33, 0x0a]), // bad\xff,2,3
    Buffer.from(`${'z'.repeat(120)}\n7,8,9\n"unterminated,1\n`),
  ]);

  it('gives one event per physical line: quoted commas kept, an open quote is that line only, bad UTF-8 and long lines flagged', async () => {
    const got = await events([sample], 100);
    expect(got).toEqual([
      { kind: 'record', line: 1, fields: ['a', 'b', 'c'], invalidUtf8: false },
      { kind: 'record', line: 2, fields: ['1', 'x, y', '3'], invalidUtf8: false },
      { kind: 'malformed_csv', line: 4, detail: expect.stringContaining('CSV_QUOTE_NOT_CLOSED'), text: '"multi' },
      { kind: 'record', line: 5, fields: ['line"', 'é', '€'], invalidUtf8: false },
      { kind: 'record', line: 6, fields: ['bad\uFFFD', '2', '3'], invalidUtf8: true },
      {
        kind: 'enormous_line',
        line: 7,
        detail: 'line has 120 bytes, more than the limit of 100; not parsed',
        text: 'z'.repeat(100),
      },
      { kind: 'record', line: 8, fields: ['7', '8', '9'], invalidUtf8: false },
      {
        kind: 'malformed_csv',
        line: 9,
        detail: expect.stringContaining('CSV_QUOTE_NOT_CLOSED'),
        text: '"unterminated,1',
      },
    ]);
  });

  it('a stray quote swallows nothing: every later line is its own record with its own number', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => `c${i},${'t'.repeat(200)}`).join('\n');
    const got = await events([`id,x\n"c-stray,1\n${rows}\n`], 1000);
    expect(got[1]).toEqual(expect.objectContaining({ kind: 'malformed_csv', line: 2, text: '"c-stray,1' }));
    const recs = got.filter((e) => e.kind === 'record');
    expect(recs).toHaveLength(2001);
    expect(recs[recs.length - 1]).toMatchObject({ line: 2002, fields: ['c1999', 't'.repeat(200)] });
  });

  it('a quoted CR LF does not shift later line numbers, and the invalid-UTF-8 flag stays on its own line', async () => {
    const bytes = Buffer.concat([
      Buffer.from('id,x\r\nc1,"a\r\nb"\r\nc2,ok\r\nc3,'),
      Buffer.from([0xff]),
      Buffer.from('\r\nc4,fine\r\n'),
    ]);
    const got = await events([bytes]);
    expect(
      got.map((e) => `${e.line}:${e.kind}${e.kind === 'record' ? `:${e.fields[0]}:${e.invalidUtf8}` : ''}`),
    ).toEqual([
      '1:record:id:false',
      '2:malformed_csv',
      '3:record:b":false',
      '4:record:c2:false',
      '5:record:c3:true',
      '6:record:c4:false',
    ]);
  });

  it('gives the same events however the bytes are chunked', async () => {
    const whole = await events([sample], 100);
    for (let cut = 1; cut < sample.length; cut += 1) {
      const two = await events([sample.subarray(0, cut), sample.subarray(cut)], 100);
      expect(two).toEqual(whole);
    }
    const bytes = Array.from(sample, (b) => Buffer.from([b]));
    expect(await events(bytes, 100)).toEqual(whole);
  });

  it('flags exactly the line holding bad bytes; a quote inside an unquoted field is text, text after a closing quote is not CSV', async () => {
    const got = await events([Buffer.from('a,b\r\nx"y'), Buffer.from([0xff]), Buffer.from(',1\n"2"3,4\r\n5,6\n')]);
    expect(
      got.map((e) => (e.kind === 'record' ? `${e.line}:${e.invalidUtf8}:${e.fields[0]}` : `${e.line}:${e.kind}`)),
    ).toEqual(['1:false:a', '2:true:x"y\uFFFD', '3:malformed_csv', '4:false:5']);
  });

  it('an unbalanced quote before a long stretch of text never fails the file (the old "record exceeds" poison)', async () => {
    const lines = Array.from({ length: 50 }, () => 'y'.repeat(50)).join('\n');
    const got = await events([`a,b\n"${lines}\n`], 100);
    expect(got).toHaveLength(51);
    expect(got[1]).toMatchObject({ kind: 'malformed_csv', line: 2 });
    expect(got.slice(2).every((e) => e.kind === 'record')).toBe(true);
  });

  it('maps a broken byte stream to DependencyError naming the source', async () => {
    const broken = new Readable({
      read() {
        this.push(Buffer.from('a,b\n1,2\n'));
        this.destroy(new Error('socket hang up'));
      },
    });
    const it = readCsv(broken, 's3://b/k.csv');
    await expect(
      (async () => {
        for await (const _ of it) {
          // drain
        }
      })(),
    ).rejects.toThrow(DependencyError);
  });

  it('splits RFC 4180 lines and reads back what csvLine writes', () => {
    expect(splitCsvLine('a,,"b,c",')).toEqual(['a', '', 'b,c', '']);
    expect(splitCsvLine('"say ""hi""",x')).toEqual(['say "hi"', 'x']);
    const fields = ['a', 'b,c', 'say "hi"', '', ' x'];
    expect(splitCsvLine(csvLine(fields).trimEnd())).toEqual(fields);
  });

  it('writes RFC 4180 lines', () => {
    expect(csvLine(['a', 'b,c', 'say "hi"', '', ' x'])).toBe('a,"b,c","say ""hi""",," x"\n');
  });
});
