import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { selectWork } from '../../lambdas/domain/due';
import { readFreshness } from '../../lambdas/domain/freshness';
import { getLedgerItem, registerArrival } from '../../lambdas/domain/ledger';
import { commitScored } from '../../lambdas/domain/ledger-commit';
import { getProduction, recordProduction, requestRescore } from '../../lambdas/domain/production';
import { createPipelineTable, testClients } from '../support/aws';
import { describeWithServers } from '../support/servers';

const NOW = new Date('2026-11-20T06:00:00Z');
const key = (day: number, name = 'part') => `inference/dt=2026-11-${String(day).padStart(2, '0')}/${name}.csv`;

describeWithServers('rescoring follows the Production version (moto DynamoDB)', { moto: true }, (env) => {
  let doc: DynamoDBDocumentClient;
  let table: string;

  /** Days 1 (outside a 7-day window), 15, 18, 19 scored by version 1 in run r1. */
  async function scoredByV1() {
    for (const d of [1, 15, 18, 19]) {
      await registerArrival(doc, table, { key: key(d), etag: `e${d}`, size: 100, source: 'event' });
    }
    const all = [1, 15, 18, 19].map((d) => ({ key: key(d), etag: `e${d}`, rows: 10 }));
    await commitScored(doc, table, all, 'r1', 1, new Date('2026-11-19T03:00:00Z'));
    await recordProduction(doc, table, { version: 1, rejected: [] }, 'approved', new Date('2026-11-18T00:00:00Z'));
  }

  /** Run one batch "run": select, then commit everything selected with `version`. */
  async function run(runId: string, version: number, limit = 10) {
    const sel = await selectWork(doc, { tableName: table, limit, windowDays: 7, now: NOW });
    const out = await commitScored(doc, table, sel.objects, runId, version, NOW);
    return { sel, out };
  }

  beforeEach(async () => {
    const c = testClients(env.moto.endpoint);
    doc = c.doc;
    table = await createPipelineTable(c.ddb);
  });

  it('nothing is due while every object of the window is scored by Production', async () => {
    await scoredByV1();
    const sel = await selectWork(doc, { tableName: table, limit: 10, windowDays: 7, now: NOW });
    expect(sel).toMatchObject({ objects: [], truncated: false, pending: 0, rescore: 0 });
  });

  it('a promotion makes the window due (newest first), bounded per run; the next run continues; then nothing', async () => {
    await scoredByV1();
    await recordProduction(doc, table, { version: 2, rejected: [] }, 'approved v2', NOW);
    const first = await run('r2', 2, 2);
    expect(first.sel.objects.map((o) => o.key)).toEqual([key(19), key(18)]);
    expect(first.sel).toMatchObject({ truncated: true, rescore: 2, rescoreRows: 20, rescoreBytes: 200 });
    expect(first.sel.objects[0]?.scoredBy).toBe('r1');
    expect(first.out.committed).toHaveLength(2);
    const second = await run('r3', 2, 2);
    expect(second.sel.objects.map((o) => o.key)).toEqual([key(15)]);
    expect(second.sel.truncated).toBe(false);
    // Day 1 is outside the window: it keeps version 1's record (its scores have expired from the store).
    expect((await run('r4', 2)).sel.objects).toEqual([]);
    expect(await getLedgerItem(doc, table, key(19))).toMatchObject({ status: 'SCORED', runId: 'r2', modelVersion: 2 });
    expect(await getLedgerItem(doc, table, key(1))).toMatchObject({ runId: 'r1', modelVersion: 1 });
  });

  it('PENDING objects come first, then the due ones', async () => {
    await scoredByV1();
    await registerArrival(doc, table, { key: key(20), etag: 'n', size: 5, source: 'event' });
    await recordProduction(doc, table, { version: 2, rejected: [] }, 'approved v2', NOW);
    const sel = await selectWork(doc, { tableName: table, limit: 10, windowDays: 7, now: NOW });
    expect(sel.objects.map((o) => o.key)).toEqual([key(20), key(19), key(18), key(15)]);
    expect(sel).toMatchObject({ pending: 1, rescore: 3 });
  });

  it('a failed run commits nothing: the same objects stay due and a rerun converges', async () => {
    await scoredByV1();
    await recordProduction(doc, table, { version: 2, rejected: [] }, 'approved v2', NOW);
    const failed = await selectWork(doc, { tableName: table, limit: 10, windowDays: 7, now: NOW });
    // (the run failed before CommitLedger: the ledger is as it was)
    const rerun = await run('r3', 2);
    expect(rerun.sel.objects.map((o) => o.key)).toEqual(failed.objects.map((o) => o.key));
    expect((await run('r4', 2)).sel.objects).toEqual([]);
  });

  it('a rollback during a running rescore: the rescore commits, then its objects are due for the restored version', async () => {
    await scoredByV1();
    await recordProduction(doc, table, { version: 2, rejected: [] }, 'approved v2', NOW);
    const running = await selectWork(doc, { tableName: table, limit: 10, windowDays: 7, now: NOW });
    // Version 2 is rejected while the run is in flight; Production is version 1 again.
    await recordProduction(doc, table, { version: 1, rejected: [2] }, 'rollback', NOW);
    await commitScored(doc, table, running.objects, 'r2', 2, NOW);
    const rollbackRun = await run('r3', 1);
    expect(rollbackRun.sel.objects.map((o) => o.key)).toEqual([key(19), key(18), key(15)]);
    expect(rollbackRun.out.skipped).toEqual([]);
    expect(await getLedgerItem(doc, table, key(18))).toMatchObject({ runId: 'r3', modelVersion: 1 });
    expect((await getProduction(doc, table))?.rejected).toEqual([2]);
  });

  it('two Production changes in a row: only the last one counts', async () => {
    await scoredByV1();
    await recordProduction(doc, table, { version: 2, rejected: [] }, 'approved v2', NOW);
    await recordProduction(doc, table, { version: 3, rejected: [] }, 'approved v3', NOW);
    const sel = await run('r2', 3);
    expect(sel.sel.objects).toHaveLength(3);
    // v2 approved then rejected before any run: version 1 is Production again and nothing is due.
    await recordProduction(doc, table, { version: 1, rejected: [3] }, 'rollback', NOW);
    await recordProduction(doc, table, { version: 3, rejected: [] }, 'approved v3 again', NOW);
    expect((await run('r3', 3)).sel.objects).toEqual([]);
  });

  it('a stale commit never undoes a newer run: only the run named in scoredBy is replaced', async () => {
    await scoredByV1();
    await recordProduction(doc, table, { version: 2, rejected: [] }, 'approved v2', NOW);
    const sel = await selectWork(doc, { tableName: table, limit: 10, windowDays: 7, now: NOW });
    await commitScored(doc, table, sel.objects, 'r-new', 2, NOW);
    const stale = await commitScored(doc, table, sel.objects, 'r-stale', 2, NOW);
    expect(stale.committed).toEqual([]);
    expect(stale.skipped.map((s) => s.reason)).toEqual(sel.objects.map(() => 'already scored by run r-new'));
  });

  it('an explicit rescore request makes [from, to] due once, whatever the version', async () => {
    await scoredByV1();
    await requestRescore(doc, table, { from: '2026-11-01', to: '2026-11-15' }, NOW);
    const sel = await run('r2', 1);
    expect(sel.sel.objects.map((o) => o.key)).toEqual([key(15), key(1)]);
    expect((await run('r3', 1)).sel.objects).toEqual([]);
  });

  it('freshness: newest scored partition and newest arrival', async () => {
    expect(await readFreshness(doc, table, NOW)).toMatchObject({
      scoreFreshnessHours: null,
      newestFeatureObjectAgeHours: null,
    });
    await scoredByV1();
    const f = await readFreshness(doc, table, NOW);
    expect(f.newestScoredAsOf).toBe('2026-11-19');
    expect(f.scoreFreshnessHours).toBe(30);
    expect(f.newestFeatureObjectAgeHours).not.toBeNull();
  });
});
