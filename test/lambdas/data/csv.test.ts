import { Readable } from 'node:stream';
import { DependencyError, ValidationError } from '../../../contracts/errors';
import { type CsvEvent, csvLine, readCsv } from '../../../lambdas/data/csv';

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

  it('numbers records by physical line, keeps quoted commas and line breaks, flags bad UTF-8 and long lines', async () => {
    const got = await events([sample], 100);
    expect(got).toEqual([
      { kind: 'record', line: 1, fields: ['a', 'b', 'c'], invalidUtf8: false },
      { kind: 'record', line: 2, fields: ['1', 'x, y', '3'], invalidUtf8: false },
      { kind: 'record', line: 5, fields: ['multi\nline', 'é', '€'], invalidUtf8: false },
      { kind: 'record', line: 6, fields: ['bad\uFFFD', '2', '3'], invalidUtf8: true },
      { kind: 'enormous_line', line: 7, detail: 'line has 120 bytes, more than the limit of 100; not parsed' },
      { kind: 'record', line: 8, fields: ['7', '8', '9'], invalidUtf8: false },
      { kind: 'malformed_csv', line: 9, detail: expect.stringContaining('CSV_QUOTE_NOT_CLOSED') },
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

  it('flags exactly the record holding bad bytes (stray quotes are kept as text)', async () => {
    const got = await events([Buffer.from('a,b\r\n"x"y'), Buffer.from([0xff]), Buffer.from(',1\n2,3\r\n')]);
    expect(
      got.map((e) => (e.kind === 'record' ? `${e.line}:${e.invalidUtf8}:${e.fields[0]}` : `${e.line}:${e.kind}`)),
    ).toEqual(['1:false:a', '2:true:"x"y\uFFFD', '3:false:2']);
  });

  it('fails the file on a quoted record growing past 4 × the line limit (never buffers it forever)', async () => {
    const lines = Array.from({ length: 50 }, () => 'y'.repeat(50)).join('\n');
    await expect(events([`a,b\n"${lines}`], 100)).rejects.toThrow(ValidationError);
    await expect(events([`a,b\n"${lines}`], 100)).rejects.toThrow(/test.csv: a record exceeds 400 bytes/);
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

  it('writes RFC 4180 lines', () => {
    expect(csvLine(['a', 'b,c', 'say "hi"', '', ' x'])).toBe('a,"b,c","say ""hi""",," x"\n');
  });
});
