/**
 * `mlops-batch --local rescore`: a trained and approved model, the sample data's initial days scored by it, then the
 * rescore plan (objects and rows, counted from the ledger), `--dry-run` starting nothing, a real rescore run through
 * the synthesized BatchInference state machine in-process, and the usage errors — against moto_server and
 * redis-server with the local XGBoost stand-ins.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ledgerKey } from '../../contracts/table-keys';
import { getProduction } from '../../lambdas/domain/production';
import { generateSampleData } from '../../local/demo/sample-data';
import { describeWithServers } from '../support/servers';
import { cli, cliText, expectFailure, rows, setUp } from './helpers';

jest.setTimeout(240_000);

describeWithServers('mlops-batch --local rescore', { moto: true, redis: true, xgboost: true }, (env) => {
  let s: Awaited<ReturnType<typeof setUp>>;
  const data = generateSampleData({ customers: 300, seed: 5 });
  const inference = data.files.filter((f) => f.kind === 'inference' && f.phase === 'initial');
  const keys = inference.map((f) => f.key).sort();
  const ledger = async (key: string) =>
    (await s.c.doc.send(new GetCommand({ TableName: s.table, Key: ledgerKey(key) }))).Item ?? {};
  /** Rows the ledger recorded for `ks` when they were last scored (what the plan must count). */
  const ledgerRows = async (ks: readonly string[]) => {
    let n = 0;
    for (const k of ks) n += Number((await ledger(k)).rows ?? 0);
    return n;
  };
  const batchRuns = async () => rows((await cli('runs', '--kind', 'batch')).json);
  let firstRun = '';

  beforeAll(async () => {
    s = await setUp(env.moto.endpoint);
    for (const f of data.files.filter((x) => x.phase === 'initial')) {
      await s.c.s3.send(new PutObjectCommand({ Bucket: s.features, Key: f.key, Body: f.body }));
    }
    expect((await cli('reconcile')).json).toEqual(expect.objectContaining({ new: keys.length }));
    expect((await cli('train', '--wait')).json).toEqual(expect.objectContaining({ status: 'SUCCEEDED' }));
    expect((await cli('approve', '1')).json).toEqual(expect.objectContaining({ productionVersion: 1 }));
    const batch = await cli('batch', '--wait');
    expect(batch.json).toEqual(expect.objectContaining({ status: 'SUCCEEDED' }));
    firstRun = String((batch.json as { runId: string }).runId);
    for (const k of keys) expect(await ledger(k)).toMatchObject({ status: 'SCORED', runId: firstRun });
  });

  it('--dry-run --json: one JSON document with the objects and rows of the range; nothing recorded, no run started', async () => {
    const before = await batchRuns();
    const r = await cli('rescore', '--from', '2026-11-01', '--dry-run');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const rowsExpected = await ledgerRows(keys);
    expect(rowsExpected).toBeGreaterThan(0);
    expect(r.json).toEqual({
      from: '2026-11-01',
      objects: keys.length,
      rows: rowsExpected,
      atLeast: false,
      dryRun: true,
    });
    expect((await getProduction(s.c.doc, s.table))?.rescore).toBeUndefined();
    expect(await batchRuns()).toEqual(before);
    for (const k of keys) expect((await ledger(k)).runId).toBe(firstRun);
  });

  it('--dry-run (text): one line naming the range, objects and rows, and that nothing starts', async () => {
    const day = data.inferenceDates[1]!;
    const dayKeys = keys.filter((k) => k.includes(`dt=${day}/`));
    const r = await cliText('rescore', '--from', day, '--to', day, '--dry-run');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(
      `rescore ${day} … ${day} would rescore ${dayKeys.length} objects, ${await ledgerRows(dayKeys)} rows (dry run: nothing recorded, no run started)\n`,
    );
  });

  it('without --dry-run: prints the same count first, records the request and runs the batch that rescores the range', async () => {
    const day = data.inferenceDates[2]!;
    const dayKeys = keys.filter((k) => k.includes(`dt=${day}/`));
    const rowsBefore = await ledgerRows(dayKeys);
    const r = await cliText('rescore', '--from', day, '--to', day);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [first, ...rest] = r.stdout.trimEnd().split('\n');
    expect(first).toBe(
      `rescore ${day} … ${day}: ${dayKeys.length} objects, ${rowsBefore} rows are due for the Production version; starting a batch run`,
    );
    expect(rest.join('\n')).toMatch(/SUCCEEDED/);
    const pointer = await getProduction(s.c.doc, s.table);
    expect(pointer?.rescore).toMatchObject({ from: day, to: day, by: 'cli' });
    // Exactly the range was rescored (by the new run, with the Production version); the other days were not.
    const runs = await batchRuns();
    const rescoreRun = runs.find((x) => x.trigger === 'rescore');
    expect(rescoreRun).toMatchObject({ status: 'SUCCEEDED' });
    for (const k of keys) {
      expect(await ledger(k)).toMatchObject({
        status: 'SCORED',
        modelVersion: 1,
        runId: dayKeys.includes(k) ? rescoreRun!.runId : firstRun,
      });
    }
    // Done once: nothing in the range is older than the request any more, so the next run has nothing to score.
    const next = await cli('batch', '--wait');
    expect(next.json).toEqual(expect.objectContaining({ status: 'SUCCEEDED' }));
    expect((next.json as { path: string[] }).path).toContain('NothingToScore');
  });

  it('--json without --dry-run: the count on stderr (one line), the run summary as the one JSON document on stdout', async () => {
    const r = await cli('rescore', '--from', '2026-11-01');
    expect(r.code).toBe(0);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^rescore 2026-11-01 … today: \d+ objects, \d+ rows are due for the Production version/),
    ]);
    expect(r.json).toEqual(expect.objectContaining({ status: 'SUCCEEDED', runId: expect.any(String) }));
    const runId = (r.json as { runId: string }).runId;
    for (const k of keys) expect((await ledger(k)).runId).toBe(runId);
  });

  it('usage errors exit 2 with one line: --from after --to, a malformed date, an impossible month', async () => {
    const before = await batchRuns();
    expectFailure(
      await cliText('rescore', '--from', '2026-11-05', '--to', '2026-11-01'),
      2,
      /--from 2026-11-05 is after --to 2026-11-01/,
    );
    expectFailure(
      await cliText('rescore', '--from', 'yesterday'),
      2,
      /--from must be a calendar date YYYY-MM-DD, got "yesterday"/,
    );
    expectFailure(
      await cliText('rescore', '--to', '2026-13-01', '--dry-run'),
      2,
      /--to must be a calendar date YYYY-MM-DD/,
    );
    expect(await batchRuns()).toEqual(before);
  });
});
