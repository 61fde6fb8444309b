import { Readable } from 'node:stream';
import { loadDefaultContract } from '../../../lambdas/data/contract';
import {
  buildReport,
  type FileReport,
  summarizeReport,
  type ValidationMode,
  ViolationLog,
} from '../../../lambdas/data/validation-report';
import {
  measureValidationThroughput,
  type ParsedRow,
  type RejectedRow,
  validateCsvStream,
} from '../../../lambdas/data/validator';
import { isIsoDate } from '../../../lambdas/data/value-syntax';

const contract = loadDefaultContract();
const TRAIN_HEADER =
  'customer_id,as_of,churned,tenure_months,monthly_charges,total_charges,support_tickets_90d,logins_30d,has_autopay,plan,region';
const INF_HEADER =
  'customer_id,as_of,tenure_months,monthly_charges,total_charges,support_tickets_90d,logins_30d,has_autopay,plan,region';
const good = (id: string, extra: Partial<Record<string, string>> = {}) => {
  const r: Record<string, string> = {
    customer_id: id,
    as_of: '2026-11-01',
    churned: '0',
    tenure_months: '12',
    monthly_charges: '49.5',
    total_charges: '594',
    support_tickets_90d: '1',
    logins_30d: '20',
    has_autopay: 'true',
    plan: 'basic',
    region: 'north',
    ...extra,
  };
  return TRAIN_HEADER.split(',')
    .map((c) => r[c])
    .join(',');
};

async function run(
  input: string | Buffer | (string | Buffer)[],
  opts: { mode?: ValidationMode; expectedAsOf?: string; maxLineBytes?: number; max?: number } = {},
) {
  const chunks = (Array.isArray(input) ? input : [input]).map((c) => (typeof c === 'string' ? Buffer.from(c) : c));
  const valid: ParsedRow[] = [];
  const rejected: RejectedRow[] = [];
  const log = new ViolationLog(opts.max ?? 100);
  const report: FileReport = await validateCsvStream(Readable.from(chunks), {
    contract,
    mode: opts.mode ?? 'training',
    file: 'training/dt=2026-11-01/a.csv',
    log,
    expectedAsOf: opts.expectedAsOf,
    maxLineBytes: opts.maxLineBytes,
    onValid: (r) => {
      valid.push(r);
    },
    onRejected: (r) => {
      rejected.push(r);
    },
  });
  expect(report.rowsIn).toBe(report.rowsValid + report.rowsQuarantined);
  return { report, valid, rejected, log };
}
const rules = (r: RejectedRow) => r.reasons.map((x) => `${x.rule}:${x.column}`);

describe('validator: good input', () => {
  it('parses typed values in contract order, label first', async () => {
    const { report, valid } = await run(
      `${TRAIN_HEADER}\n${good('c1')}\n${good('c2', { total_charges: '', region: '' })}\n`,
    );
    expect(report.status).toBe('ok');
    expect(report).toMatchObject({ rowsIn: 2, rowsValid: 2, rowsQuarantined: 0 });
    expect(valid[0]).toEqual({
      line: 2,
      entityId: 'c1',
      asOf: '2026-11-01',
      label: 0,
      values: [12, 49.5, 594, 1, 20, 1, 'basic', 'north'],
    });
    expect(valid[1]!.values).toEqual([12, 49.5, null, 1, 20, 1, 'basic', null]);
  });

  it('accepts a BOM, CRLF line endings, any column order and quoted fields; chunk boundaries do not matter', async () => {
    const cols = TRAIN_HEADER.split(',').reverse();
    const row = (id: string) =>
      good(id)
        .split(',')
        .reverse()
        .map((v, i) => (i === 0 ? `"${v}"` : v))
        .join(',');
    const text = `\uFEFF${cols.join(',')}\r\n${row('c1')}\r\n${row('c2')}\r\n`;
    const bytes = Buffer.from(text);
    const chunks = [bytes.subarray(0, 2), bytes.subarray(2, 40), bytes.subarray(40, 41), bytes.subarray(41)];
    const { report, valid } = await run(chunks);
    expect(report.status).toBe('ok');
    expect(valid.map((r) => [r.line, r.entityId, r.values[7]])).toEqual([
      [2, 'c1', 'north'],
      [3, 'c2', 'north'],
    ]);
  });

  it('inference mode needs no label and ignores one that is present', async () => {
    const row = good('c1').split(',');
    row.splice(2, 1);
    const a = await run(`${INF_HEADER}\n${row.join(',')}\n`, { mode: 'inference' });
    expect(a.valid[0]).toMatchObject({ label: null, entityId: 'c1' });
    const b = await run(`${TRAIN_HEADER}\n${good('c1', { churned: 'garbage' })}\n`, { mode: 'inference' });
    expect(b.report.rowsValid).toBe(1);
  });

  it('validates calendar dates', () => {
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2023-02-29')).toBe(false);
    expect(isIsoDate('2023-13-01')).toBe(false);
    expect(isIsoDate('2023-1-01')).toBe(false);
  });
});

