import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { respCommand, respSetForRow, writeRespFromRows, writeResultRows } from '../../bench/data';

const STAMP = { asOf: '2026-11-26', runId: 'batch-20261126T020000Z-bench', modelVersion: '1' };

describe('bench RESP generator (input of redis-cli --pipe in B1)', () => {
  it('encodes a command as an array of bulk strings with byte lengths', () => {
    expect(respCommand(['SET', 'k', 'v'])).toBe('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n');
    // "é" is 2 bytes in UTF-8: the bulk length counts bytes, not characters.
    expect(respCommand(['é'])).toBe('*1\r\n$2\r\né\r\n');
    expect(respCommand(['SET', 'k', ''])).toBe('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n');
  });

  it('turns a result row into SET score:<id> <loader value> EX <ttl>', () => {
    const value = '1|2026-11-26|batch-20261126T020000Z-bench|1|0.123456';
    expect(respSetForRow('C000000001,basic,0.123456', STAMP, 604800)).toBe(
      `*5\r\n$3\r\nSET\r\n$16\r\nscore:C000000001\r\n$${value.length}\r\n${value}\r\n$2\r\nEX\r\n$6\r\n604800\r\n`,
    );
    expect(() => respSetForRow('no-commas-here', STAMP, 60)).toThrow(/not a result row/);
  });

  it('writes one command per generated row, in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-data-'));
    try {
      const rows = join(dir, 'rows.csv');
      const resp = join(dir, 'rows.resp');
      await writeResultRows(rows, 2_500);
      const lines = readFileSync(rows, 'utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(2_500);
      for (const l of lines) expect(l).toMatch(/^C\d{9},(basic|standard|premium),(0|1)\.\d{6}$/);
      expect(await writeRespFromRows(rows, resp, STAMP, 60)).toBe(2_500);
      expect(readFileSync(resp, 'utf8')).toBe(lines.map((l) => respSetForRow(l, STAMP, 60)).join(''));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
