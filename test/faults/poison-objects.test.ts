/**
 * Poison objects and line accounting on the real BatchInference definition (moto_server + redis-server, real
 * handlers): objects that used to fail every run, swallow rows or shift line numbers.
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { BatchState as S } from '../../contracts/states/names';
import type { FileReport, ValidationReport, Violation } from '../../lambdas/data/validation-report';
import { getLedgerItem } from '../../lambdas/domain/ledger';
import { describeWithServers } from '../support/servers';
import { ids, Pipeline, SUCCESS_PATH, snapshot } from './support/pipeline';

const DT = '2026-11-21';
const RUN = 'batch-poison-1';
const keyOf = (name: string) => `inference/dt=${DT}/${name}.csv`;

/** A valid file with row `i` replaced by text (a placeholder swapped for raw bytes afterwards). */
function file(prefix: string, n: number, edits: Record<number, Record<string, string>> = {}): string {
  return snapshot('inference', DT, ids(prefix, n), (i, row) => Object.assign(row, edits[i] ?? {}));
}

/** Header, one row, an unbalanced quote and five 60 KB lines of text (> the old 256 KB record limit), 200 rows. */
function strayQuoteFile(): string {
  const [head, first, ...rest] = file('PQ', 201).trimEnd().split('\n');
  const text = Array.from({ length: 5 }, (_, k) => `${'lorem ipsum '.repeat(5000)}${k}`);
  return `${[head, first, `"PQ-stray,${DT},note: customer said`, ...text, ...rest].join('\n')}\n`;
}

/** CRLF endings, a quoted CR LF in row 1 (lines 3–4), invalid UTF-8 in row 3 (line 6). */
function crlfFile(): Buffer {
  const text = file('CR', 20, { 1: { region: 'QUOTED' }, 3: { plan: 'BADBYTE' } }).replace(/\n/g, '\r\n');
  const [a, b] = text.replace('QUOTED', '"north\r\nx"').split('BADBYTE') as [string, string];
  return Buffer.concat([Buffer.from(a), Buffer.from([0x70, 0xff]), Buffer.from(b)]);
}

describeWithServers(
  'poison objects and line accounting (real BatchInference run)',
  { moto: true, redis: true },
  (env) => {
    let p: Pipeline;
    let report: ValidationReport;
    const violationsOf = (key: string) => report.violations.filter((v: Violation) => v.file === key);

    beforeAll(async () => {
      p = new Pipeline({
        handlerEndpoint: env.moto.endpoint,
        motoEndpoint: env.moto.endpoint,
        redisUrl: env.redis.url,
      });
      await p.provision();
      const { updateApprovalStatus } = await import('../../lambdas/domain/registry');
      await updateApprovalStatus(p.sm, await p.registerModel('train-1'), 'Approved', 'approved in test');
      await p.arrive(keyOf('good'), file('GOOD', 400));
      await p.arrive(keyOf('stray-quote'), strayQuoteFile());
      await p.arrive(keyOf('crlf'), crlfFile());
      // The same customers as good.csv (key order: good < z-dup), with other features.
      await p.arrive(keyOf('z-dup'), snapshot('inference', DT, [...ids('GOOD', 3), ...ids('ZD', 97)]));
      await p.arrive(keyOf('deleted'), file('DEL', 10));
      await p.s3.send(new DeleteObjectCommand({ Bucket: p.featuresBucket, Key: keyOf('deleted') }));
      const res = await p.run(RUN);
      expect(res.error).toBeUndefined();
      expect(res.path).toEqual(SUCCESS_PATH);
      report = JSON.parse(await p.text(`s3://${p.artifactsBucket}/reports/${RUN}/validation.json`)) as ValidationReport;
    }, 240_000);

    it('an unbalanced quote before a long stretch of text: the run goes on; every later line is its own row, at its own line', async () => {
      const key = keyOf('stray-quote');
      const f = report.files.find((x: FileReport) => x.file === key)!;
      // 1 + 6 bad lines + 200 rows: nothing swallowed, nothing lost.
      expect(f).toMatchObject({ status: 'ok', rowsIn: 207, rowsValid: 201, rowsQuarantined: 6 });
      expect(violationsOf(key).map((v) => [v.line, v.rule])).toEqual([
        [3, 'malformed_csv'],
        [4, 'ragged_row'],
        [5, 'ragged_row'],
        [6, 'ragged_row'],
        [7, 'ragged_row'],
        [8, 'ragged_row'],
      ]);
      const q = (await p.text(`s3://${p.artifactsBucket}/quarantine/${RUN}/${key}`)).trimEnd().split('\n');
      expect(q).toHaveLength(7);
      expect(q[1]).toContain('original text: ');
      expect(q[1]).toContain('PQ-stray,2026-11-21,note: customer said');
      expect(await getLedgerItem(p.doc, p.table, key)).toMatchObject({ status: 'SCORED' });
    });

    it('a quoted CR LF shifts no line number and the invalid-UTF-8 flag lands on its own row', async () => {
      const key = keyOf('crlf');
      expect(violationsOf(key).map((v) => [v.line, v.rule])).toEqual([
        [3, 'malformed_csv'],
        [4, 'ragged_row'],
        [6, 'invalid_utf8'],
      ]);
      expect(report.files.find((x: FileReport) => x.file === key)).toMatchObject({ rowsIn: 21, rowsQuarantined: 3 });
    });

    it('the same customer in two files of one as-of day: kept from the first file in key order, flagged in the other', async () => {
      const key = keyOf('z-dup');
      const dups = violationsOf(key).filter((v) => v.rule === 'duplicate_entity');
      expect(dups.map((v) => [v.line, v.value])).toEqual([
        [2, 'GOOD00000'],
        [3, 'GOOD00001'],
        [4, 'GOOD00002'],
      ]);
      expect(dups[0]!.message).toContain(keyOf('good'));
    });

    it('an object deleted after its arrival: QUARANTINED with the reason and a pointer, not a failure of every run', async () => {
      const key = keyOf('deleted');
      const item = await getLedgerItem(p.doc, p.table, key);
      expect(item).toMatchObject({ status: 'QUARANTINED', runId: RUN });
      const pointer = JSON.parse(await p.text(`s3://${p.artifactsBucket}/quarantine/${RUN}/${key}.pointer.json`));
      expect(pointer).toMatchObject({ source: `s3://${p.featuresBucket}/${key}` });
      expect(report.files.find((x: FileReport) => x.file === key)).toMatchObject({
        status: 'failed',
        fileViolations: [expect.objectContaining({ rule: 'object_missing' })],
      });
    });

    it('the next run finds nothing left to score (no object stays PENDING)', async () => {
      for (const name of ['good', 'stray-quote', 'crlf', 'z-dup', 'deleted']) {
        expect((await getLedgerItem(p.doc, p.table, keyOf(name)))?.status).not.toBe('PENDING');
      }
      const res = await p.run('batch-poison-2');
      expect(res.error).toBeUndefined();
      expect(res.path).not.toContain(S.PrepareInferenceData);
    });
  },
);