describe('validator: bad input', () => {
  it('header mismatch: missing, unexpected and duplicate columns fail the file with each named', async () => {
    const header = TRAIN_HEADER.replace(',region', ',colour').replace('plan', 'plan,plan');
    const { report } = await run(`${header}\nx\ny\n`);
    expect(report.status).toBe('failed');
    expect(report.fileViolations.map((v) => `${v.rule}:${v.column}`)).toEqual([
      'header_duplicate_column:plan',
      'header_missing_column:region',
      'header_unexpected_column:colour',
    ]);
    expect(report.fileViolations[0]).toMatchObject({ file: 'training/dt=2026-11-01/a.csv', line: 1 });
    // the data rows are counted and quarantined with the file, not validated one by one
    expect(report).toMatchObject({ rowsIn: 2, rowsValid: 0, rowsQuarantined: 2 });
  });

  it('training data without the label column fails the header check', async () => {
    const { report } = await run(`${INF_HEADER}\nx\n`);
    expect(report.fileViolations.map((v) => `${v.rule}:${v.column}`)).toEqual(['header_missing_column:churned']);
  });

  it('wrong type: integer, number, boolean, date, label, entity id', async () => {
    const { rejected } = await run(
      `${TRAIN_HEADER}\n${good('c1', { tenure_months: '1.5', monthly_charges: 'abc', has_autopay: 'yes' })}\n${good('c 2', { as_of: '2026-02-30', churned: 'x' })}\n${good('c3', { monthly_charges: 'Infinity', logins_30d: '1e3' })}\n`,
    );
    expect(rejected.map(rules)).toEqual([
      ['wrong_type:tenure_months', 'wrong_type:monthly_charges', 'wrong_type:has_autopay'],
      ['wrong_type:customer_id', 'wrong_type:as_of', 'wrong_type:churned'],
      ['wrong_type:monthly_charges', 'wrong_type:logins_30d'],
    ]);
    expect(rejected[0]!.reasons[0]).toMatchObject({ line: 2, value: '1.5', message: 'not an integer' });
  });

  it('out of range (both ends, label 0/1) and exponent notation in range', async () => {
    const { rejected, valid } = await run(
      `${TRAIN_HEADER}\n${good('c1', { tenure_months: '601', monthly_charges: '-0.01', churned: '2' })}\n${good('c2', { total_charges: '1e3' })}\n`,
    );
    expect(rejected.map(rules)).toEqual([
      ['out_of_range:churned', 'out_of_range:tenure_months', 'out_of_range:monthly_charges'],
    ]);
    expect(rejected[0]!.reasons[1]).toMatchObject({ value: '601', message: 'outside [0, 600]' });
    expect(valid[0]!.values[2]).toBe(1000);
  });

  it('null where not nullable (features, entity id, as_of, label)', async () => {
    const { rejected } = await run(
      `${TRAIN_HEADER}\n${good('c1', { plan: '', tenure_months: '' })}\n${good('', { as_of: '', churned: '' })}\n`,
    );
    expect(rejected.map(rules)).toEqual([
      ['null_not_allowed:tenure_months', 'null_not_allowed:plan'],
      ['null_not_allowed:customer_id', 'null_not_allowed:as_of', 'null_not_allowed:churned'],
    ]);
  });

  it('unknown category (case-sensitive)', async () => {
    const { rejected } = await run(`${TRAIN_HEADER}\n${good('c1', { plan: 'Gold', region: 'North' })}\n`);
    expect(rejected[0]!.reasons.map((r) => [r.rule, r.column, r.value])).toEqual([
      ['unknown_category', 'plan', 'Gold'],
      ['unknown_category', 'region', 'North'],
    ]);
  });

  it('duplicate entity id within a file: the first valid row is kept', async () => {
    const { rejected, valid } = await run(
      `${TRAIN_HEADER}\n${good('c1', { plan: 'bad' })}\n${good('c1')}\n${good('c1')}\n`,
    );
    expect(valid.map((r) => r.line)).toEqual([3]);
    expect(rejected.map((r) => [r.line, ...rules(r)])).toEqual([
      [2, 'unknown_category:plan'],
      [4, 'duplicate_entity:customer_id'],
    ]);
    expect(rejected[1]!.reasons[0]!.message).toBe('entity id already seen at line 3 of this file');
  });

  it('empty file, and header without rows', async () => {
    const a = await run('');
    expect(a.report.fileViolations).toEqual([
      expect.objectContaining({ rule: 'empty_file', message: 'the file is empty (no header row)' }),
    ]);
    const b = await run(`${TRAIN_HEADER}\r\n`);
    expect(b.report.fileViolations).toEqual([
      expect.objectContaining({ rule: 'empty_file', message: 'the file has a header but no data rows' }),
    ]);
    const c = await run('\uFEFF\n\n');
    expect(c.report.status).toBe('failed');
  });

  it('ragged rows: too few and too many fields', async () => {
    const { rejected } = await run(`${TRAIN_HEADER}\n${good('c1')},extra\nc2,2026-11-01\n${good('c3')}\n`);
    expect(rejected.map((r) => [r.line, r.reasons[0]!.rule, r.reasons[0]!.message])).toEqual([
      [2, 'ragged_row', 'expected 11 fields (as in the header), got 12'],
      [3, 'ragged_row', 'expected 11 fields (as in the header), got 2'],
    ]);
  });

  it('invalid UTF-8 is reported with its line and column; valid multi-byte text split across chunks is fine', async () => {
    const bad = Buffer.concat([
      Buffer.from(`${TRAIN_HEADER}\n${good('c1')}\n`),
      Buffer.from(good('c2').replace('north', 'nor')),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`\n${good('c3')}\n`),
    ]);
    const { rejected, valid } = await run([bad.subarray(0, 100), bad.subarray(100)]);
    expect(valid.map((r) => r.entityId)).toEqual(['c1', 'c3']);
    expect(rejected[0]!.reasons[0]).toMatchObject({ line: 3, rule: 'invalid_utf8', column: 'region' });
    // a 2-byte character split over two chunks is valid UTF-8 (the guard holds back incomplete lines)
    const text = Buffer.from(`${TRAIN_HEADER}\n${good('cé')}\n`);
    const at = text.indexOf(Buffer.from('é')) + 1; // between the two bytes of é
    const r2 = await run([text.subarray(0, at), text.subarray(at)]);
    expect(r2.rejected.map(rules)).toEqual([['wrong_type:customer_id']]); // the pattern is ASCII-only, not an encoding error
    expect(r2.rejected[0]!.reasons[0]!.value).toBe('cé');
  });

  it('invalid UTF-8 in the header fails the file', async () => {
    const { report } = await run([
      Buffer.from('customer_id,as'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(`\n${good('c1')}\n`),
    ]);
    expect(report.fileViolations[0]).toMatchObject({ rule: 'invalid_utf8', line: 1 });
  });

  it('an enormous line is reported (not buffered) and the rows after it are still read', async () => {
    const huge = 'x'.repeat(300_000);
    const input = [
      `${TRAIN_HEADER}\n${good('c1')}\n`,
      huge.slice(0, 100_000),
      huge.slice(100_000),
      `\n${good('c2')}\n`,
    ];
    const { report, valid, rejected } = await run(input, { maxLineBytes: 4096 });
    expect(valid.map((r) => [r.line, r.entityId])).toEqual([
      [2, 'c1'],
      [4, 'c2'],
    ]);
    expect(rejected).toEqual([
      {
        line: 3,
        fields: [],
        reasons: [expect.objectContaining({ rule: 'enormous_line', message: expect.stringContaining('300000 bytes') })],
        text: expect.stringMatching(/^x{200}$/),
      },
    ]);
    expect(report).toMatchObject({ rowsIn: 3, rowsQuarantined: 1 });
    // an enormous last line without a line break is reported too
    const tail = await run([`${TRAIN_HEADER}\n${good('c1')}\n`, huge], { maxLineBytes: 4096 });
    expect(tail.rejected.map((r) => [r.line, r.reasons[0]!.rule])).toEqual([[3, 'enormous_line']]);
  });

  it('malformed CSV (unterminated quote) is reported as a rejected row', async () => {
    const { rejected, report } = await run(`${TRAIN_HEADER}\n${good('c1')}\n"c2,2026-11-01\n`);
    expect(rejected.map((r) => r.reasons[0]!.rule)).toEqual(['malformed_csv']);
    expect(report.rowsIn).toBe(2);
  });

  it('as_of must match the partition date when one is expected', async () => {
    const { rejected } = await run(`${TRAIN_HEADER}\n${good('c1')}\n${good('c2', { as_of: '2026-10-31' })}\n`, {
      expectedAsOf: '2026-11-01',
    });
    expect(rejected.map(rules)).toEqual([['as_of_mismatch:as_of']]);
  });

  it('lists the first N violations, counts all per rule, and summarizes', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => good(`c${i}`, { plan: 'x', region: 'y' })).join('\n');
    const { report, log } = await run(`${TRAIN_HEADER}\n${rows}\n`, { max: 3 });
    const full = buildReport(contract, 'training', [report], log, 0.05);
    expect(full.violations).toHaveLength(3);
    expect(full.violationsNotListed).toBe(17);
    expect(full.countsByRule).toEqual({ unknown_category: 20 });
    expect(full.invalidRowRatio).toBe(1);
    expect(summarizeReport(full)).toContain('training/dt=2026-11-01/a.csv:2 [plan] unknown_category;');
    expect(summarizeReport(full)).not.toContain('"x"'); // values stay in the report in S3
  });

  it('truncates enormous values in the report', async () => {
    const { rejected } = await run(`${TRAIN_HEADER}\n${good('c1', { plan: 'p'.repeat(1000) })}\n`);
    expect(rejected[0]!.reasons[0]!.value).toHaveLength(201);
  });
});

describe('validation throughput', () => {
  it('measures rows per second on a generated stream', async () => {
    function* gen() {
      yield Buffer.from(`${TRAIN_HEADER}\n`);
      for (let b = 0; b < 20; b++) {
        let s = '';
        for (let i = 0; i < 1000; i++) s += `${good(`c${b}_${i}`)}\n`;
        yield Buffer.from(s);
      }
    }
    const m = await measureValidationThroughput(Readable.from(gen()), contract, 'training');
    expect(m).toMatchObject({ rows: 20_000, valid: 20_000 });
    expect(m.rowsPerSecond).toBeGreaterThan(0);
  });
});
